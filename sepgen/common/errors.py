"""Errors the CLI turns into one-line messages and exit codes."""


class SepgenError(Exception):
    """Bad usage or bad input: exit code 2, one line, no traceback."""

    exit_code = 2


class CheckFailed(SepgenError):
    """A verification or staleness check failed: exit code 1."""

    exit_code = 1
