"""Reading per-model summaries and reducing them over seeds: the shared layer of the last stage.

Every summary carries its own run identity (dataset, model, method, train_attack, hp, seed and,
for attack summaries, the attack), so inputs are indexed by what they say they are, never by
their paths. Look-ups of a missing input raise an `AmdaError` naming the model and attack.
"""

import json
import math
import statistics
from dataclasses import dataclass
from pathlib import Path

from amda.errors import AmdaError
from amda.manifest import verified
from amda.naming import DEFAULT_HP, METHODS, RESULT_TYPES, RunId, format_hp, parse_hp, train_attack_for
from amda.rates import ratio, tae_fractions

IDENTITY_KEYS = ("dataset", "model", "method", "train_attack", "hp", "seed")
TAE_KEYS = (
    "attack",
    "n",
    "accuracy_under_attack",
    "attack_success_rate",
    "mean_modification_rate",
    "mean_queries",
    "counts",
)
SAE_KEYS = ("attack", "n", "static_accuracy")
METRICS_KEYS = ("test_accuracy",)
PERCENT = 100.0  # summaries hold fractions; tables show percentages like the paper
# How far a stated rate may lie from the one its counts give: a rate rounded to 4 decimals still agrees.
RATE_TOLERANCE = 1e-4

MODEL_NAMES = {"minilm": "MiniLM", "mpnet": "MPNet"}
DATASET_NAMES = {"sst2": "SST-2", "imdb": "IMDB", "ag_news": "AG News"}


def display(names, key):
    return names.get(key, key)


def describe_run(run):
    """`sst2/minilm/ada/pwws/default seed 42`: how messages name a model."""
    return f"{run.dataset}/{run.model}/{run.method}/{run.train_attack}/{run.hp} seed {run.seed}"


def trained_run(dataset, model, method, attack, seed, hp=DEFAULT_HP, train_attacks=None):
    """The model of `method` that a table shows under `attack` (naming.train_attack_for): trained on the adversarial
    set of `train_attacks[attack]` where the table names one (its `train_attacks`: the same models attacked with
    another attack, no retraining), else of `attack` itself."""
    return RunId(
        dataset, model, method, train_attack_for(method, (train_attacks or {}).get(attack, attack)), hp, int(seed)
    )


@dataclass(frozen=True)
class Summary:
    """One input record and the file it came from (for messages that name the file)."""

    path: str
    record: dict

    def number(self, key, scale=1.0):
        """A numeric field times `scale`; None (e.g. no successful attack to average over) stays None."""
        if key not in self.record:
            raise AmdaError(f"{self.path} lacks key {key}")
        value = self.record[key]
        if value is None:
            return None
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise AmdaError(f"{self.path}: {key} must be a number, got {value!r}")
        return float(value) * scale

    def count(self, name):
        counts = self.record["counts"]
        value = counts.get(name) if isinstance(counts, dict) else None
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise AmdaError(f"{self.path}: counts.{name} must be a non-negative integer, got {value!r}")
        return value

    def size(self, found, what):
        """The integer `n`, which must equal `found` (`what` says where that number comes from)."""
        n = self.record["n"]
        if n != found or not isinstance(n, int) or isinstance(n, bool):
            raise AmdaError(f"{self.path}: n is {json.dumps(n)} but {what} {found}; {self.rebuild}")
        return n

    @property
    def rebuild(self):
        return f"rebuild it: snakemake --cores 1 --force {self.path}"

    def recomputed(self, rates, source):
        """This summary with `rates` ({field: (numerator, denominator)}: what `source` gives) in place of the
        stated values, which must agree with them: a file whose numbers contradict each other is refused."""
        values = {}
        for key, (numerator, denominator) in rates.items():
            stated, value = self.number(key), ratio(numerator, denominator)
            if (stated is None) != (value is None) or (value is not None and abs(stated - value) > RATE_TOLERANCE):
                given = "null" if value is None else f"{numerator}/{denominator} = {value:.4g}"
                written = json.dumps(self.record[key])
                raise AmdaError(f"{self.path}: {key} is {written} but {source} {given}; {self.rebuild}")
            values[key] = value
        return Summary(self.path, {**self.record, **values})


