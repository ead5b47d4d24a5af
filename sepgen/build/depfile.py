"""Make-style dependency files (`target: dep dep …`), as Make, Ninja and CMake read them.

A build's depfile names the config, its kernel files, its template overrides and sepgen
itself (`sepgen_files`: its sources and templates), so upgrading or editing sepgen reruns
the generation step as a changed config does (examples/cmake/sepgen.cmake)."""

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


def sepgen_files() -> list[Path]:
    """sepgen's own files, sorted: every source of the installed package and its templates
    (`sepgen/templates` in a wheel, the checkout's top-level `templates/` otherwise). An
    upgrade rewrites them all, `_version.py` among them."""
    package = Path(__file__).resolve().parent.parent
    roots = [package] if (package / "templates").is_dir() else [package, package.parent / "templates"]
    return sorted(p for root in roots for p in root.rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc")
