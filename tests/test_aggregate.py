"""Aggregation stage: tables, figures and the paper comparison from small summaries (no models).

Expected numbers are computed by hand from tests/fixtures/aggregate (values listed in each test).
"""

import json
import math
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import jinja2
import pandas as pd
import pytest
import yaml
from docutils.core import publish_parts

from amda import records
from amda.aggregate import Summaries
from amda.attack.runner import records_frame
from amda.errors import AmdaError
from amda.naming import RunId
from amda.paper import (
    FAILS,
    HOLDS,
    claim_amda_beats,
    claim_clean_cost,
    claim_sae_overstates,
    comparison_markdown,
    default_other_results,
    default_paper_results,
    load_other_results,
    load_paper_results,
    paper_number,
)
from amda.tables import NOT_DECIDED

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "aggregate"
SCRIPT = ROOT / "workflow_scripts" / "aggregate.py"
sys.path.insert(0, str(SCRIPT.parent))
import aggregate as stage  # noqa: E402  (the stage script, imported to call its main())

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def approx(expected):
    """CSV numbers are rounded to 4 decimals."""
    return pytest.approx(expected, abs=1e-3)


def fixture_files(pattern):
    return sorted(str(p) for p in FIXTURES.rglob(pattern))


def table2_args(tmp_path, tae=None, metrics=None):
    return [
        "table2",
        "--tae",
        *(tae or fixture_files("tae-pwws.json")),
        "--metrics",
        *(metrics or fixture_files("metrics.json")),
        "--datasets",
        "sst2",
        "--models",
        "minilm",
        "--methods",
        "base",
        "ada",
        "amda_tmix",
        "--attacks",
        "pwws",
        "--seeds",
        "42",
        "43",
        "--out-csv",
        str(tmp_path / "table2.csv"),
        "--out-md",
        str(tmp_path / "table2.md"),
    ]


def table1_args(tmp_path):
    return [
        "table1",
        "--tae",
        *fixture_files("tae-pwws.json"),
        "--sae",
        *fixture_files("sae-pwws.json"),
        "--metrics",
        *fixture_files("metrics.json"),
        "--datasets",
        "sst2",
        "--models",
        "minilm",
        "--attacks",
        "pwws",
        "--victim-seed",
        "42",
        "--seeds",
        "43",
        "44",
        "--out-csv",
        str(tmp_path / "table1.csv"),
        "--out-md",
        str(tmp_path / "table1.md"),
    ]


def write_run(root, run, test_accuracy, attack, accuracy_under_attack, modification_rate=0.1, num_adversarial=0):
    """A metrics.json and a consistent tae-{attack}.json for `run` (100 examples, 10 skipped)."""
    identity = run.as_dict()
    failed = round(accuracy_under_attack * 100)
    successful = 90 - failed
    paths = {"metrics": root / run.model_dir / "metrics.json", "tae": root / run.tae(attack)}
    records = {
        "metrics": {**identity, "test_accuracy": test_accuracy, "num_adversarial": num_adversarial},
        "tae": {
            **identity,
            "attack": attack,
            "n": 100,
            "clean_accuracy": 0.9,
            "accuracy_under_attack": failed / 100,
            "attack_success_rate": successful / 90,
            "mean_modification_rate": modification_rate,
            "openattack_modification_rate": modification_rate,
            "mean_queries": 50.0,
            "counts": {
                "successful": successful,
                "failed": failed,
                "skipped": 10,
                "errored": 0,
                "capped": 0,
                "no_words": 0,
            },
        },
    }
    for kind, path in paths.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(records[kind]))
    # per-sentence records: the model holds on sentences 0..failed-1, loses the next ones, 10 skipped
    results = ["failed"] * failed + ["successful"] * successful + ["skipped"] * 10
    sentences = [{**record_template(i), "result": r} for i, r in enumerate(results)]
    records_frame(sentences).to_parquet(paths["tae"].with_suffix(".parquet"))
    return paths


def record_template(idx):
    return {
        "idx": idx,
        "original_text": f"s{idx}",
        "perturbed_text": "",
        "label": 1,
        "pred_before": 1,
        "pred_after": 0,
        "error": "",
        "queries": 1,
        "words_changed": 1,
        "num_words": 5,
        "modification_rate": 0.1,
        "seconds": 0.1,
    }


# --- Table 2 -------------------------------------------------------------------------------------


def test_table2_cells_are_means_and_sample_stds_over_seeds(tmp_path):
    stage.main(table2_args(tmp_path))
    frame = pd.read_csv(tmp_path / "table2.csv").set_index("method")
    # clean accuracy comes from metrics.json (base 0.91, 0.89), not from the TAE summary (0.90, 0.88)
    expected = {
        "base": dict(
            clean_accuracy=(90.0, math.sqrt(2)),
            accuracy_under_attack=(12.0, 2 * math.sqrt(2)),
            modification_rate=(11.0, math.sqrt(2)),
            queries=(110.0, 10 * math.sqrt(2)),
            attack_success_rate=((80 / 90 + 74 / 88) * 50, None),
            errored_total=0,
            examples_total=200,
        ),
        "ada": dict(
            clean_accuracy=(85.0, 2 * math.sqrt(2)),
            accuracy_under_attack=(31.0, math.sqrt(2)),
            modification_rate=(16.0, math.sqrt(2)),
            queries=(160.0, 10 * math.sqrt(2)),
            errored_total=2,
            examples_total=202,
        ),
        "amda_tmix": dict(
            clean_accuracy=(89.0, math.sqrt(2)),
            accuracy_under_attack=(42.0, 2 * math.sqrt(2)),
            modification_rate=(19.0, math.sqrt(2)),
            queries=(205.0, 5 * math.sqrt(2)),
        ),
    }
    for method, columns in expected.items():
        row = frame.loc[method]
        assert row["n"] == 2 and row["seeds"] == "42;43"
        for column, value in columns.items():
            if isinstance(value, tuple):
                assert row[f"{column}_mean"] == approx(value[0]), (method, column)
                if value[1] is not None:
                    assert row[f"{column}_std"] == approx(value[1]), (method, column)
            else:
                assert row[column] == value, (method, column)
    assert frame.loc["base", "train_attack"] == "clean" and frame.loc["ada", "train_attack"] == "pwws"
    # without results/claims.csv the gain is not decided (and never from the seed spread)
    assert frame.loc["amda_tmix", "gain_verdict"] == NOT_DECIDED and pd.isna(frame.loc["amda_tmix", "gain_over_ada"])
    assert pd.isna(frame.loc["ada", "gain_verdict"])


