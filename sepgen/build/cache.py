"""The fit cache: each fit stored as a filter file named by a hash of its inputs.

`<out>/.sepgen-cache/<name>-<hash16>.json`. The hash covers everything that
changes the fitted numbers: the canonical kernel spec (for a file kernel, the
file's content hash instead of its path, so moving the file does not refit),
every fit option, every loss weight, the scales of a scalable filter and the sepgen version. Emit options are not
in it: changing a language or a strategy re-emits without refitting.

Each entry has a lock file beside it (`<name>-<hash16>.json.lock`, `filelock`): a build
fits an entry only while holding its lock and looks for the entry again once it has it, so
two builds of one config started together fit each filter once. After a successful build,
`prune` removes the entries (and their locks) that no filter of the config uses.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .. import kernels
from .._version import __version__
from ..common.errors import SepgenError
from ..filters.filterfile import SeparableFilter
from .config import FilterConfig

CACHE_DIR = ".sepgen-cache"
KEY_LENGTH = 16
ENTRY = re.compile(rf"[A-Za-z_][A-Za-z0-9_]*-[0-9a-f]{{{KEY_LENGTH}}}\.json(\.lock)?\Z")  # what prune may remove
LOCK_SUFFIX = ".lock"


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise SepgenError(f"cannot read kernel file {path}: {exc.strerror or exc}") from None


def fit_inputs(filt: FilterConfig) -> dict[str, Any]:
    """Everything a fit depends on, as a JSON-able dict (reads a file kernel's bytes)."""
    if filt.kernel_file is not None:
        kernel: dict[str, Any] = {"kernel": "file", "sha256": file_digest(filt.kernel_file)}
    else:
        kernel = kernels.canonical_spec(filt.kernel_spec)
    inputs: dict[str, Any] = {"sepgen": __version__, "kernel": kernel, "fit": filt.fit, "weights": filt.weights}
    if filt.scales is not None:  # only then, so unscaled filters keep their cache keys
        inputs["scales"] = list(filt.scales)
    if filt.search:  # only when given, so the keys of rank fits stay what they were
        inputs["search"] = dict(filt.search)
    return inputs


def cache_key(inputs: dict[str, Any]) -> str:
    """First 16 hex digits of the SHA-256 of the inputs' canonical JSON."""
    text = json.dumps(inputs, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:KEY_LENGTH]


def cache_path(out_dir: Path, name: str, key: str) -> Path:
    return out_dir / CACHE_DIR / f"{name}-{key}.json"


def load_cached(path: Path, name: str) -> SeparableFilter | None:
    """The cached filter, or None when it is missing or unusable (then it is refitted)."""
    if not path.is_file():
        return None
    try:
        filt = SeparableFilter.load(path)
    except SepgenError:
        return None
    return filt if filt.name == name else None


@contextlib.contextmanager
def locked(path: Path, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold the lock of cache entry `path` (created with its folder); `on_wait` is called
    once if another process holds it, before waiting for it."""
    from filelock import FileLock, Timeout

    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(path) + LOCK_SUFFIX)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        if on_wait is not None:
            on_wait()
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


def prune(out_dir: Path, keep: set[Path]) -> list[Path]:
    """Remove the cache entries and lock files of `out_dir` that `keep` (entries in use) does
    not name; files that do not look like cache entries are never touched. Returns the
    entries removed."""
    folder = out_dir / CACHE_DIR
    keep_names = {p.name for p in keep} | {p.name + LOCK_SUFFIX for p in keep}
    removed = []
    for path in sorted(folder.iterdir()) if folder.is_dir() else []:
        if ENTRY.match(path.name) and path.name not in keep_names and path.is_file():
            path.unlink()
            if not path.name.endswith(LOCK_SUFFIX):
                removed.append(path)
    return removed
