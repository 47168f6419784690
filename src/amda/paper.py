"""Our Tables 1-4 beside the paper's published numbers, and whether the paper's claims hold at our scale.

The paper's numbers live in `amda/data/published_results.csv` (a copy of
`../shared/paper/published_results.csv`; columns `table,dataset,model,method,attack,metric,value,source_note`),
one row per number printed in the paper's Tables 1-4, the source named per row. Vocabulary: `table` is
`table1`..`table4`; `model` is the paper's (`bert`, `roberta`); Table 1 rows use `method` `victim`,
`reseeded_1`, `reseeded_2` and metrics `clean_accuracy`, `tae_accuracy`, `sae_accuracy`; Tables 2-4 use our
method names and metrics `clean_accuracy`, `accuracy_under_attack`, `modification_rate`; values in %.
Our models are paired with the paper's (MODEL_PAIRING), or with the paper's only model where it reports
a table for one (Tables 3 and 4). A number the file lacks is shown as '—'. Absolute levels are not
comparable across attack implementations (TextAttack here, OpenAttack v1 there); effect sizes
(differences between methods within one block) are what the comparison rests on.

Later papers that reran these methods live in `amda/data/other_published_results.csv` (a copy of
`../shared/paper/other_published_results.csv`; the same columns with `source` first and no `table`): RMLM
(Wang et al. 2023), BERT-base on SST-2, IMDB and AG News. Their method names map to ours through the method
records (`records.published_method`); their rows sit beside our Tables 2-3 (OTHER_TABLES) and their effects beside
the paper's, for our model's counterpart (MODEL_PAIRING) only. Rows whose source note says they were assigned by
printed order carry a mark and that caveat under the table.
"""

from dataclasses import dataclass
from importlib import resources

import pandas as pd

from amda import records
from amda.aggregate import DATASET_NAMES, MODEL_NAMES, display, markdown_table
from amda.errors import AmdaError
from amda.naming import AMDA_VS_ADA, AMDA_VS_MIXUP, ATTACK_NAMES, BASE, METHOD_NAMES

PAPER_COLUMNS = ["table", "dataset", "model", "method", "attack", "metric", "value", "source_note"]
OTHER_COLUMNS = ["source", "dataset", "model", "method", "attack", "metric", "value", "source_note"]
MODEL_PAIRING = {"minilm": "bert", "mpnet": "roberta"}
PAPER_MODEL_NAMES = {"bert": "BERT-base-uncased", "roberta": "RoBERTa-base"}
OTHER_MODEL_NAMES = {"bert": "BERT-base", "roberta": "RoBERTa-base"}
# Our tables the other published results sit beside (RMLM's Table 2 is the setting of the paper's Tables 2-3).
OTHER_TABLES = (2, 3)
# What a source note says when its rows were matched to methods by their printed order: such rows are marked.
PRINTED_ORDER = "rows assigned by their printed order"
MARK = "†"
CLEAN_COST_POINTS = 2.0
# Without a paired interval a difference of means decides nothing (amda.stats): the strongest word is
# "inconclusive", with the way the means point. Claim (2) is decided from results/claims.csv when given.
HOLDS = "inconclusive (no interval; the means point the paper's way)"
FAILS = "inconclusive (no interval; the means point the other way)"

COMPARED_TABLES = ("table1", "table2", "table3", "table4")
TABLE1_COLUMNS = [
    "table",
    "dataset",
    "model",
    "row",
    "attack",
    "n",
    "clean_accuracy_mean",
    "tae_accuracy_mean",
    "sae_accuracy_mean",
]
METHOD_COLUMNS = [
    "table",
    "dataset",
    "model",
    "method",
    "attack",
    "n",
    "clean_accuracy_mean",
    "accuracy_under_attack_mean",
    "modification_rate_mean",
]


def default_paper_results():
    return resources.files("amda") / "data" / "published_results.csv"


def default_other_results():
    return resources.files("amda") / "data" / "other_published_results.csv"