def write_claims(tmp_path, verdict, low=6.0, high=16.0):
    """A results/claims.csv row for AMDA-TMix vs ADA on the fixtures' block."""
    path = tmp_path / "claims.csv"
    row = dict(claim="AMDA beats ADA", dataset="sst2", model="minilm", train_attack="pwws", attack="pwws")
    row.update(a="amda_tmix", b="ada")
    row.update(direction=1, diff=11.0, low=low, high=high, sentences=100, seeds="42;43", discordance=0.11)
    row.update(effective_pairs=150, mdd=5.2, mcnemar_p="0.001;0.002", verdict=verdict, setting="raw")
    pd.DataFrame([row]).to_csv(path, index=False)
    return str(path)


@pytest.mark.parametrize("verdict, marked", [("holds", True), ("inconclusive", False)])
def test_table2_mark_and_footer_come_from_the_paired_intervals(tmp_path, verdict, marked):
    stage.main(table2_args(tmp_path) + ["--claims", write_claims(tmp_path, verdict)])
    frame = pd.read_csv(tmp_path / "table2.csv").set_index("method")
    assert frame.loc["amda_tmix", "gain_verdict"] == verdict
    assert (frame.loc["amda_tmix", "gain_low"], frame.loc["amda_tmix", "gain_high"]) == (6.0, 16.0)
    markdown = (tmp_path / "table2.md").read_text()
    assert ("| AMDA-TMix | 89.0 ± 1.4 / 42.0 ± 2.8 (19.0 ± 1.4) † |" in markdown) == marked
    assert ("†: AMDA's accuracy under attack exceeds ADA's" in markdown) == marked  # the legend only with a mark
    assert ("No cell is marked †: no AMDA method's accuracy under attack exceeds ADA's" in markdown) != marked
    assert (
        "n = 100 attacked sentences × 2 seed(s); smallest difference detectable with 80% power: 5.2 points" in markdown
    )


def test_a_table_names_the_adversarial_set_its_models_trained_on_per_attack(tmp_path):
    """`--train-attacks pwws_ref=pwws` (a table's train_attacks): under pwws_ref, ADA and AMDA are the models trained on
    PWWS's set, and the mark reads the claims row of those models, not of the ones trained on pwws_ref's set."""
    runs = {}
    for method, held in (("base", 0.1), ("ada", 0.3), ("amda_tmix", 0.4)):
        for seed in (42, 43):
            run = RunId("sst2", "minilm", method, "clean" if method == "base" else "pwws", "default", seed)
            runs[method, seed] = write_run(tmp_path, run, 0.9, "pwws", held)
            write_run(tmp_path, run, 0.9, "pwws_ref", held - 0.05)
    pd.read_csv(write_claims(tmp_path, "holds")).assign(attack="pwws_ref").assign(train_attack="pwws_ref").to_csv(
        tmp_path / "claims.csv", index=False
    )
    args = table2_args(
        tmp_path,
        tae=sorted(str(p) for p in tmp_path.rglob("tae-*.json")),
        metrics=sorted(str(p) for p in tmp_path.rglob("metrics.json")),
    )
    args[args.index("pwws")] = "pwws_ref"
    with pytest.raises(AmdaError, match="no TAE summary for sst2/minilm/ada/pwws_ref/default seed 42"):
        stage.main(args)
    stage.main(args + ["--train-attacks", "pwws_ref=pwws", "--claims", str(tmp_path / "claims.csv")])
    frame = pd.read_csv(tmp_path / "table2.csv").set_index("method")
    assert dict(frame["train_attack"]) == {"base": "clean", "ada": "pwws", "amda_tmix": "pwws"}
    assert set(frame["attack"]) == {"pwws_ref"} and frame.loc["ada", "accuracy_under_attack_mean"] == approx(25.0)
    assert frame.loc["amda_tmix", "gain_verdict"] == NOT_DECIDED  # the claims row is of pwws_ref's models


def test_table2_markdown_cells_and_costs(tmp_path):
    stage.main(table2_args(tmp_path))
    markdown = (tmp_path / "table2.md").read_text()
    assert "| Base | 90.0 ± 1.4 / 12.0 ± 2.8 (11.0 ± 1.4) |" in markdown
    assert "n=2: seeds 42, 43" in markdown
    assert "| ADA | 63.5 ± 2.3 / 160 ± 14 / 2 of 202 |" in markdown  # ASR 56/86, 52/84; queries; errored


def test_markdown_has_methods_down_attacks_across_and_no_mark_with_one_seed(tmp_path):
    methods, attacks = ["base", "ada", "amda_smix"], ["pwws", "textfooler"]
    tae, metrics = [], []
    for method in methods:
        for attack in attacks:
            train_attack = "clean" if method == "base" else attack
            run = RunId("sst2", "minilm", method, train_attack, "default", 42)
            paths = write_run(tmp_path, run, 0.9, attack, {"base": 0.1, "ada": 0.2, "amda_smix": 0.6}[method])
            tae.append(str(paths["tae"]))
            if str(paths["metrics"]) not in metrics:
                metrics.append(str(paths["metrics"]))
    args = table2_args(tmp_path, tae=tae, metrics=metrics)
    args[args.index("--methods") + 1 : args.index("--attacks")] = methods
    args[args.index("--attacks") + 1 : args.index("--seeds")] = attacks
    args[args.index("--seeds") + 1 : args.index("--out-csv")] = ["42"]
    stage.main(args)

    lines = (tmp_path / "table2.md").read_text().splitlines()
    first = lines.index("| Method | PWWS | TextFooler |")
    rows = [line.split(" | ")[0].lstrip("| ") for line in lines[first + 2 : first + 5]]
    assert rows == ["Base", "ADA", "AMDA-SMix"]
    assert lines[first + 4] == "| AMDA-SMix | 90.0 / 60.0 (10.0) | 90.0 / 60.0 (10.0) |"  # a 40-point gain, unmarked
    frame = pd.read_csv(tmp_path / "table2.csv")
    assert set(frame[frame["method"] == "amda_smix"]["gain_verdict"]) == {NOT_DECIDED}
    assert frame["clean_accuracy_std"].isna().all()


