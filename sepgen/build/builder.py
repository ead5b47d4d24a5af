"""`sepgen build`: fit (cached) and emit everything a config file asks for (re-exported by sepgen.build).

Output layout under the output folder:

    <out>/sepgen-build.json          build manifest: every generated file, per filter
    <out>/<name>/<lang>/…            what `sepgen emit` writes (shaders + manifest.json)
    <out>/.sepgen-cache/<name>-<key>.json   the fitted filter files (see cache.py)

A build refits only filters whose fit inputs changed, renders every shader,
writes only files whose bytes changed (an unchanged file keeps its mtime),
removes files an earlier build generated that are no longer produced, prunes
cache entries no filter uses (after success), and imports JAX only when
something must be fitted. Every filter still to be fitted has its kernel made
and checked first (for `--check` too). Fits hold a per-entry file lock, so
concurrent builds of one config fit each filter once. Everything is fitted and
rendered before the first shader is written, so a bad filter leaves the
previous output untouched (fits that succeeded stay in the cache).
"""

from __future__ import annotations

import functools
import json
import os
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from .._version import __version__
from ..common.atomic import check_writable, write_bytes, write_if_changed
from ..common.errors import CheckFailed, SepgenError
from ..common.stale import remove_stale, safe_relative
from ..filters.filterfile import SeparableFilter, dumps
from . import cache, depfile as depfiles
from .config import BuildConfig, FilterConfig, load_config

__all__ = ["build", "BuildResult", "load_config", "BUILD_MANIFEST"]

BUILD_MANIFEST = "sepgen-build.json"
BUILD_FORMAT = "sepgen-build/1"

Progress = Callable[[str], None]


@dataclass
class BuildResult:
    config: Path
    out_dir: Path
    fitted: list[str] = field(default_factory=list)  # filters fitted by this build
    emitted: list[str] = field(default_factory=list)  # filters with at least one file (re)written
    up_to_date: list[str] = field(default_factory=list)  # filters nothing was done for
    written: list[Path] = field(default_factory=list)  # every file written (cache, shaders, manifest, depfile)
    removed: list[Path] = field(default_factory=list)  # files of earlier builds no longer produced
    pruned: list[Path] = field(default_factory=list)  # cache entries no filter of the config uses
    stale: dict[str, list[str]] = field(default_factory=dict)  # --check: filter -> reasons
    outputs: list[Path] = field(default_factory=list)  # every generated shader/manifest file


@dataclass
class _Plan:
    """One filter's place in the build: its cache key and, when cached, its fitted filter."""

    config: FilterConfig
    key: str
    cache_file: Path
    filter: SeparableFilter | None
    problem: str | None = None  # why an existing cache entry is not used (it is refitted)


def build(
    config_path: str | os.PathLike,
    check: bool = False,
    depfile: str | os.PathLike | None = None,
    *,
    out_dir: str | os.PathLike | None = None,
    stamp: str | os.PathLike | None = None,
    progress: Progress | None = None,
) -> BuildResult:
    """Bring the outputs of a build config up to date (or, with `check`, only say whether they are).

    `out_dir` overrides the config's `[output] dir`; `depfile` writes a Make-style
    depfile whose target is `stamp` (touched after every successful build) or else
    the build manifest. With `check`, nothing is written and `CheckFailed` names
    every stale filter.
    """
    say = progress or (lambda message: None)
    cfg = load_config(config_path, out_dir)
    if not check:
        for target in (cfg.out_dir, *(Path(p).parent for p in (depfile, stamp) if p is not None)):
            check_writable(target, f"cannot write to {target}")
    plans = [_plan(f, cfg.out_dir) for f in cfg.filters]
    result = BuildResult(Path(config_path), cfg.out_dir)
    made = _kernels_to_fit(cfg, plans)  # the whole config is valid before anything is fitted or checked
    if check:
        return _check(cfg, plans, result, say, rebuild_command(config_path, out_dir))
    if made:  # a broken template fails now, not after minutes of fitting
        _check_templates(cfg)
    _fit_missing(cfg, plans, made, result, say)
    per_filter = {p.config.name: _render(cfg, p) for p in plans}
    old_files = _previous_outputs(cfg.out_dir)
    _write_outputs(cfg, plans, per_filter, result, say)
    _remove_no_longer_produced(cfg.out_dir, old_files - {p for files in per_filter.values() for p in files}, result,
                               say)
    manifest = cfg.out_dir / BUILD_MANIFEST
    if write_if_changed(manifest, _build_manifest(cfg, plans, per_filter)):
        result.written.append(manifest)
    if stamp is not None:
        _touch(Path(stamp))
    if depfile is not None:
        _write_depfile(cfg, Path(depfile), Path(stamp) if stamp is not None else manifest, result)
    result.pruned = cache.prune(cfg.out_dir, {p.cache_file for p in plans})
    if result.pruned:
        say(f"removed {len(result.pruned)} cache entr{'y' if len(result.pruned) == 1 else 'ies'} no filter uses")
    return result