def load_paper_results(path):
    """The paper's numbers, validated: known columns, numeric values, a source for every row."""
    frame = _published(path, PAPER_COLUMNS, "paper results")
    frame["table"] = frame["table"].astype(str)
    return frame


def load_other_results(path):
    """Later papers' numbers, validated as the paper's, their methods renamed to ours (`records.published_method`;
    a name no method record claims is an error naming the row)."""
    frame = _published(path, OTHER_COLUMNS, "other published results")
    for i, row in frame.iterrows():
        ours = records.published_method(row["source"], row["method"])
        if ours is None:
            raise AmdaError(
                f"other published results {path} row {i + 2}: method {row['method']!r} of source {row['source']!r} "
                "is no method record's published name (records.Method.published)"
            )
        frame.loc[i, "method"] = ours
    return frame


def _published(path, columns, kind):
    frame = _read_csv(path, columns, kind)
    for i, row in frame.iterrows():
        where = f"{kind} {path} row {i + 2}"
        if pd.isna(row["source_note"]) or not str(row["source_note"]).strip():
            raise AmdaError(f"{where}: source_note is empty (every published number needs its source)")
        if pd.isna(pd.to_numeric(row["value"], errors="coerce")):
            raise AmdaError(f"{where}: value {row['value']!r} is not a number")
    frame["value"] = pd.to_numeric(frame["value"])
    return frame


def load_our_tables(paths):
    """Our table CSVs by name (table1, table2, table3), each identified by its own `table` column."""
    tables, sources = {}, {}
    for path in paths:
        names = set(_read_csv(path, ["table"], "table")["table"].dropna())
        if len(names) != 1 or not names <= set(COMPARED_TABLES):
            raise AmdaError(
                f"table file {path}: its table column must name one of {', '.join(COMPARED_TABLES)}, "
                f"found {', '.join(sorted(map(str, names))) or 'nothing'}"
            )
        name = names.pop()
        if name in tables:
            raise AmdaError(f"paper-comparison: two files hold {name} ({sources[name]} and {path})")
        tables[name] = _read_csv(path, TABLE1_COLUMNS if name == "table1" else METHOD_COLUMNS, name)
        sources[name] = path
    return tables


def _read_csv(path, columns, kind):
    try:
        frame = pd.read_csv(path, dtype={"seeds": str})
    except FileNotFoundError:
        raise AmdaError(f"{kind} file {path} does not exist") from None
    except pd.errors.EmptyDataError:
        raise AmdaError(f"{kind} file {path} is empty (expected a header: {','.join(columns)})") from None
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise AmdaError(f"{kind} file {path} lacks column(s) {', '.join(missing)}")
    return frame


@dataclass(frozen=True)
class Verdict:
    claim: str
    where: str
    evidence: str
    verdict: str


def _where(row, attack=True):
    text = f"{display(DATASET_NAMES, row['dataset'])}, {display(MODEL_NAMES, row['model'])}"
    return text + (f", {display(ATTACK_NAMES, row['attack'])}" if attack else "")


def claim_sae_overstates(table1):
    """(1) For re-seeded models, static accuracy (SAE) exceeds accuracy under a fresh attack (TAE): decided
    by the paired interval Table 1 carries (`sae_minus_tae*`, from results/claims.csv), else by the means."""
    claim = "(1) SAE overstates robustness of re-seeded models"
    verdicts = []
    for _, row in table1[table1["row"] == "reseeded_mean"].iterrows():
        sae, tae = row["sae_accuracy_mean"], row["tae_accuracy_mean"]
        evidence = f"SAE {sae:.1f} vs TAE {tae:.1f} (re-seeded mean, n={int(row['n'])})"
        paired = row.get("sae_minus_tae")
        if paired is not None and not pd.isna(paired):
            evidence += (
                f"; SAE − TAE paired {paired:+.1f} [{row['sae_minus_tae_low']:+.1f}, {row['sae_minus_tae_high']:+.1f}]"
            )
            verdicts.append(Verdict(claim, _where(row), evidence, row["sae_minus_tae_verdict"]))
        else:
            verdicts.append(Verdict(claim, _where(row), evidence, HOLDS if sae > tae else FAILS))
    return verdicts