def _checked_tae(summary):
    """A TAE summary with its rates recomputed from its result counts (amda.rates)."""
    counts = {name: summary.count(name) for name in RESULT_TYPES}
    n = summary.size(sum(counts.values()), "its counts add up to")
    return summary.recomputed(tae_fractions(counts, n), "its counts give")


def _checked_sae(summary):
    """An SAE summary with static_accuracy recomputed from its per-sentence outcomes (`correct`, 1 where the
    model is right), where it has them: the share of sentences it is right on."""
    correct = summary.record.get("correct")
    if correct is None:
        return summary
    if not isinstance(correct, list) or any(type(c) is not int or c not in (0, 1) for c in correct):
        raise AmdaError(f"{summary.path}: correct must be a list of 0 and 1")
    summary.size(len(correct), "its correct list holds")
    return summary.recomputed({"static_accuracy": (sum(correct), len(correct))}, "its correct list gives")


def _load(path, kind):
    if Path(path).is_file():
        verified(path)
    try:
        with open(path) as fh:
            record = json.load(fh)
    except FileNotFoundError:
        raise AmdaError(f"{kind} file {path} does not exist") from None
    except json.JSONDecodeError as err:
        raise AmdaError(f"{kind} file {path} is not valid JSON: {err}") from None
    if not isinstance(record, dict):
        raise AmdaError(f"{kind} file {path} must hold a JSON object")
    return record


def _read(path, required, kind):
    record = _load(path, kind)
    missing = [key for key in IDENTITY_KEYS + required if key not in record]
    if missing:
        raise AmdaError(f"{kind} file {path} lacks key(s) {', '.join(missing)}")
    try:
        seed = int(record["seed"])
    except (TypeError, ValueError):
        raise AmdaError(f"{kind} file {path}: seed {record['seed']!r} is not an integer") from None
    run = RunId(*(str(record[key]) for key in IDENTITY_KEYS[:-2]), _canonical_hp(record["hp"], path, kind), seed)
    return run, Summary(str(path), record)


def _canonical_hp(hp, path, kind):
    """`alpha-2.0` and `alpha-2` name the same setting: keep the form `amda.naming.format_hp` writes."""
    try:
        setting = parse_hp(str(hp))
    except ValueError as err:
        raise AmdaError(f"{kind} file {path}: {err}") from None
    return format_hp(*setting.popitem()) if setting else DEFAULT_HP


