"""The whole workflow on the tiny config: real MiniLM, real SST-2 rows, real PWWS, every stage.

One uninterrupted run of every default target (`snakemake` with no target builds the `all` rule: each
table, figure and claims file the config lists, and the comparison with the paper) is shared by the tests
of this module; they check what a user relies on: every output exists and the tables hold sane numbers,
nothing is redone, edits rerun exactly what they should, and a run killed midway then resumed ends with
the same tables.
"""

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import SHARED, copy_workflow, job_counts, snakemake

from amda.attack.runner import RESULT_TYPES

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("nltk_data")]
TINY = ("--configfile", "configs/tiny.yaml")
# No target: what `snakemake --cores 2 --configfile configs/tiny.yaml` builds, the `all` rule.
TARGETS = ()
TABLES = ("table1", "table2", "table3", "table4")
FIGURES = ("figure2", "figure3")
OUTPUTS = (
    *(f"results/{name}.{ext}" for name in TABLES for ext in ("csv", "md")),
    *(f"results/{name}.{ext}" for name in FIGURES for ext in ("png", "csv")),
    *(f"results/claims/{name}.csv" for name in TABLES),
    "results/claims.csv",
    "results/claims.md",
    "results/paper_comparison.md",
)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    workflow = copy_workflow(tmp_path_factory.mktemp("tiny"))
    result = snakemake(workflow, "--cores", "2", *TARGETS, *TINY)
    assert result.returncode == 0, result.stderr[-5000:]
    return workflow


def tables(workflow):
    """Every table, figure and the claims of a finished run, as frames."""
    return {name: pd.read_csv(workflow / "results" / f"{name}.csv") for name in (*TABLES, *FIGURES, "claims")}


def test_every_default_target_is_built(tiny_run):
    """tiny.yaml's Table 3 shows only base and its Table 4 only ADA: no comparison has both of its methods,
    so their claims files hold the header alone, and the claims and the paper comparison are still made."""
    assert [path for path in OUTPUTS if not (tiny_run / path).is_file()] == []
    header = (tiny_run / "results/claims/table2.csv").read_text().splitlines()[0]
    for name in ("table3", "table4"):
        assert (tiny_run / f"results/claims/{name}.csv").read_text() == header + "\n"
    claims = tables(tiny_run)["claims"]
    assert set(claims["a"]) >= {"sae", "ada"} and len(claims) == sum(
        len(pd.read_csv(tiny_run / f"results/claims/{name}.csv")) for name in ("table1", "table2")
    )
    assert "AMDA" in (tiny_run / "results/paper_comparison.md").read_text()


def test_tables_hold_every_model_and_sane_numbers(tiny_run):
    t2 = tables(tiny_run)["table2"]
    assert set(t2["method"]) == {"base", "ada", "tmix", "amda_smix"}
    assert (t2["attack"] == "pwws").all()
    for column in ("clean_accuracy_mean", "accuracy_under_attack_mean"):
        assert t2[column].between(0, 100).all(), column
    assert (t2["accuracy_under_attack_mean"] <= t2["clean_accuracy_mean"]).all()
    adv = pd.read_parquet(tiny_run / "results/adv_train/sst2/minilm/pwws.parquet")
    assert len(adv) == 20 and set(adv["result"]) <= set(RESULT_TYPES)
    t1 = tables(tiny_run)["table1"]
    assert {"42", "43"} <= set(t1["seeds"].astype(str))  # the victim and the re-seeded model


def test_nothing_to_do_afterwards_and_fast(tiny_run):
    start = time.perf_counter()
    result = snakemake(tiny_run, "-n", *TARGETS, *TINY)
    elapsed = time.perf_counter() - start
    assert "Nothing to be done" in result.stdout + result.stderr
    assert elapsed < 15  # generous on a loaded 2-core machine; BENCHMARKS.md records the real figure


def test_report_builds_offline_with_captions(tiny_run):
    result = snakemake(tiny_run, "--report", "results/report.html", *TARGETS, *TINY)
    assert result.returncode == 0, result.stderr[-3000:]
    html = (tiny_run / "results" / "report.html").read_text(errors="replace")
    assert all(f"{name}.csv" in html for name in TABLES) and "figure2.png" in html


def _planned(workflow):
    result = snakemake(workflow, "-n", *TARGETS, *TINY)
    assert result.returncode == 0, result.stderr[-3000:]
    return job_counts(result.stdout + result.stderr)


@contextlib.contextmanager
def edited(path):
    """`path` with a line added (Snakemake compares content, not only times), restored afterwards."""
    original, stat = path.read_bytes(), path.stat()
    path.write_bytes(original + b"\n# edited\n")
    later = time.time() + 5
    os.utime(path, (later, later))
    try:
        yield
    finally:
        path.write_bytes(original)
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def test_editing_the_aggregation_script_reruns_only_aggregation(tiny_run):
    with edited(tiny_run / "workflow_scripts" / "aggregate.py"):
        assert set(_planned(tiny_run)) == {*TABLES, *FIGURES, "paper_comparison", "all"}


