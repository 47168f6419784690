"""Figures 2 and 3: accuracy under attack (and clean accuracy) against one swept hyper-parameter.

Figure 2 sweeps the paper's ratio, the share of train attacked (hp `ratio-<x>`), Figure 3 the mixup α
(hp `alpha-<x>`). Points are means over seeds; error bars are 95% bootstrap intervals over the attacked
sentences (and seeds together when several) for accuracy under attack, ± one sample sd for clean accuracy
(n ≥ 2). Each point is also compared sentence by sentence with the largest swept value (the paper's
setting: the largest share of train attacked; the largest α): `vs_ref_*` columns and a verdict
(`amda.stats`) on whether the reference is the more robust. The CSV also gives the number of adversarial examples each point trained on.
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import pandas as pd  # noqa: E402

from amda import stats  # noqa: E402
from amda.aggregate import (  # noqa: E402
    DATASET_NAMES,
    MODEL_NAMES,
    PERCENT,
    Stat,
    display,
    seeds_text,
    stat_columns,
    trained_run,
)
from amda.claims import records_of  # noqa: E402
from amda.errors import AmdaError  # noqa: E402
from amda.io import write_atomic  # noqa: E402
from amda.naming import ATTACK_NAMES, DEFAULT_HP, METHOD_NAMES, format_hp, parse_hp  # noqa: E402

AXIS_LABELS = {"ratio": "share of the training set attacked (ratio)", "alpha": "mixup α"}
LINES = (("accuracy_under_attack", "-o", "under attack"), ("clean_accuracy", "--s", "clean"))


def sweep_frame(summaries, hp_key, dataset, model, methods, attack, values, seeds, default_value=None):
    """One row per method × swept value; `default_value` is the value that hp `default` runs stand for."""
    if hp_key not in AXIS_LABELS:
        raise AmdaError(f"{summaries.table}: unknown swept hyper-parameter {hp_key!r} (expected ratio or alpha)")
    rows = []
    for method in methods:
        for value in values:
            hp = (
                DEFAULT_HP
                if default_value is not None and float(value) == float(default_value)
                else format_hp(hp_key, value)
            )
            runs = [trained_run(dataset, model, method, attack, seed, hp=hp) for seed in seeds]
            aua = Stat.of([summaries.tae(r, attack).number("accuracy_under_attack", PERCENT) for r in runs])
            clean = Stat.of([summaries.metrics(r).number("test_accuracy", PERCENT) for r in runs])
            used = Stat.of([summaries.metrics(r).number("num_adversarial") for r in runs])
            rows.append(
                {
                    "dataset": dataset,
                    "model": model,
                    "method": method,
                    "attack": attack,
                    "hp": hp,
                    hp_key: float(value),
                    "seeds": seeds_text(seeds),
                    "n": len(seeds),
                    **stat_columns("accuracy_under_attack", aua),
                    **stat_columns("clean_accuracy", clean),
                    # what the ratio bought: the successes among the attacked share
                    "num_adversarial_mean": used.mean,
                }
            )
    frame = pd.DataFrame(rows)
    return _with_intervals(frame, summaries, hp_key, dataset, model, attack, seeds)


def _outcomes(summaries, dataset, model, method, attack, hp, seeds):
    return seed_outcomes(summaries, [trained_run(dataset, model, method, attack, s, hp=hp) for s in seeds], attack)


def seed_outcomes(summaries, runs, attack):
    """{idx: 1 if the model withstood the attack} per run (`stats.outcomes` of its TAE records)."""
    return [stats.outcomes(records_of(summaries.tae(run, attack))) for run in runs]


def accuracy_interval(per_seed):
    """(sentences, low, high): the 95% bootstrap interval (%) of accuracy under attack from `seed_outcomes`, over
    the sentences every seed kept, seeds and sentences resampled together as the claims resample them
    (`stats.bootstrap_interval`)."""
    common = sorted(set.intersection(*(set(o) for o in per_seed)))
    low, high = stats.bootstrap_interval([[o[i] for i in common] for o in per_seed])
    return len(common), round(100 * low, 2), round(100 * high, 2)


def _with_intervals(frame, summaries, hp_key, dataset, model, attack, seeds):
    """95% bootstrap interval of each point's accuracy under attack, and its paired difference from the
    largest swept value of the same method with the verdict that the reference is the more robust."""
    columns = {
        k: []
        for k in (
            "sentences",
            "accuracy_under_attack_low",
            "accuracy_under_attack_high",
            "vs_ref_diff",
            "vs_ref_low",
            "vs_ref_high",
            "vs_ref_mdd",
            "verdict",
        )
    }
    for _, row in frame.iterrows():
        block = frame[frame["method"] == row["method"]]
        ref = block.loc[block[hp_key].idxmax()]
        point = _outcomes(summaries, dataset, model, row["method"], attack, row["hp"], seeds)
        sentences, low, high = accuracy_interval(point)
        columns["sentences"].append(sentences)
        columns["accuracy_under_attack_low"].append(low)
        columns["accuracy_under_attack_high"].append(high)
        if row["hp"] == ref["hp"]:
            for key in ("vs_ref_diff", "vs_ref_low", "vs_ref_high", "vs_ref_mdd"):
                columns[key].append(float("nan"))
            columns["verdict"].append("reference")
            continue
        reference = _outcomes(summaries, dataset, model, row["method"], attack, ref["hp"], seeds)
        pairs = []
        for r, p in zip(reference, point):
            both = sorted(set(r) & set(p))
            pairs.append(([r[i] for i in both], [p[i] for i in both]))
        result = stats.paired_comparison(pairs)
        columns["vs_ref_diff"].append(round(result.diff, 2))
        columns["vs_ref_low"].append(round(result.low, 2))
        columns["vs_ref_high"].append(round(result.high, 2))
        columns["vs_ref_mdd"].append(round(result.mdd, 2))
        columns["verdict"].append(result.verdict(1))
    return frame.assign(**columns)


def swept_values(summaries, hp_key):
    """The `hp_key` values the TAE summaries' models were trained with (hp `default` runs aside)."""
    values = set()
    for hp in summaries.found("hp"):
        if hp == DEFAULT_HP:
            continue
        setting = parse_hp(hp)
        if hp_key not in setting:
            raise AmdaError(f"{summaries.table}: a TAE summary is of hp {hp}, not a {hp_key} setting")
        values.add(setting[hp_key])
    return sorted(values)


