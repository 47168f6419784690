"""The paper's comparisons, each decided sentence by sentence: `results/claims.csv` and its Markdown twin.

Inputs are TAE summaries (`tae-<attack>.json`, which carry their run identity); the per-sentence
records are the `tae-<attack>.parquet` beside each. For every dataset × model × attack the summaries
cover, each comparison whose two methods are both present for the same seeds gets A − B in accuracy
under attack, its 95% paired bootstrap interval, the exact McNemar p per seed, the smallest
difference the data could detect and a verdict (`amda.stats`). Table 1's claim compares two
evaluations of the same re-seeded models instead: SAE (right on the victim's static example) minus
TAE (withstood a fresh attack), sentence by sentence (`sae_claims_frame`). Each row names the evaluation
setting its TAE summaries share (`setting`: `raw`, or `calibrated`, the models attacked temperature-scaled,
`amda.naming.SETTINGS`), so a comparison appears once per setting.
"""

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from amda import records, stats
from amda.aggregate import (
    DATASET_NAMES,
    MODEL_NAMES,
    Summaries,
    display,
    markdown_table,
    seeds_text,
)
from amda.errors import AmdaError
from amda.naming import (
    ATTACK_NAMES,
    CLEAN,
    DEFAULT_HP,
    METHOD_NAMES,
    RAW,
    SETTING_NAMES,
    RunId,
    summary_setting,
    victim,
)
from amda.outcomes import read_records

log = logging.getLogger("amda.claims")

# (claim, A, B, direction): the paper says A is more robust than B (+1); from the method records. Table 4:
# iterative ADA is "far worse" than one-shot, so one-shot is A.
COMPARISONS = records.comparisons()
# Table 1: static evaluation overstates the robustness of re-seeded models (SAE − TAE > 0).
SAE_CLAIM = ("SAE overstates robustness", "sae", "tae", 1)
EVALUATION_NAMES = {"sae": "SAE", "tae": "TAE"}
COLUMNS = [
    "claim",
    "dataset",
    "model",
    "train_attack",
    "attack",
    "a",
    "b",
    "direction",
    "diff",
    "low",
    "high",
    "sentences",
    "seeds",
    "discordance",
    "effective_pairs",
    "mdd",
    "mcnemar_p",
    "verdict",
    "setting",
]


def records_of(summary):
    """The per-sentence records beside a TAE summary (`tae-x.json` -> `tae-x.parquet`)."""
    return read_records(Path(summary.path).with_suffix(".parquet"))


def seeds_by_group(summaries):
    """{(dataset, model, attack, method, train_attack): sorted seeds} of the default-hp models the summaries hold."""
    groups = {}
    for run, attack in summaries.tae_runs():
        if run.hp == "default":
            groups.setdefault((run.dataset, run.model, attack, run.method, run.train_attack), set()).add(run.seed)
    return {k: sorted(v) for k, v in groups.items()}


def training_pairs(groups, dataset, model, attack, a, b):
    """(train_attack, A's, B's) of each pairing of A's and B's models under `attack` that trained on the same
    adversarial set, or on clean data: AMDA and ADA trained on one attack's set, Base beside either."""
    found = {m: [t for (d, mo, at, me, t) in groups if (d, mo, at, me) == (dataset, model, attack, m)] for m in (a, b)}
    pairs = []
    for ta in found[a]:
        for tb in found[b]:
            if ta == tb or CLEAN in (ta, tb):
                pairs.append((tb if ta == CLEAN else ta, ta, tb))
    return sorted(pairs)


def _row(claim, dataset, model, train_attack, attack, a, b, direction, seeds, result):
    return {
        "claim": claim,
        "dataset": dataset,
        "model": model,
        "train_attack": train_attack,
        "attack": attack,
        "a": a,
        "b": b,
        "direction": direction,
        "diff": round(result.diff, 2),
        "low": round(result.low, 2),
        "high": round(result.high, 2),
        "sentences": result.sentences,
        "seeds": seeds_text(seeds),
        "discordance": round(result.discordance, 4),
        "effective_pairs": round(result.effective_pairs),
        "mdd": round(result.mdd, 2),
        "mcnemar_p": ";".join(f"{p:.4g}" for p in result.mcnemar_p),
        "verdict": result.verdict(direction),
    }


def _setting(summaries):
    """The one evaluation setting of the TAE summaries (raw when there are none)."""
    found = {summary_setting(summaries.tae(run, attack).record) for run, attack in summaries.tae_runs()}
    if len(found) > 1:
        raise AmdaError(f"{summaries.table}: the TAE summaries mix the settings {', '.join(sorted(found))}")
    return found.pop() if found else RAW


