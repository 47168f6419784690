"""Tables 1-4: per-model summaries reduced over seeds, as a tidy DataFrame (CSV) and a Markdown twin.

All rates are percentages. Every number is a mean over seeds with its sample standard deviation
(`*_mean`, `*_std`, `n`); the Markdown shows `mean ± sd`, or the bare value when n = 1.
"""

import pandas as pd

from amda.aggregate import (
    DATASET_NAMES,
    MODEL_NAMES,
    PERCENT,
    Stat,
    display,
    markdown_table,
    seeds_text,
    stat_columns,
    trained_run,
)
from amda.claims import SAE_CLAIM, block_footer, claim_row
from amda.errors import AmdaError
from amda.naming import AMDA_VS_ADA, ATTACK_NAMES, CLEAN, METHOD_NAMES, victim

GAIN_MARK = "†"
NOT_DECIDED = "not decided (no claims.csv row)"


def _heading(dataset, model):
    return f"## {display(DATASET_NAMES, dataset)}, {display(MODEL_NAMES, model)}"


# --- Table 1: victim and re-seeded models under dynamic (TAE) and static (SAE) attack ----------


def table1_frame(summaries, datasets, models, attacks, victim_seed, seeds, claims=None):
    """One row per dataset × model × (victim | each re-seeded model | re-seeded mean) × attack; the re-seeded
    mean rows carry SAE − TAE paired over sentences and seeds, its interval and verdict, from `claims`."""
    if victim_seed in seeds:
        raise AmdaError(f"{summaries.table}: victim seed {victim_seed} is also listed among the re-seeded seeds")
    rows = []
    for dataset in datasets:
        for model in models:
            groups = [("victim", [victim_seed])] + [("reseeded", [s]) for s in seeds]
            groups.append(("reseeded_mean", list(seeds)))
            for attack in attacks:
                static_size = _static_set_size(summaries, dataset, model, attack, seeds)
                _, a, b, _ = SAE_CLAIM
                claim = claim_row(claims, dataset, model, attack, a, b, CLEAN)
                for role, group_seeds in groups:
                    row = _table1_row(summaries, dataset, model, attack, role, group_seeds, static_size)
                    rows.append({**row, **_paired_columns("sae_minus_tae", claim if role == "reseeded_mean" else None)})
    return pd.DataFrame(rows)


def _table1_row(summaries, dataset, model, attack, role, seeds, static_size):
    runs = [victim(dataset, model, seed) for seed in seeds]
    clean = Stat.of([summaries.metrics(r).number("test_accuracy", PERCENT) for r in runs])
    tae = Stat.of([summaries.tae(r, attack).number("accuracy_under_attack", PERCENT) for r in runs])
    saes = [summaries.sae(r, attack) for r in runs]
    sae = Stat.of([summary.number("static_accuracy", PERCENT) for summary in saes])
    successful_only = Stat.of([summary.number("static_accuracy_successful_only", PERCENT) for summary in saes])
    return {
        "table": summaries.table,
        "dataset": dataset,
        "model": model,
        "row": role,
        "seeds": seeds_text(seeds),
        "n": len(seeds),
        "attack": attack,
        **stat_columns("clean_accuracy", clean),
        **stat_columns("tae_accuracy", tae),
        **stat_columns("sae_accuracy", sae),
        **stat_columns("sae_successful_only_accuracy", successful_only),
        "static_set_size": static_size,
    }


def _static_set_size(summaries, dataset, model, attack, seeds):
    """How many attacked sentences the static set holds; every re-seeded model must be scored on the same set."""
    sizes = {}
    for seed in seeds:
        summary = summaries.sae(victim(dataset, model, seed), attack)
        sizes[seed] = int(summary.number("n"))
    if len(set(sizes.values())) > 1:
        raise AmdaError(
            f"{summaries.table}: SAE summaries of {dataset}/{model} under attack {attack} disagree on "
            f"the static set size ({', '.join(f'seed {s}: {n}' for s, n in sizes.items())})"
        )
    return next(iter(sizes.values()))


