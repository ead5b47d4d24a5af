"""Make-style dependency files (`target: dep dep …`), as Make, Ninja and CMake read them."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from ..common.errors import SepgenError


def escape(path: str | os.PathLike) -> str:
    """A path as a depfile token: `$` doubled, spaces and `#` backslash-escaped."""
    text = os.fspath(path)
    if "\n" in text or "\r" in text:
        raise SepgenError(f"cannot write a depfile entry for a path with a newline: {text!r}")
    return text.replace("$", "$$").replace("#", "\\#").replace(" ", "\\ ")


def render(targets: Iterable[str | os.PathLike], deps: Iterable[str | os.PathLike]) -> str:
    """One rule: the targets depend on the deps (duplicates dropped, order kept), one dep a line."""
    escaped = [escape(t) for t in targets]
    unique = list(dict.fromkeys(escape(d) for d in deps))
    lines = [" ".join(escaped) + ":"] + [f"  {d}" for d in unique]
    return " \\\n".join(lines) + "\n"


def template_files(folder: Path) -> list[Path]:
    """Every file under a templates folder, sorted (a depfile names files, not folders)."""
    return sorted(p for p in folder.rglob("*") if p.is_file())
