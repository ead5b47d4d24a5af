"""Removing what an earlier run generated and this one no longer does: one rule for `sepgen emit`
(paths from the folder's previous manifest.json) and `sepgen build` (from sepgen-build.json).

Only paths a manifest listed are candidates, and only safe ones: relative, POSIX, no `..`, no
backslash or drive colon, and inside the folder once symbolic links are resolved (a listed
`sub/x` where `sub` links elsewhere removes nothing). A link itself is removed, never its target.
Folders the removals leave empty go too, up to (not including) the root.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import Any

__all__ = ["safe_relative", "remove_stale"]


def safe_relative(rel: Any) -> bool:
    """Whether `rel` (from a manifest) names a place inside the folder it was listed for."""
    if not isinstance(rel, str) or not rel:
        return False
    path = PurePosixPath(rel)
    return not path.is_absolute() and ".." not in path.parts and "\\" not in rel and ":" not in rel


def _inside(root: Path, path: Path) -> bool:
    """`path`'s folder, links resolved, is `root` or below it."""
    try:
        return path.parent.resolve().is_relative_to(root.resolve())
    except OSError:
        return False


def remove_stale(root: str | Path, paths: Iterable[str]) -> list[str]:
    """Delete the files (or links) at the safe `paths` under `root`; returns those removed, sorted."""
    root = Path(root)
    candidates = sorted(p for p in paths if safe_relative(p) and _inside(root, root / p))
    removed = []
    for rel in candidates:
        path = root / rel
        if path.is_file() or path.is_symlink():
            path.unlink()
            removed.append(rel)
    _remove_empty_dirs(root, {(root / rel).parent for rel in candidates})
    return removed


def _remove_empty_dirs(root: Path, folders: set[Path]) -> None:
    """Remove folders left empty by removed outputs, up to (not including) `root`."""
    for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
        while folder != root and root in folder.parents:
            try:
                folder.rmdir()
            except OSError:  # not empty (or gone): stop climbing
                break
            folder = folder.parent