def test_without_grid_flags_the_grid_is_every_combination_found(tmp_path):
    """The workflow's command line passes only files: the table covers what they hold, and all of it."""

    def run(files):
        stage.main(
            [
                "table2",
                "--tae",
                *files("tae-pwws.json"),
                "--metrics",
                *files("metrics.json"),
                "--out-csv",
                str(tmp_path / "found.csv"),
                "--out-md",
                str(tmp_path / "found.md"),
            ]
        )

    # seed 44 exists only for base (a Table 1 re-seed): every method is then needed at seed 44
    with pytest.raises(AmdaError, match="no TAE summary for sst2/minilm/ada/pwws/default seed 44 under attack pwws"):
        run(fixture_files)
    run(lambda pattern: [p for p in fixture_files(pattern) if "/seed44/" not in p])
    stage.main(table2_args(tmp_path))
    assert pd.read_csv(tmp_path / "found.csv").equals(pd.read_csv(tmp_path / "table2.csv"))
    assert (tmp_path / "found.md").read_text() == (tmp_path / "table2.md").read_text()


# --- Table 1 -------------------------------------------------------------------------------------


def test_table1_victim_reseeded_models_and_their_mean(tmp_path):
    stage.main(table1_args(tmp_path))
    frame = pd.read_csv(tmp_path / "table1.csv", dtype={"seeds": str})
    assert list(frame["row"]) == ["victim", "reseeded", "reseeded", "reseeded_mean"]
    assert list(frame["seeds"]) == ["42", "43", "44", "43;44"]
    victim, seed43, seed44, mean = (frame.iloc[i] for i in range(4))
    assert (victim["clean_accuracy_mean"], victim["tae_accuracy_mean"]) == approx((91.0, 10.0))
    assert victim["sae_accuracy_mean"] == victim["tae_accuracy_mean"]  # the paper's SAE: equal by construction
    assert victim["sae_successful_only_accuracy_mean"] == 0.0
    assert seed43["sae_successful_only_accuracy_mean"] == approx(45.0)
    assert (seed43["tae_accuracy_mean"], seed43["sae_accuracy_mean"]) == approx((14.0, 55.0))
    assert (seed44["tae_accuracy_mean"], seed44["sae_accuracy_mean"]) == approx((20.0, 65.0))
    assert mean["n"] == 2
    assert (mean["clean_accuracy_mean"], mean["clean_accuracy_std"]) == approx((90.5, 3 / math.sqrt(2)))
    assert (mean["tae_accuracy_mean"], mean["tae_accuracy_std"]) == approx((17.0, 6 / math.sqrt(2)))
    assert (mean["sae_accuracy_mean"], mean["sae_accuracy_std"]) == approx((60.0, 10 / math.sqrt(2)))
    assert set(frame["static_set_size"]) == {100}

    markdown = (tmp_path / "table1.md").read_text()
    assert "| Model | Clean | PWWS: TAE | PWWS: SAE |" in markdown
    assert "| Victim (seed 42) | 91.0 | 10.0 | 10.0 |" in markdown
    assert "| Re-seeded, mean ± sd over seeds 43, 44 (n=2) | 90.5 ± 2.1 | 17.0 ± 4.2 | 60.0 ± 7.1 |" in markdown


def test_table1_carries_the_paired_sae_minus_tae_and_the_footer_from_claims(tmp_path):
    claims = tmp_path / "claims-table1.csv"
    row = {"claim": "SAE overstates robustness", "dataset": "sst2", "model": "minilm", "train_attack": "clean"}
    row |= {"attack": "pwws"}
    row |= {"a": "sae", "b": "tae", "direction": 1, "diff": 43.0, "low": 35.5, "high": 50.5, "sentences": 100}
    row |= {
        "seeds": "43;44",
        "discordance": 0.45,
        "effective_pairs": 150,
        "mdd": 9.87,
        "mcnemar_p": "1e-12;1e-14",
        "verdict": "holds",
        "setting": "raw",
    }
    pd.DataFrame([row]).to_csv(claims, index=False)
    stage.main(table1_args(tmp_path) + ["--claims", str(claims)])
    frame = pd.read_csv(tmp_path / "table1.csv")
    mean = frame[frame["row"] == "reseeded_mean"].iloc[0]
    assert (mean["sae_minus_tae"], mean["sae_minus_tae_low"], mean["sae_minus_tae_verdict"]) == (43.0, 35.5, "holds")
    assert set(frame[frame["row"] != "reseeded_mean"]["sae_minus_tae_verdict"]) == {NOT_DECIDED}
    markdown = (tmp_path / "table1.md").read_text()
    assert (
        "paired over sentences (and seeds), points with its 95% interval: PWWS +43.0 [+35.5, +50.5] **holds**"
        in markdown
    )
    assert (
        "n = 100 attacked sentences × 2 seed(s); smallest difference detectable with 80% power: 9.9 points" in markdown
    )
    (verdict,) = claim_sae_overstates(frame)
    assert verdict.verdict == "holds" and "paired +43.0 [+35.5, +50.5]" in verdict.evidence


def test_table1_rejects_static_sets_of_different_sizes(tmp_path):
    sae = json.loads(Path(fixture_files("sae-pwws.json")[1]).read_text())
    sae["n"] = 79
    odd = tmp_path / "sae-pwws.json"
    odd.write_text(json.dumps(sae))
    args = table1_args(tmp_path)
    args[args.index("--sae") + 2] = str(odd)
    with pytest.raises(AmdaError, match="disagree on the static set size"):
        stage.main(args)


# --- Missing and bad inputs ------------------------------------------------------------------------


def test_a_missing_tae_summary_names_the_model_and_attack(tmp_path):
    tae = [p for p in fixture_files("tae-pwws.json") if "/ada/pwws/default/seed43/" not in p]
    with pytest.raises(AmdaError) as err:
        stage.main(table2_args(tmp_path, tae=tae))
    assert str(err.value) == "table2: no TAE summary for sst2/minilm/ada/pwws/default seed 43 under attack pwws"
    assert not (tmp_path / "table2.csv").exists()