def test_editing_the_attack_script_reruns_attacks_and_their_dependants(tiny_run):
    with edited(tiny_run / "workflow_scripts" / "attack_shard.py"):
        planned = _planned(tiny_run)
    assert planned["attack_shard"] == 7 * 2 and planned["adv_train_shard"] == 1  # 7 models, 2 shards each
    # ada, amda_smix and Figure 2's ada at ratio 0.05 train on the new adversarial set; base and tmix are kept
    assert planned["train_model"] == 3
    assert "prepare_data" not in planned and "counterfit" not in planned


def test_changing_one_methods_hyperparameter_reruns_only_its_models(tiny_run):
    overlay = tiny_run / "tmix_lr.yaml"
    overlay.write_text("training:\n  methods:\n    tmix: {lr: 3.0e-5}\n")
    result = snakemake(tiny_run, "-n", *TARGETS, *TINY, "tmix_lr.yaml")
    planned = job_counts(result.stdout + result.stderr)
    assert planned["train_model"] == 2  # Table 2's TMix and Figure 3's TMix at alpha 0.4
    assert planned["attack_shard"] == 2 * 2 and planned["merge_attack"] == 2
    # Table 2's mark and footer come from the paired statistics of its attacks (claims_table2)
    assert set(planned) == {
        "train_model",
        "attack_shard",
        "merge_attack",
        "claims_table2",
        "claims",
        "table2",
        "figure3",
        "paper_comparison",
        "all",
    }


def finished_outputs(log_text):
    """Outputs of the jobs a Snakemake log reports as finished (recorded complete by Snakemake)."""
    outputs, done = {}, set()
    pending = None
    for line in log_text.splitlines():
        line = line.strip()
        if line.startswith("output:"):
            pending = [p.strip() for p in line[len("output:") :].split(",")]
        elif line.startswith("jobid:") and pending is not None:
            outputs[line.split()[1]] = pending
            pending = None
        elif line.startswith("Finished jobid:"):
            done.add(line.split()[2])
    return [path for job in done for path in outputs.get(job, [])]


# What the killed run redoes: the mixup models (Table 2's TMix and AMDA-SMix, Figure 3's TMix) and all after them.
REDONE = ("tmix", "amda_smix")


def copy_without_mixup_models(tiny_run, dst):
    """A copy of the finished tiny run without the REDONE methods' models, attacks and kept attack records, nor
    the tables, figures and claims (Snakemake remakes a missing file only where something it must make needs
    it): a run of it trains 3 models, where one from scratch trains 7."""
    import shutil

    workflow = Path(dst) / "repo"
    shutil.copytree(tiny_run, workflow, symlinks=True)
    (Path(dst) / "shared").symlink_to(SHARED)
    results = workflow / "results"
    for stage in ("models", "attacks", "reuse/attacks"):
        for method in REDONE:
            shutil.rmtree(results / stage / "sst2" / "minilm" / method)
    shutil.rmtree(results / "claims")
    for path in results.iterdir():
        if path.is_file():
            path.unlink()
    return workflow


def test_killed_run_resumes_to_identical_tables(tiny_run, tmp_path):
    """Kill a run (SIGKILL to its process group) once models are trained, rerun: same tables, and no job that
    Snakemake had finished is run again. The run starts from the finished run without its mixup models."""
    workflow = copy_without_mixup_models(tiny_run, tmp_path)
    exe = Path(sys.executable).parent / "snakemake"
    log = tmp_path / "killed.log"
    with open(log, "w") as fh:
        proc = subprocess.Popen(
            [str(exe), "--cores", "2", *TARGETS, *TINY],
            cwd=workflow,
            stdout=fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.time() + 600
    while time.time() < deadline and proc.poll() is None:
        if log.read_text().count("(Rule: train_model)") >= 2:
            break
        time.sleep(0.5)
    assert proc.poll() is None, "the run finished before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = {
        workflow / p: (workflow / p).stat().st_mtime_ns
        for p in finished_outputs(log.read_text())
        if (workflow / p).is_file()
    }
    assert any(p.name == "metrics.json" for p in finished)
    # A killed Snakemake leaves its lock behind; it says so and `--unlock` lifts it.
    locked = snakemake(workflow, "--cores", "2", *TARGETS, *TINY)
    assert locked.returncode != 0 and "--unlock" in locked.stderr
    assert snakemake(workflow, "--unlock", *TARGETS, *TINY).returncode == 0
    result = snakemake(workflow, "--cores", "2", *TARGETS, *TINY)
    assert result.returncode == 0, result.stderr[-5000:]
    for path, mtime in finished.items():
        assert path.stat().st_mtime_ns == mtime, f"{path} was recomputed"
    ours, reference = tables(workflow), tables(tiny_run)
    for name in ours:
        pd.testing.assert_frame_equal(ours[name], reference[name])