def claim_amda_beats(frame):
    """(2) Under TAE, each AMDA variant's accuracy under attack exceeds both ADA's and its mixup's alone."""
    claim = "(2) AMDA beats ADA and mixup alone under TAE"
    verdicts = []
    for (dataset, model, attack), block in frame.groupby(["dataset", "model", "attack"], sort=False):
        means = dict(zip(block["method"], block["accuracy_under_attack_mean"]))
        n = int(block["n"].iloc[0])
        where = _where({"dataset": dataset, "model": model, "attack": attack})
        for amda, mix in AMDA_VS_MIXUP.items():
            if amda not in means:
                continue
            ada = AMDA_VS_ADA[amda]
            lacking = [display(METHOD_NAMES, m) for m in (ada, mix) if m not in means]
            name = display(METHOD_NAMES, amda)
            if lacking:
                verdicts.append(Verdict(claim, where, f"{name}: table lacks {' and '.join(lacking)}", "not evaluated"))
                continue
            evidence = (
                f"{name} {means[amda]:.1f} vs {display(METHOD_NAMES, ada)} {means[ada]:.1f}, "
                f"{display(METHOD_NAMES, mix)} {means[mix]:.1f} (n={n})"
            )
            beats = means[amda] > means[ada] and means[amda] > means[mix]
            verdicts.append(Verdict(claim, where, evidence, HOLDS if beats else FAILS))
    return verdicts


def claim_clean_cost(frame, points=CLEAN_COST_POINTS):
    """(3) Each AMDA variant's clean accuracy is within `points` of Base's."""
    claim = f"(3) AMDA costs little clean accuracy (within {points:g} points of Base)"
    verdicts = []
    for (dataset, model, attack), block in frame.groupby(["dataset", "model", "attack"], sort=False):
        means = dict(zip(block["method"], block["clean_accuracy_mean"]))
        n = int(block["n"].iloc[0])
        where = _where({"dataset": dataset, "model": model, "attack": attack})
        for amda in AMDA_VS_MIXUP:
            if amda not in means:
                continue
            name = display(METHOD_NAMES, amda)
            if BASE not in means:
                verdicts.append(
                    Verdict(claim, where, f"{name}: table lacks {display(METHOD_NAMES, BASE)}", "not evaluated")
                )
                continue
            drop = means[BASE] - means[amda]
            evidence = (
                f"{name} {means[amda]:.1f} vs {display(METHOD_NAMES, BASE)} {means[BASE]:.1f} (drop {drop:+.1f}, n={n})"
            )
            verdicts.append(Verdict(claim, where, evidence, HOLDS if drop <= points else FAILS))
    return verdicts


PAPER_RESEEDED = ("reseeded_1", "reseeded_2")


def paper_model(paper, table, dataset, model):
    """The paper's model our `model` is compared with in one table and dataset: its counterpart
    (MODEL_PAIRING) where the paper reports that one there, else the paper's only model there (its
    Tables 3 and 4 are RoBERTa-base alone), else None. Returns (paper model, whether it is the fallback)."""
    reported = sorted(set(paper.loc[(paper["table"] == f"table{table}") & (paper["dataset"] == dataset), "model"]))
    counterpart = MODEL_PAIRING.get(model)
    if counterpart in reported or len(reported) != 1:
        return counterpart, False
    return reported[0], True


def paper_number(paper, table, dataset, model, method, attack, metric):
    """The paper's number for our cell (our model mapped to its paper model, `paper_model`), None if not printed.

    Our `reseeded` role is the mean of the paper's two re-seeded models; a clean accuracy, printed once
    per model in Table 1 and once per attack column in Tables 2-3, is looked up under either attack. Our
    attack's record names the paper's column it sits beside (`pwws_ref`: the paper's PWWS)."""
    attack = _published_attack(attack)
    methods = PAPER_RESEEDED if method == "reseeded" else (method,)
    hit = paper[
        (paper["table"] == f"table{table}")
        & (paper["dataset"] == dataset)
        & (paper["model"] == paper_model(paper, table, dataset, model)[0])
        & (paper["method"].isin(methods))
        & (paper["metric"] == metric)
    ]
    if metric != "clean_accuracy" or (hit["attack"] == attack).any():
        hit = hit[hit["attack"] == attack]
    if hit.empty:
        return None
    return float(hit.groupby("method")["value"].first().mean())


