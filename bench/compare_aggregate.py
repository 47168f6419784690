"""Run the aggregation stages (claims, tables, figures' CSVs, paper comparison) of config.yaml's dry run on
synthetic, seeded inputs and print the sha256 of each output: run on two commits, the lines must be equal
(the figures' PNGs are left out: matplotlib's bytes are not part of a result). With AMDA_BENCH_KEEP=<dir> set,
the outputs are copied there for a diff.

    python bench/compare_aggregate.py [--configfile configs/x.yaml] > hashes.txt   # from the repository root
"""

import hashlib
import json
import os
import random
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path.cwd()
ORDER = ("claims_table", "claims", "table", "figure", "paper_comparison")
RUN_PATH = re.compile(r"results/(?:attacks|models)/([^/]+)/([^/]+)/([^/]+)/([^/]+)/([^/]+)/seed(\d+)/")


def dry_run(extra):
    out = subprocess.run(["snakemake", "-n", "-p", "--cores", "2", *extra], capture_output=True, text=True, check=True)
    jobs, rule = [], None
    for line in out.stdout.splitlines():
        if line.startswith("rule "):
            rule = line.split()[1].rstrip(":")
        elif line.startswith("Shell command: ") and rule:
            jobs.append((rule, line[len("Shell command: ") :]))
    return jobs


def identity(path):
    dataset, model, method, train_attack, hp, seed = RUN_PATH.search(path).groups()
    return {
        "dataset": dataset,
        "model": model,
        "method": method,
        "train_attack": train_attack,
        "hp": hp,
        "seed": int(seed),
    }


def write_inputs(paths, tmp):
    from amda.attack.runner import records_frame, summarize

    for path in sorted(paths):
        if path.endswith("stats.json"):  # the data stage's: every label in dev and test, no overlap kept
            stats = {
                "label_names": ["negative", "positive"],
                "splits": {split: {"labels": {"0": 30, "1": 30}} for split in ("dev", "test")},
                "overlap_after": {"train_test": {"normalised": 0}},
            }
            (tmp / path).parent.mkdir(parents=True, exist_ok=True)
            (tmp / path).write_text(json.dumps(stats))
            continue
        rng = random.Random(path)
        target = tmp / path
        target.parent.mkdir(parents=True, exist_ok=True)
        ident = identity(path)
        if path.endswith("metrics.json"):
            record = {**ident, "test_accuracy": rng.uniform(0.7, 0.95), "alpha": 2.0, "num_adversarial": 10}
        elif "/sae-" in path:
            attack = path.rsplit("sae-", 1)[1][: -len(".json")]
            correct = [rng.randint(0, 1) for _ in range(60)]
            record = {
                **ident,
                "attack": attack,
                "n": 60,
                "static_accuracy": sum(correct) / len(correct),
                "n_successful": 30,
                "static_accuracy_successful_only": rng.uniform(0.2, 0.6),
                "idx": list(range(60)),
                "correct": correct,
            }
        else:
            attack = path.rsplit("tae-", 1)[1][: -len(".json")]
            results = rng.choices(["successful", "failed", "skipped"], weights=[5, 3, 1], k=60)
            records = records_frame(
                {
                    "idx": i,
                    "original_text": f"s{i} a b",
                    "perturbed_text": f"s{i} a c",
                    "label": 1,
                    "pred_before": 1,
                    "pred_after": 0,
                    "result": r,
                    "error": "",
                    "queries": rng.randint(5, 90),
                    "words_changed": 1,
                    "num_words": 3,
                    "modification_rate": 1 / 3,
                    "seconds": 0.1,
                }
                for i, r in enumerate(results)
            )
            records.to_parquet(target.with_suffix(".parquet"))
            record = {**ident, "attack": attack, **summarize(records)}
        target.write_text(json.dumps(record))


def main(extra):
    jobs = [(r, c) for r, c in dry_run(extra) if r.startswith(ORDER)]
    jobs.sort(
        key=lambda job: next(
            i for i, p in enumerate(ORDER) if job[0].startswith(p) and (p != "claims" or job[0] == "claims")
        )
    )
    inputs = set()
    for _, cmd in jobs:
        inputs.update(
            p for p in cmd.split() if p.startswith("results/") and (RUN_PATH.search(p) or p.endswith("/stats.json"))
        )
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        write_inputs(inputs, tmp)
        (tmp / "workflow_scripts").symlink_to(ROOT / "workflow_scripts")
        env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), PYTHONHASHSEED="0")
        for rule, cmd in jobs:
            (tmp / "results/logs/aggregate").mkdir(parents=True, exist_ok=True)
            if subprocess.run(cmd, shell=True, cwd=tmp, env=env).returncode:
                log = tmp / cmd.rsplit(" > ", 1)[1].split()[0]
                sys.exit(f"{rule} failed:\n{log.read_text()[-2000:]}")
        for path in sorted((tmp / "results").rglob("*")):
            if path.is_file() and path.suffix in (".csv", ".md") and "logs" not in path.parts:
                rel = path.relative_to(tmp)
                if str(rel).count("/") <= 2:
                    print(hashlib.sha256(path.read_bytes()).hexdigest(), rel)
                    if os.environ.get("AMDA_BENCH_KEEP"):
                        keep = Path(os.environ["AMDA_BENCH_KEEP"]) / rel
                        keep.parent.mkdir(parents=True, exist_ok=True)
                        keep.write_bytes(path.read_bytes())


if __name__ == "__main__":
    main(sys.argv[1:])
