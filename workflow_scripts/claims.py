"""Claims stage: the paper's comparisons decided sentence by sentence -> results/claims.csv and claims.md.

By hand:
  python workflow_scripts/claims.py --tae results/attacks/.../tae-pwws.json ... \
      --out-csv results/claims.csv --out-md results/claims.md [--reps 10000]

Each tae-<attack>.json names its model; its per-sentence records are the tae-<attack>.parquet beside it.
"""

import argparse

from amda.claims import claims_frame, claims_markdown, load
from amda.cli import run_main
from amda.io import write_text_atomic
from amda.stats import BOOTSTRAP_REPS


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tae", nargs="+", required=True, help="tae-{attack}.json summaries (parquet beside each)")
    ap.add_argument("--reps", type=int, default=BOOTSTRAP_REPS, help="bootstrap replicates")
    ap.add_argument("--out-csv", required=True)
    ap.add_argument("--out-md", required=True)
    args = ap.parse_args(argv)
    frame = claims_frame(load(args.tae), reps=args.reps)
    write_text_atomic(frame.to_csv(index=False), args.out_csv)
    write_text_atomic(claims_markdown(frame), args.out_md)


if __name__ == "__main__":
    run_main(main)
