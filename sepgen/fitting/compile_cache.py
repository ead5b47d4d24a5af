"""Where compiled optimiser loops are kept between processes: the user's cache folder.

Every new process would otherwise trace, lower and compile the loops again (about
0.7 s of a 1 s `sepgen optimize`). `executables` stores the compiled loops in this
folder and loads them instead.

Where: `$SEPGEN_JAX_CACHE` if set (a folder, or `off` to disable), else
`$XDG_CACHE_HOME/sepgen/jax`, else `~/.cache/sepgen/jax` when the home folder exists (none
otherwise: sepgen never creates a home folder). A folder that cannot be created is skipped:
the fit then compiles as before.

Private to its user: the stored executables are pickles (JAX serialises them so), and loading
one runs code, so whoever can write the folder could run code in every fit. The folder is
created 0700; a folder (or a file in it, see `executables`) owned by another user or writable
by group or others is refused with a one-line warning on stderr, and the fit compiles as if
there were no cache.

JAX's own persistent compilation cache is not used: it saves only XLA's compile
(each process still traces and lowers), and an XLA:CPU executable that JAX loaded
from it cannot be serialized again (the copy misses kernels: "Function
wrapped_broadcast not found" when run), so the two do not mix.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Mapping
from pathlib import Path

from ..common.cachedirs import cache_root, unsafe

ENV = "SEPGEN_JAX_CACHE"
OFF = frozenset({"off", "0", "false", "no", "none", ""})

_folder: Path | None = None
_configured = False
_lock = threading.Lock()


def cache_dir(environ: Mapping[str, str] = os.environ) -> Path | None:
    """The folder the cache should use, or None when `SEPGEN_JAX_CACHE` turns it off."""
    value = environ.get(ENV)
    if value is not None:
        return None if value.strip().lower() in OFF else Path(value).expanduser()
    root = cache_root(environ)
    return None if root is None else root / "sepgen" / "jax"


def enable(environ: Mapping[str, str] = os.environ) -> Path | None:
    """The cache folder, created on first use (once per process); None when it is off or unusable."""
    global _folder, _configured
    with _lock:  # sweep shards fit in threads
        if not _configured:
            path = cache_dir(environ)
            _folder = path if path is not None and _writable(path) and _private(path) else None
            _configured = True
    return _folder


def _writable(path: Path) -> bool:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.mkdir(mode=0o700, exist_ok=True)  # private from the start (umask can only remove bits)
    except OSError:
        return False
    return os.access(path, os.W_OK | os.X_OK)


def _private(path: Path) -> bool:
    """Whether the folder may be trusted; says why not (once) when it may not."""
    try:
        why = unsafe(os.stat(path))
    except OSError:
        return False
    if why is not None:
        refuse(path, why)
    return why is None


_said: set[str] = set()


def refuse(path: Path, why: str) -> None:
    """One line on stderr (once per path and process): the cache is not used, the fit compiles."""
    line = f"sepgen: warning: not using the compiled-loop cache {path}: {why}; compiling instead"
    if line not in _said:
        _said.add(line)
        print(line, file=sys.stderr)
