"""One logging style: the library logs through `logging`; stage scripts set it up via run_main."""

import logging
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
