"""The identifier rule for names that reach shader code, config keys and file names."""

from __future__ import annotations

import re

from .errors import SepgenError

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
MAX_LENGTH = 64
SHOWN = 40  # characters of a bad name echoed back in a message


def check_identifier(name: object, what: str = "filter name") -> str:
    """Return `name` if it is a C-style identifier, else raise a one-line SepgenError."""
    if not isinstance(name, str) or not IDENTIFIER.match(name):
        raise SepgenError(f"{what} {shown(name)} is not an identifier ([A-Za-z_][A-Za-z0-9_]*)")
    if len(name) > MAX_LENGTH:
        raise SepgenError(f"{what} {shown(name)} is longer than {MAX_LENGTH} characters")
    return name


def check_shader_name(name: object, what: str = "filter name") -> str:
    """`check_identifier`, and the rule for names that prefix shader identifiers: GLSL reserves
    names that start with gl_ or hold __ (the rule `sepgen emit` and the build config apply)."""
    check_identifier(name, what)
    assert isinstance(name, str)
    if name.startswith("gl_") or "__" in name:
        raise SepgenError(f"{what} {shown(name)} cannot prefix shader identifiers (GLSL reserves gl_ and __)")
    return name


def shown(value: object) -> str:
    """repr(value), cut to its first SHOWN characters (and the length) when longer."""
    if isinstance(value, str) and len(value) > SHOWN:
        return f"{value[:SHOWN]!r}… ({len(value)} characters)"
    text = repr(value)
    return text if len(text) <= SHOWN + 2 else f"{text[:SHOWN]}… ({len(text)} characters)"
