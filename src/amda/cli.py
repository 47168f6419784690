"""Entry point helper shared by the stage scripts."""

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
