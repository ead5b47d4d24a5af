"""JAX's persistent compilation cache, kept in the user's cache folder.

Every new process would otherwise have XLA compile the optimiser loops again
(about 0.7 s of a 1 s `sepgen optimize`). JAX can store compiled executables on
disk, keyed by the lowered program, the compile options and the JAX/XLA versions,
and load them instead. Weights, steps and the learning rate are traced arguments
of the jitted loops, so a fit of the same kernel shape and rank with other
settings loads everything from the cache.

Where: `$SEPGEN_JAX_CACHE` if set (a folder, or `off` to disable), else
`$XDG_CACHE_HOME/sepgen/jax`, else `~/.cache/sepgen/jax`. A JAX cache folder the
user configured themselves (`JAX_COMPILATION_CACHE_DIR`) is left alone. A folder
that cannot be created is skipped: the fit then compiles as before.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from pathlib import Path
from typing import Mapping

ENV = "SEPGEN_JAX_CACHE"
OFF = frozenset({"off", "0", "false", "no", "none", ""})
MAX_BYTES = 256 * 2**20  # least recently used entries go first; a fit needs about 0.1 MiB

_enabled: Path | None = None
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
    """Turn the persistent cache on (once per process, before the first compile).

    Returns the folder in use, or None when it is off, unusable, or configured by
    the user through JAX's own settings.
    """
    global _enabled, _configured
    with _lock:  # sweep shards fit in threads
        if not _configured:
            _enabled = _configure(environ)
            _configured = True
    return _enabled


def _configure(environ: Mapping[str, str]) -> Path | None:
    import jax

    if jax.config.jax_compilation_cache_dir:  # the user's own JAX setting wins
        return None
    path = cache_dir(environ)
    if path is None or not _writable(path):
        return None
    jax.config.update("jax_compilation_cache_dir", str(path))
    # sepgen's loops compile in 0.05-0.3 s each, under JAX's default 1 s threshold.
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    if importlib.util.find_spec("filelock") is not None:  # JAX's LRU eviction needs it
        jax.config.update("jax_compilation_cache_max_size", MAX_BYTES)
    return path


def _writable(path: Path) -> bool:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(path, os.W_OK | os.X_OK)
