"""The one error type whose message reaches the user as a single line."""


class AmdaError(Exception):
    """A user-facing failure: bad config, bad input file, missing artifact.

    The message must name the key, file or row at fault; `amda.cli.run_main` prints it as
    `error: <message>` on one line and exits with status 2.
    """