def test_missing_metrics_and_sae_name_the_model(tmp_path):
    metrics = [p for p in fixture_files("metrics.json") if "/amda_tmix/pwws/default/seed42/" not in p]
    with pytest.raises(
        AmdaError,
        match=r"no training metrics \(metrics.json\) for "
        r"sst2/minilm/amda_tmix/pwws/default seed 42",
    ):
        stage.main(table2_args(tmp_path, metrics=metrics))
    args = table1_args(tmp_path)
    del args[args.index("--sae") + 3]  # drop seed 44's SAE
    with pytest.raises(
        AmdaError, match="table1: no SAE summary for sst2/minilm/base/clean/default seed 44 under attack pwws"
    ):
        stage.main(args)


def test_the_stage_reports_a_missing_input_as_one_error_line(tmp_path):
    tae = [p for p in fixture_files("tae-pwws.json") if "/base/clean/default/seed42/" not in p]
    done = subprocess.run(
        [sys.executable, str(SCRIPT), *table2_args(tmp_path, tae=tae)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "error: table2: no TAE summary for sst2/minilm/base/clean/default seed 42 under attack pwws"
    )


def test_two_summaries_of_one_model_and_attack_are_rejected(tmp_path):
    tae = fixture_files("tae-pwws.json")
    copy = tmp_path / "copy.json"
    copy.write_text(Path(tae[0]).read_text())
    with pytest.raises(AmdaError, match="both describe sst2/minilm/ada/pwws/default seed 42 under attack pwws"):
        Summaries.load("table2", tae=[*tae, str(copy)])


def test_a_summary_without_a_required_key_names_the_file_and_key(tmp_path):
    record = json.loads(Path(fixture_files("tae-pwws.json")[0]).read_text())
    del record["accuracy_under_attack"]
    bad = tmp_path / "tae-pwws.json"
    bad.write_text(json.dumps(record))
    with pytest.raises(AmdaError, match=f"TAE summary file {bad} lacks key\\(s\\) accuracy_under_attack"):
        Summaries.load("table2", tae=[str(bad)])


# --- Summaries are checked against their own counts ------------------------------------------------


def edited_fixture(tmp_path, pattern, index, **changes):
    """The fixture list of `pattern` with file `index` replaced by an edited copy under tmp_path."""
    paths = fixture_files(pattern)
    record = {**json.loads(Path(paths[index]).read_text()), **changes}
    edited = tmp_path / Path(paths[index]).relative_to(FIXTURES)
    edited.parent.mkdir(parents=True)
    edited.write_text(json.dumps(record))
    paths[index] = str(edited)
    return paths, str(edited)


def test_a_rate_its_own_counts_contradict_is_refused_in_one_line_naming_file_field_and_values(tmp_path):
    # the example: 3 of 6 withstood the attack, yet the file says 0.99
    counts = {"successful": 3, "failed": 3, "skipped": 0, "errored": 0, "capped": 0, "no_words": 0}
    tae, bad = edited_fixture(
        tmp_path,
        "tae-pwws.json",
        0,
        n=6,
        counts=counts,
        clean_accuracy=1.0,
        attack_success_rate=0.5,
        accuracy_under_attack=0.99,
    )
    stage.main(table2_args(tmp_path))  # the table made before, from consistent summaries, keeps its bytes
    before = {name: (tmp_path / name).read_bytes() for name in ("table2.csv", "table2.md")}
    done = subprocess.run(
        [sys.executable, str(SCRIPT), *table2_args(tmp_path, tae=tae)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2 and {name: (tmp_path / name).read_bytes() for name in before} == before
    assert done.stderr.strip() == (
        f"error: {bad}: accuracy_under_attack is 0.99 but its counts give 3/6 = 0.5;"
        f" rebuild it: snakemake --cores 1 --force {bad}"
    )


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"clean_accuracy": 0.5}, "clean_accuracy is 0.5 but its counts give 86/100 = 0.86"),
        ({"attack_success_rate": 0.6}, "attack_success_rate is 0.6 but its counts give 56/86 = 0.6512"),
        ({"attack_success_rate": None}, "attack_success_rate is null but its counts give 56/86 = 0.6512"),
        ({"n": 99}, "n is 99 but its counts add up to 100"),
        ({"n": 100.5}, "n is 100.5 but its counts add up to 100"),
        (
            {"counts": {"successful": 56, "failed": 30, "skipped": 14, "errored": 0, "capped": 0}},
            "counts.no_words must be a non-negative integer, got None",
        ),
        (
            {"counts": {"successful": 58, "failed": 30, "skipped": 14, "errored": -2, "capped": 0, "no_words": 0}},
            "counts.errored must be a non-negative integer, got -2",
        ),
    ],
)
def test_a_tae_summary_that_disagrees_with_its_counts_is_refused(tmp_path, changes, message):
    tae, bad = edited_fixture(tmp_path, "tae-pwws.json", 0, **changes)  # ada seed 42: 56 successful, 30 failed
    assert "/ada/pwws/default/seed42/" in bad
    with pytest.raises(AmdaError, match=f"^{re.escape(bad)}: {re.escape(message)}"):
        Summaries.load("table2", tae=tae)


def test_rates_come_from_the_counts_so_a_rounded_rate_changes_no_table_byte(tmp_path):
    stage.main(table2_args(tmp_path))
    expected = {name: (tmp_path / name).read_bytes() for name in ("table2.csv", "table2.md")}
    tae, _ = edited_fixture(tmp_path / "rounded", "tae-pwws.json", 0, attack_success_rate=0.6512)  # 56/86 = 0.65116
    stage.main(table2_args(tmp_path, tae=tae))
    assert {name: (tmp_path / name).read_bytes() for name in expected} == expected