def table1_markdown(frame, claims=None):
    if claims is not None:
        claims = claims[(claims["a"] == SAE_CLAIM[1]) & (claims["b"] == SAE_CLAIM[2])]
    parts = [
        "# Table 1: static (SAE) vs dynamic (TAE) evaluation of re-seeded models\n",
        "Accuracy in %. TAE: the model is attacked afresh (accuracy under attack on the test sample). "
        "SAE (the paper's): accuracy on every sentence attacked on the victim, the perturbed text where the "
        "attack succeeded and the original where it failed or was skipped, so the victim's SAE equals its TAE. "
        "The CSV's `sae_successful_only_accuracy` is the accuracy on the victim's successful adversarial "
        "examples alone (the victim's is 0 by construction).\n",
    ]
    attacks = list(dict.fromkeys(frame["attack"]))
    header = ["Model", "Clean"] + [f"{display(ATTACK_NAMES, a)}: {kind}" for a in attacks for kind in ("TAE", "SAE")]
    for (dataset, model), block in frame.groupby(["dataset", "model"], sort=False):
        rows = []
        for (role, seeds), group in block.groupby(["row", "seeds"], sort=False):
            first = group.iloc[0]
            cells = [_role_label(role, seeds, int(first["n"])), cell(first, "clean_accuracy")]
            for attack in attacks:
                row = group[group["attack"] == attack].iloc[0]
                cells += [cell(row, "tae_accuracy"), cell(row, "sae_accuracy")]
            rows.append(cells)
        sizes = ", ".join(
            f"{display(ATTACK_NAMES, a)} {int(block[block['attack'] == a]['static_set_size'].iloc[0])}" for a in attacks
        )
        reseeded = block[block["row"] == "reseeded_mean"]
        paired = "; ".join(
            f"{display(ATTACK_NAMES, r['attack'])} {_paired_text(r, 'sae_minus_tae')}" for _, r in reseeded.iterrows()
        )
        parts += [
            _heading(dataset, model) + "\n",
            markdown_table(header, rows),
            f"Static sets (every sentence attacked on the victim): {sizes} examples.\n",
            "SAE − TAE of the re-seeded models, paired over sentences (and seeds), points with its 95% "
            f"interval: {paired}.\n",
            block_footer(claims, dataset, model) + "\n",
        ]
    return "\n".join(parts)


def _paired_text(row, prefix):
    if pd.isna(row[prefix]):
        return row[f"{prefix}_verdict"]
    return (
        f"{row[prefix]:+.1f} [{row[f'{prefix}_low']:+.1f}, {row[f'{prefix}_high']:+.1f}] **{row[f'{prefix}_verdict']}**"
    )


def _role_label(role, seeds, n):
    readable = seeds.replace(";", ", ")
    if role == "victim":
        return f"Victim (seed {readable})"
    if role == "reseeded":
        return f"Re-seeded (seed {readable})"
    return f"Re-seeded, mean ± sd over seeds {readable} (n={n})"


def cell(row, prefix, digits=1):
    """`mean ± sd` of a stat's columns in a table row; the bare mean when n = 1, a dash when there is none."""
    mean, std = row[f"{prefix}_mean"], row[f"{prefix}_std"]
    if pd.isna(mean):
        return "—"
    if pd.isna(std):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


# --- Tables 2-4: methods × attacks ---------------------------------------------------------------


def method_frame(summaries, datasets, models, methods, attacks, seeds, mark_gain, claims=None, train_attacks=None):
    """One row per dataset × model × method × attack (the ADA / AMDA models trained on the adversarial set of
    `train_attacks[attack]`, default the attack's own: `aggregate.trained_run`); `mark_gain` adds AMDA's paired gain
    over ADA and its verdict from `claims` (the frame of results/claims.csv)."""
    rows = []
    for dataset in datasets:
        for model in models:
            for attack in attacks:
                cells = {m: method_cell(summaries, dataset, model, m, attack, seeds, train_attacks) for m in methods}
                for method in methods:
                    row = cells[method]["row"]
                    if mark_gain and AMDA_VS_ADA.get(method) in cells:
                        claim = claim_row(
                            claims, dataset, model, attack, method, AMDA_VS_ADA[method], row["train_attack"]
                        )
                        row.update(_gain_columns(claim))
                    rows.append(row)
    frame = pd.DataFrame(rows)
    if mark_gain and "gain_over_ada" not in frame:
        frame["gain_over_ada"], frame["gain_low"], frame["gain_high"], frame["gain_verdict"] = (float("nan"),) * 3 + (
            None,
        )
    return frame


def method_cell(summaries, dataset, model, method, attack, seeds, train_attacks=None):
    """The row of one method under one attack (clean accuracy, accuracy under attack, modification rates, attack
    cost) and its accuracy under attack as a Stat: Tables 2-4 and the defenses table."""
    runs = [trained_run(dataset, model, method, attack, seed, train_attacks=train_attacks) for seed in seeds]
    taes = [summaries.tae(run, attack) for run in runs]
    clean = Stat.of([summaries.metrics(run).number("test_accuracy", PERCENT) for run in runs])
    aua = Stat.of([t.number("accuracy_under_attack", PERCENT) for t in taes])
    row = {
        "table": summaries.table,
        "dataset": dataset,
        "model": model,
        "method": method,
        "train_attack": runs[0].train_attack,
        "attack": attack,
        "seeds": seeds_text(seeds),
        "n": len(seeds),
        **stat_columns("clean_accuracy", clean),
        **stat_columns("clean_accuracy_attacked", Stat.of([t.number("clean_accuracy", PERCENT) for t in taes])),
        **stat_columns("accuracy_under_attack", aua),
        **stat_columns("modification_rate", Stat.of([t.number("mean_modification_rate", PERCENT) for t in taes])),
        **stat_columns(
            "openattack_modification_rate",
            Stat.of([t.number("openattack_modification_rate", PERCENT) for t in taes]),
        ),
        **stat_columns("attack_success_rate", Stat.of([t.number("attack_success_rate", PERCENT) for t in taes])),
        **stat_columns("queries", Stat.of([t.number("mean_queries") for t in taes])),
        "examples_total": sum(int(t.number("n")) for t in taes),
        "errored_total": sum(t.count("errored") for t in taes),
    }
    return {"row": row, "aua": aua}


