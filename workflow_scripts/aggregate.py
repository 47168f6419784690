"""Aggregation stage: per-model summaries -> results/table{1..4}.{csv,md}, figure{2,3}.{png,csv},
paper_comparison.md, defenses.{csv,md,png} (with the training jobs' benchmark files), calibration.{csv,md}
(with the calibration stage's outputs and the temperature-scaled TAE summaries).

Inputs are explicit file lists; each summary says which model (and attack) it describes. The grid
(datasets, models, methods, attacks, seeds, swept values) is given by flags or, where a flag is left
out, is every value found in the TAE summaries; either way every combination must be there, and a
missing one is an error that names the model and attack.
"""

import argparse

from amda.aggregate import Summaries, data_warnings, warnings_markdown
from amda.calibration_table import calibration_frame, calibration_markdown, load_settings
from amda.claims import of_setting, read_claims
from amda.cli import run_main
from amda.defenses import Benchmarks, defenses_frame, defenses_markdown, plot_defenses
from amda.figures import plot_sweep, sweep_frame, swept_values
from amda.io import write_text_atomic
from amda.paper import (
    comparison_markdown,
    default_other_results,
    default_paper_results,
    load_other_results,
    load_our_tables,
    load_paper_results,
)
from amda.tables import method_frame, method_markdown, table1_frame, table1_markdown

METHOD_TABLES = {
    "table2": ("Table 2: clean accuracy and robustness of each method under attack (TAE)", True),
    "table3": ("Table 3: clean accuracy and robustness of each method under attack (TAE)", True),
    "table4": ("Table 4: one-shot vs iterative adversarial data augmentation (TAE)", False),
}
SWEEPS = {"figure2": "ratio", "figure3": "alpha"}
FOUND = "default: every value in the TAE summaries"


def _write_table(frame, markdown, args):
    write_text_atomic(frame.to_csv(index=False), args.out_csv)
    write_text_atomic(markdown + warnings_markdown(data_warnings(args.data_stats)), args.out_md)


def _grid(args, summaries, *fields):
    """Each field's flag value, or every value the TAE summaries hold."""
    return [getattr(args, f"{field}s") or summaries.found(field) for field in fields]


def run_table1(args):
    summaries = Summaries.load("table1", tae=args.tae, sae=args.sae, metrics=args.metrics)
    datasets, models, attacks = _grid(args, summaries, "dataset", "model", "attack")
    seeds = args.seeds or [seed for seed in summaries.found("seed") if seed != args.victim_seed]
    claims = read_claims(args.claims) if args.claims else None
    frame = table1_frame(summaries, datasets, models, attacks, args.victim_seed, seeds, claims=claims)
    _write_table(frame, table1_markdown(frame, claims=claims), args)


def run_method_table(args):
    title, mark_gain = METHOD_TABLES[args.command]
    summaries = Summaries.load(args.command, tae=args.tae, metrics=args.metrics)
    grid = _grid(args, summaries, "dataset", "model", "method", "attack", "seed")
    claims = read_claims(args.claims) if args.claims else None
    frame = method_frame(summaries, *grid, mark_gain, claims=claims, train_attacks=dict(args.train_attacks))
    _write_table(frame, method_markdown(frame, title, mark_gain, claims=claims), args)


def run_defenses(args):
    summaries = Summaries.load("defenses", tae=args.tae, metrics=args.metrics)
    grid = _grid(args, summaries, "dataset", "model", "method", "attack", "seed")
    benchmarks = Benchmarks(args.train_benchmarks + args.adv_benchmarks)
    frame = defenses_frame(summaries, benchmarks, *grid, train_attacks=dict(args.train_attacks))
    other = load_other_results(args.other_results or default_other_results())
    _write_table(frame, defenses_markdown(frame, other), args)
    plot_defenses(frame, args.out_png)


def run_sweep(args):
    hp_key = SWEEPS[args.command]
    summaries = Summaries.load(args.command, tae=args.tae, metrics=args.metrics)
    single = {field: getattr(args, field) or summaries.only(field) for field in ("dataset", "model", "attack")}
    methods, seeds = _grid(args, summaries, "method", "seed")
    values = args.values or sorted(
        swept_values(summaries, hp_key) + ([args.default_value] if args.default_value is not None else [])
    )
    frame = sweep_frame(
        summaries,
        hp_key,
        single["dataset"],
        single["model"],
        methods,
        single["attack"],
        values,
        seeds,
        default_value=args.default_value,
    )
    write_text_atomic(frame.to_csv(index=False), args.out_csv)
    plot_sweep(frame, hp_key, args.out_png)


def run_paper_comparison(args):
    paper = load_paper_results(args.paper_results or default_paper_results())
    claims = of_setting(read_claims(args.claims)) if args.claims else None  # the paper's claims as it ran them
    other = load_other_results(args.other_results or default_other_results())
    markdown = comparison_markdown(paper, **load_our_tables(args.tables), claims=claims, other=other)
    write_text_atomic(markdown, args.out_md)


def _other_results_flag(parser):
    parser.add_argument(
        "--other-results", help="later papers' numbers; default: the other_published_results.csv shipped in amda/data"
    )


def run_calibration(args):
    frame = calibration_frame(args.calibration, load_settings(args.tae, args.tae_calibrated))
    write_text_atomic(frame.to_csv(index=False), args.out_csv)
    write_text_atomic(calibration_markdown(frame), args.out_md)