def test_an_sae_summary_is_checked_against_its_per_sentence_outcomes(tmp_path):
    correct = [1] * 10 + [0] * 90
    args = table1_args(tmp_path)
    sae = fixture_files("sae-pwws.json")  # seed 42 first: static_accuracy 0.1 of n 100
    for changes, message in [
        (
            {"correct": correct, "static_accuracy": 0.2},
            "static_accuracy is 0.2 but its correct list gives 10/100 = 0.1",
        ),
        ({"correct": correct[:99]}, "n is 100 but its correct list holds 99"),
        ({"correct": [True] * 100}, "correct must be a list of 0 and 1"),
    ]:
        edited, bad = edited_fixture(tmp_path / str(len(message)), "sae-pwws.json", 0, **changes)
        assert sae[0].endswith("/seed42/sae-pwws.json")
        args[args.index("--sae") + 1] = bad
        with pytest.raises(AmdaError, match=f"^{re.escape(bad)}: {re.escape(message)}"):
            stage.main(args)
    edited, good = edited_fixture(tmp_path / "good", "sae-pwws.json", 0, correct=correct)
    args[args.index("--sae") + 1] = good
    stage.main(args)  # agrees with its outcomes: accepted


# --- Data warnings under the tables ----------------------------------------------------------------


def write_stats(path, test_labels=None, kept=0):
    """A data stage's stats.json (only the keys data_warnings reads): balanced splits unless told otherwise."""
    splits = {split: {"labels": {"0": 5, "1": 5}} for split in ("train", "dev", "test")}
    splits["test"]["labels"] = test_labels or splits["test"]["labels"]
    stats = {
        "label_names": ["negative", "positive"],
        "splits": splits,
        "overlap_after": {"train_test": {"exact": kept, "normalised": kept}},
    }
    path.write_text(json.dumps(stats))
    return str(path)


def test_a_test_split_with_one_class_is_warned_of_under_the_table(tmp_path):
    stage.main(table2_args(tmp_path))
    plain = (tmp_path / "table2.md").read_text()
    balanced = write_stats(tmp_path / "balanced.json")
    stage.main([*table2_args(tmp_path), "--data-stats", balanced])
    assert (tmp_path / "table2.md").read_text() == plain  # nothing to warn of: the same bytes
    one_class = write_stats(tmp_path / "stats.json", test_labels={"0": 6, "1": 0}, kept=3)
    stage.main([*table2_args(tmp_path), "--data-stats", balanced, one_class])
    assert (tmp_path / "table2.md").read_text() == plain + (
        "\n**Warnings: what changes the meaning of these numbers**\n\n"
        f"- {one_class}: the test split has no rows with label 1 (positive): its accuracies cover the other labels only\n"
        f"- {one_class}: 3 train rows also occur in test (drop_test_overlap is off):"
        " test accuracies include texts seen in training\n"
    )


def test_a_stats_file_without_label_counts_is_named(tmp_path):
    bad = tmp_path / "stats.json"
    bad.write_text(json.dumps({"label_names": ["negative", "positive"]}))
    with pytest.raises(AmdaError, match=f"^data statistics file {re.escape(str(bad))} lacks 'splits'"):
        stage.main([*table2_args(tmp_path), "--data-stats", str(bad)])


# --- Figures -------------------------------------------------------------------------------------


def sweep_inputs(root, hp_key, values, seeds, slope, default_value=None):
    tae, metrics = [], []
    for value in values:
        hp = "default" if value == default_value else f"{hp_key}-{value:g}"
        for seed in seeds:
            run = RunId("sst2", "minilm", "amda_tmix", "pwws", hp, seed)
            # under attack: 20 + slope·value (+2 for seed 43); clean: 0.90 (seed 42), 0.86 (seed 43)
            paths = write_run(
                root,
                run,
                0.90 if seed == 42 else 0.86,
                "pwws",
                (20 + slope * value + (2 if seed == 43 else 0)) / 100,
                num_adversarial=min(round(100 * value), 60),
            )
            tae.append(str(paths["tae"]))
            metrics.append(str(paths["metrics"]))
    return tae, metrics


def test_figure2_writes_a_png_and_a_csv_of_means_with_error_bars(tmp_path):
    ratios = [0.25, 0.5, 0.75, 1.0]
    tae, metrics = sweep_inputs(tmp_path, "ratio", ratios, [42, 43], slope=20, default_value=1.0)
    png, csv = tmp_path / "figure2.png", tmp_path / "figure2.csv"
    stage.main(
        [
            "figure2",
            "--tae",
            *tae,
            "--metrics",
            *metrics,
            "--dataset",
            "sst2",
            "--model",
            "minilm",
            "--methods",
            "amda_tmix",
            "--attack",
            "pwws",
            "--values",
            *map(str, ratios),
            "--seeds",
            "42",
            "43",
            "--default-value",
            "1.0",
            "--out-png",
            str(png),
            "--out-csv",
            str(csv),
        ]
    )
    data = png.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 10_000
    frame = pd.read_csv(csv)
    assert list(frame["ratio"]) == ratios
    assert list(frame["hp"]) == ["ratio-0.25", "ratio-0.5", "ratio-0.75", "default"]
    assert list(frame["accuracy_under_attack_mean"]) == approx([26.0, 31.0, 36.0, 41.0])
    assert list(frame["accuracy_under_attack_std"]) == approx([math.sqrt(2)] * 4)
    assert list(frame["clean_accuracy_mean"]) == approx([88.0] * 4)
    assert list(frame["num_adversarial_mean"]) == [25, 50, 60, 60]  # a 60-example set caps the last two
    # seeds hold on 25/27, 30/32, 35/37, 40/42 of 100 sentences (0..k-1); each ratio against the largest:
    # 15, 10, 5 points, every discordant pair the reference's way
    assert list(frame["vs_ref_diff"][:3]) == approx([15.0, 10.0, 5.0]) and frame["verdict"].iloc[3] == "reference"
    assert list(frame["verdict"][:3]) == ["holds"] * 3 and (frame["vs_ref_low"][:3] > 0).all()
    assert (frame["accuracy_under_attack_low"] < frame["accuracy_under_attack_mean"]).all()
    assert (frame["accuracy_under_attack_high"] > frame["accuracy_under_attack_mean"]).all()
    assert list(frame["sentences"]) == [100] * 4


