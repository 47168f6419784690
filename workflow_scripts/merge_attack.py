"""Attack stage: merge a model's attack shards into tae-{attack}.parquet and its summary JSON.

By hand:
  python workflow_scripts/merge_attack.py --shards .../tae-pwws/shard0-of-2.parquet .../tae-pwws/shard1-of-2.parquet \
      --run-json '{"dataset": "sst2", "model": "minilm", "method": "base", "train_attack": "clean", "hp": "default", "seed": 42}' \
      --attack pwws [--split test] [--setting calibrated] --out-parquet .../tae-pwws.parquet --out-json .../tae-pwws.json

Fails, naming it, if a shard is missing (shard{i}-of-{n} names must cover 0..n-1) or two shards hold
the same row. The same merge makes the adversarial training set (--split train).
"""

import argparse

from amda.attack.runner import merge_shards, summarize
from amda.cli import parse_json_object, run_main
from amda.io import write_json_atomic, write_parquet_atomic
from amda.naming import RAW, SETTINGS


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shards", nargs="+", required=True, help="shard record files (parquet)")
    ap.add_argument("--run-json", required=True, help="run identity of the attacked model (JSON object)")
    ap.add_argument("--attack", required=True)
    ap.add_argument("--split", default="test", help="the attacked split, recorded in the summary")
    ap.add_argument(
        "--setting", choices=SETTINGS, default=RAW, help="the evaluation setting, recorded in a summary other than raw"
    )
    ap.add_argument("--out-parquet", required=True)
    ap.add_argument("--out-json", required=True)
    args = ap.parse_args(argv)
    run = parse_json_object(args.run_json, "--run-json")
    records = merge_shards(args.shards)
    summary = {**run, "attack": args.attack, "split": args.split, **summarize(records)}
    if args.setting != RAW:  # a raw summary stays as it was before settings existed
        summary["setting"] = args.setting
    write_parquet_atomic(records, args.out_parquet)
    write_json_atomic(summary, args.out_json)


if __name__ == "__main__":
    run_main(main)
