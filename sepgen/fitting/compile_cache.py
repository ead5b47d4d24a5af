"""Where compiled optimiser loops are kept between processes: the user's cache folder.

Every new process would otherwise trace, lower and compile the loops again (about
0.7 s of a 1 s `sepgen optimize`). `executables` stores the compiled loops in this
folder and loads them instead.

Where: `$SEPGEN_JAX_CACHE` if set (a folder, or `off` to disable), else
`$XDG_CACHE_HOME/sepgen/jax`, else `~/.cache/sepgen/jax`. A folder that cannot be
created is skipped: the fit then compiles as before.

JAX's own persistent compilation cache is not used: it saves only XLA's compile
(each process still traces and lowers), and an XLA:CPU executable that JAX loaded
from it cannot be serialized again (the copy misses kernels: "Function
wrapped_broadcast not found" when run), so the two do not mix.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from pathlib import Path

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
    base = environ.get("XDG_CACHE_HOME") or ""
    root = Path(base) if os.path.isabs(base) else Path.home() / ".cache"  # XDG: ignore relative paths
    return root / "sepgen" / "jax"


def enable(environ: Mapping[str, str] = os.environ) -> Path | None:
    """The cache folder, created on first use (once per process); None when it is off or unusable."""
    global _folder, _configured
    with _lock:  # sweep shards fit in threads
        if not _configured:
            path = cache_dir(environ)
            _folder = path if path is not None and _writable(path) else None
            _configured = True
    return _folder


def _writable(path: Path) -> bool:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(path, os.W_OK | os.X_OK)
