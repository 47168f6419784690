"""Attack stage: attack one shard of a split with PWWS or TextFooler and write its records.

By hand:
  python workflow_scripts/attack_shard.py --model-dir results/models/sst2/minilm/base/clean/default/seed42/model \
      --data results/data/sst2/test.parquet --attack pwws --attack-json '{"query_budget": null, "max_modification_rate": null}' \
      --nltk-data .cache/nltk_data [--embedding-dir results/resources/counterfitted] \
      --max-length 64 --batch-size 64 --shard 0 --shards 1 [--fraction 0.5 --sample-seed 0] \
      --checkpoint results/checkpoints/.../shard0-of-1.jsonl --out .../tae-pwws/shard0-of-1.parquet --threads 1 \
      [--temperature-json results/calibration/sst2/minilm/base/clean/default/seed42.json]

Each text is attacked as the model sees it (cut where tokenisation at --max-length ends; records flag it
`truncated`), and each example's attack stops after attacks.<name>.max_seconds (recorded `capped`).
With --fraction (the adversarial training set) or --sample-size (evaluation.attack_size) the rows
attacked are a seeded sample of the split (records give each row's `sample_rank` in the sample's attack
order: the first k of it are the sample of k); the shard is then taken of that sample. A --sample-size
sample is nested (a larger size holds a smaller one's rows, the first 60 being the 60 sampled before
nesting); with --reuse-dir, finished records are kept there and a later run of the same model, data and
attack attacks only the rows not yet kept. Records are appended to --checkpoint as they are made; a
rerun after a crash redoes only the rows not recorded. The checkpoint is removed once --out exists.
With --temperature-json (the `calibrated` evaluation setting) the attack sees the model's logits over the
temperature that the calibration stage fitted on dev.
"""

import argparse
import sys

import torch

from amda.cli import parse_json_object, run_main
from amda.errors import AmdaError
from amda.io import read_json, read_parquet, remove_with_empty_parents, write_parquet_atomic


def read_split(path):
    """(texts, labels) of a parquet split with columns text and label."""
    df = read_parquet(path, ("text", "label"), what="--data", only=True)
    return df["text"].tolist(), [int(y) for y in df["label"]]


def read_temperature(path):
    """The fitted temperature of a calibration stage output (`amda.calibration`)."""
    temperature = read_json(path, "--temperature-json").get("temperature")
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not temperature > 0:
        raise AmdaError(f"--temperature-json {path}: temperature must be a positive number, got {temperature!r}")
    return float(temperature)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model-dir", required=True, help="save_pretrained folder of the attacked model")
    ap.add_argument("--data", required=True, help="parquet split (text, label) to attack")
    ap.add_argument("--attack", required=True, help="attack name (config attacks.<name>)")
    ap.add_argument("--attack-json", required=True, help="config attacks.<name> as a JSON object")
    ap.add_argument("--nltk-data", required=True, help="prepared (go-w) NLTK data folder")
    ap.add_argument("--embedding-dir", help="counter-fitted embedding folder (TextFooler)")
    ap.add_argument("--max-length", type=int, required=True)
    ap.add_argument("--batch-size", type=int, required=True, help="inference batch size")
    ap.add_argument("--shard", type=int, default=0)
    ap.add_argument("--shards", type=int, default=1)
    ap.add_argument("--fraction", type=float, help="attack a seeded sample of this fraction of the rows")
    ap.add_argument("--sample-size", type=int, help="attack a seeded sample of this many rows (instead of --fraction)")
    ap.add_argument("--sample-seed", type=int, default=0, help="seed of the --fraction sample")
    ap.add_argument("--checkpoint", required=True, help="per-example checkpoint (jsonl), kept outside --out")
    ap.add_argument("--reuse-dir", help="folder keeping finished records of this model and attack for larger samples")
    ap.add_argument("--out", required=True, help="shard records (parquet)")
    ap.add_argument("--threads", type=int, default=1, help="torch / USE CPU threads")
    ap.add_argument("--temperature-json", help="calibration stage output: attack the logits over its temperature")
    args = ap.parse_args(argv)
    torch.set_num_threads(max(1, args.threads))

    from amda.attack import runner
    from amda.attack.offline import activate

    attack_cfg = parse_json_object(args.attack_json, "--attack-json")
    activate(args.nltk_data)  # before anything imports TextAttack
    from amda.attack.recipes import build_attack, optional_number
    from amda.attack.wrapper import DynamicPaddingModelWrapper
    from amda.models import load_saved_classifier

    max_seconds = optional_number(attack_cfg, args.attack, "max_seconds", 1e-3, float("inf"))

    texts, labels = read_split(args.data)
    sampled = args.fraction is not None or args.sample_size is not None
    order = (
        runner.sample_order(len(texts), args.fraction, args.sample_seed, size=args.sample_size)
        if sampled
        else list(range(len(texts)))
    )
    rank = {row: i for i, row in enumerate(order)}
    rows = sorted(order)
    idxs = [rows[i] for i in runner.shard_indices(len(rows), args.shards, args.shard)]

    model, tokenizer = load_saved_classifier(args.model_dir)
    temperature = read_temperature(args.temperature_json) if args.temperature_json else 1.0
    wrapper = DynamicPaddingModelWrapper(model, tokenizer, args.max_length, args.batch_size, temperature=temperature)
    resources = {"nltk_data": args.nltk_data, "embedding_dir": args.embedding_dir}
    attack = build_attack(args.attack, attack_cfg, wrapper, resources)
    inputs = [args.model_dir, args.data] + ([args.embedding_dir] if args.embedding_dir else [])
    settings = {"max_length": args.max_length, "batch_size": args.batch_size, "max_seconds": max_seconds}
    if args.temperature_json:  # raw attacks keep their fingerprint, so their kept records stay valid
        settings["temperature"] = temperature
    tag = runner.shard_fingerprint(inputs, idxs, attack, settings)
    reuse_tag = runner.shard_fingerprint(inputs, [], attack, settings)  # the rows left out: any sample
    reuse = runner.read_reusable(args.reuse_dir, reuse_tag)
    print(
        f"{args.attack}: shard {args.shard} of {args.shards}, {len(idxs)} rows of {args.data}"
        f" ({len(set(idxs) & set(reuse))} kept from earlier runs)",
        file=sys.stderr,
        flush=True,
    )
    seen = [runner.visible_text(tokenizer, texts[i], args.max_length) for i in idxs]
    records = runner.attack_examples(
        attack,
        [text for text, _ in seen],
        [labels[i] for i in idxs],
        idxs,
        checkpoint_path=args.checkpoint,
        checkpoint_tag=tag,
        reuse=reuse,
        max_seconds=max_seconds,
        truncated=[cut for _, cut in seen],
        ranks=[rank[i] for i in idxs],
        desc=f"{args.attack}: shard {args.shard} of {args.shards}",
    )
    write_parquet_atomic(runner.records_frame(records), args.out)
    if args.reuse_dir:
        runner.keep_reusable(args.reuse_dir, reuse_tag, f"shard{args.shard}-of-{args.shards}", records)
    remove_with_empty_parents(args.checkpoint)
    counts = runner.summarize(records)["counts"]
    print(f"{args.attack}: wrote {args.out} ({counts})", file=sys.stderr)


if __name__ == "__main__":
    run_main(main)
