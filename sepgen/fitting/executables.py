"""Compiled optimiser loops kept on disk, so a new process neither traces, lowers nor compiles them.

This stores the compiled executable itself (`jax.experimental.serialize_executable`)
under a key made of everything that decides it: the function, its static
arguments, the shapes and dtypes of its arguments, the source of the fitting
modules, the versions of sepgen, JAX, jaxlib and optax, the device and the CPU's
features. Any change gives a new key. A file that does not load, or whose
executable fails when run, is replaced by a fresh compile.

Only fresh compiles are stored: when JAX's own persistent cache is on (set by the
user), a compile may come from it, and such an executable does not survive being
serialized again (`compile_cache`); it is then used in memory only.

Files live in `<cache folder>/executables/` (created 0700, files 0600). Loading one unpickles
it, which runs code: a folder or file owned by another user, or writable by group or others,
is refused with a one-line warning (`compile_cache.refuse`) and the loop is compiled instead.
Off when the cache is off.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import numpy as np
from jax.experimental import serialize_executable

from ..common.cachedirs import unsafe, write_private
from . import compile_cache

# what the loops trace
_SOURCES = ("optimizers.py", "losses.py", "executables.py", "multiscale.py", "shared_ratio.py", "../filters/scaling.py")
MAX_FILES = 512
_memory: dict[str, Any] = {}
_fingerprint: str | None = None


def call(fn: Any, static: dict[str, Any], *args: Any) -> Any:
    """`fn(*args, **static)` through a compiled executable from memory, disk, or a fresh compile."""
    folder = compile_cache.enable()
    if folder is None:
        return fn(*args, **static)
    key = _key(fn, static, args)
    path = folder / "executables" / key
    exe = _memory.get(key)
    if exe is None:
        exe = _load(path)
        if exe is None:
            exe = _compile_and_store(fn, static, args, path)
        _memory[key] = exe
    try:
        return exe(*args)
    except jax.errors.JaxRuntimeError:  # a stored executable this process cannot run: compile afresh
        path.unlink(missing_ok=True)
        exe = _memory[key] = _compile_and_store(fn, static, args, path)
        return exe(*args)


def _compile_and_store(fn: Any, static: dict[str, Any], args: tuple, path: Path) -> Any:
    exe = fn.lower(*args, **static).compile()
    # jax defines its flags as Config attributes at run time; its type hints do not list them
    if not jax.config.jax_compilation_cache_dir:  # type: ignore[attr-defined]  # a fresh compile, safe to serialize
        _store(path, exe)
    return exe


def _key(fn: Any, static: dict[str, Any], args: tuple) -> str:
    leaves, tree = jax.tree_util.tree_flatten(args)
    avals = [(np.shape(x), str(getattr(x, "dtype", None) or np.result_type(x)), bool(getattr(x, "weak_type", False)))
             for x in leaves]
    text = repr((_code_fingerprint(), fn.__name__, sorted(static.items()), str(tree), avals))
    return hashlib.sha256(text.encode()).hexdigest()


def _code_fingerprint() -> str:
    global _fingerprint
    if _fingerprint is None:
        from importlib.metadata import version

        from .._version import __version__

        h = hashlib.sha256()
        here = Path(__file__).parent
        for name in _SOURCES:
            h.update((here / name).read_bytes())
        device = jax.devices()[0]
        h.update(repr((__version__, jax.__version__, version("jaxlib"), version("optax"), device.platform,
                       device.device_kind, _cpu_features(), jax.config.read("jax_enable_x64"),
                       os.environ.get("XLA_FLAGS", ""))).encode())
        _fingerprint = h.hexdigest()
    return _fingerprint


def _cpu_features() -> str:
    """The CPU's model and feature flags: a cache folder shared between machines (a network home)
    must not hand one machine code compiled for another's instruction set."""
    import platform

    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            info = [line for line in f if line.startswith(("model name", "flags", "Features"))][:2]
    except OSError:
        info = []
    return platform.machine() + platform.processor() + "".join(info)


def _read_private(path: Path) -> bytes | None:
    """The file's bytes when it and its folder are the user's own and writable only by them;
    None when it is missing or refused (then the loop is compiled; storing replaces the file)."""
    try:
        folder = unsafe(os.stat(path.parent))
        if folder is not None:
            compile_cache.refuse(path.parent, folder)
            return None
        with open(path, "rb") as f:
            why = unsafe(os.fstat(f.fileno()))  # of the file opened, not of a name
            if why is not None:
                compile_cache.refuse(path, why)
                return None
            return f.read()
    except OSError:
        return None


def _load(path: Path) -> Callable[..., Any] | None:
    data = _read_private(path)
    if data is None:
        return None
    try:
        payload, in_tree, out_tree = pickle.loads(data)
        exe = serialize_executable.deserialize_and_load(payload, in_tree, out_tree)
        os.utime(path)  # recently used: pruned last
        return exe
    except Exception:  # missing, truncated or from an incompatible build: compile instead
        return None


def _store(path: Path, exe: Any) -> None:
    try:
        data = pickle.dumps(serialize_executable.serialize(exe))
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if unsafe(os.stat(path.parent)) is not None:
            return  # a folder others may write to: said when loading; nothing stored there
    except Exception:  # a cache that cannot be written only costs the next process a compile
        return
    write_private(path, data, MAX_FILES)  # about 0.1 MiB each
