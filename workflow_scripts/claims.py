"""Claims stage: the paper's comparisons decided sentence by sentence -> results/claims.csv and claims.md.

By hand, the comparisons of one table's models (Table 1: SAE vs TAE of the re-seeded models, given
their SAE summaries and the victim's seed), then all tables' rows in one file:
  python workflow_scripts/claims.py --tae results/attacks/.../tae-pwws.json ... --out-csv results/claims/table2.csv
  python workflow_scripts/claims.py --tae .../tae-pwws.json ... --sae .../sae-pwws.json ... --victim-seed 42 \
      --out-csv results/claims/table1.csv
  python workflow_scripts/claims.py --parts results/claims/table2.csv ... --out-csv results/claims.csv --out-md results/claims.md
The same models under a reference attack and the recipe it reimplements (amda.attack_change):
  python workflow_scripts/claims.py --attack-change --tae .../tae-pwws.json .../tae-pwws_ref.json ... \
      --out-csv results/attack_change.csv --out-md results/attack_change.md

Each tae-<attack>.json names its model; its per-sentence records are the tae-<attack>.parquet beside it.
A comparison in two tables' parts (the same models) is kept once.
"""

import argparse

from amda.attack_change import attack_change_frame, attack_change_markdown
from amda.claims import claims_frame, claims_markdown, load, merge_parts, sae_claims_frame
from amda.cli import run_main
from amda.io import write_text_atomic
from amda.stats import BOOTSTRAP_REPS


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    inputs = ap.add_mutually_exclusive_group(required=True)
    inputs.add_argument("--tae", nargs="+", help="tae-{attack}.json summaries (parquet beside each)")
    inputs.add_argument("--parts", nargs="+", help="claims CSVs of single tables, merged into one")
    ap.add_argument("--sae", nargs="+", help="with --tae: sae-{attack}.json summaries (Table 1's SAE vs TAE)")
    ap.add_argument("--victim-seed", type=int, help="with --sae: the victim's seed (its SAE equals its TAE)")
    ap.add_argument(
        "--attack-change", action="store_true", help="with --tae: each model and comparison under two attacks of a pair"
    )
    ap.add_argument("--reps", type=int, default=BOOTSTRAP_REPS, help="bootstrap replicates")
    ap.add_argument("--out-csv", required=True)
    ap.add_argument("--out-md")
    args = ap.parse_args(argv)
    if (args.sae is None) != (args.victim_seed is None) or (args.sae and args.parts):
        ap.error("--sae and --victim-seed go together, with --tae")
    if args.attack_change and (args.parts or args.sae):
        ap.error("--attack-change goes with --tae alone")
    markdown = claims_markdown
    if args.parts:
        frame = merge_parts(args.parts)
    elif args.attack_change:
        frame, markdown = attack_change_frame(load(args.tae), reps=args.reps), attack_change_markdown
    elif args.sae:
        frame = sae_claims_frame(load(args.tae, args.sae), args.victim_seed, reps=args.reps)
    else:
        frame = claims_frame(load(args.tae), reps=args.reps)
    write_text_atomic(frame.to_csv(index=False), args.out_csv)
    if args.out_md:
        write_text_atomic(markdown(frame), args.out_md)


if __name__ == "__main__":
    run_main(main)
