"""The stage scripts' shared entry: a user-facing failure or Ctrl-C ends in one line, not a traceback."""

import subprocess
import sys

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
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 130
    assert result.stderr.splitlines() == ["error: interrupted (Ctrl-C); finished work is kept, rerun to resume"]