def _write_outputs(cfg: BuildConfig, plans: list[_Plan], per_filter: dict[str, dict[str, str | bytes]],
                   result: BuildResult, say: Progress) -> None:
    """Write every filter's files whose bytes changed; record what was written and what was up to date."""
    for plan in plans:
        files = per_filter[plan.config.name]
        written = [path for path, text in files.items() if write_if_changed(cfg.out_dir / path, text)]
        result.written += [cfg.out_dir / p for p in written]
        result.outputs += [cfg.out_dir / p for p in files]
        name = plan.config.name
        if written:
            result.emitted.append(name)
            say(f"{name}: wrote {len(written)} of {len(files)} files")
        elif name not in result.fitted:
            result.up_to_date.append(name)
            say(f"{name}: up to date")


def _remove_no_longer_produced(out_dir: Path, gone: set[str], result: BuildResult, say: Progress) -> None:
    """Delete files an earlier build generated that this one does not, and the folders they leave
    empty (the rule `sepgen emit` uses: `sepgen.common.stale`)."""
    for rel in remove_stale(out_dir, gone):
        result.removed.append(out_dir / rel)
        say(f"removed {rel} (no longer produced)")


def _write_depfile(cfg: BuildConfig, depfile: Path, target: Path, result: BuildResult) -> None:
    """A Make-style depfile: `target` depends on the config, its kernel files, its templates and
    sepgen's own files (an upgrade regenerates)."""
    deps = [cfg.path, *(f.kernel_file for f in cfg.filters if f.kernel_file is not None)]
    if cfg.templates_dir is not None:
        deps += depfiles.template_files(cfg.templates_dir)
    deps += depfiles.sepgen_files()
    text = depfiles.render([os.path.abspath(target)], [os.path.abspath(d) for d in deps])
    if write_if_changed(depfile, text):
        result.written.append(depfile)


def _plan(filt: FilterConfig, out_dir: Path) -> _Plan:
    key = cache.cache_key(cache.fit_inputs(filt))
    path = cache.cache_path(out_dir, filt.name, key)
    return _Plan(filt, key, path, *cache.inspect(path, filt.name))


def _check_templates(cfg: BuildConfig) -> None:
    from ..emit.context import check_templates  # Jinja only

    try:
        check_templates(cfg.templates_dir)
    except SepgenError as exc:
        raise SepgenError(f"{cfg.path}: {exc}") from None


def _kernels_to_fit(cfg: BuildConfig, plans: list[_Plan]) -> dict[str, Any]:
    """The kernel of every filter without a cache entry, made and checked against its rank
    (one-line error naming the config and filter). Cached filters were valid when fitted."""
    from .. import kernels  # NumPy only

    made = {}
    for plan in plans:
        if plan.filter is not None:
            continue
        f = plan.config
        where = f"{cfg.path}: filter {f.name!r}"
        try:
            kernel = kernels.make(f.kernel_spec, base_dir=cfg.path.parent)
        except SepgenError as exc:
            raise SepgenError(f"{where}: kernel: {exc}") from None
        if f.rank > min(kernel.shape) and not f.search:
            raise SepgenError(
                f"{where}: rank {f.rank} is impossible for a {kernel.shape[0]}x{kernel.shape[1]} kernel "
                f"(at most {min(kernel.shape)})"
            )
        made[f.name] = kernel
    return made


def _fit_missing(cfg: BuildConfig, plans: list[_Plan], made: dict[str, Any], result: BuildResult,
                 say: Progress) -> None:
    """Fit every filter that has no cache entry, storing each as soon as it is done. Each fit
    holds its entry's lock; a build that waited for it reuses the other build's fit."""
    for plan in (p for p in plans if p.filter is None):
        name = plan.config.name
        if plan.problem is not None:
            say(f"{name}: {plan.problem}: refitting it")
        waiting = functools.partial(say, f"{name}: waiting for another build that is fitting it")
        with cache.locked(plan.cache_file, waiting):
            plan.filter = cache.load_cached(plan.cache_file, name)
            if plan.filter is not None:
                say(f"{name}: fitted meanwhile by another build; reusing it")
                continue
            _fit_one(cfg, plan, made[name], result, say)