def test_figure3_with_one_seed_has_no_spread(tmp_path):
    alphas = [0.2, 0.4, 2.0, 4.0, 8.0]
    tae, metrics = sweep_inputs(tmp_path, "alpha", alphas, [42], slope=5)
    png, csv = tmp_path / "figure3.png", tmp_path / "figure3.csv"
    stage.main(
        [
            "figure3",
            "--tae",
            *tae,
            "--metrics",
            *metrics,
            "--dataset",
            "sst2",
            "--model",
            "minilm",
            "--methods",
            "amda_tmix",
            "--attack",
            "pwws",
            "--values",
            *map(str, alphas),
            "--seeds",
            "42",
            "--out-png",
            str(png),
            "--out-csv",
            str(csv),
        ]
    )
    assert png.read_bytes().startswith(PNG_SIGNATURE) and png.stat().st_size > 10_000
    frame = pd.read_csv(csv)
    assert list(frame["hp"]) == ["alpha-0.2", "alpha-0.4", "alpha-2", "alpha-4", "alpha-8"]
    assert list(frame["accuracy_under_attack_mean"]) == approx([21.0, 22.0, 30.0, 40.0, 60.0])
    assert frame["accuracy_under_attack_std"].isna().all() and set(frame["n"]) == {1}


def test_a_figure_from_files_alone_reads_the_swept_values_from_each_summary(tmp_path):
    alphas = [0.4, 2.0]
    tae, metrics = sweep_inputs(tmp_path, "alpha", alphas, [42], slope=5)
    for path in tae + metrics:  # written as alpha-2.0: the same setting as alpha-2
        record = json.loads(Path(path).read_text())
        record["hp"] = f"alpha-{float(record['hp'].split('-')[1])}"
        Path(path).write_text(json.dumps(record))
    csv = tmp_path / "figure3.csv"
    stage.main(
        [
            "figure3",
            "--tae",
            *tae,
            "--metrics",
            *metrics,
            "--out-png",
            str(tmp_path / "figure3.png"),
            "--out-csv",
            str(csv),
        ]
    )
    frame = pd.read_csv(csv)
    assert list(frame["alpha"]) == alphas and list(frame["hp"]) == ["alpha-0.4", "alpha-2"]
    assert list(frame["accuracy_under_attack_mean"]) == approx([22.0, 30.0])
    assert set(frame["dataset"]) == {"sst2"} and set(frame["method"]) == {"amda_tmix"}


def test_a_missing_sweep_point_names_its_hyper_parameter(tmp_path):
    tae, metrics = sweep_inputs(tmp_path, "ratio", [0.25], [42], slope=20)
    with pytest.raises(AmdaError, match="figure2: no TAE summary for sst2/minilm/amda_tmix/pwws/ratio-0.5 seed 42"):
        stage.main(
            [
                "figure2",
                "--tae",
                *tae,
                "--metrics",
                *metrics,
                "--dataset",
                "sst2",
                "--model",
                "minilm",
                "--methods",
                "amda_tmix",
                "--attack",
                "pwws",
                "--values",
                "0.25",
                "0.5",
                "--seeds",
                "42",
                "--out-png",
                str(tmp_path / "f.png"),
                "--out-csv",
                str(tmp_path / "f.csv"),
            ]
        )


# --- Paper comparison ----------------------------------------------------------------------------


def method_rows(accuracy_under_attack, clean):
    """A one-seed table for sst2/minilm/pwws from {method: value} dicts."""
    return pd.DataFrame(
        [
            {
                "dataset": "sst2",
                "model": "minilm",
                "method": m,
                "attack": "pwws",
                "n": 1,
                "accuracy_under_attack_mean": accuracy_under_attack[m],
                "clean_accuracy_mean": clean[m],
            }
            for m in accuracy_under_attack
        ]
    )


def test_claims_hold_on_data_built_to_hold_and_fail_on_data_built_to_fail():
    table1 = pd.DataFrame(
        [
            {
                "dataset": "sst2",
                "model": "minilm",
                "row": "reseeded_mean",
                "attack": "pwws",
                "n": 2,
                "sae_accuracy_mean": 60.0,
                "tae_accuracy_mean": 17.0,
            },
            {
                "dataset": "sst2",
                "model": "minilm",
                "row": "reseeded_mean",
                "attack": "textfooler",
                "n": 2,
                "sae_accuracy_mean": 15.0,
                "tae_accuracy_mean": 17.0,
            },
        ]
    )
    assert [v.verdict for v in claim_sae_overstates(table1)] == [HOLDS, FAILS]

    clean = {"base": 90.0, "ada": 86.0, "tmix": 89.0, "smix": 89.0, "amda_tmix": 88.5, "amda_smix": 87.0}
    under_attack = {"base": 10.0, "ada": 30.0, "tmix": 15.0, "smix": 35.0, "amda_tmix": 40.0, "amda_smix": 33.0}
    frame = method_rows(under_attack, clean)
    beats = {v.evidence.split()[0]: v.verdict for v in claim_amda_beats(frame)}
    assert beats == {"AMDA-TMix": HOLDS, "AMDA-SMix": FAILS}  # AMDA-SMix beats ADA but not SMix alone
    cost = {v.evidence.split()[0]: v.verdict for v in claim_clean_cost(frame)}
    assert cost == {"AMDA-TMix": HOLDS, "AMDA-SMix": FAILS}  # drops of 1.5 and 3.0 points


def test_a_claim_lacking_its_baseline_is_not_evaluated():
    frame = method_rows({"amda_tmix": 40.0, "tmix": 20.0}, {"amda_tmix": 88.0, "tmix": 89.0})
    [verdict] = claim_amda_beats(frame)
    assert verdict.verdict == "not evaluated" and "lacks ADA" in verdict.evidence
    [verdict] = claim_clean_cost(frame)
    assert verdict.verdict == "not evaluated" and "lacks Base" in verdict.evidence


