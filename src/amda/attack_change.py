"""Does a result change when only the attack changes? The same models attacked by two implementations of one of the
paper's attacks (a reference attack and the TextAttack recipe it reimplements, `records.attack_pairs`), compared
sentence by sentence: `results/attack_change.{csv,md}` (issue 26, 3a).

Two kinds of row per dataset × model × pair of attacks, each over the seeds both attacks cover:
- `model`: one model's accuracy under the reference attack minus its accuracy under the recipe, over the sentences
  neither counted apart. The model is the same, so the whole difference is the attack's.
- `comparison`: one of the paper's comparisons A − B (as results/claims.csv decides it) under the reference attack
  minus the same comparison under the recipe: (A_ref − B_ref) − (A_recipe − B_recipe) per sentence, over the
  sentences all four attacks kept. It says whether the claim's effect moves with the attack.
Intervals: the claims' 95% bootstrap, over sentences, or seeds and sentences crossed (`amda.stats`).
"""

import numpy as np
import pandas as pd

from amda import records, stats
from amda.aggregate import DATASET_NAMES, MODEL_NAMES, display, markdown_table, seeds_text
from amda.claims import COMPARISONS, records_of, seeds_by_group, training_pairs
from amda.naming import ATTACK_NAMES, CLEAN, DEFAULT_HP, METHOD_NAMES, METHODS, RunId

MODEL, COMPARISON = "model", "comparison"
UP, DOWN = "up", "down"
COLUMNS = [
    "kind",
    "dataset",
    "model",
    "attack",
    "recipe",
    "a",
    "b",
    "train_attack",
    "under_recipe",
    "under_attack",
    "change",
    "low",
    "high",
    "sentences",
    "seeds",
    "verdict",
]


def change_verdict(low, high):
    """up / down: the interval excludes 0 on that side (the reference attack gives more / less); else inconclusive."""
    return UP if low > 0 else DOWN if high < 0 else stats.INCONCLUSIVE


def _aligned(summaries, runs_attacks, what):
    """The 0/1 outcome arrays of each (run, attack) over the sentences none counted apart (`stats.aligned_outcomes`)."""
    return stats.aligned_outcomes([records_of(summaries.tae(run, attack)) for run, attack in runs_attacks], what)


def _row(kind, where, a, b, train_attack, seeds, before, after, reps):
    """A row from per-seed arrays of the quantity under the recipe (`before`) and under the reference (`after`)."""
    diffs = np.array([x - y for x, y in zip(after, before)])
    low, high = stats.bootstrap_interval(diffs, reps)
    dataset, model, attack, recipe = where
    return {
        "kind": kind,
        "dataset": dataset,
        "model": model,
        "attack": attack,
        "recipe": recipe,
        "a": a,
        "b": b,
        "train_attack": train_attack,
        "under_recipe": round(100 * float(np.mean(before)), 2),
        "under_attack": round(100 * float(np.mean(after)), 2),
        "change": round(100 * float(diffs.mean()), 2),
        "low": round(100 * low, 2),
        "high": round(100 * high, 2),
        "sentences": diffs.shape[1],
        "seeds": seeds_text(seeds),
        "verdict": change_verdict(low, high),
    }


def _model_rows(summaries, groups, where, reps):
    dataset, model, attack, recipe = where
    found = {k[3:]: set(v) for k, v in groups.items() if k[:3] == (dataset, model, attack)}
    other = {k[3:]: set(v) for k, v in groups.items() if k[:3] == (dataset, model, recipe)}
    rows = []
    for method, train_attack in sorted(set(found) & set(other), key=lambda k: (METHODS.index(k[0]), k[1])):
        seeds = sorted(found[(method, train_attack)] & other[(method, train_attack)])
        before, after = [], []
        for seed in seeds:
            run = RunId(dataset, model, method, train_attack, DEFAULT_HP, seed)
            under_attack, under_recipe = _aligned(
                summaries, [(run, attack), (run, recipe)], f"{dataset}/{model}/{method} seed {seed}"
            )
            before.append(under_recipe)
            after.append(under_attack)
        if seeds:
            rows.append(_row(MODEL, where, method, "", train_attack, seeds, before, after, reps))
    return rows


