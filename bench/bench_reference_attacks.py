"""Benchmark: the reference attacks (`pwws_ref`, `textfooler_ref`) against TextAttack's recipes they stand beside.

  python bench/bench_reference_attacks.py [--model-dir DIR] [--embedding-dir DIR] [--n 30] [--threads 1]

Side by side on the same victim and sentences: each sentence is attacked by both attacks of a pair, one
after the other, so the machine's load falls on both alike. Every attack as the workflow builds it (config.yaml's
settings; the reference attacks at their record's defaults, i.e. the reference's behaviour). Reported per attack:
outcomes, wall time, queries, texts the model scored, and the reference attack's time over its TextAttack
counterpart's. Their parity with the reference loops is the slow tests' (tests/test_attack_reference.py,
tests/test_textfooler_ref.py). Victim and embedding as bench/bench_attack.py's. Markdown on stdout, progress on stderr.
"""

import time

import pandas as pd
from bench_attack import MAX_LENGTH, REPO, attack_parser, attack_setup, log

from amda.config import load_yaml, validate_config

PAIRS = (("pwws", "pwws_ref"), ("textfooler", "textfooler_ref"))


def attack_settings():
    """config.yaml's attacks with the reference attacks added at their defaults, as a config would add them."""
    config = load_yaml(REPO / "config.yaml")
    config["attacks"].update({ref: {} for _, ref in PAIRS})
    return validate_config(config, source="config.yaml + the reference attacks")["attacks"]


def main(argv=None):
    ap = attack_parser(__doc__, n=30)
    ap.add_argument("--pairs", nargs="+", default=[p for p, _ in PAIRS], choices=[p for p, _ in PAIRS])
    args = ap.parse_args(argv)
    model, tokenizer, texts, labels, resources = attack_setup(args)
    from amda.attack.recipes import build_attack
    from amda.attack.runner import attack_examples, summarize
    from amda.attack.wrapper import DynamicPaddingModelWrapper

    settings = attack_settings()

    rows = []
    for pair in (p for p in PAIRS if p[0] in args.pairs):
        attacks = {
            name: build_attack(
                name,
                settings[name],
                DynamicPaddingModelWrapper(model, tokenizer, MAX_LENGTH, args.batch_size),
                resources,
            )
            for name in pair
        }
        records, seconds = {name: [] for name in pair}, dict.fromkeys(pair, 0.0)
        for i in range(len(texts)):
            for name in pair:
                start = time.perf_counter()
                records[name] += attack_examples(
                    attacks[name], [texts[i]], [labels[i]], [i], max_seconds=settings[name]["max_seconds"]
                )
                seconds[name] += time.perf_counter() - start
            log(f"{i + 1}/{len(texts)}: " + ", ".join(f"{n} {seconds[n]:.0f}s" for n in pair))
        for name in pair:
            counts = summarize(records[name])["counts"]
            rows.append(
                {
                    "attack": name,
                    "n": len(texts),
                    "successful/failed/skipped/capped": "/".join(
                        str(counts.get(k, 0)) for k in ("successful", "failed", "skipped", "capped")
                    ),
                    "wall (s)": round(seconds[name], 1),
                    "queries": sum(r["queries"] for r in records[name]),
                    "texts scored": attacks[name].goal_function.model.texts_scored,  # the left-padded copy's
                    "over TextAttack's": round(seconds[name] / seconds[pair[0]], 2),
                }
            )
    print(
        f"### Reference attacks beside TextAttack's ({args.n} SST-2 test sentences, MiniLM victim, "
        f"{args.threads} CPU thread(s), batch {args.batch_size}, max_length {MAX_LENGTH})\n"
    )
    print(pd.DataFrame(rows).to_markdown(index=False))


if __name__ == "__main__":
    from amda.cli import run_main

    run_main(main)