def _paper_value(paper, *key):
    value = paper_number(paper, *key)
    return "—" if value is None else f"{value:.1f}"


def _published_attack(attack):
    """The published attack column our `attack` is compared with (its record's `paper`, else its own name)."""
    record = records.ATTACKS.get(attack)
    return record.paper if record and record.paper else attack


def other_number(other, source, dataset, model, method, attack, metric):
    """(value, source note) of `source`'s number for our cell, from our model's counterpart (MODEL_PAIRING); None if
    it has none. A clean accuracy is printed once per model, under no attack."""
    hit = other[
        (other["source"] == source)
        & (other["dataset"] == dataset)
        & (other["model"] == MODEL_PAIRING.get(model))
        & (other["method"] == method)
        & (other["metric"] == metric)
    ]
    if metric != "clean_accuracy":
        hit = hit[hit["attack"] == _published_attack(attack)]
    if hit.empty:
        return None
    return float(hit["value"].iloc[0]), hit["source_note"].iloc[0]


def source_label(note):
    """A source note's name of the source and its table (what precedes its first colon)."""
    return note.split(":")[0]


def marked(label, notes):
    """`label`, marked when any of `notes` says its rows were assigned by printed order."""
    return f"{label} {MARK}" if any(PRINTED_ORDER in note for note in notes) else label


def caveats(notes):
    """The printed-order caveat of the marked notes, as lines under a table."""
    found = sorted({part for note in notes for part in note.split("; ") if PRINTED_ORDER in part})
    return "".join(f"\n{MARK} {text}.\n" for text in found)


def _other_sources(other):
    return [] if other is None else list(dict.fromkeys(other["source"]))


def _ours(value):
    return "—" if pd.isna(value) else f"{value:.1f}"


def _table1_section(table1, paper):
    header = ["Dataset", "Model (ours ↔ paper)", "Attack", "Row"]
    header += [f"{name} {side}" for name in ("Clean", "TAE", "SAE") for side in ("ours", "paper")]
    rows = []
    for _, row in table1[table1["row"].isin(["victim", "reseeded_mean"])].iterrows():
        role = "victim" if row["row"] == "victim" else "reseeded"
        key = (1, row["dataset"], row["model"], role, row["attack"])
        cells = [display(DATASET_NAMES, row["dataset"]), _pairing(paper, 1, row["dataset"], row["model"])]
        cells += [display(ATTACK_NAMES, row["attack"])]
        cells.append(f"{role} (n={int(row['n'])})")
        for metric in ("clean_accuracy", "tae_accuracy", "sae_accuracy"):
            cells += [_ours(row[f"{metric}_mean"]), _paper_value(paper, *key, metric)]
        rows.append(cells)
    note = "The paper's re-seeded row is the mean of its two re-seeded models.\n"
    return "## Table 1: SAE vs TAE (accuracy, %)\n\n" + markdown_table(header, rows) + "\n" + note


# Our column (in our table CSVs) and the paper's metric, per compared quantity of Tables 2-4.
METHOD_METRICS = (
    ("Clean", "clean_accuracy_mean", "clean_accuracy"),
    ("Under attack", "accuracy_under_attack_mean", "accuracy_under_attack"),
    ("Mod. rate (OpenAttack v1 def.)", "openattack_modification_rate_mean", "modification_rate"),
)


