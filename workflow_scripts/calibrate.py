"""Calibration stage: fit a model's temperature on dev; the test split's ECE and NLL before and after.

By hand:
  python workflow_scripts/calibrate.py --model-dir results/models/sst2/minilm/base/clean/default/seed42/model \
      --dev results/data/sst2/dev.parquet --test results/data/sst2/test.parquet --max-length 64 --batch-size 64 \
      --run-json '{"dataset": "sst2", "model": "minilm", "method": "base", "train_attack": "clean", "hp": "default", "seed": 42}' \
      --out results/calibration/sst2/minilm/base/clean/default/seed42.json --threads 1

The logits are those training-time evaluation and the attacks see (`amda.inference.predict_logits`); the fit
and the binning of the expected calibration error are `amda.calibration`'s. The output carries the run
identity; `--temperature-json` of the attack stage reads its `temperature`.
"""

import argparse
import sys

import torch

from amda.cli import parse_json_object, run_main
from amda.io import read_parquet, write_json_atomic


def split_logits(model, tokenizer, path, what, max_length, batch_size):
    """(logits, labels) of a parquet split (text, label) under the model."""
    from amda.inference import predict_logits

    df = read_parquet(path, ("text", "label"), what=what, only=True)
    logits = predict_logits(model, tokenizer, df["text"].tolist(), max_length, batch_size)
    return logits, torch.tensor([int(y) for y in df["label"]])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model-dir", required=True, help="save_pretrained folder of the model")
    ap.add_argument("--dev", required=True, help="parquet split (text, label) the temperature is fitted on")
    ap.add_argument("--test", required=True, help="parquet split (text, label) calibration is measured on")
    ap.add_argument("--max-length", type=int, required=True)
    ap.add_argument("--batch-size", type=int, required=True, help="inference batch size")
    ap.add_argument("--run-json", required=True, help="run identity of the model (JSON object)")
    ap.add_argument("--out", required=True, help="calibration summary (JSON)")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    args = ap.parse_args(argv)
    torch.set_num_threads(max(1, args.threads))
    run = parse_json_object(args.run_json, "--run-json")

    from amda.calibration import calibration_summary
    from amda.models import load_saved_classifier

    model, tokenizer = load_saved_classifier(args.model_dir)
    dev = split_logits(model, tokenizer, args.dev, "--dev", args.max_length, args.batch_size)
    test = split_logits(model, tokenizer, args.test, "--test", args.max_length, args.batch_size)
    summary = {**run, **calibration_summary(*dev, *test)}
    write_json_atomic(summary, args.out)
    print(
        f"calibrate: T = {summary['temperature']:.4f}; test ECE {summary['test_ece_before']:.4f} ->"
        f" {summary['test_ece_after']:.4f}, NLL {summary['test_nll_before']:.4f} -> {summary['test_nll_after']:.4f}",
        file=sys.stderr,
    )


if __name__ == "__main__":
    run_main(main)
