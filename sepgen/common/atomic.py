"""Atomic file output: a temporary file in the target's folder, then rename.

Readers (and build systems) never see a half-written file, and an unchanged
file is left alone so its mtime does not trigger rebuilds.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .errors import SepgenError


def check_writable(folder: str | os.PathLike, what: str) -> None:
    """Raise a one-line SepgenError (starting with `what`) unless `folder` is, or can be
    made, a writable folder. Leaves nothing behind: commands that work long before writing
    call it first, so a bad output path fails at once rather than after the work.

    Permission bits are not enough (root passes `os.access` everywhere, and /proc or a
    read-only mount refuse files anyway), so the deepest existing folder is probed by
    creating and removing a temporary file in it."""
    probe = Path(os.path.abspath(folder))
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise SepgenError(f"{what}: {probe} is not a folder")
    try:
        fd, tmp = tempfile.mkstemp(prefix=".sepgen-probe-", dir=probe)
    except OSError as exc:
        raise SepgenError(f"{what}: {probe} is not writable ({exc.strerror or exc})") from None
    os.close(fd)
    os.unlink(tmp)


def check_file_writable(path: str | os.PathLike, what: str | None = None) -> None:
    """`check_writable` for an output file: its folder can be written and the path itself
    is not a folder."""
    path = Path(path)
    what = what or f"cannot write {path}"
    if path.is_dir():
        raise SepgenError(f"{what}: it is a directory")
    check_writable(path.parent if str(path.parent) else Path("."), what)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success rename it over `path`."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    check_writable(folder, f"cannot write {path}")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(
            prefix=f".{path.name}.", suffix=suffix if suffix is not None else path.suffix, dir=folder
        )
    except OSError as exc:
        raise SepgenError(f"cannot write {path}: {exc.strerror or exc}") from None
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o644)
        os.replace(tmp_path, path)
    except OSError as exc:
        raise SepgenError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write `data` to `path` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write UTF-8 `text` (LF newlines) to `path` atomically."""
    write_bytes(path, text.encode("utf-8"))


def write_if_changed(path: str | os.PathLike, data: bytes | str) -> bool:
    """Write atomically unless the file already holds `data`; True if written."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    path = Path(path)
    try:
        if path.read_bytes() == data:
            return False
    except OSError:
        pass
    write_bytes(path, data)
    return True
