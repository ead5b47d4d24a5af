"""Emit: a filter file becomes HLSL/GLSL shaders and a manifest. JAX-free.

    files = sepgen.emit.render(filt, {"lang": "glsl"})   # default: linear sampling where the target allows
    sepgen.emit.write(files, "out/")          # only changed files are rewritten
    sepgen.emit.fetch_counts(filt)            # {"horizontal", "vertical", "total"} per pixel

`taps` plans the fetches, `planner` turns the plan into typed passes
(`sepgen.passmodel`), a registered `Generator` per language (`glsl`, `hlsl`)
renders its templates from them and `manifest` serialises them (docs/manifest.md).
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
from ..options import EmitOptions
from ..passmodel import MANIFEST
from . import glsl, hlsl, manifest, spirv, taps, wgsl  # noqa: F401  (importing a language registers its generator)
from .context import coefficient_arrays, environment, header_lines, one_line, quality_for_header
from .extensions import required_extensions
from .generator import GENERATORS, Generator, get as get_generator, register
from .output import Written, write_output
from .planner import build_passes

__all__ = ["render", "write", "write_output", "Written", "fetch_counts", "resolve_options", "option_combinations", "default_command",
           "EmitOptions", "Generator", "GENERATORS", "register", "get_generator"]


def resolve_options(options: "dict[str, Any] | EmitOptions | None" = None) -> dict[str, Any]:
    """Every emit option (table order), checked; rejects unknown keys and unsupported combinations."""
    return EmitOptions.from_dict(options).to_dict()


def option_combinations() -> list[dict[str, Any]]:
    """Every supported combination of emit options (HLSL ignores glsl_version: listed once)."""
    return [o.to_dict() for o in EmitOptions.combinations()]


def default_command(filter_path: str, options: "dict[str, Any] | EmitOptions", out_dir: str,
                    templates_dir: str | os.PathLike | None = None) -> str:
    """The `sepgen emit` command line for these options (only flags that change the target's defaults)."""
    args = ["sepgen", "emit", str(filter_path)]
    for n, value in EmitOptions.from_dict(options).non_default().items():
        opt = EMIT_OPTIONS[n]
        if opt.type is bool:
            args.append(opt.flag if value else opt.negative_flag)
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


def fetch_counts(filt: SeparableFilter, linear_sampling: bool | None = None, strategy: str = "mrt") -> dict[str, int]:
    """Texture fetches per output pixel: {"horizontal", "vertical", "total"}.

    The same for every language and stage: a plan with one vertical pass reads the same taps.
    `linear_sampling` None: `sepgen emit`'s default (fragment passes sample bilinearly).
    """
    opts = EmitOptions(linear_sampling=linear_sampling, strategy=strategy)
    return taps.counts(taps.plan_passes(filt, opts.strategy, opts.linear_sampling))


def render(filt: SeparableFilter, options: "dict[str, Any] | EmitOptions | None" = None, templates_dir: str | os.PathLike | None = None,
           command: str | None = None) -> dict[str, str | bytes]:
    """Every output file: relative path -> text (bytes for binary modules: `.spv`), `manifest.json` included."""
    if not isinstance(filt, SeparableFilter):
        raise SepgenError(f"render() needs a SeparableFilter, got {type(filt).__name__}")
    opts = EmitOptions.from_dict(options)
    check_prefix(filt.name)
    if command is None:
        command = default_command(f"{filt.name}.json", opts.to_dict(), "OUT")
    command = one_line(command)
    gen = get_generator(opts.lang)(opts)
    plan = taps.plan_passes(filt, opts.strategy, opts.linear_sampling, opts.compute and gen.one_vertical_compute)
    counts = taps.counts(plan)
    passes = build_passes(filt.name, plan, gen)
    quality = quality_for_header(filt)
    common = {
        "name": filt.name,
        "rank": filt.rank,
        "size": list(filt.shape),
        "origin": list(filt.origin),  # type: ignore[arg-type]
        "counts": counts,
        "options": opts,
        "header": header_lines(filt, opts, counts, command, quality, required_extensions(opts, passes)),
        "passes": passes,
        "arrays": coefficient_arrays(filt, opts.lang),
    }
    emitted = gen.generate(environment(templates_dir), filt.name, passes, common)
    files = {f.path: f.text for f in emitted}
    files[MANIFEST] = manifest.build(filt, opts, passes, emitted, counts, quality, command).to_json()
    return files


def write(files: dict[str, str | bytes], out_dir: str | os.PathLike) -> list[str]:
    """Write `files` under `out_dir` atomically; returns the paths that changed (others keep
    their mtime). Files the folder's previous manifest listed and `files` lacks are removed
    (`write_output` also says which)."""
    return write_output(files, out_dir).changed