def _method_section(number, frame, paper, other):
    """Our rows of Table `number`, each followed by the paper's and (Tables 2-3) the other sources' numbers for the
    same cell where they have any, each row naming its source and model."""
    metrics = [m for m in METHOD_METRICS if m[1] in frame.columns]
    header = ["Dataset", "Method", "Attack", "Source", "Model"] + [name for name, _, _ in metrics]
    rows, notes = [], []
    for _, row in frame.iterrows():
        key = (row["dataset"], row["model"], row["method"], row["attack"])
        where = [display(DATASET_NAMES, key[0]), display(METHOD_NAMES, key[2]), display(ATTACK_NAMES, key[3])]
        rows.append(where + [f"ours (n={int(row['n'])})", display(MODEL_NAMES, key[1])])
        rows[-1] += [_ours(row[ours]) for _, ours, _ in metrics]
        theirs = [paper_number(paper, number, *key, metric) for _, _, metric in metrics]
        if any(v is not None for v in theirs):
            model, fallback = paper_model(paper, number, key[0], key[1])
            label = source_label(paper.loc[paper["table"] == f"table{number}", "source_note"].iloc[0])
            name = PAPER_MODEL_NAMES.get(model, model) + (" (the paper's only model here)" if fallback else "")
            rows.append(where + [label, name] + ["—" if v is None else f"{v:.1f}" for v in theirs])
        for source in _other_sources(other) if number in OTHER_TABLES else []:
            found = [other_number(other, source, *key, metric) for _, _, metric in metrics]
            cell_notes = [f[1] for f in found if f is not None]
            if not cell_notes:
                continue
            notes += cell_notes
            model = MODEL_PAIRING[key[1]]
            rows.append(
                where
                + [marked(source_label(cell_notes[0]), cell_notes), OTHER_MODEL_NAMES.get(model, model)]
                + ["—" if f is None else f"{f[0]:.1f}" for f in found]
            )
    title = f"## Table {number}: ours beside the published numbers (%)\n\n"
    return title + markdown_table(header, rows) + caveats(notes)


# Effect sizes (first minus second, accuracy under attack) compared per table: the claims' comparisons
# (A − B, `amda.records`) whose record names the paper's table.
EFFECTS = {number: records.effects(number) for number in (2, 3, 4)}


def _direction(mine, theirs):
    return "—" if theirs is None or pd.isna(mine) else ("yes" if (mine > 0) == (theirs > 0) else "no")


def _other_effect(other, source, first, second, dataset, model, attack):
    """(A − B, their notes) from `source`'s numbers under attack, None where it lacks either."""
    found = [other_number(other, source, dataset, model, m, attack, "accuracy_under_attack") for m in (first, second)]
    if None in found:
        return None
    return found[0][0] - found[1][0], [f[1] for f in found]


def effect_rows(number, frame, paper, other=None):
    """([where, effect, ours, paper, same direction] + [effect, same direction] per other source (Tables 2-3 only;
    marked when its rows were assigned by printed order), for each method pair our table gives; the notes used)."""
    rows, notes = [], []
    for (dataset, model, attack), block in frame.groupby(["dataset", "model", "attack"], sort=False):
        ours = dict(zip(block["method"], block["accuracy_under_attack_mean"]))
        for first, second in EFFECTS[number]:
            if first not in ours or second not in ours:
                continue
            mine = ours[first] - ours[second]
            a, b = (
                paper_number(paper, number, dataset, model, m, attack, "accuracy_under_attack") for m in (first, second)
            )
            theirs = None if a is None or b is None else a - b
            cells = [
                f"{display(DATASET_NAMES, dataset)}, {_pairing(paper, number, dataset, model)}, "
                f"{display(ATTACK_NAMES, attack)}",
                f"{display(METHOD_NAMES, first)} − {display(METHOD_NAMES, second)}",
                "—" if pd.isna(mine) else f"{mine:+.2f}",
                "—" if theirs is None else f"{theirs:+.2f}",
                _direction(mine, theirs),
            ]
            for source in _other_sources(other):
                found = _other_effect(other, source, first, second, dataset, model, attack)
                if found is None or number not in OTHER_TABLES:
                    cells += ["—", "—"]
                    continue
                notes += found[1]
                cells += [marked(f"{found[0]:+.2f}", found[1]), _direction(mine, found[0])]
            rows.append(cells)
    return rows, notes