def claims_frame(summaries, reps=stats.BOOTSTRAP_REPS):
    """One row per comparison the summaries allow (both methods, shared seeds; per adversarial set their models
    trained on, the row's `train_attack`, `clean` when neither did); none (a header-only file) when no comparison
    has both of its methods, e.g. a table of one method."""
    setting = _setting(summaries)
    groups = seeds_by_group(summaries)
    rows = []
    for dataset, model, attack in sorted({k[:3] for k in groups}):
        for claim, a, b, direction in COMPARISONS:
            for train_attack, ta, tb in training_pairs(groups, dataset, model, attack, a, b):
                seeds = sorted(
                    set(groups[(dataset, model, attack, a, ta)]) & set(groups[(dataset, model, attack, b, tb)])
                )
                if not seeds:
                    continue
                pairs = []
                for seed in seeds:
                    ra, rb = (
                        records_of(summaries.tae(RunId(dataset, model, m, t, DEFAULT_HP, seed), attack))
                        for m, t in ((a, ta), (b, tb))
                    )
                    what = f"{dataset}/{model}/{train_attack}/{attack} {a} vs {b} seed {seed}"
                    pairs.append(stats.paired_arrays(ra, rb, what))
                result = stats.paired_comparison(pairs, reps=reps)
                rows.append(
                    {
                        **_row(claim, dataset, model, train_attack, attack, a, b, direction, seeds, result),
                        "setting": setting,
                    }
                )
    if not rows:
        log.warning("%s: no comparison has both of its methods among the TAE summaries: no claims", summaries.table)
    return pd.DataFrame(rows, columns=COLUMNS)


def sae_outcomes(summary):
    """{idx: 1 if the model is right on the victim's static example} of an SAE summary (`static_eval`)."""
    idx, correct = summary.record.get("idx"), summary.record.get("correct")
    if not isinstance(idx, list) or not isinstance(correct, list) or len(idx) != len(correct):
        raise AmdaError(f"{summary.path}: no per-sentence idx/correct lists of equal length (rerun static_eval)")
    return dict(zip(map(int, idx), map(int, correct)))


def sae_claims_frame(summaries, victim_seed, reps=stats.BOOTSTRAP_REPS):
    """Table 1's claim per dataset × model × attack: SAE − TAE of the re-seeded models (every seed but the
    victim's), over the sentences both evaluations kept for every seed (TAE drops those counted apart)."""
    groups = {}
    for run, attack in summaries.sae_runs():
        if run.seed != victim_seed:
            groups.setdefault((run.dataset, run.model, attack), set()).add(run.seed)
    claim, a, b, direction = SAE_CLAIM
    rows = []
    for (dataset, model, attack), seeds in sorted(groups.items()):
        seeds = sorted(seeds)
        runs = [victim(dataset, model, seed) for seed in seeds]
        sae = [sae_outcomes(summaries.sae(run, attack)) for run in runs]
        tae = [stats.outcomes(records_of(summaries.tae(run, attack))) for run in runs]
        common = sorted(set.intersection(*(set(s) for s in sae + tae)))
        pairs = [(np.array([s[i] for i in common]), np.array([t[i] for i in common])) for s, t in zip(sae, tae)]
        result = stats.paired_comparison(pairs, reps=reps)
        rows.append({**_row(claim, dataset, model, CLEAN, attack, a, b, direction, seeds, result), "setting": RAW})
    if not rows:
        log.warning(
            "%s: no re-seeded model (a seed other than %s) has an SAE summary: no claims", summaries.table, victim_seed
        )
    return pd.DataFrame(rows, columns=COLUMNS)