def test_paper_comparison_places_paper_numbers_and_dashes_the_missing(tmp_path):
    stage.main(table1_args(tmp_path))
    stage.main(table2_args(tmp_path))
    paper = tmp_path / "paper.csv"
    paper.write_text(
        "table,dataset,model,method,attack,metric,value,source_note\n"
        "table2,sst2,bert,ada,pwws,accuracy_under_attack,12.5,test fixture (not the paper)\n"
        "table2,sst2,bert,amda_tmix,pwws,accuracy_under_attack,20.0,test fixture (not the paper)\n"
    )
    out = tmp_path / "paper_comparison.md"
    stage.main(
        [
            "paper-comparison",
            "--tables",
            str(tmp_path / "table1.csv"),
            str(tmp_path / "table2.csv"),
            "--paper-results",
            str(paper),
            "--out-md",
            str(out),
        ]
    )
    text = out.read_text()
    assert "MiniLM (ours) ↔ BERT-base-uncased (paper)" in text
    assert "| SST-2 | ADA | PWWS | ours (n=2) | MiniLM | 85.0 | 31.0 |" in text
    assert "| SST-2 | ADA | PWWS | test fixture (not the paper) | BERT-base-uncased | — | 12.5 |" in text
    assert "| SST-2 | Base | PWWS | test fixture" not in text  # a source with no number for a cell has no row
    assert (
        "| (1) SAE overstates robustness of re-seeded models | SST-2, MiniLM, PWWS | "
        f"SAE 60.0 vs TAE 17.0 (re-seeded mean, n=2) | {HOLDS} |" in text
    )
    assert f"AMDA-TMix 89.0 vs Base 90.0 (drop +1.0, n=2) | {HOLDS} |" in text
    assert " holds |" not in text and "does not hold" not in text  # means alone decide nothing
    assert "- test fixture (not the paper)" in text


@pytest.mark.parametrize(
    "verdicts, word",
    [
        (("holds", "holds"), "holds"),
        (("holds", "inconclusive"), "inconclusive"),
        (("holds", "contradicted"), "contradicted"),
    ],
)
def test_paper_comparison_decides_amda_from_the_paired_intervals(tmp_path, verdicts, word):
    stage.main(table2_args(tmp_path))
    claims = pd.read_csv(write_claims(tmp_path, verdicts[0]))
    mixup = claims.iloc[0].to_dict() | {"claim": "AMDA beats its mixup alone", "b": "tmix", "verdict": verdicts[1]}
    pd.concat([claims, pd.DataFrame([mixup])]).to_csv(tmp_path / "claims.csv", index=False)
    out = tmp_path / "paper_comparison.md"
    tables = ["--tables", str(tmp_path / "table2.csv")]
    stage.main(["paper-comparison", *tables, "--claims", str(tmp_path / "claims.csv"), "--out-md", str(out)])
    text = out.read_text()
    assert (
        "| (2) AMDA beats ADA and mixup alone under TAE | SST-2, MiniLM, PWWS | AMDA-TMix − ADA +11.0 [+6.0, +16.0] "
        f"(n = 100 × 2 seeds, detectable 5.2); AMDA-TMix − TMix +11.0 [+6.0, +16.0] (n = 100 × 2 seeds, detectable "
        f"5.2) | {word} |" in text
    )


def test_the_shipped_published_numbers_load_each_with_its_source(tmp_path):
    paper = load_paper_results(default_paper_results())
    assert list(paper.columns) == ["table", "dataset", "model", "method", "attack", "metric", "value", "source_note"]
    assert len(paper) == 236
    for table, note in zip(paper["table"], paper["source_note"]):
        assert note.startswith("Si et al. 2021") and note.endswith(f"Table {table[-1]}")
    # The worked example: AMDA-TMix minus ADA under PWWS on SST-2 with BERT.
    amda, ada = (
        paper_number(paper, 2, "sst2", "minilm", m, "pwws", "accuracy_under_attack") for m in ("amda_tmix", "ada")
    )
    assert round(amda - ada, 2) == 11.64
    assert paper_number(paper, 1, "sst2", "minilm", "reseeded", "pwws", "sae_accuracy") == pytest.approx(
        (44.98 + 45.63) / 2
    )
    stage.main(table2_args(tmp_path))
    out = tmp_path / "paper_comparison.md"
    stage.main(["paper-comparison", "--tables", str(tmp_path / "table2.csv"), "--out-md", str(out)])
    text = out.read_text()
    assert "Absolute levels are not comparable across attack implementations" in text
    assert "| AMDA-TMix − ADA | +11.00 | +11.64 | yes |" in text


def test_a_table_the_paper_reports_for_one_model_only_is_compared_with_that_model():
    # The paper's Table 3 (AG News) is RoBERTa-base alone: MiniLM's cells there meet RoBERTa's, and say so;
    # MPNet is RoBERTa's counterpart anyway, and MiniLM's Table 2 cells keep BERT-base.
    paper = load_paper_results(default_paper_results())
    assert paper_number(paper, 3, "ag_news", "minilm", "amda_tmix", "pwws", "accuracy_under_attack") == 69.74
    assert paper_number(paper, 3, "ag_news", "mpnet", "amda_tmix", "pwws", "accuracy_under_attack") == 69.74
    assert paper_number(paper, 2, "sst2", "minilm", "ada", "pwws", "accuracy_under_attack") == 27.18
    # the reference PWWS reproduces the paper's PWWS: its cells sit beside the paper's PWWS column
    assert paper_number(paper, 2, "sst2", "minilm", "ada", "pwws_ref", "accuracy_under_attack") == 27.18
    assert paper_number(paper, 2, "sst2", "mpnet", "ada", "pwws", "accuracy_under_attack") == 25.26
    rows = [
        {
            "table": "table3",
            "dataset": "ag_news",
            "model": model,
            "method": method,
            "attack": "pwws",
            "n": 1,
            "clean_accuracy_mean": 90.0,
            "accuracy_under_attack_mean": value,
            "modification_rate_mean": 10.0,
        }
        for model in ("minilm", "mpnet")
        for method, value in (("base", 30.0), ("ada", 40.0), ("amda_tmix", 50.0))
    ]
    text = comparison_markdown(paper, table3=pd.DataFrame(rows))
    paper_row = "| AG News | AMDA-TMix | PWWS | Si et al. 2021 (Findings of ACL), Table 3 | RoBERTa-base"
    assert (
        "| AG News | AMDA-TMix | PWWS | ours (n=1) | MiniLM | 90.0 | 50.0 |\n"
        f"{paper_row} (the paper's only model here) | 94.5 | 69.7 |" in text
    )
    assert f"| AG News | AMDA-TMix | PWWS | ours (n=1) | MPNet | 90.0 | 50.0 |\n{paper_row} | 94.5 | 69.7 |" in text
    assert (
        "| AG News, MiniLM ↔ RoBERTa-base (the paper's only model here), PWWS | AMDA-TMix − ADA | +10.00 | +2.77 | yes |"
        in text
    )
    assert "its Tables 3 and 4: RoBERTa-base" in text


