"""The identifier rule for names that reach shader code, config keys and file names."""

from __future__ import annotations

import re

from .errors import SepgenError

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def check_identifier(name: object, what: str = "filter name") -> str:
    """Return `name` if it is a C-style identifier, else raise a one-line SepgenError."""
    if not isinstance(name, str) or not IDENTIFIER.match(name):
        raise SepgenError(
            f"{what} {name!r} is not an identifier ([A-Za-z_][A-Za-z0-9_]*)"
        )
    if len(name) > 64:
        raise SepgenError(f"{what} {name!r} is longer than 64 characters")
    return name
