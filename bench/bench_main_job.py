"""End-to-end figures of the main job: wall time, time and peak memory per rule, no-op dry-run time, disk.

Runs `snakemake --cores N <target>` (default: results/table2.csv on config.yaml) in the repository,
unless the target is already built (then it only reads the figures of the last run). Per-rule figures
come from the rules' `benchmark:` files; peak memory is the largest max_rss of any single job. Prints a
Markdown section for BENCHMARKS.md.

  python bench/bench_main_job.py [--cores 2] [--target results/table2.csv] [--configfile FILE]
"""

import argparse
import csv
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")


def snakemake(*args):
    return subprocess.run([SNAKEMAKE, *args], cwd=REPO, capture_output=True, text=True)


def rule_of(tsv, root):
    """Benchmarks lie at results/benchmarks/<rule>.tsv or results/benchmarks/<rule>/<wildcards>.tsv."""
    rel = tsv.relative_to(root)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def per_rule(bench_root):
    seconds, rss, jobs = defaultdict(float), defaultdict(float), defaultdict(int)
    for tsv in bench_root.rglob("*.tsv"):
        with open(tsv) as fh:
            row = next(csv.DictReader(fh, delimiter="\t"))
        name = rule_of(tsv, bench_root)
        seconds[name] += float(row["s"])
        rss[name] = max(rss[name], float(row["max_rss"]) if row["max_rss"] not in ("", "NA", "-") else 0.0)
        jobs[name] += 1
    return seconds, rss, jobs


def du(path):
    out = subprocess.run(["du", "-sb", str(path)], capture_output=True, text=True).stdout.split()
    return int(out[0]) if out else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--target", default="results/table2.csv")
    ap.add_argument("--configfile")
    args = ap.parse_args()
    extra = ["--configfile", args.configfile] if args.configfile else []

    wall = None
    if not (REPO / args.target).exists():
        start = time.perf_counter()
        run = snakemake("--cores", str(args.cores), args.target, *extra)
        wall = time.perf_counter() - start
        if run.returncode != 0:
            sys.exit(f"main job failed:\n{run.stderr[-3000:]}")

    noop = []
    for _ in range(3):
        start = time.perf_counter()
        result = snakemake("-n", args.target, *extra)
        noop.append(time.perf_counter() - start)
        assert "Nothing to be done" in result.stdout + result.stderr, result.stdout[-2000:]

    seconds, rss, jobs = per_rule(REPO / "results" / "benchmarks")
    print("## Main job end to end\n")
    print(f"`snakemake --cores {args.cores} {args.target}` {' '.join(extra)}\n")
    print(f"- wall time: {wall / 60:.1f} min" if wall else "- wall time: (target existed; see the previous run)")
    print(f"- sum of job times: {sum(seconds.values()) / 60:.1f} min over {sum(jobs.values())} jobs")
    print(f"- no-op dry run (`snakemake -n {args.target}`): median {statistics.median(noop):.2f} s of 3")
    print(
        f"- size of results/: {du(REPO / 'results') / 2**20:.0f} MiB "
        f"(models {du(REPO / 'results' / 'models') / 2**20:.0f} MiB)\n"
    )
    print("| rule | jobs | total s | peak RSS of one job (MiB) |\n|---|---|---|---|")
    for name in sorted(seconds, key=seconds.get, reverse=True):
        print(f"| {name} | {jobs[name]} | {seconds[name]:.0f} | {rss[name]:.0f} |")


if __name__ == "__main__":
    main()
