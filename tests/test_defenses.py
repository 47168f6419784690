"""The defenses table (amda.defenses) from fixture records and fixture Snakemake benchmark files."""

import json
import sys
from pathlib import Path
from types import SimpleNamespace

import jinja2
import numpy as np
import pandas as pd
import pytest
from docutils.core import publish_parts

from amda.aggregate import trained_run
from amda.config import load_yaml, merge_configs
from amda.errors import AmdaError
from amda.naming import adv_train_shard_benchmark
from amda.outcomes import records_frame
from amda.stats import bootstrap_interval

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow_scripts"))
import aggregate as stage  # noqa: E402  (the stage script, imported to call its main())

METHODS = ("base", "ada", "amda_tmix", "freelb")
SEEDS = (42, 43)
# CPU seconds of each method's training job per seed; wall seconds are 1.5 x.
TRAIN_CPU = {"base": (100.0, 110.0), "ada": (120.0, 120.0), "amda_tmix": (150.0, 170.0), "freelb": (900.0, 1100.0)}
SHARD_CPU = (300.0, 200.0)  # the two shards that built the PWWS adversarial set on the victim
BENCHMARK_HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def write_benchmark(path, cpu, header=BENCHMARK_HEADER):
    """A benchmark file as Snakemake writes it (one row)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + f"{cpu * 1.5:.2f}\t0:00:00\t500\t900\t400\t450\t0.1\t0.2\t95.0\t{cpu:.2f}\n")
    return str(path)


def outcomes(seed, failed):
    """Each of the 100 sentences' result: `failed` robust (which ones depends on the seed), 10 skipped."""
    results = ["failed"] * failed + ["successful"] * (90 - failed) + ["skipped"] * 10
    return results if seed == SEEDS[0] else results[::-1]


def write_summaries(root, run, aua):
    """metrics.json, a consistent tae-pwws.json (100 attacked, 10 skipped, `aua` of them robust) and its records."""
    failed = round(aua * 100)
    tae = {
        **run.as_dict(),
        "attack": "pwws",
        "n": 100,
        "clean_accuracy": 0.9,
        "accuracy_under_attack": failed / 100,
        "attack_success_rate": (90 - failed) / 90,
        "mean_modification_rate": 0.1,
        "openattack_modification_rate": 0.1,
        "mean_queries": 50.0,
        "counts": {
            "successful": 90 - failed,
            "failed": failed,
            "skipped": 10,
            "errored": 0,
            "capped": 0,
            "no_words": 0,
        },
    }
    paths = {"metrics": root / run.metrics, "tae": root / run.tae("pwws")}
    for kind, record in (("metrics", {**run.as_dict(), "test_accuracy": 0.9}), ("tae", tae)):
        paths[kind].parent.mkdir(parents=True, exist_ok=True)
        paths[kind].write_text(json.dumps(record))
    results = outcomes(run.seed, failed)
    records_frame(
        {"idx": i, "original_text": f"s{i}", "perturbed_text": "", "label": 1, "result": r, "error": ""}
        for i, r in enumerate(results)
    ).to_parquet(paths["tae"].with_suffix(".parquet"))
    return paths


@pytest.fixture
def inputs(tmp_path):
    found = {"tae": [], "metrics": [], "train": [], "adv": []}
    for method in METHODS:
        for seed, cpu in zip(SEEDS, TRAIN_CPU[method]):
            run = trained_run("sst2", "minilm", method, "pwws", seed)
            paths = write_summaries(tmp_path, run, 0.3 + 0.1 * METHODS.index(method))
            found["tae"].append(str(paths["tae"]))
            found["metrics"].append(str(paths["metrics"]))
            found["train"].append(write_benchmark(tmp_path / run.train_benchmark, cpu))
    for shard, cpu in enumerate(SHARD_CPU):
        found["adv"].append(
            write_benchmark(tmp_path / adv_train_shard_benchmark("sst2", "minilm", "pwws", shard, 2), cpu)
        )
    return found


def defenses_args(tmp_path, inputs):
    return [
        "defenses",
        "--tae",
        *inputs["tae"],
        "--metrics",
        *inputs["metrics"],
        "--train-benchmarks",
        *inputs["train"],
        "--adv-benchmarks",
        *inputs["adv"],
        "--out-csv",
        str(tmp_path / "defenses.csv"),
        "--out-md",
        str(tmp_path / "defenses.md"),
        "--out-png",
        str(tmp_path / "defenses.png"),
    ]


