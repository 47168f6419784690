"""Plan a run before starting it: its jobs (`snakemake -n`) and CPU hours from the job times measured
in BENCHMARKS.md, scaled to the run's sizes. Prints a Markdown section for BENCHMARKS.md.

  python bench/plan_claims.py [--configfile configs/claims.yaml] [--target results/claims.csv ...] [--cores 2]

The estimate is a floor: a more robust model makes PWWS search longer on the sentences it withstands,
and the machine is shared.
"""

import argparse
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
from amda.config import ada_ratio, adv_train_fraction, load_yaml, merge_configs  # noqa: E402
from amda.naming import ADV_METHODS, MIXUP_METHODS  # noqa: E402
from amda.stats import min_detectable_difference, pairs_needed  # noqa: E402

SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")

# Measured on this machine, MiniLM, 1 thread (BENCHMARKS.md, "Main job end to end" and "Every SST-2 table").
TRAIN_EXAMPLES_PER_S = 60.0  # 54-67 examples/s of fine-tuning
# Mixup and AMDA models draw shuffled batches (the reference's pairing): 265-309 s per SST-2 job against
# 126 s for ADA (BENCHMARKS.md, "current code"), about 2.7x once the ~30 s of loading and evaluation are set apart.
MIXUP_STEP_FACTOR = 2.7
EVAL_S_PER_SENTENCE = 20.0 / 1400  # 84-101 s per training job of which 64-80 s training: 400 dev + 1,000 test
ATTACK_START_S = 10.0  # TextAttack import, WordNet, USE weights
TAE_S_PER_SENTENCE = (60.0 - ATTACK_START_S) / 60  # PWWS TAE of 60 test sentences: 56-65 s
ADV_S_PER_SENTENCE = (76.0 - ATTACK_START_S) / 200  # adversarial training set, 200 train sentences: 69-84 s
ADV_SUCCESS_RATE = 0.7  # PWWS on the victim's train sentences: 140 of 200
FIXED_S = {"merge_attack": 2, "merge_adv_train": 2, "prepare_data": 7, "prepare_nltk": 1, "counterfit": 30}
DISCORDANCE = 0.30  # assumed share of sentences two methods disagree on (configs/claims.yaml)
TARGET_POINTS = 5.0


def dry_run(configfile, targets):
    """[(rule, {wildcard: value})] of the jobs `snakemake -n` plans; exits with its error if it fails."""
    args = [SNAKEMAKE, "-n", *targets, "--configfile", configfile]
    result = subprocess.run(args, cwd=REPO, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"error: snakemake -n failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    jobs, rule = [], None
    for line in result.stdout.splitlines():
        if m := re.match(r"^(?:local)?rule (\w+):", line):
            rule = m.group(1)
            jobs.append((rule, {}))
        elif rule and (m := re.match(r"^\s+wildcards: (.*)", line)):
            jobs[-1][1].update(kv.split("=", 1) for kv in m.group(1).split(", "))
    return jobs


def merged_config(configfile):
    """config.yaml extended by `configfile` the way Snakemake merges a --configfile."""
    return merge_configs(load_yaml(REPO / "config.yaml"), load_yaml(REPO / configfile))


def split_size(config, dataset, split, full):
    size = config["datasets"][dataset]["subsample"].get(split)
    return full if size is None else min(size, full)


def job_seconds(rule, wc, config, sizes):
    """Estimated CPU seconds of one job."""
    if rule in FIXED_S:
        return FIXED_S[rule]
    if rule == "train_model":
        ds = wc["dataset"]
        train = sizes[ds]["train"]
        if wc["method"] in ADV_METHODS:
            train += train * ada_ratio(config, ds) * ADV_SUCCESS_RATE  # the successes in the share attacked
        epochs = config["training"]["methods"].get(wc["method"], {}).get("epochs", config["training"]["epochs"])
        factor = MIXUP_STEP_FACTOR if wc["method"] in MIXUP_METHODS else 1.0
        evaluated = (sizes[ds]["dev"] + sizes[ds]["test"]) * EVAL_S_PER_SENTENCE
        return train * epochs / TRAIN_EXAMPLES_PER_S * factor + evaluated
    if rule == "attack_shard":
        n = config["evaluation"].get("attack_size") or sizes[wc["dataset"]]["test"]
        return ATTACK_START_S + n / int(wc["shards"]) * TAE_S_PER_SENTENCE
    if rule == "adv_train_shard":
        n = sizes[wc["dataset"]]["train"] * adv_train_fraction(config, wc["dataset"])
        return ATTACK_START_S + n / int(wc["shards"]) * ADV_S_PER_SENTENCE
    return 10.0  # tables, claims


def plan(configfile, targets, cores, full_sizes):
    config = merged_config(configfile)
    sizes = {ds: {s: split_size(config, ds, s, n) for s, n in full.items()} for ds, full in full_sizes.items()}
    jobs = dry_run(configfile, targets)
    seconds, counts = Counter(), Counter()
    for rule, wc in jobs:
        seconds[rule] += job_seconds(rule, wc, config, sizes)
        counts[rule] += 1
    total_h = sum(seconds.values()) / 3600
    seeds, attacked = len(config["seeds"]), config["evaluation"].get("attack_size")
    lines = [
        f"### Plan of `{configfile}` (targets {', '.join(targets)})\n",
        "| rule | jobs | CPU h |",
        "|---|---|---|",
        *(
            f"| {rule} | {counts[rule]} | {seconds[rule] / 3600:.2f} |"
            for rule in sorted(counts, key=lambda r: -seconds[r])
        ),
        f"| **total** | **{len(jobs)}** | **{total_h:.1f}** |\n",
        f"Wall time on {cores} idle cores: at least {total_h / cores:.1f} h (a floor: robust models make PWWS search "
        "longer, and this machine is shared).",
        f"Power: {attacked} sentences × {seeds} seeds = {attacked * seeds} pairs; a {TARGET_POINTS:g}-point difference "
        f"at discordance {DISCORDANCE} needs {pairs_needed(TARGET_POINTS / 100, DISCORDANCE)} pairs; these pairs "
        f"detect {100 * min_detectable_difference(attacked * seeds, DISCORDANCE):.1f} points if the seeds are "
        f"independent, {100 * min_detectable_difference(attacked, DISCORDANCE):.1f} if they repeat each other (one "
        "seed's worth); results/claims.md reports where they fall (their effective number of pairs).",
    ]
    return "\n".join(lines) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configfile", default="configs/claims.yaml")
    ap.add_argument("--target", nargs="+", default=["results/claims.csv", "results/table2.csv"])
    ap.add_argument("--cores", type=int, default=2)
    args = ap.parse_args(argv)
    # Rows of the offline SST-2 splits (train/dev/test parquet in ../shared/data/sst2).
    full = {"sst2": {"train": 67349, "dev": 872, "test": 1821}}
    text = plan(args.configfile, args.target, args.cores, full)
    print(text)
    return text


if __name__ == "__main__":
    main()
