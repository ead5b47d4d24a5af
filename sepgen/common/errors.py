"""Errors the CLI turns into one-line messages and exit codes."""

import re

# NumPy 2 reprs of scalars ("np.float64(0.5)", "np.True_"): a message shows the plain value.
_NUMPY_REPR = re.compile(r"\bnp\.(?:float|int|uint|complex|bool|str_)\w*\((.*?)\)|\bnp\.(True|False)_")


def plain_numbers(message: str) -> str:
    """`message` with NumPy scalar reprs written as the plain values they hold."""
    return _NUMPY_REPR.sub(lambda m: m.group(1) if m.group(1) is not None else m.group(2), message)


class SepgenError(Exception):
    """Bad usage or bad input: exit code 2, one line, no traceback."""

    exit_code = 2

    def __init__(self, *args: object) -> None:
        if len(args) == 1 and isinstance(args[0], str):
            args = (plain_numbers(args[0]),)  # a value formatted with !r may be a NumPy scalar
        super().__init__(*args)


class CheckFailed(SepgenError):
    """A verification or staleness check failed: exit code 1."""

    exit_code = 1
