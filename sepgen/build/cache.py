"""The fit cache: each fit stored as a filter file named by a hash of its inputs.

`<out>/.sepgen-cache/<name>-<hash16>.json`. The hash covers everything that
changes the fitted numbers: the canonical kernel spec (for a file kernel, the
file's content hash instead of its path, so moving the file does not refit),
every fit option, every loss weight, the scales of a scalable filter and the sepgen version. Emit options are not
in it: changing a language or a strategy re-emits without refitting. A budget or target search is the
exception: it counts the fetches of the targets it ships (every language with the emit options), so
they are in its key.

Each entry has a lock file beside it (`<name>-<hash16>.json.lock`, `filelock`): a build
fits an entry only while holding its lock and looks for the entry again once it has it, so
two builds of one config started together fit each filter once. After a successful build,
`prune` removes the entries (and their locks) that no filter of the config uses.

An entry is the filter file plus a `"cache"` object: `{"key": <its key>, "sha256": <the
SHA-256 of the rest of the entry as canonical JSON>}`. An entry whose key is not the one
in its name, or whose content does not match its digest (a tap edited by hand, a bad
merge), is not used: the build says so and refits it, `--check` reports it stale. The
digest is a checksum of what was fitted, not a signature: whoever can write the folder
can also rewrite the shaders, so review changes to it as you review code.
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
from ..common import atomic
from ..common.errors import SepgenError
from ..common.jsonfmt import dumps
from ..filters.filterfile import SeparableFilter
from ..filters.rowsfile import filter_from_dict
from .config import FilterConfig

CACHE_DIR = ".sepgen-cache"
KEY_LENGTH = 16
ENTRY = re.compile(rf"[A-Za-z_][A-Za-z0-9_]*-[0-9a-f]{{{KEY_LENGTH}}}\.json(\.lock)?\Z")  # what prune may remove
LOCK_SUFFIX = ".lock"
STAMP = "cache"  # the entry's own record: {"key", "sha256"}


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
        # a search counts the fetches of every target the filter ships: another language refits
        inputs["search"] = {**filt.search, "targets": filt.search_targets()}
    if filt.structure != "separable":  # issue 18: likewise
        inputs["structure"] = filt.structure
    return inputs


def cache_key(inputs: dict[str, Any]) -> str:
    """First 16 hex digits of the SHA-256 of the inputs' canonical JSON."""
    text = json.dumps(inputs, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:KEY_LENGTH]


def cache_path(out_dir: Path, name: str, key: str) -> Path:
    return out_dir / CACHE_DIR / f"{name}-{key}.json"


def _content_digest(doc: dict[str, Any]) -> str:
    """SHA-256 of an entry's filter document as canonical JSON (floats by repr: exact and
    the same on every machine, so an entry committed on one verifies on another)."""
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def entry_text(filt: SeparableFilter, key: str) -> str:
    """The bytes of a cache entry: the filter file with its key and content digest."""
    doc = json.loads(filt.to_json())
    return dumps({**doc, STAMP: {"key": key, "sha256": _content_digest(doc)}})


def save_entry(path: Path, filt: SeparableFilter) -> None:
    """Store `filt` as the entry `path` (atomically), stamped with the key of its name."""
    atomic.write_text(path, entry_text(filt, _key_of(path)))


def _key_of(path: Path) -> str:
    return path.name[: -len(".json")].rsplit("-", 1)[-1]


def inspect(path: Path, name: str) -> tuple[SeparableFilter | None, str | None]:
    """(the cached filter, None) when the entry is usable; (None, why) when it exists but is
    not (modified, unreadable, another filter's); (None, None) when there is none."""
    if not path.is_file():
        return None, None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None, f"cache entry {path.name} is unreadable"
    stamp = doc.pop(STAMP, None) if isinstance(doc, dict) else None
    if not isinstance(stamp, dict) or stamp.get("key") != _key_of(path):
        return None, f"cache entry {path.name} has no valid stamp of its key"
    try:
        digest_ok = stamp.get("sha256") == _content_digest(doc)
    except ValueError:
        digest_ok = False
    if not digest_ok:
        return None, f"cache entry {path.name} was modified after its fit (its content does not match its sha256)"
    try:
        filt = filter_from_dict(doc, f"cache entry {path.name}")  # any structure (issue 18)
    except SepgenError as exc:
        return None, str(exc)
    return (filt, None) if filt.name == name else (None, f"cache entry {path.name} holds filter {filt.name!r}")


def load_cached(path: Path, name: str) -> SeparableFilter | None:
    """The cached filter, or None when it is missing or unusable (then it is refitted)."""
    return inspect(path, name)[0]


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