def claims_markdown(frame):
    header = [
        "Claim",
        "Where",
        "Trained on",
        "A − B (95% CI), points",
        "n",
        "McNemar p per seed",
        "detectable",
        "Verdict",
    ]
    rows = []
    for _, r in frame.iterrows():
        where = (
            f"{display(DATASET_NAMES, r['dataset'])}, {display(MODEL_NAMES, r['model'])}, "
            f"{display(ATTACK_NAMES, r['attack'])}"
            + ("" if r["setting"] == RAW else f", {display(SETTING_NAMES, r['setting'])}")
        )
        names = EVALUATION_NAMES if r["a"] in EVALUATION_NAMES else METHOD_NAMES
        pair = f"{display(names, r['a'])} − {display(names, r['b'])}"
        seeds = str(r["seeds"]).split(";")
        rows.append(
            [
                r["claim"],
                where,
                _trained_on(r["train_attack"]),
                f"{pair}: {r['diff']:+.1f} [{r['low']:+.1f}, {r['high']:+.1f}]",
                f"{r['sentences']} × {len(seeds)} seeds (worth {int(r['effective_pairs'])} independent pairs)"
                if len(seeds) > 1
                else f"{r['sentences']} × 1 seed",
                str(r["mcnemar_p"]).replace(";", ", "),
                "—" if pd.isna(r["mdd"]) else f"{r['mdd']:.1f}",
                f"**{r['verdict']}**",
            ]
        )
    return (
        "# The paper's claims, decided sentence by sentence\n\n"
        "A − B: difference in accuracy under attack (TAE), points, with its 95% paired bootstrap interval "
        "(over sentences; over seeds and sentences together when there are several seeds). SAE − TAE "
        "(Table 1): the same re-seeded models right on the victim's static example minus withstanding a "
        "fresh attack, on the same sentences. A comparison marked temperature-scaled attacks the same models "
        "with their logits divided by the temperature fitted on dev (results/calibration.md). "
        "**holds**: the interval excludes 0 in the paper's direction; **contradicted**: it excludes 0 the "
        "other way; **inconclusive**: it covers 0. detectable: the smallest difference (points) these pairs "
        f"detect with 80% power ({stats.POWER_FORMULA}, at the observed discordance; several seeds on the "
        "same sentences count as their effective number of independent pairs, n × seeds over the bootstrap's "
        "design effect).\n\n"
        + (
            markdown_table(header, rows)
            if rows
            else "No comparison: no table holds both methods of any of the paper's comparisons (or, for Table 1, "
            "a re-seeded model).\n"
        )
    )


def _trained_on(train_attack):
    """What a row's models trained on, for the Markdown: clean data or one attack's adversarial set."""
    return "clean data" if train_attack == CLEAN else f"{display(ATTACK_NAMES, train_attack)}'s adversarial set"


def load(tae_paths, sae_paths=()):
    return Summaries.load("claims", tae=tae_paths, sae=sae_paths)


def read_claims(path):
    """The frame of a results/claims.csv; AmdaError naming the file when it is missing or lacks columns."""
    try:
        frame = pd.read_csv(path)
    except FileNotFoundError:
        raise AmdaError(f"claims file {path} does not exist") from None
    except pd.errors.EmptyDataError:
        raise AmdaError(f"claims file {path} is empty (not even its header; rerun its claims job)") from None
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise AmdaError(f"claims file {path} lacks column(s) {', '.join(missing)}")
    return frame


def merge_parts(paths):
    """The rows of several tables' claims files, each comparison once (a header-only part adds none)."""
    frames = [frame for frame in (read_claims(p) for p in paths) if len(frame)]
    if not frames:
        return pd.DataFrame(columns=COLUMNS)
    frame = pd.concat(frames, ignore_index=True)
    return frame.drop_duplicates(
        subset=["dataset", "model", "train_attack", "attack", "a", "b", "setting"]
    ).reset_index(drop=True)


def of_setting(claims, setting=RAW):
    """The rows of one evaluation setting."""
    return claims[claims["setting"] == setting]


def claim_row(claims, dataset, model, attack, a, b, train_attack, setting=RAW):
    """The claims row of A vs B under `attack` in `setting`, their models trained on `train_attack`'s adversarial set
    (`clean`: neither was), as a dict; None when `claims` is None or holds no such row."""
    if claims is None:
        return None
    claims = of_setting(claims, setting)
    hit = claims[
        (claims["dataset"] == dataset)
        & (claims["model"] == model)
        & (claims["train_attack"] == train_attack)
        & (claims["attack"] == attack)
        & (claims["a"] == a)
        & (claims["b"] == b)
    ]
    return hit.iloc[0].to_dict() if len(hit) else None


def block_footer(claims, dataset, model):
    """The footer of a table block: n (sentences, seeds) and the detectable differences of its comparisons."""
    if claims is None:
        return "n and the smallest detectable difference: not computed (no claims file given)."
    rows = claims[(claims["dataset"] == dataset) & (claims["model"] == model)]
    if not len(rows):
        return (
            "n and the smallest detectable difference: none (no comparison of the paper has both of its methods, "
            "or for Table 1 a re-seeded model, in this block)."
        )
    sentences = sorted(set(rows["sentences"].astype(int)))
    seeds = sorted({len(str(s).split(";")) for s in rows["seeds"]})
    mdd = rows["mdd"].dropna()
    spread = sorted({f"{mdd.min():.1f}", f"{mdd.max():.1f}"}, key=float)
    detect = f"{'–'.join(spread)} points" if len(mdd) else "not estimable (no discordant pair)"
    return (
        f"n = {'–'.join(map(str, sentences[:: max(1, len(sentences) - 1)]))} attacked sentences × "
        f"{'–'.join(map(str, seeds[:: max(1, len(seeds) - 1)]))} seed(s); smallest difference detectable with 80% "
        f"power: {detect} across the comparisons of results/claims.md ({stats.POWER_FORMULA}, at each one's "
        "observed discordance and effective number of pairs)."
    )