def _inputs(parser, sae=False):
    parser.add_argument("--tae", nargs="+", required=True, help="tae-{attack}.json summaries")
    if sae:
        parser.add_argument("--sae", nargs="+", required=True, help="sae-{attack}.json summaries")
    parser.add_argument("--metrics", nargs="+", required=True, help="metrics.json of each trained model")


def _data_stats_flag(parser):
    parser.add_argument(
        "--data-stats",
        nargs="+",
        default=[],
        help="the data stage's stats.json of each dataset shown: what changes the numbers' meaning goes under the table",
    )


def _train_attack(text):
    """`pwws_ref=pwws`: under pwws_ref, the models trained on pwws's adversarial set."""
    attack, sep, trained_on = text.partition("=")
    if not sep or not attack or not trained_on:
        raise argparse.ArgumentTypeError(f"expected ATTACK=TRAIN_ATTACK, got {text!r}")
    return attack, trained_on


def _train_attacks_flag(parser):
    parser.add_argument(
        "--train-attacks",
        nargs="+",
        type=_train_attack,
        default=[],
        metavar="ATTACK=TRAIN_ATTACK",
        help="under ATTACK, the ADA / AMDA models trained on TRAIN_ATTACK's adversarial set (the table's "
        "train_attacks); default: each attack's own",
    )


def _grid_flags(parser, *keys):
    for key in keys:
        parser.add_argument(f"--{key}", nargs="+", type=int if key == "seeds" else str, help=FOUND)


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    table1 = commands.add_parser("table1", help="victim and re-seeded models under TAE and SAE")
    _inputs(table1, sae=True)
    table1.add_argument("--victim-seed", type=int, required=True)
    _grid_flags(table1, "datasets", "models", "attacks")
    _data_stats_flag(table1)
    table1.add_argument("--seeds", nargs="+", type=int, help="re-seeded models; default: every other seed found")
    table1.add_argument(
        "--claims", help="results/claims.csv: SAE − TAE with its interval, the footer's n and detectable difference"
    )
    table1.add_argument("--out-csv", required=True)
    table1.add_argument("--out-md", required=True)
    table1.set_defaults(run=run_table1)

    for name in METHOD_TABLES:
        table = commands.add_parser(name, help="methods × attacks")
        _inputs(table)
        _grid_flags(table, "datasets", "models", "methods", "attacks", "seeds")
        _train_attacks_flag(table)
        _data_stats_flag(table)
        table.add_argument("--claims", help="results/claims.csv: the mark and the footer's n and detectable difference")
        table.add_argument("--out-csv", required=True)
        table.add_argument("--out-md", required=True)
        table.set_defaults(run=run_method_table)

    defenses = commands.add_parser("defenses", help="methods × attacks with each model's training cost")
    _inputs(defenses)
    defenses.add_argument(
        "--train-benchmarks", nargs="+", required=True, help="the training jobs' Snakemake benchmark files"
    )
    defenses.add_argument(
        "--adv-benchmarks",
        nargs="*",
        default=[],
        help="the benchmark files of the shards that built the adversarial sets (ADA, AMDA)",
    )
    _grid_flags(defenses, "datasets", "models", "methods", "attacks", "seeds")
    _train_attacks_flag(defenses)
    _data_stats_flag(defenses)
    _other_results_flag(defenses)
    defenses.add_argument("--out-csv", required=True)
    defenses.add_argument("--out-md", required=True)
    defenses.add_argument("--out-png", required=True, help="accuracy under attack against training cost")
    defenses.set_defaults(run=run_defenses)

    for name, hp_key in SWEEPS.items():
        figure = commands.add_parser(name, help=f"accuracy against {hp_key}")
        _inputs(figure)
        for key in ("dataset", "model", "attack"):
            figure.add_argument(f"--{key}", help="default: the one value in the TAE summaries")
        _grid_flags(figure, "methods", "seeds")
        figure.add_argument("--values", nargs="+", type=float, help=f"the {hp_key} grid; {FOUND}")
        figure.add_argument(
            "--default-value",
            type=float,
            help=f"the {hp_key} that hp 'default' runs stand for (read from them, not {hp_key}-<x>)",
        )
        figure.add_argument("--out-png", required=True)
        figure.add_argument("--out-csv", required=True)
        figure.set_defaults(run=run_sweep)

    comparison = commands.add_parser("paper-comparison", help="our tables beside the paper's numbers")
    comparison.add_argument(
        "--tables",
        nargs="+",
        required=True,
        help="our table1/table2/table3 CSVs (each names itself in its `table` column)",
    )
    comparison.add_argument("--paper-results", help="default: the published_results.csv shipped in amda/data")
    _other_results_flag(comparison)
    comparison.add_argument("--claims", help="results/claims.csv: claim (2) decided by its paired intervals")
    comparison.add_argument("--out-md", required=True)
    comparison.set_defaults(run=run_paper_comparison)

    calibration = commands.add_parser("calibration", help="each model's temperature, ECE and TAE raw and scaled")
    calibration.add_argument("--calibration", nargs="+", required=True, help="the calibration stage's outputs")
    calibration.add_argument("--tae", nargs="+", required=True, help="tae-{attack}.json summaries, raw")
    calibration.add_argument(
        "--tae-calibrated", nargs="+", required=True, help="tae-{attack}.json summaries, temperature-scaled"
    )
    calibration.add_argument("--out-csv", required=True)
    calibration.add_argument("--out-md", required=True)
    calibration.set_defaults(run=run_calibration)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    args.run(args)


if __name__ == "__main__":
    run_main(main)