def _fit_one(cfg: BuildConfig, plan: _Plan, kernel: Any, result: BuildResult, say: Progress) -> None:
    from .. import fitting, kernels  # JAX: only when something must be fitted

    f = plan.config
    spec = kernels.with_image_hash(f.kernel_spec, base_dir=cfg.path.parent)  # file kernels: channel and hash
    what = "for " + ", ".join(f"{k} {v}" for k, v in f.search.items()) if f.search else f"rank {f.rank}"
    say(f"{f.name}: fitting {what} to a {kernel.shape[0]}x{kernel.shape[1]} kernel "
        f"({f.settings.optimizer}, {f.settings.steps} steps)")
    start = time.perf_counter()
    try:
        plan.filter = _fit_or_search(fitting, kernel, f, spec, _fit_progress(f.name, say))
    except SepgenError as exc:
        raise SepgenError(f"{cfg.path}: filter {f.name!r}: {exc}") from None
    cache.save_entry(plan.cache_file, plan.filter)
    result.fitted.append(f.name)
    result.written.append(plan.cache_file)
    say(f"{f.name}: fitted in {time.perf_counter() - start:.1f} s")


def _fit_or_search(fitting: Any, kernel: Any, f: FilterConfig, spec: dict[str, Any], progress: Any) -> Any:
    """A rank fit, a fit across scales, or a budget/target search when the config asks for one."""
    if f.structure != "separable":  # issue 18: a rows fit, or both structures searched
        from ..fitting import rowsfit

        if f.structure == "rows":
            if "max_intermediate_bytes" in f.search:
                raise SepgenError(f"filter {f.name!r}: structure rows caps no intermediates yet: "
                                  "use structure auto or separable with max_intermediate_bytes")
            filt = rowsfit.fit_rows_filter(kernel, name=f.name, kernel_spec=spec, settings=f.settings,
                                           progress=progress, budget=f.search.get("budget"),
                                           target_error=f.search.get("target_error"))
            _check_budget(f, filt)
            if f.scales is not None:  # rows scale analytically: the fit at 1 serves every scale
                filt = filt.with_scales(f.scales)
            return filt
        return rowsfit.fit_auto(kernel, f.settings, name=f.name, kernel_spec=spec, progress=progress,
                                targets=f.search_targets(), **f.search)
    if f.search:
        return fitting.fit_searched(kernel, f.settings, name=f.name, kernel_spec=spec, progress=progress,
                                    targets=f.search_targets(), **f.search)
    if f.scales is not None:
        return fitting.fit_scales_with(kernel, f.rank, f.scales, f.settings, name=f.name, kernel_spec=spec,
                                       progress=progress)
    return fitting.fit_with(kernel, f.rank, f.settings, name=f.name, kernel_spec=spec, progress=progress)


def _check_budget(f: FilterConfig, filt: Any) -> None:
    """A rows fit counts `sepgen emit`'s default target: its budget must hold for every language shipped."""
    from ..options import EmitOptions

    budget = f.search.get("budget")
    worst = max((filt.structure.fetch_counts(EmitOptions.from_dict(t))["total"], t["lang"]) for t in f.search_targets())
    if budget is not None and worst[0] > budget:
        raise SepgenError(f"filter {f.name!r}: its rows filter reads {worst[0]} fetches per pixel in {worst[1]}, over "
                          f"the budget of {budget}: use structure auto (it counts every language) or separable")


def _fit_progress(name: str, say: Progress) -> Callable[[str, int, int, float], None]:
    def report(phase: str, done: int, steps: int, loss: float) -> None:
        unit = "candidate fits" if phase.startswith("search") else "steps"  # a search counts whole fits
        say(f"{name}: {phase} {done}/{steps} {unit}, loss {loss:.4g}")

    return report


def _render(cfg: BuildConfig, plan: _Plan) -> dict[str, str | bytes]:
    """Every file of one filter, keyed by its path relative to the output folder (POSIX)."""
    from .. import emit  # NumPy + Jinja only

    assert plan.filter is not None
    command = f"sepgen build {cfg.path.name}"  # relative: the output must not depend on the machine
    files: dict[str, str | bytes] = {}
    for lang in plan.config.langs:
        try:
            rendered = emit.render(plan.filter, plan.config.emit_options(lang), templates_dir=cfg.templates_dir,
                                   command=command)
        except SepgenError as exc:
            raise SepgenError(f"{cfg.path}: filter {plan.config.name!r}: {lang}: {exc}") from None
        for rel, text in rendered.items():
            files[str(PurePosixPath(plan.config.name, lang, rel))] = text
    return files


