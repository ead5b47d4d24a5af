"""Emit: a filter file becomes HLSL/GLSL shaders and a manifest. JAX-free.

    files = sepgen.emit.render(filt, {"lang": "glsl", "linear_sampling": True})
    sepgen.emit.write(files, "out/")          # only changed files are rewritten
    sepgen.emit.fetch_counts(filt)            # {"horizontal", "vertical", "total"} per pixel

`taps` plans the fetches, `context` turns the plan into template data, `glsl`
and `hlsl` render their language's files and `manifest` describes how to wire
them (docs/manifest.md).
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import Any

from .. import atomic
from ..errors import SepgenError
from ..filterfile import SeparableFilter
from ..options import EMIT_OPTIONS
from . import glsl, hlsl, manifest, taps
from .context import coefficient_arrays, environment, header_lines, one_line, pass_context, quality_for_header

__all__ = ["render", "write", "fetch_counts", "resolve_options", "option_combinations", "default_command"]

GENERATORS = {"glsl": glsl, "hlsl": hlsl}


def resolve_options(options: dict[str, Any] | None = None) -> dict[str, Any]:
    """Every emit option (table order), checked; rejects unknown keys and unsupported combinations."""
    options = dict(options or {})
    unknown = sorted(set(options) - set(EMIT_OPTIONS))
    if unknown:
        raise SepgenError(f"unknown emit option {unknown[0]!r} (known: {', '.join(EMIT_OPTIONS)})")
    out = {n: o.check(options.get(n, o.default), "emit") for n, o in EMIT_OPTIONS.items()}
    if out["stage"] == "compute":
        if out["linear_sampling"]:
            raise SepgenError("--linear-sampling applies to fragment passes only: compute passes read their taps from shared memory")
        if out["lang"] == "glsl" and out["glsl_version"] == "300es":
            raise SepgenError("compute passes need desktop GLSL (430/450): use --glsl-version 330 or 450 with --stage compute")
    return out


def option_combinations() -> list[dict[str, Any]]:
    """Every supported combination of emit options (HLSL ignores glsl_version: listed once)."""
    combos = []
    for lang in EMIT_OPTIONS["lang"].choices or ():
        versions = EMIT_OPTIONS["glsl_version"].choices if lang == "glsl" else ("330",)
        for version in versions or ():
            for stage in EMIT_OPTIONS["stage"].choices or ():
                for strategy in EMIT_OPTIONS["strategy"].choices or ():
                    for linear in (False, True):
                        for precision in EMIT_OPTIONS["precision"].choices or ():
                            opts = {"lang": lang, "glsl_version": version, "stage": stage, "strategy": strategy,
                                    "linear_sampling": linear, "precision": precision}
                            try:
                                resolve_options(opts)
                            except SepgenError:
                                continue
                            combos.append(opts)
    return combos


def default_command(filter_path: str, options: dict[str, Any], out_dir: str,
                    templates_dir: str | os.PathLike | None = None) -> str:
    """The `sepgen emit` command line for these options (only non-default flags)."""
    args = ["sepgen", "emit", str(filter_path)]
    for n, opt in EMIT_OPTIONS.items():
        value = options.get(n, opt.default)
        if value == opt.default:
            continue
        if opt.type is bool:
            args.append(opt.flag if value else f"--no-{opt.flag[2:]}")
        else:
            args += [opt.flag, str(value)]
    if templates_dir is not None:
        args += ["--templates", str(templates_dir)]
    args += ["-o", str(out_dir)]
    return shlex.join(args)


def check_prefix(name: str) -> str:
    """Filter names become shader identifier prefixes: refuse what GLSL reserves."""
    if name.startswith("gl_") or "__" in name:
        raise SepgenError(f"filter name {name!r} cannot prefix shader identifiers (GLSL reserves gl_ and __)")
    return name


def one_vertical_pass(options: dict[str, Any]) -> bool:
    """HLSL compute ends with one vertical pass reading every intermediate as an SRV.

    cs_5_0 cannot load a float4 from a RWTexture2D (typed UAV loads are limited to single
    32-bit-component formats in D3D11.0), so no pass may add into `output`; 128 SRV slots
    hold every component up to MAX_RANK. GLSL compute keeps a vertical pass per group
    (imageLoad of rgba32f is core in GL 4.3, and GL guarantees only 16 texture units
    per compute stage, fewer than MAX_RANK).
    """
    return options["lang"] == "hlsl" and options["stage"] == "compute"


def fetch_counts(filt: SeparableFilter, linear_sampling: bool = False, strategy: str = "mrt") -> dict[str, int]:
    """Texture fetches per output pixel: {"horizontal", "vertical", "total"}.

    The same for every language and stage: a plan with one vertical pass reads the same taps.
    """
    EMIT_OPTIONS["strategy"].check(strategy)
    return taps.counts(taps.plan_passes(filt, strategy, linear_sampling))


def render(filt: SeparableFilter, options: dict[str, Any] | None = None, templates_dir: str | os.PathLike | None = None,
           command: str | None = None) -> dict[str, str]:
    """Every output file: relative path -> text, `manifest.json` included."""
    if not isinstance(filt, SeparableFilter):
        raise SepgenError(f"render() needs a SeparableFilter, got {type(filt).__name__}")
    opts = resolve_options(options)
    check_prefix(filt.name)
    if command is None:
        command = default_command(f"{filt.name}.json", opts, "OUT")
    command = one_line(command)
    plan = taps.plan_passes(filt, opts["strategy"], opts["linear_sampling"], one_vertical_pass(opts))
    counts = taps.counts(plan)
    first_output = next(p.index for p in plan if p.direction == "vertical")
    passes = [pass_context(filt, p, opts["lang"], opts, first_output) for p in plan]
    quality = quality_for_header(filt)
    common = {
        "name": filt.name,
        "rank": filt.rank,
        "size": list(filt.shape),
        "origin": list(filt.origin),  # type: ignore[arg-type]
        "counts": counts,
        "options": opts,
        "header": header_lines(filt, opts, counts, command, quality),
        "passes": passes,
        "arrays": coefficient_arrays(filt, opts["lang"]),
    }
    env = environment(templates_dir)
    emitted = GENERATORS[opts["lang"]].generate(env, filt.name, passes, common, opts)
    files = {f.path: f.text for f in emitted}
    files[manifest.MANIFEST] = manifest.build(filt, opts, passes, emitted, counts, quality, command)
    return files


def write(files: dict[str, str], out_dir: str | os.PathLike) -> list[str]:
    """Write `files` under `out_dir` atomically; returns the paths that changed (others keep their mtime)."""
    root = Path(out_dir)
    changed = []
    for rel in sorted(files):
        path = Path(rel)
        if path.is_absolute() or ".." in path.parts:
            raise SepgenError(f"refusing to write {rel!r} outside {root}")
        if atomic.write_if_changed(root / path, files[rel]):
            changed.append(rel)
    return changed