def _comparison_rows(summaries, groups, where, reps):
    dataset, model, attack, recipe = where
    rows = []
    for _claim, a, b, _direction in COMPARISONS:
        recipe_pairs = set(training_pairs(groups, dataset, model, recipe, a, b))
        for train_attack, ta, tb in training_pairs(groups, dataset, model, attack, a, b):
            if (train_attack, ta, tb) not in recipe_pairs:
                continue
            seeds = sorted(
                set.intersection(
                    *(set(groups[(dataset, model, x, m, t)]) for x in (attack, recipe) for m, t in ((a, ta), (b, tb)))
                )
            )
            before, after = [], []
            for seed in seeds:
                ra, rb = (RunId(dataset, model, m, t, DEFAULT_HP, seed) for m, t in ((a, ta), (b, tb)))
                a_att, b_att, a_rec, b_rec = _aligned(
                    summaries,
                    [(ra, attack), (rb, attack), (ra, recipe), (rb, recipe)],
                    f"{dataset}/{model} {a} vs {b} seed {seed}",
                )
                before.append(a_rec - b_rec)
                after.append(a_att - b_att)
            if seeds:
                rows.append(_row(COMPARISON, where, a, b, train_attack, seeds, before, after, reps))
    return rows


def attack_change_frame(summaries, reps=stats.BOOTSTRAP_REPS):
    """The model and comparison rows of every dataset × model the summaries hold under both attacks of a pair; none
    (a header-only file) when no model was attacked by both."""
    groups = seeds_by_group(summaries)
    rows = []
    for dataset, model in sorted({k[:2] for k in groups}):
        for attack, recipe in records.attack_pairs():
            where = (dataset, model, attack, recipe)
            rows += _model_rows(summaries, groups, where, reps) + _comparison_rows(summaries, groups, where, reps)
    return pd.DataFrame(rows, columns=COLUMNS)


def attack_change_markdown(frame):
    header = ["Where", "Models", "under the recipe", "under the reference", "change (95% CI)", "n", "Verdict"]
    rows = []
    for _, r in frame.iterrows():
        where = (
            f"{display(DATASET_NAMES, r['dataset'])}, {display(MODEL_NAMES, r['model'])}: "
            f"{display(ATTACK_NAMES, r['attack'])} vs {display(ATTACK_NAMES, r['recipe'])}"
        )
        trained = (
            "" if r["train_attack"] == CLEAN else f" (trained on {display(ATTACK_NAMES, r['train_attack'])}'s set)"
        )
        models = (
            display(METHOD_NAMES, r["a"])
            if r["kind"] == MODEL
            else f"{display(METHOD_NAMES, r['a'])} − {display(METHOD_NAMES, r['b'])}"
        ) + trained
        seeds = str(r["seeds"]).split(";")
        rows.append(
            [
                where,
                models,
                f"{r['under_recipe']:+.1f}" if r["kind"] == COMPARISON else f"{r['under_recipe']:.1f}",
                f"{r['under_attack']:+.1f}" if r["kind"] == COMPARISON else f"{r['under_attack']:.1f}",
                f"{r['change']:+.1f} [{r['low']:+.1f}, {r['high']:+.1f}]",
                f"{r['sentences']} × {len(seeds)} seed{'s' if len(seeds) > 1 else ''}",
                f"**{r['verdict']}**",
            ]
        )
    return (
        "# The same models under two implementations of one attack\n\n"
        "A model's row: its accuracy under attack (TAE, %) under the TextAttack recipe and under the reference "
        "attack that reimplements the paper's, and the change, reference − recipe. A comparison's row: A − B "
        "(points) under each attack, and how much it moved, (A − B under the reference) − (A − B under the recipe). "
        "Each over the sentences every model of the row kept under both attacks (so a model's figure can differ "
        "slightly from Table 2's), with a 95% paired bootstrap interval (over sentences; over seeds and sentences "
        "together when there are several seeds). **up** / **down**: the interval excludes 0 on that side; "
        "**inconclusive**: it covers 0.\n\n"
        + (
            markdown_table(header, rows)
            if rows
            else "No model was attacked by both attacks of a pair ("
            + ", ".join(f"{ATTACK_NAMES[x]} and {ATTACK_NAMES[y]}" for x, y in records.attack_pairs())
            + ").\n"
        )
    )
