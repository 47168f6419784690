"""Entry point helper shared by the stage scripts."""

import sys

from amda.errors import AmdaError


def run_main(main, argv=None):
    """Run a stage's `main(argv)`; report an `AmdaError` as one line on stderr and exit 2, and Ctrl-C
    as one line (exit 130, the shell's code for SIGINT) instead of a traceback per running job."""
    try:
        main(argv)
    except AmdaError as err:
        message = " ".join(str(err).split())
        print(f"error: {message}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("error: interrupted (Ctrl-C); finished work is kept, rerun to resume", file=sys.stderr)
        sys.exit(130)
