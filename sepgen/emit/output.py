"""Writing an emitted folder: changed files only, and the files of the previous emit that
this one no longer makes removed (as listed by the folder's previous manifest.json).

An engine that globs `*_h*.frag.glsl` must not pick up the passes of a higher-rank filter
emitted there before. Only paths the old manifest listed are candidates, and only safe
relative ones inside the folder; a missing or unreadable manifest removes nothing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..common import atomic
from ..plan import passmodel
from ..common.errors import SepgenError

__all__ = ["Written", "write_output", "previous_files"]


@dataclass(frozen=True)
class Written:
    changed: list[str]  # relative paths rewritten (others kept their bytes and mtime)
    removed: list[str]  # relative paths of the previous emit that this one no longer makes


def write_output(files: dict[str, str | bytes], out_dir: str | os.PathLike) -> Written:
    """Write `files` under `out_dir` atomically, then remove the previous emit's leftovers."""
    root = Path(out_dir)
    for rel in files:
        if not _safe(rel):
            raise SepgenError(f"refusing to write {rel!r} outside {root}")
    old = previous_files(root)
    changed = [rel for rel in sorted(files) if atomic.write_if_changed(root / rel, files[rel])]
    removed = []
    for rel in sorted(old - set(files) - {passmodel.MANIFEST}):
        path = root / rel
        if path.is_file() or path.is_symlink():
            path.unlink()
            removed.append(rel)
    return Written(changed, removed)


def previous_files(out_dir: Path) -> set[str]:
    """The files the folder's current manifest.json lists (safe relative paths only)."""
    if not (out_dir / passmodel.MANIFEST).is_file():
        return set()
    try:
        manifest = passmodel.load(out_dir)
    except SepgenError:
        return set()  # not ours, or damaged: remove nothing
    return {f.path for f in manifest.files if _safe(f.path)}


def _safe(rel: str) -> bool:
    path = PurePosixPath(rel)
    return bool(rel) and not path.is_absolute() and ".." not in path.parts and "\\" not in rel and ":" not in rel
