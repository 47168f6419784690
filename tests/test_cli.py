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


def test_the_library_never_prints_to_stderr():
    offenders = [str(p.relative_to(SRC)) for p in SRC.rglob("*.py") if "file=sys.stderr" in p.read_text()]
    assert offenders == []


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