class Summaries:
    """TAE, SAE and training-metrics records indexed by the run identity (and attack) they carry."""

    def __init__(self, table):
        self.table = table
        self._tae, self._sae, self._metrics = {}, {}, {}

    @classmethod
    def load(cls, table, tae=(), sae=(), metrics=()):
        summaries = cls(table)
        for path in tae:
            run, summary = _read(path, TAE_KEYS, "TAE summary")
            summaries._add(summaries._tae, (run, summary.record["attack"]), _checked_tae(summary))
        for path in sae:
            run, summary = _read(path, SAE_KEYS, "SAE summary")
            summaries._add(summaries._sae, (run, summary.record["attack"]), _checked_sae(summary))
        for path in metrics:
            run, summary = _read(path, METRICS_KEYS, "training metrics")
            summaries._add(summaries._metrics, run, summary)
        return summaries

    def _add(self, index, key, summary):
        if key in index:
            what = describe_run(key) if isinstance(key, RunId) else f"{describe_run(key[0])} under attack {key[1]}"
            raise AmdaError(f"{self.table}: {summary.path} and {index[key].path} both describe {what}")
        index[key] = summary

    def tae(self, run, attack):
        try:
            return self._tae[(run, attack)]
        except KeyError:
            raise AmdaError(f"{self.table}: no TAE summary for {describe_run(run)} under attack {attack}") from None

    def sae(self, run, attack):
        try:
            return self._sae[(run, attack)]
        except KeyError:
            raise AmdaError(f"{self.table}: no SAE summary for {describe_run(run)} under attack {attack}") from None

    def found(self, field):
        """Values of `field` (a run-identity key or `attack`) across the TAE summaries, in a stable order.

        Used when a grid is not given: the table then covers every combination of what was found.
        """
        values = {attack if field == "attack" else getattr(run, field) for run, attack in self._tae}
        return sorted(values, key=METHODS.index if field == "method" else None)

    def only(self, field):
        """The one value of `field` the TAE summaries share (a figure shows one dataset, model, attack)."""
        values = self.found(field)
        if len(values) != 1:
            raise AmdaError(
                f"{self.table}: the TAE summaries cover {len(values)} values of {field} "
                f"({', '.join(map(str, values)) or 'none'}); name the one to plot"
            )
        return values[0]

    def tae_runs(self):
        """The (run, attack) pairs the TAE summaries describe."""
        return list(self._tae)

    def sae_runs(self):
        """The (run, attack) pairs the SAE summaries describe."""
        return list(self._sae)

    def has_sae(self, run, attack):
        return (run, attack) in self._sae

    def metrics(self, run):
        try:
            return self._metrics[run]
        except KeyError:
            raise AmdaError(f"{self.table}: no training metrics (metrics.json) for {describe_run(run)}") from None


def data_warnings(stats_paths):
    """What the data stage's stats.json files say changes the meaning of results made on that data, one
    `path: message` line each: an evaluated split (dev, test) with no rows of a label, whose accuracies then
    cover the other labels only, and test texts that also occur in train (kept with drop_test_overlap off).
    The data stage logs such findings only in its job log; the console and the tables' Markdown show these."""
    lines = []
    for path in stats_paths:
        stats = _load(path, "data statistics")
        try:
            for split in ("dev", "test"):
                labels = stats["splits"][split]["labels"]
                empty = [f"{k} ({name})" for k, name in enumerate(stats["label_names"]) if not labels.get(str(k))]
                if empty:
                    lines.append(
                        f"{path}: the {split} split has no rows with label {', '.join(empty)}:"
                        " its accuracies cover the other labels only"
                    )
            kept = stats["overlap_after"]["train_test"]["normalised"]
        except (KeyError, TypeError, AttributeError) as err:
            raise AmdaError(f"data statistics file {path} lacks {err} (rebuild it with the data stage)") from None
        if kept:
            lines.append(
                f"{path}: {kept} train rows also occur in test (drop_test_overlap is off):"
                " test accuracies include texts seen in training"
            )
    return lines


def warnings_markdown(lines):
    """The data warnings as a list under a table's Markdown; nothing when there are none."""
    if not lines:
        return ""
    return "\n**Warnings: what changes the meaning of these numbers**\n\n" + "".join(f"- {line}\n" for line in lines)


@dataclass(frozen=True)
class Stat:
    """Mean and sample standard deviation over seeds; std is NaN when fewer than two values."""

    mean: float
    std: float
    n: int

    @classmethod
    def of(cls, values):
        values = [v for v in values if v is not None]
        if not values:
            return cls(math.nan, math.nan, 0)
        std = statistics.stdev(values) if len(values) > 1 else math.nan
        return cls(statistics.fmean(values), std, len(values))


def stat_columns(prefix, stat, digits=4):
    return {f"{prefix}_mean": _round(stat.mean, digits), f"{prefix}_std": _round(stat.std, digits)}


def _round(value, digits):
    return value if math.isnan(value) else round(value, digits)


def seeds_text(seeds):
    return ";".join(str(s) for s in seeds)


def markdown_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"
