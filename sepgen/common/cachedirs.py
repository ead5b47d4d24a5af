"""The user's cache folder (standard library only): `$XDG_CACHE_HOME`, else `~/.cache`.

`$XDG_CACHE_HOME` is used when it is an absolute path (the XDG spec ignores relative ones)
and is created when missing: the user asked for it. `~/.cache` is used only when the home
folder exists: with `HOME=/nonexistent` (a service account, a container running as root)
sepgen does not create a home folder; it then keeps no cache (the compiled-loop cache and the
no-op build record are off), unless `$XDG_CACHE_HOME` names one.

Also what every cache of sepgen's needs: whether a folder or file may be trusted (`unsafe`),
a private folder of its own (`private_folder`), files read only when they are the user's own
(`read_private`), written whole or not at all and pruned (`write_private`), and a digest of the
installed sepgen (`installation_digest`).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import stat
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

from .._version import __version__


def cache_root(environ: Mapping[str, str] = os.environ) -> Path | None:
    """The user's cache folder, or None when there is none to use (no existing home folder)."""
    base = environ.get("XDG_CACHE_HOME") or ""
    if os.path.isabs(base):
        return Path(base)
    try:
        home = Path(environ["HOME"]) if environ.get("HOME") else Path.home()
    except (RuntimeError, KeyError):  # no home folder can be determined
        return None
    return home / ".cache" if home.is_dir() else None


def unsafe(st: os.stat_result) -> str | None:
    """Why a cache folder or file must not be trusted (another owner, writable by group or
    others), or None. Caches whose files hold code (pickles, compiled templates) check it."""
    if st.st_uid != os.geteuid():
        return f"owned by another user (uid {st.st_uid})"
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return f"writable by group or others (mode {stat.S_IMODE(st.st_mode):o})"
    return None


def private_folder(name: str, what: str) -> Path | None:
    """`<cache folder>/sepgen/<name>`, created 0700; None when there is no cache folder, it cannot
    be created, or it may not be trusted (then one warning line on stderr names `what` and why)."""
    return _private_folder(cache_root(), name, what)


@functools.cache  # per process and cache root: the checks and the warning happen once
def _private_folder(root: Path | None, name: str, what: str) -> Path | None:
    if root is None:
        return None
    path = root / "sepgen" / name
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        why = unsafe(os.stat(path))
    except OSError:
        return None
    if why is not None:
        print(f"sepgen: warning: not using the {what} {path}: {why}; compiling instead", file=sys.stderr)
        return None
    return path


def read_private(path: Path) -> bytes | None:
    """The file's bytes when it is the user's own and writable only by them, else None."""
    try:
        with open(path, "rb") as f:
            if unsafe(os.fstat(f.fileno())) is not None:  # of the file opened, not of a name
                return None
            data = f.read()
        os.utime(path)  # recently used: pruned last
        return data
    except OSError:
        return None


def write_private(path: Path, data: bytes, keep: int) -> None:
    """Write `path` (0600) whole or not at all, then keep the `keep` most recently used files of
    its folder. A cache that cannot be written only costs the next process the work again."""
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
        prune(path.parent, keep)
    except OSError:
        pass


def prune(folder: Path, keep: int) -> None:
    """Remove all but the `keep` most recently used files of `folder` (not its temporary files)."""
    files = [p for p in folder.iterdir() if not (p.name.startswith(".tmp-") or p.name.endswith(".tmp"))]
    if len(files) <= keep:
        return
    files.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    for old in files[keep:]:
        old.unlink(missing_ok=True)


def installation_digest() -> str:
    """sepgen's version, the size and mtime of its sources and templates, Python's version and
    where Jinja and NumPy are installed: editing or reinstalling any of them changes it."""
    package = Path(__file__).resolve().parent.parent
    parts = [__version__, sys.version, sys.executable]
    for root in (package, package.parent / "templates"):
        for folder, dirs, files in os.walk(root):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for name in sorted(files):
                st = os.stat(os.path.join(folder, name))
                parts.append(f"{folder}/{name}:{st.st_size}:{st.st_mtime_ns}")
    for module in ("jinja2", "numpy"):
        spec = importlib.util.find_spec(module)  # finds the package without importing it
        origin = spec.origin if spec is not None else None
        found = os.stat(origin) if origin else None
        parts.append(f"{module}:{origin}:{found.st_mtime_ns if found else None}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()