def _build_manifest(cfg: BuildConfig, plans: list[_Plan], per_filter: dict[str, dict[str, str | bytes]]) -> str:
    doc: dict[str, Any] = {
        "format": BUILD_FORMAT,
        "sepgen": __version__,
        "config": cfg.path.name,
        "filters": [
            {
                "name": p.config.name,
                "cache": str(PurePosixPath(cache.CACHE_DIR, p.cache_file.name)),
                "langs": list(p.config.langs),
                "files": sorted(per_filter[p.config.name]),
            }
            for p in plans
        ],
        "files": sorted(rel for files in per_filter.values() for rel in files),
    }
    return dumps(doc)


def _previous_outputs(out_dir: Path) -> set[str]:
    """Files the last build generated (from its manifest); only safe relative paths count."""
    try:
        doc = json.loads((out_dir / BUILD_MANIFEST).read_text(encoding="utf-8"))
        files = doc["files"] if doc.get("format") == BUILD_FORMAT else []
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return set()
    return {rel for rel in (files if isinstance(files, list) else []) if safe_relative(rel)}


def rebuild_command(config_path: str | os.PathLike, out_dir: str | os.PathLike | None) -> str:
    """The command that brings the checked outputs up to date: the config and `--out-dir` as given."""
    args = ["sepgen", "build", str(config_path), *(["--out-dir", str(out_dir)] if out_dir is not None else [])]
    return shlex.join(args)


def _check(cfg: BuildConfig, plans: list[_Plan], result: BuildResult, say: Progress, command: str) -> BuildResult:
    """Compare what a build would write with what is on disk; write nothing."""
    produced: dict[str, dict[str, str | bytes]] = {}
    made_by = _built_by(cfg.out_dir)
    for plan in plans:
        name = plan.config.name
        reasons: list[str] = []
        if plan.problem is not None:
            reasons.append(plan.problem)
        elif plan.filter is None:
            older = any(cfg.out_dir.joinpath(cache.CACHE_DIR).glob(f"{name}-*.json"))
            reasons.append(_refit_reason(cfg, plan, made_by) if older else "not fitted yet")
        else:
            files = produced[name] = _render(cfg, plan)
            for rel, text in files.items():
                path = cfg.out_dir / rel
                try:
                    same = path.read_bytes() == (text if isinstance(text, bytes) else text.encode("utf-8"))
                except OSError:
                    reasons.append(f"{rel} is missing")
                    continue
                if not same:
                    reasons.append(f"{rel} differs")
            if reasons and made_by is not None and made_by != __version__:
                reasons.insert(0, f"sepgen changed (the outputs were made by sepgen {made_by}, this is {__version__})")
        if reasons:
            result.stale[name] = reasons
            for r in reasons:
                say(f"{name}: stale: {r}")
        else:
            result.up_to_date.append(name)
            say(f"{name}: up to date")
    if not result.stale:
        leftovers = sorted(r for r in _previous_outputs(cfg.out_dir) - {p for f in produced.values() for p in f}
                           if (cfg.out_dir / r).is_file())
        manifest = cfg.out_dir / BUILD_MANIFEST
        try:
            manifest_ok = manifest.read_text(encoding="utf-8") == _build_manifest(cfg, plans, produced)
        except (OSError, UnicodeDecodeError):
            manifest_ok = False
        reasons = [f"{r} is no longer produced" for r in leftovers]
        reasons += [] if manifest_ok else [f"{BUILD_MANIFEST} is out of date"]
        if reasons:
            result.stale[BUILD_MANIFEST] = reasons
            for r in reasons:
                say(f"stale: {r}")
    if result.stale:
        summary = "; ".join(f"{name} ({reasons[0]}{', …' if len(reasons) > 1 else ''})"
                            for name, reasons in result.stale.items())
        raise CheckFailed(f"{len(result.stale)} stale output(s), run `{command}`: {summary}")
    return result


def _built_by(out_dir: Path) -> str | None:
    """The sepgen version the last build of `out_dir` recorded in its build manifest (None if unknown)."""
    try:
        version = json.loads((out_dir / BUILD_MANIFEST).read_text(encoding="utf-8")).get("sepgen")
    except (OSError, ValueError, AttributeError):
        return None
    return version if isinstance(version, str) else None


def _refit_reason(cfg: BuildConfig, plan: _Plan, made_by: str | None) -> str:
    """Why a filter with older cache entries needs a refit: "sepgen changed" when its entry under
    the version that made the outputs is there (the version is part of the key), else its inputs."""
    if made_by is not None and made_by != __version__:
        key = cache.cache_key({**cache.fit_inputs(plan.config), "sepgen": made_by})
        if cache.cache_path(cfg.out_dir, plan.config.name, key).is_file():
            return f"sepgen changed (the outputs were made by sepgen {made_by}, this is {__version__})"
    return "config or kernel changed since its last fit"


def _touch(path: Path) -> None:
    if path.is_file():
        os.utime(path)
    else:
        write_bytes(path, b"")
