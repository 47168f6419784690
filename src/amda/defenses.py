"""The defenses table (issue 28): Base, ADA, AMDA and FreeLB++ under attack, beside what each costs to train.

Robustness columns are Table 2's (`tables.method_cell`). The cost is read from Snakemake's benchmark files
(`s`: wall seconds, `cpu_time`: CPU seconds of the job): a model's training job (`RunId.train_benchmark`),
and, for a method that trains on the adversarial set made on the victim (ADA, AMDA), the shards of attacking
the victim to build that set (`naming.adv_train_shard_benchmark`), summed and charged in full to each such
model. The victim's own training is charged to no one (it is Base, trained anyway); iterative methods' attacks
are inside their training job. Accuracy under attack also gets its 95% bootstrap interval, seeds × sentences
resampled as the claims resample them (`figures.accuracy_interval`): the figure's vertical bars. Beside each block,
the Markdown shows the published numbers of its methods (`amda.paper.load_other_results`: RMLM's Base, ADA, AMDA
and FreeLB++), each row naming its source, the source's note (attack configuration) below. Torch-free, like the
other tables.
"""

import csv
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import pandas as pd  # noqa: E402

from amda.aggregate import (  # noqa: E402
    DATASET_NAMES,
    MODEL_NAMES,
    Stat,
    display,
    markdown_table,
    stat_columns,
    trained_run,
)
from amda.errors import AmdaError  # noqa: E402
from amda.figures import accuracy_interval, error_bars, finish_figure, seed_outcomes  # noqa: E402
from amda.naming import ADV_METHODS, ATTACK_NAMES, METHOD_NAMES, adv_train_shard_benchmark  # noqa: E402
from amda.paper import MODEL_PAIRING, OTHER_MODEL_NAMES, caveats, marked, other_number, source_label  # noqa: E402
from amda.tables import cell, main_cell, method_cell  # noqa: E402

TITLE = "Defenses: robustness under attack (TAE) and training cost"
# Snakemake benchmark columns read: wall seconds and CPU seconds of the job.
BENCHMARK_COLUMNS = ("s", "cpu_time")


def read_benchmark(path):
    """{column: value} of a Snakemake benchmark file (the mean over its rows, one per repeat); an AmdaError naming
    the file and column otherwise."""
    try:
        with open(path, newline="") as fh:
            rows = list(csv.DictReader(fh, delimiter="\t"))
    except OSError as err:
        raise AmdaError(f"benchmark file {path}: cannot be read ({err.strerror})") from None
    if not rows:
        raise AmdaError(f"benchmark file {path}: no rows")
    found = {}
    for column in BENCHMARK_COLUMNS:
        try:
            values = [float(row[column]) for row in rows]
        except (KeyError, TypeError):
            raise AmdaError(f"benchmark file {path}: no column {column!r}") from None
        except ValueError:
            raise AmdaError(f"benchmark file {path}: column {column!r} is not a number") from None
        found[column] = sum(values) / len(values)
    return found


class Benchmarks:
    """Benchmark files given by path, looked up by the path the workflow writes them to (a given path may have any
    prefix, e.g. a results folder elsewhere)."""

    def __init__(self, paths):
        self.paths = [Path(p).as_posix() for p in paths]

    def _matching(self, rel):
        return [p for p in self.paths if p == rel or p.endswith(f"/{rel}")]

    def train(self, run):
        """The training job's benchmark of `run`."""
        found = self._matching(run.train_benchmark)
        if not found:
            raise AmdaError(f"defenses: no training benchmark {run.train_benchmark} given")
        return read_benchmark(found[0])

    def adversarial_set(self, dataset, model, attack):
        """The benchmarks of every shard that built the adversarial set of `attack`, summed column by column."""
        folder = adv_train_shard_benchmark(dataset, model, attack, 0, 1).rsplit("/", 1)[0]
        shards = [p for p in self.paths if f"/{p}".rsplit("/", 1)[0].endswith(f"/{folder}")]
        if not shards:
            raise AmdaError(f"defenses: no adversarial-set shard benchmark under {folder}/ given")
        read = [read_benchmark(p) for p in shards]
        return {column: sum(r[column] for r in read) for column in BENCHMARK_COLUMNS}


