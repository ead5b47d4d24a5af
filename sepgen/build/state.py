"""The no-op fast path: a record of the last successful build, checked before anything heavy.

A no-op `sepgen build` would load every cached filter and render every shader (NumPy,
Jinja, the emitter) only to find that nothing changed. After a successful build the
command line records what that build read and wrote; the next run compares and, when
everything is as recorded, answers without importing NumPy.

The record (`$XDG_CACHE_HOME/sepgen/build/<hash>.json`, else `~/.cache/…`; one per
working folder, config argument and `--out-dir`; none when there is no home folder and no
`$XDG_CACHE_HOME`, see sepgen/common/cachedirs.py; outside the output folder, which stays
byte-identical on every machine) holds the SHA-256 of every file the build read (the
config, kernel files, template overrides, the fit cache entries) and wrote (shaders,
manifests, `sepgen-build.json`, the depfile), the file lists of the templates and cache
folders (a new override or a cache entry to prune changes the build), and a digest of
sepgen itself (its version, the size and mtime of its sources and templates, the Python
version and the Jinja and NumPy installs). Anything different, missing or unreadable means
"not known to be up to date": the normal build runs and decides.

Only the standard library is imported here.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..common.atomic import write_bytes
from ..common.cachedirs import cache_root, installation_digest
from ..common.errors import SepgenError

FORMAT = "sepgen-build-state/1"
CACHE_DIR = ".sepgen-cache"  # = cache.CACHE_DIR (importing cache would import NumPy)


@dataclass(frozen=True)
class Invocation:
    """What a `sepgen build` command line asks for, as given (paths are not resolved)."""

    config: str
    out_dir: str | None
    depfile: str | None
    stamp: str | None

    def key(self) -> dict[str, Any]:
        """What names the record: the same config and output folder seen from the same folder."""
        return {"cwd": os.getcwd(), "config": self.config, "out_dir": self.out_dir}


@dataclass(frozen=True)
class UpToDate:
    """A no-op answered from the record: what the normal build would have reported."""

    filters: list[str]
    out_dir: str


def state_path(inv: Invocation) -> Path:
    root = cache_root()
    if root is None:  # no home folder: no record (never create one)
        raise RuntimeError("no cache folder")
    text = json.dumps(inv.key(), sort_keys=True)
    return root / "sepgen" / "build" / f"{hashlib.sha256(text.encode()).hexdigest()[:24]}.json"


def _sha(path: str | os.PathLike) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def _listing(folder: Path) -> list[str]:
    """Every file under `folder`, relative and sorted ([] when there is no folder)."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []


def record_build(inv: Invocation, result: Any) -> None:
    """After a successful build (`result`, a BuildResult): remember what it read and wrote."""
    from .builder import BUILD_MANIFEST, load_config  # the build has imported them already
    from .depfile import template_files

    try:
        cfg = load_config(inv.config, inv.out_dir)
    except SepgenError:
        return
    read = [cfg.path, *(f.kernel_file for f in cfg.filters if f.kernel_file is not None)]
    if cfg.templates_dir is not None:
        read += template_files(cfg.templates_dir)
    written = [*result.outputs, cfg.out_dir / BUILD_MANIFEST, *([Path(inv.depfile)] if inv.depfile else [])]
    record(inv, [f.name for f in cfg.filters], result.out_dir, read, written, cfg.templates_dir)


def record(inv: Invocation, filters: list[str], out_dir: Path, read: list[Path], written: list[Path],
           templates_dir: Path | None) -> None:
    """Remember what a successful build read and wrote. Never fails the build."""
    cache = out_dir / CACHE_DIR
    try:
        read = read + [cache / name for name in _listing(cache) if not name.endswith(".lock")]
        doc = {
            "format": FORMAT,
            "invocation": {**inv.key(), "depfile": inv.depfile, "stamp": inv.stamp},
            "sepgen": installation_digest(),
            "files": {os.path.abspath(p): _sha(p) for p in [*read, *written]},
            "listings": {os.path.abspath(d): _listing(d) for d in [cache, *([templates_dir] if templates_dir else [])]},
            "filters": filters,
            "out_dir": str(out_dir),
            "write_to": [os.path.abspath(d) for d in _write_targets(inv, out_dir)],
        }
        write_bytes(state_path(inv), json.dumps(doc, indent=1, sort_keys=True).encode())
    except (OSError, RuntimeError, SepgenError):  # RuntimeError: no home folder
        pass  # no record: the next run takes the normal path


def up_to_date(inv: Invocation, check: bool) -> UpToDate | None:
    """The recorded result when nothing changed since the last successful build, else None.
    A build (not `check`) also touches `--stamp`, as the normal no-op does."""
    try:
        doc = json.loads(state_path(inv).read_text(encoding="utf-8"))
        if not _matches(doc, inv, check):
            return None
        if not check and inv.stamp is not None:
            os.utime(inv.stamp)
        return UpToDate(list(doc["filters"]), str(doc["out_dir"]))
    except (OSError, RuntimeError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _matches(doc: dict[str, Any], inv: Invocation, check: bool) -> bool:
    recorded = doc["invocation"]
    if doc["format"] != FORMAT or {k: recorded[k] for k in ("cwd", "config", "out_dir")} != inv.key():
        return False
    if not check:  # the build's own outputs: same depfile and stamp, and every folder still writable
        if (recorded["depfile"], recorded["stamp"]) != (inv.depfile, inv.stamp):
            return False
        if inv.stamp is not None and not os.path.isfile(inv.stamp):
            return False  # the normal build creates it
        if not all(os.access(d, os.W_OK) for d in doc["write_to"]):
            return False
    if doc["sepgen"] != installation_digest():
        return False
    if any(_listing(Path(d)) != names for d, names in doc["listings"].items()):
        return False
    return all(_sha(path) == digest for path, digest in doc["files"].items())


def _write_targets(inv: Invocation, out_dir: Path) -> list[Path]:
    """The folders a build writes to (their writability is probed by the normal build)."""
    return [out_dir, *(Path(p).parent if str(Path(p).parent) else Path(".") for p in (inv.depfile, inv.stamp) if p)]

