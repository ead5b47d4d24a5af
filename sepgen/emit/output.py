"""Writing an emitted folder: changed files only, and the files of the previous emit that
this one no longer makes removed (as listed by the folder's previous manifest.json).

An engine that globs `*_h*.frag.glsl` must not pick up the passes of a higher-rank filter
emitted there before. Only paths the old manifest listed are candidates, and only safe
relative ones inside the folder (`sepgen.common.stale`, the rule `sepgen build` uses too);
a missing or unreadable manifest removes nothing.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..common import atomic
from ..common.errors import SepgenError
from ..common.stale import remove_stale, safe_relative
from ..plan import passmodel

__all__ = ["Written", "write_output", "previous_files"]


@dataclass(frozen=True)
class Written:
    changed: list[str]  # relative paths rewritten (others kept their bytes and mtime)
    removed: list[str]  # relative paths of the previous emit that this one no longer makes


def write_output(files: Mapping[str, str | bytes], out_dir: str | os.PathLike) -> Written:
    """Write `files` (a `Rendered`, or path -> text) under `out_dir` atomically, then remove the
    previous emit's leftovers."""
    root = Path(out_dir)
    for rel in files:
        if not safe_relative(rel):
            raise SepgenError(f"refusing to write {rel!r} outside {root}")
    old = previous_files(root)
    changed = [rel for rel in sorted(files) if atomic.write_if_changed(root / rel, files[rel])]
    return Written(changed, remove_stale(root, old - set(files) - {passmodel.MANIFEST}))


def previous_files(out_dir: Path) -> set[str]:
    """The files the folder's current manifest.json lists (safe relative paths only)."""
    if not (out_dir / passmodel.MANIFEST).is_file():
        return set()
    try:
        manifest = passmodel.load(out_dir)
    except SepgenError:
        return set()  # not ours, or damaged: remove nothing
    return {f.path for f in manifest.files if safe_relative(f.path)}