def cost_columns(benchmarks, dataset, model, method, attack, seeds, train_attacks=None):
    """Training cost of the model `method` shows under `attack`, over seeds: its training job (CPU and wall seconds)
    and, for ADA / AMDA, the attack that built its adversarial set; `total_cpu_seconds` adds them."""
    runs = [trained_run(dataset, model, method, attack, seed, train_attacks=train_attacks) for seed in seeds]
    train = [benchmarks.train(run) for run in runs]
    adv = (
        benchmarks.adversarial_set(dataset, model, runs[0].train_attack)
        if method in ADV_METHODS
        else dict.fromkeys(BENCHMARK_COLUMNS, 0.0)
    )
    train_cpu = Stat.of([t["cpu_time"] for t in train])
    return {
        **stat_columns("train_cpu_seconds", train_cpu, digits=1),
        **stat_columns("train_seconds", Stat.of([t["s"] for t in train]), digits=1),
        "adversarial_set_cpu_seconds": round(adv["cpu_time"], 1),
        "adversarial_set_seconds": round(adv["s"], 1),
        **stat_columns("total_cpu_seconds", Stat.of([t["cpu_time"] + adv["cpu_time"] for t in train]), digits=1),
    }


def interval_columns(summaries, dataset, model, method, attack, seeds, train_attacks=None):
    """The 95% bootstrap interval of accuracy under attack (`figures.accuracy_interval`: seeds × sentences resampled
    together, as the claims resample them) and the sentences it rests on."""
    runs = [trained_run(dataset, model, method, attack, seed, train_attacks=train_attacks) for seed in seeds]
    sentences, low, high = accuracy_interval(seed_outcomes(summaries, runs, attack))
    return {"sentences": sentences, "accuracy_under_attack_low": low, "accuracy_under_attack_high": high}


def defenses_frame(summaries, benchmarks, datasets, models, methods, attacks, seeds, train_attacks=None):
    """One row per dataset × model × method × attack: Table 2's robustness columns, the interval of accuracy under
    attack and the training cost (the models of `tables.method_frame`, `train_attacks` as there)."""
    rows = []
    for dataset in datasets:
        for model in models:
            for attack in attacks:
                for method in methods:
                    key = (dataset, model, method, attack, seeds, train_attacks)
                    row = method_cell(summaries, *key)["row"]
                    rows.append({**row, **interval_columns(summaries, *key), **cost_columns(benchmarks, *key)})
    return pd.DataFrame(rows)


def published_section(block, other):
    """The other published results (`amda.paper.load_other_results`, e.g. RMLM's Base, ADA, AMDA and FreeLB++) for
    the methods and attacks of one dataset × model block, from our model's counterpart, a row per method and source
    naming the source; its full note (attack configuration, training setup) and any printed-order caveat below."""
    dataset, model = block["dataset"].iloc[0], block["model"].iloc[0]
    attacks = list(dict.fromkeys(block["attack"]))
    rows, notes = [], []
    for method in dict.fromkeys(block["method"]):
        for source in dict.fromkeys(other["source"]):
            clean = other_number(other, source, dataset, model, method, attacks[0], "clean_accuracy")
            found = [other_number(other, source, dataset, model, method, a, "accuracy_under_attack") for a in attacks]
            used = [f[1] for f in [clean, *found] if f is not None]
            if not used:
                continue
            notes += used
            rows.append(
                [
                    display(METHOD_NAMES, method),
                    marked(source_label(used[0]), used),
                    OTHER_MODEL_NAMES[MODEL_PAIRING[model]],
                ]
                + [
                    f"{'—' if clean is None else f'{clean[0]:.1f}'} / {'—' if f is None else f'{f[0]:.1f}'}"
                    for f in found
                ]
            )
    if not rows:
        return []
    header = ["Method", "Source", "Model"] + [display(ATTACK_NAMES, a) for a in attacks]
    sources = "".join(f"- {note}\n" for note in dict.fromkeys(notes))
    return [
        "Published numbers of these methods, from our model's counterpart (clean accuracy / accuracy under attack, %; "
        "under the source's attack that our column's attack is compared with: its PWWS beside our PWWS and reference "
        "PWWS, its TextFooler beside ours):\n",
        markdown_table(header, rows) + caveats(notes),
        f"Their sources, attack configuration and training setup:\n\n{sources}",
    ]