def _sae_effect_rows(table1, paper):
    rows = []
    for _, row in table1[table1["row"] == "reseeded_mean"].iterrows():
        mine = row["sae_accuracy_mean"] - row["tae_accuracy_mean"]
        key = (1, row["dataset"], row["model"], "reseeded", row["attack"])
        sae, tae = (paper_number(paper, *key, m) for m in ("sae_accuracy", "tae_accuracy"))
        theirs = None if sae is None or tae is None else sae - tae
        agree = "—" if theirs is None or pd.isna(mine) else ("yes" if (mine > 0) == (theirs > 0) else "no")
        pairing = _pairing(paper, 1, row["dataset"], row["model"])
        where = f"{display(DATASET_NAMES, row['dataset'])}, {pairing}, {display(ATTACK_NAMES, row['attack'])}"
        rows.append(
            [
                where,
                "SAE − TAE (re-seeded)",
                "—" if pd.isna(mine) else f"{mine:+.2f}",
                "—" if theirs is None else f"{theirs:+.2f}",
                agree,
            ]
        )
    return rows


def _effects_section(tables, paper, other):
    sources = _other_sources(other)
    rows = _sae_effect_rows(tables["table1"], paper) if tables.get("table1") is not None else []
    rows = [row + ["—", "—"] * len(sources) for row in rows]
    notes = []
    for number in (2, 3, 4):
        if tables.get(f"table{number}") is not None:
            found, found_notes = effect_rows(number, tables[f"table{number}"], paper, other)
            rows += found
            notes += found_notes
    header = ["Where (ours ↔ paper)", "Effect", "Ours", "Paper", "Same direction"]
    for source in sources:
        theirs = other[other["source"] == source]
        models = "/".join(OTHER_MODEL_NAMES.get(m, m) for m in dict.fromkeys(theirs["model"]))
        header += [f"{source_label(theirs['source_note'].iloc[0])} ({models})", "Same direction"]
    return (
        "## Effect sizes, ours beside the published ones (accuracy under attack, points)\n\n"
        "Absolute levels are not comparable across attack implementations (TextAttack here, the paper's "
        "OpenAttack v1 there, OpenAttack in later reruns) nor across models (ours are smaller stand-ins); the "
        "direction and size of each difference within one block is the comparison that matters. A later "
        "source's effect is that of our model's counterpart (its column names the model).\n\n"
        + markdown_table(header, rows)
        + caveats(notes)
    )


def _pairing(paper, table, dataset, model):
    theirs, fallback = paper_model(paper, table, dataset, model)
    note = " (the paper's only model here)" if fallback else ""
    return f"{display(MODEL_NAMES, model)} ↔ {PAPER_MODEL_NAMES.get(theirs, 'no counterpart')}{note}"


def claim_amda_beats_paired(claims):
    """(2) from the paired intervals: holds when AMDA beats both ADA and its mixup alone, contradicted
    when either interval excludes 0 the other way, inconclusive otherwise."""
    claim = "(2) AMDA beats ADA and mixup alone under TAE"
    verdicts = []
    for (dataset, model, train_attack, attack, amda), rows in claims[claims["a"].isin(list(AMDA_VS_MIXUP))].groupby(
        ["dataset", "model", "train_attack", "attack", "a"], sort=False
    ):
        rows = rows[rows["b"].isin([AMDA_VS_ADA[amda], AMDA_VS_MIXUP[amda]])]
        evidence = "; ".join(
            f"{display(METHOD_NAMES, r.a)} − {display(METHOD_NAMES, r.b)} {r.diff:+.1f} [{r.low:+.1f}, {r.high:+.1f}] "
            f"(n = {r.sentences} × {len(str(r.seeds).split(';'))} seeds, detectable {r.mdd:.1f})"
            for r in rows.itertuples()
        )
        found = set(rows["verdict"])
        if len(rows) == 2 and found == {"holds"}:
            verdict = "holds"
        elif "contradicted" in found:
            verdict = "contradicted"
        else:
            verdict = "inconclusive"
        where = _where({"dataset": dataset, "model": model, "attack": attack})
        if train_attack != attack:
            where += f" (trained on {display(ATTACK_NAMES, train_attack)}'s adversarial set)"
        verdicts.append(Verdict(claim, where, evidence, verdict))
    return verdicts