def _paired_columns(prefix, claim):
    """A − B paired over sentences (and seeds), its 95% interval and verdict, from a results/claims.csv row."""
    if claim is None:
        nan = float("nan")
        return {prefix: nan, f"{prefix}_low": nan, f"{prefix}_high": nan, f"{prefix}_verdict": NOT_DECIDED}
    return {
        prefix: claim["diff"],
        f"{prefix}_low": claim["low"],
        f"{prefix}_high": claim["high"],
        f"{prefix}_verdict": claim["verdict"],
    }


def _gain_columns(claim):
    """AMDA − ADA, the columns Tables 2-4 carry (gain_over_ada, gain_low, gain_high, gain_verdict)."""
    return {("gain_over_ada" if k == "gain" else k): v for k, v in _paired_columns("gain", claim).items()}


def method_markdown(frame, title, mark_gain, claims=None):
    attacks = list(dict.fromkeys(frame["attack"]))
    header = ["Method"] + [display(ATTACK_NAMES, a) for a in attacks]
    parts = [
        f"# {title}\n",
        "Cells: clean accuracy on the whole test split / accuracy under attack (mean word-modification "
        "rate of successful attacks, TextAttack's), all in %; mean ± sd over seeds. The CSV adds the clean "
        "accuracy on the attacked sample (`clean_accuracy_attacked`, the baseline of accuracy under attack) and "
        "the paper's word-modification rate (`openattack_modification_rate`, OpenAttack v1's definition).\n",
    ]
    for (dataset, model), block in frame.groupby(["dataset", "model"], sort=False):
        seeds = block["seeds"].iloc[0].replace(";", ", ")
        n = int(block["n"].iloc[0])
        main, cost = [], []
        for method, rows in block.groupby("method", sort=False):
            by_attack = {row["attack"]: row for _, row in rows.iterrows()}
            main.append([display(METHOD_NAMES, method)] + [main_cell(by_attack[a], mark_gain) for a in attacks])
            cost.append([display(METHOD_NAMES, method)] + [_cost_cell(by_attack[a]) for a in attacks])
        parts += [
            f"{_heading(dataset, model)} (n={n}: seed{'s' if n > 1 else ''} {seeds})\n",
            markdown_table(header, main),
            "Attack success rate (%) / mean queries / errored examples (of all attacked, summed over seeds):\n",
            markdown_table(header, cost),
        ]
        if mark_gain and (note := _gain_note(block["gain_verdict"])):
            parts.append(note)
        parts.append(block_footer(claims, dataset, model) + "\n")
    return "\n".join(parts)


def main_cell(row, mark_gain=False):
    """clean accuracy / accuracy under attack (modification rate), marked where AMDA's gain over ADA holds."""
    text = f"{cell(row, 'clean_accuracy')} / {cell(row, 'accuracy_under_attack')} ({cell(row, 'modification_rate')})"
    if mark_gain and row.get("gain_verdict") == "holds":
        text += f" {GAIN_MARK}"
    return text


def _cost_cell(row):
    return (
        f"{cell(row, 'attack_success_rate')} / {cell(row, 'queries', digits=0)} / "
        f"{int(row['errored_total'])} of {int(row['examples_total'])}"
    )


def _gain_note(verdicts):
    """The legend of the mark, or why no cell carries it."""
    if (verdicts == "holds").any():
        return (
            f"{GAIN_MARK}: AMDA's accuracy under attack exceeds ADA's, the 95% paired bootstrap interval of the "
            "difference (over sentences, and seeds when several) excluding 0 (results/claims.md: **holds**).\n"
        )
    decided = sorted({v for v in verdicts.dropna() if v != NOT_DECIDED})
    if decided:
        return (
            f"No cell is marked {GAIN_MARK}: no AMDA method's accuracy under attack exceeds ADA's with a 95% paired "
            f"interval excluding 0 (results/claims.md: {', '.join(decided)}).\n"
        )
    if verdicts.notna().any():
        return f"No cell is marked {GAIN_MARK}: AMDA's gain over ADA is not decided here (no claims row for it).\n"
    return ""  # no AMDA method beside its ADA in this block