RMLM = "Wang et al. 2023 (ACL), RMLM, Table 2"


def test_rmlm_rows_and_effects_stand_beside_the_papers_each_naming_its_source():
    paper, other = load_paper_results(default_paper_results()), load_other_results(default_other_results())
    aua, clean = {"base": 20.0, "ada": 30.0, "amda_tmix": 28.0, "tmix": 22.0}, dict.fromkeys(["base", "ada"], 90.0)
    sst2 = method_rows(aua, clean | {"amda_tmix": 88.0, "tmix": 89.0})
    imdb = sst2[sst2["method"] == "ada"].assign(dataset="imdb")
    text = comparison_markdown(paper, table2=pd.concat([sst2, imdb]), other=other)
    ours_then_paper = [
        "| SST-2 | AMDA-TMix | PWWS | ours (n=1) | MiniLM | 88.0 | 28.0 |",
        "| SST-2 | AMDA-TMix | PWWS | Si et al. 2021 (Findings of ACL), Table 2 | BERT-base-uncased | "
        f"{paper_number(paper, 2, 'sst2', 'minilm', 'amda_tmix', 'pwws', 'clean_accuracy'):.1f} | "
        f"{paper_number(paper, 2, 'sst2', 'minilm', 'amda_tmix', 'pwws', 'accuracy_under_attack'):.1f} |",
        f"| SST-2 | AMDA-TMix | PWWS | {RMLM} † | BERT-base | 89.8 | 40.6 |",  # its SST-2 rows: printed order
    ]
    assert "\n".join(ours_then_paper) in text
    assert f"| IMDB | ADA | PWWS | {RMLM} | BERT-base | 92.7 | 28.3 |" in text  # IMDB kept its row labels
    assert f"| SST-2 | TMix | PWWS | {RMLM}" not in text  # RMLM has no mixup alone
    # the caveat stays visible under each table whose rows it marks
    caveat = "† the stored text of this table lost its SST-2 row labels: rows assigned by their printed order"
    assert text.count(caveat) == 2
    assert f"| Same direction | {RMLM} (BERT-base) | Same direction |" in text
    assert "| SST-2, MiniLM ↔ BERT-base-uncased, PWWS | AMDA-TMix − ADA | -2.00 | +11.64 | no | +4.80 † | no |" in text
    assert "| AMDA-TMix − TMix | +6.00 |" in text and "| — | — |\n" in text  # RMLM: no TMix, no effect
    assert f"- {RMLM}: BERT-base, OpenAttack attackers, 1,000 test examples" in text  # its source, listed at the end


def test_rmlm_method_names_map_to_ours_through_the_records(tmp_path):
    # RMLM's `amda` is AMDA-TMix: the reference's run scripts train AMDA with TMix only (records.RMLM)
    names = {name: records.published_method(records.RMLM, name) for name in ("base", "ada", "amda", "freelb_pp")}
    assert names == {"base": "base", "ada": "ada", "amda": "amda_tmix", "freelb_pp": "freelb"}
    other = load_other_results(default_other_results())
    assert len(other) == 36 and set(other["method"]) == {"base", "ada", "amda_tmix", "freelb"}
    bad = tmp_path / "other.csv"
    bad.write_text(
        "source,dataset,model,method,attack,metric,value,source_note\n"
        "rmlm_2023,sst2,bert,amda_smix,pwws,accuracy_under_attack,40.6,fixture\n"
    )
    with pytest.raises(AmdaError, match=r"row 2: method 'amda_smix' of source 'rmlm_2023' is no method record's"):
        load_other_results(bad)


@pytest.mark.parametrize("name", ["published_results.csv", "other_published_results.csv"])
def test_the_packaged_published_numbers_are_the_shared_files(shared, name):
    assert (ROOT / "src" / "amda" / "data" / name).read_bytes() == (shared / "paper" / name).read_bytes()


def test_our_tables_are_identified_by_their_table_column(tmp_path):
    stage.main(table2_args(tmp_path))
    copy = tmp_path / "copy.csv"
    copy.write_text((tmp_path / "table2.csv").read_text())
    out = str(tmp_path / "comparison.md")
    with pytest.raises(AmdaError, match="two files hold table2"):
        stage.main(["paper-comparison", "--tables", str(tmp_path / "table2.csv"), str(copy), "--out-md", out])
    stage.main(table2_args(tmp_path))
    other = tmp_path / "other.csv"
    pd.read_csv(tmp_path / "table2.csv").assign(table="figure2").to_csv(other, index=False)
    with pytest.raises(AmdaError, match="must name one of table1, table2, table3, table4, found figure2"):
        stage.main(["paper-comparison", "--tables", str(other), "--out-md", out])


def test_a_paper_number_without_a_source_is_rejected(tmp_path):
    paper = tmp_path / "paper.csv"
    paper.write_text(
        "table,dataset,model,method,attack,metric,value,source_note\n2,sst2,bert,ada,pwws,accuracy_under_attack,12.5,\n"
    )
    with pytest.raises(AmdaError, match="row 2: source_note is empty"):
        load_paper_results(paper)


# --- Report captions -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["table1", "table2", "table3", "table4", "figure2", "figure3", "paper_comparison"])
def test_report_captions_render_with_the_default_config(name):
    """As `snakemake --report` does: Jinja with `snakemake.config`, then docutils (warnings fail)."""
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    template = jinja2.Environment(undefined=jinja2.StrictUndefined).from_string(
        (ROOT / "report" / f"{name}.rst").read_text()
    )
    text = template.render(snakemake=SimpleNamespace(config=config))
    html = publish_parts(text, writer="html", settings_overrides={"halt_level": 2, "report_level": 2})["body"]
    assert "{" not in html and "%" in html