def error_bars(block, prefix):
    """The 95% interval (asymmetric) where the frame has one, else ± one sd; None when neither is known. A mean
    outside its interval (the interval rests on the sentences every seed kept) gets no bar on that side."""
    mean = block[f"{prefix}_mean"]
    if f"{prefix}_low" in block:
        return [
            (mean - block[f"{prefix}_low"]).clip(lower=0).to_numpy(),
            (block[f"{prefix}_high"] - mean).clip(lower=0).to_numpy(),
        ]
    std = block[f"{prefix}_std"]
    return None if std.isna().all() else std


def plot_sweep(frame, hp_key, path):
    """Write the sweep as a PNG (atomically): solid lines under attack, dashed lines clean."""
    fig, ax = plt.subplots(figsize=(5.5, 3.8), dpi=150)
    for method, block in frame.groupby("method", sort=False):
        block = block.sort_values(hp_key)
        name = display(METHOD_NAMES, method)
        for prefix, style, label in LINES:
            ax.errorbar(
                block[hp_key],
                block[f"{prefix}_mean"],
                yerr=error_bars(block, prefix),
                fmt=style,
                capsize=3,
                label=f"{name}, {label}",
            )
    if hp_key == "alpha":
        ax.set_xscale("log")
        ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    ax.set_xticks(sorted(frame[hp_key].unique()))
    ax.get_xaxis().set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
    first = frame.iloc[0]
    n = int(first["n"])
    ax.set_title(
        f"{display(DATASET_NAMES, first['dataset'])}, {display(MODEL_NAMES, first['model'])}, "
        f"{display(ATTACK_NAMES, first['attack'])} (n={n} seed{'s' if n > 1 else ''}"
        + (f" × {int(frame['sentences'].min())} sentences; bars: 95% CI)" if "sentences" in frame else ")"),
        fontsize=10,
    )
    finish_figure(fig, [ax], AXIS_LABELS[hp_key], "accuracy (%)", path)


def finish_figure(fig, axes, xlabel, ylabel, path):
    """The figures' common finish: each panel labelled, gridded and with its legend; the PNG written atomically."""
    for ax in axes:
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    write_atomic(path, lambda tmp: fig.savefig(tmp, format="png"))
    plt.close(fig)
