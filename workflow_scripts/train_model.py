"""Training stage: fine-tune one model (base, ADA, mixup, AMDA, iterative ADA) and write its folder.

By hand:
  python workflow_scripts/train_model.py --data-dir results/data/sst2 --spec-json '{...}' \
      --out results/models/sst2/minilm/base/clean/default/seed42 [--adv-parquet results/adv_train/...parquet] \
      [--checkpoint-dir results/checkpoints/models/...] [--threads 2]

The spec is the resolved per-run spec of amda.config.training_spec. Output: <out>/model/ (safetensors,
tokenizer) and <out>/metrics.json, written atomically. A checkpoint (after each epoch and every 10 min
within one) lives in the checkpoint dir (default results/checkpoints/models/<run path>,
`RunId.checkpoint_dir`, the folder the workflow gives) and is removed once the model is complete;
rerunning a killed job resumes from it.
"""

import argparse
import json
import logging
from pathlib import Path

import pandas as pd
import torch

from amda.cli import run_main
from amda.errors import AmdaError
from amda.manifest import verified
from amda.naming import ADV_METHODS, ITERATIVE_METHODS, RunId
from amda.training import fine_tune, validate_spec

log = logging.getLogger("amda.train_model")


def read_spec(args):
    try:
        if args.spec_json is not None:
            return json.loads(args.spec_json)
        with open(args.spec) as fh:
            return json.load(fh)
    except OSError as err:
        raise AmdaError(f"--spec {args.spec}: {err.strerror}") from err
    except json.JSONDecodeError as err:
        raise AmdaError(f"{'--spec-json' if args.spec_json is not None else args.spec}: invalid JSON: {err}") from err


def read_parquet(path, what):
    if not Path(path).is_file():
        raise AmdaError(f"{what}: {path} does not exist")
    verified(path)
    try:
        return pd.read_parquet(path)
    except Exception as err:  # pyarrow raises several types for a corrupt file
        raise AmdaError(f"{what}: {path} is not a readable parquet file: {err}") from err


def build_adversary(spec, args):
    """The iterative methods' attack (imported only for them: TextAttack is slow to import)."""
    from amda.attack.runner import make_adversary

    attack = spec["attack"]
    resources = {
        "nltk_data": args.nltk_data or str(Path(spec["cache_dir"]) / "nltk_data"),
        "embedding_dir": args.embedding_dir,
    }
    return make_adversary(
        attack.get("name", spec["run"]["train_attack"]),
        attack,
        resources,
        batch_size=int(spec["training"]["eval_batch_size"]),
        max_length=int(spec["max_length"]),
        seed=int(spec["run"]["seed"]),
    )


def print_epoch(record):
    mix = f" mix {record['mix_loss']:.4f}" if record["mix_loss"] is not None else ""
    log.info(
        f"epoch {record['epoch']} done: loss {record['loss']:.4f} clean {record['clean_loss']:.4f}{mix} "
        f"{record['examples']} examples in {record['seconds']:.1f}s"
    )


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", required=True, help="folder with train/dev/test.parquet (text, label)")
    spec_arg = ap.add_mutually_exclusive_group(required=True)
    spec_arg.add_argument("--spec", help="resolved training spec, a JSON file")
    spec_arg.add_argument("--spec-json", help="resolved training spec as a JSON string")
    ap.add_argument("--adv-parquet", help="adversarial-train records (ada, amda_tmix, amda_smix)")
    ap.add_argument("--out", required=True, help="model folder to write")
    ap.add_argument("--checkpoint-dir", help="checkpoints (default results/checkpoints/models/<run path>)")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    ap.add_argument("--nltk-data", help="iterative methods: prepared NLTK data (default <cache_dir>/nltk_data)")
    ap.add_argument("--embedding-dir", help="iterative methods with TextFooler: the counter-fitted embedding")
    args = ap.parse_args(argv)
    torch.set_num_threads(max(1, args.threads))

    spec = validate_spec(read_spec(args))
    method = spec["run"]["method"]
    data = {
        split: read_parquet(Path(args.data_dir) / f"{split}.parquet", f"{split} split")
        for split in ("train", "dev", "test")
    }
    adv_df = None
    if method in ADV_METHODS:
        if not args.adv_parquet:
            raise AmdaError(f"method {method} needs --adv-parquet (the adversarial-train records)")
        adv_df = read_parquet(args.adv_parquet, "--adv-parquet")
    checkpoint_dir = args.checkpoint_dir or RunId(**spec["run"]).checkpoint_dir
    adversary = build_adversary(spec, args) if method in ITERATIVE_METHODS else None
    metrics = fine_tune(
        spec,
        data["train"],
        data["dev"],
        data["test"],
        args.out,
        checkpoint_dir,
        adv_df=adv_df,
        adversary=adversary,
        on_epoch_end=print_epoch,
    )
    log.info(
        f"{args.out}: dev accuracy {metrics['dev_accuracy']:.4f}, test accuracy {metrics['test_accuracy']:.4f}, "
        f"{metrics['train_seconds']:.0f}s training"
    )


if __name__ == "__main__":
    run_main(main)
