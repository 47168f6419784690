"""What the stage scripts share: the entry point (logging set up once, errors on one line) and the parsing of JSON
given on a command line."""

import json
import logging
import sys

from amda.errors import AmdaError

log = logging.getLogger("amda")


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is when a record is emitted (a test's capture included)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _):
        pass


def setup_logging(level=logging.INFO):
    """Send the library's log records (logger `amda` and its children) to stderr as bare lines."""
    if not any(isinstance(h, _StderrHandler) for h in log.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
    log.setLevel(level)


def run_main(main, argv=None):
    """Run a stage's `main(argv)` with logging set up; report an `AmdaError` as one line and exit 2, and Ctrl-C
    as one line (exit 130, the shell's code for SIGINT) instead of a traceback per running job."""
    setup_logging()
    try:
        main(argv)
    except AmdaError as err:
        log.error("error: %s", " ".join(str(err).split()))
        sys.exit(2)
    except KeyboardInterrupt:
        log.error("error: interrupted (Ctrl-C); finished work is kept, rerun to resume")
        sys.exit(130)


def parse_json_object(text, what):
    """A JSON object given on a command line; AmdaError naming `what` (the flag) otherwise."""
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as err:
        raise AmdaError(f"{what}: invalid JSON: {err}") from err
    if not isinstance(parsed, dict):
        raise AmdaError(f"{what}: expected a JSON object, got {type(parsed).__name__}")
    return parsed