def comparison_markdown(paper, table1=None, table2=None, table3=None, table4=None, claims=None, other=None):
    """The whole `paper_comparison.md`: header, claim verdicts, effect sizes, each table beside the paper's and
    (`other`, from `load_other_results`) later sources' numbers, the sources."""
    tables = {"table1": table1, "table2": table2, "table3": table3, "table4": table4}
    if all(frame is None for frame in tables.values()):
        raise AmdaError(f"paper-comparison: none of {', '.join(COMPARED_TABLES)} was given")
    verdicts = []
    if table1 is not None:
        verdicts += claim_sae_overstates(table1)
    for frame in (table2, table3):
        if frame is not None:
            verdicts += (claim_amda_beats(frame) if claims is None else []) + claim_clean_cost(frame)
    if claims is not None:
        verdicts += claim_amda_beats_paired(claims)
    parts = [
        _header(paper, other),
        "## Claims at this scale\n",
        markdown_table(
            ["Claim", "Where", "Our numbers", "Verdict"],
            [[v.claim, v.where, v.evidence, v.verdict] for v in verdicts],
        ),
        "Verdicts: **holds** / **contradicted** when the 95% paired interval of the difference excludes 0 "
        "(results/claims.md), **inconclusive** when it covers 0 or when only means are available.\n",
        _effects_section(tables, paper, other),
    ]
    if table1 is not None:
        parts.append(_table1_section(table1, paper))
    for number in (2, 3, 4):
        if tables[f"table{number}"] is not None:
            parts.append(_method_section(number, tables[f"table{number}"], paper, other))
    parts.append(_sources(paper, other))
    return "\n".join(parts)


def _header(paper, other):
    pairs = "; ".join(
        f"{display(MODEL_NAMES, ours)} (ours) ↔ {PAPER_MODEL_NAMES[theirs]} (paper)"
        for ours, theirs in MODEL_PAIRING.items()
    )
    status = (
        f"{len(paper)} published numbers recorded, each with its source (listed at the end)."
        if len(paper)
        else "No published number is recorded: the paper's result tables were not found in the sources "
        "available to this project, so every paper column shows '—'. The claim verdicts stand on "
        "our numbers alone."
    )
    return (
        "# Our results beside the paper's\n\n"
        'Paper: Si et al., "Better Robustness by More Coverage: Adversarial and Mixup Data Augmentation '
        'for Robust Finetuning", Findings of ACL 2021 (arXiv 2012.15699).\n\n'
        f"Model pairing: {pairs}. These are different models: ours are smaller stand-ins trained on small "
        "subsamples with offline attack resources, attacked with TextAttack where the paper used OpenAttack v1, "
        "so absolute levels are not comparable; rows are matched on dataset × method × attack, and the "
        "effect sizes (differences between methods within one block) are the comparison that matters. "
        "Where the paper reports a table and dataset for one model only (its Tables 3 and 4: RoBERTa-base), "
        "our cells there are compared with that model, and each such row says so.\n\n"
        f"{status}\n" + _other_status(other)
    )


def _other_status(other):
    if other is None or other.empty:
        return ""
    sources = "; ".join(
        f"{source_label(block['source_note'].iloc[0])}: {len(block)} numbers"
        for _, block in other.groupby("source", sort=False)
    )
    methods = ", ".join(display(METHOD_NAMES, m) for m in dict.fromkeys(other["method"]))
    return (
        f"\nLater reruns beside our Tables 2-3 and their effects ({sources}), each row naming its source: "
        f"{methods}, as our method records map the names they print; their attack setups differ from the paper's and "
        "ours (see the sources at the end), so they too are compared on effect sizes.\n"
    )


def _sources(paper, other):
    notes = sorted(set(paper["source_note"])) + ([] if other is None else list(dict.fromkeys(other["source_note"])))
    if not notes:
        return "## Sources of the published numbers\n\nNone recorded.\n"
    return "## Sources of the published numbers\n\n" + "".join(f"- {note}\n" for note in notes)
