"""What the stage scripts share: the entry point and the parsing of JSON given on a command line."""

import json
import sys

from amda.errors import AmdaError


def run_main(main, argv=None):
    """Run a stage's `main(argv)`; report an `AmdaError` as one line on stderr and exit 2."""
    try:
        main(argv)
    except AmdaError as err:
        message = " ".join(str(err).split())
        print(f"error: {message}", file=sys.stderr)
        sys.exit(2)


def parse_json_object(text, what):
    """A JSON object given on a command line; AmdaError naming `what` (the flag) otherwise."""
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as err:
        raise AmdaError(f"{what}: invalid JSON: {err}") from err
    if not isinstance(parsed, dict):
        raise AmdaError(f"{what}: expected a JSON object, got {type(parsed).__name__}")
    return parsed