def defenses_markdown(frame, other=None):
    attacks = list(dict.fromkeys(frame["attack"]))
    header = ["Method"] + [display(ATTACK_NAMES, a) for a in attacks]
    cost_header = ["Method", *(f"{display(ATTACK_NAMES, a)}: training / adversarial set / total" for a in attacks)]
    parts = [
        f"# {TITLE}\n",
        "Cells: clean accuracy on the whole test split / accuracy under attack (mean word-modification rate of "
        "successful attacks, TextAttack's), all in %; mean ± sd over seeds. Cost: CPU seconds of the training job "
        "(Snakemake's benchmark `cpu_time`), of attacking the victim to build the adversarial set that ADA and AMDA "
        "train on (all its shards, charged in full to each model that uses it), and their sum; the CSV adds wall "
        "seconds.\n",
    ]
    for (dataset, model), block in frame.groupby(["dataset", "model"], sort=False):
        seeds, n = block["seeds"].iloc[0].replace(";", ", "), int(block["n"].iloc[0])
        main, cost = [], []
        for method, rows in block.groupby("method", sort=False):
            by_attack = {row["attack"]: row for _, row in rows.iterrows()}
            main.append([display(METHOD_NAMES, method)] + [main_cell(by_attack[a]) for a in attacks])
            cost.append(
                [display(METHOD_NAMES, method)]
                + [
                    f"{cell(r, 'train_cpu_seconds', 0)} / {r['adversarial_set_cpu_seconds']:.0f} / "
                    f"{cell(r, 'total_cpu_seconds', 0)}"
                    for r in (by_attack[a] for a in attacks)
                ]
            )
        parts += [
            f"## {display(DATASET_NAMES, dataset)}, {display(MODEL_NAMES, model)} "
            f"(n={n}: seed{'s' if n > 1 else ''} {seeds})\n",
            markdown_table(header, main),
            "Training cost, CPU seconds per model:\n",
            markdown_table(cost_header, cost),
            *([] if other is None else published_section(block, other)),
        ]
    return "\n".join(parts)


def plot_defenses(frame, path):
    """Accuracy under attack against total training CPU seconds, one point per method, a panel per dataset × model ×
    attack; vertical bars: the 95% bootstrap interval (`interval_columns`), horizontal bars: ± one sd of the cost over
    seeds (none with one seed); written as a PNG (atomically)."""
    panels = list(frame.groupby(["dataset", "model", "attack"], sort=False))
    fig, axes = plt.subplots(1, len(panels), figsize=(4.8 * len(panels), 3.8), dpi=150, squeeze=False)
    for ax, ((dataset, model, attack), block) in zip(axes[0], panels):
        for i in range(len(block)):
            point = block.iloc[[i]]
            ax.errorbar(
                point["total_cpu_seconds_mean"],
                point["accuracy_under_attack_mean"],
                xerr=error_bars(point, "total_cpu_seconds"),
                yerr=error_bars(point, "accuracy_under_attack"),
                fmt="o",
                capsize=3,
                label=display(METHOD_NAMES, point["method"].iloc[0]),
            )
        n = int(block["n"].iloc[0])
        ax.set_title(
            f"{display(DATASET_NAMES, dataset)}, {display(MODEL_NAMES, model)}, {display(ATTACK_NAMES, attack)}\n"
            f"(n={n} seed{'s' if n > 1 else ''} × {int(block['sentences'].min())} sentences; bars: 95% bootstrap CI"
            f"{', cost ± sd' if n > 1 else ''})",
            fontsize=9,
        )
    finish_figure(fig, axes[0], "training cost (CPU seconds per model)", "accuracy under attack (%)", path)