def test_cost_is_the_training_jobs_cpu_time_plus_the_adversarial_set_for_ada_and_amda(tmp_path, inputs):
    stage.main(defenses_args(tmp_path, inputs))
    frame = pd.read_csv(tmp_path / "defenses.csv").set_index("method")
    assert list(frame.index) == list(METHODS)  # every value found, in the records' order
    assert frame.loc["freelb", "train_cpu_seconds_mean"] == 1000.0
    assert frame.loc["freelb", "train_cpu_seconds_std"] == pytest.approx(141.4, abs=0.1)
    assert frame.loc["freelb", "train_seconds_mean"] == 1500.0
    for method in ("base", "freelb"):  # trained on clean data: nothing to charge
        assert frame.loc[method, "adversarial_set_cpu_seconds"] == 0
        assert frame.loc[method, "total_cpu_seconds_mean"] == frame.loc[method, "train_cpu_seconds_mean"]
    for method in ("ada", "amda_tmix"):  # both shards, charged in full to each model
        assert frame.loc[method, "adversarial_set_cpu_seconds"] == 500.0
        assert frame.loc[method, "adversarial_set_seconds"] == 750.0
        assert frame.loc[method, "total_cpu_seconds_mean"] == frame.loc[method, "train_cpu_seconds_mean"] + 500.0
    assert frame.loc["amda_tmix", "total_cpu_seconds_std"] == pytest.approx(14.1, abs=0.1)
    # Table 2's robustness columns, from the same records
    assert frame.loc["freelb", "accuracy_under_attack_mean"] == pytest.approx(60.0)
    assert frame.loc["base", "clean_accuracy_mean"] == pytest.approx(90.0)
    markdown = (tmp_path / "defenses.md").read_text()
    assert "| FreeLB++ | 90.0 ± 0.0 / 60.0 ± 0.0 (10.0 ± 0.0) |" in markdown
    assert "| AMDA-TMix | 160 ± 14 / 500 / 660 ± 14 |" in markdown
    assert "| FreeLB++ | 1000 ± 141 / 0 / 1000 ± 141 |" in markdown
    assert (tmp_path / "defenses.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_the_figure_shows_the_bootstrap_interval_the_claims_use(tmp_path, inputs):
    stage.main(defenses_args(tmp_path, inputs))
    frame = pd.read_csv(tmp_path / "defenses.csv").set_index("method")
    for method in METHODS:
        failed = round(100 * (0.3 + 0.1 * METHODS.index(method)))
        held = np.array([[int(r == "failed") for r in outcomes(seed, failed)] for seed in SEEDS])
        low, high = bootstrap_interval(held)  # seeds × sentences, resampled together
        row = frame.loc[method]
        assert (row["sentences"], row["accuracy_under_attack_low"], row["accuracy_under_attack_high"]) == (
            100,
            round(100 * low, 2),
            round(100 * high, 2),
        )
        # both seeds hold on as many sentences (sd 0), yet on different ones: the interval is not ± sd
        assert row["accuracy_under_attack_std"] == 0 and low * 100 < row["accuracy_under_attack_mean"] < high * 100


def test_the_published_numbers_stand_beside_ours_with_source_and_attack_configuration(tmp_path, inputs):
    stage.main(defenses_args(tmp_path, inputs))
    markdown = (tmp_path / "defenses.md").read_text()
    rmlm = "Wang et al. 2023 (ACL), RMLM, Table 2 †"  # SST-2: its rows were assigned by printed order, marked
    # the shipped other_published_results.csv: clean / PWWS of BERT-base, MiniLM's counterpart
    assert f"| FreeLB++ | {rmlm} | BERT-base | 91.1 / 34.5 |" in markdown
    assert f"| AMDA-TMix | {rmlm} | BERT-base | 89.8 / 40.6 |" in markdown
    assert f"| Base | {rmlm} | BERT-base | 91.0 / 23.0 |" in markdown
    assert "† the stored text of this table lost its SST-2 row labels: rows assigned by their printed order" in markdown
    assert "OpenAttack attackers, 1,000 test examples, no query or modification cap" in markdown


def test_a_missing_benchmark_is_named(tmp_path, inputs):
    inputs["train"] = [p for p in inputs["train"] if "/freelb/" not in p or "seed43" not in p]
    with pytest.raises(AmdaError, match=r"no training benchmark results/benchmarks/train_model/sst2/minilm/freelb/"):
        stage.main(defenses_args(tmp_path, inputs))
    inputs["adv"] = []
    with pytest.raises(AmdaError, match="no adversarial-set shard benchmark under results/benchmarks/adv_train_shard/"):
        stage.main(["defenses", *defenses_args(tmp_path, inputs)[1:], "--methods", "ada"])


def test_a_benchmark_without_cpu_time_is_named(tmp_path, inputs):
    write_benchmark(Path(inputs["train"][0]), 100.0, header=BENCHMARK_HEADER.replace("\tcpu_time", "\tcpu"))
    with pytest.raises(AmdaError, match=rf"^benchmark file {inputs['train'][0]}: no column 'cpu_time'$"):
        stage.main(defenses_args(tmp_path, inputs))


def test_report_caption_renders_with_the_defenses_config():
    """As `snakemake --report` does: Jinja with `snakemake.config`, then docutils (warnings fail)."""
    config = merge_configs(load_yaml(ROOT / "config.yaml"), load_yaml(ROOT / "configs" / "defenses.yaml"))
    template = jinja2.Environment(undefined=jinja2.StrictUndefined).from_string(
        (ROOT / "report" / "defenses.rst").read_text()
    )
    text = template.render(snakemake=SimpleNamespace(config=config))
    html = publish_parts(text, writer="html", settings_overrides={"halt_level": 2, "report_level": 2})["body"]
    assert "{" not in html and "freelb" in html and "95% bootstrap interval" in html and "RMLM" in html
