"""Emit: a filter file becomes HLSL/GLSL shaders and a manifest. JAX-free.

    rendered = sepgen.emit.render(filt, {"lang": "glsl"})   # default: linear sampling where the target allows
    rendered.manifest.fetches_per_pixel       # the typed Manifest; rendered["manifest.json"] is its file
    sepgen.emit.write(rendered, "out/")       # only changed files are rewritten
    sepgen.emit.fetch_counts(filt)            # {"horizontal", "vertical", "total"} per pixel

The filter's structure plans the fetches and `sepgen.plan.planner` turns the plan into
typed passes (`sepgen.plan.passmodel`), both below emit (fitting counts fetches with the
same plan); a registered `Generator` per language (one package per `sepgen.targets`
descriptor) renders its templates from them and `manifest` serialises them (docs/manifest.md).
"""

from __future__ import annotations

import importlib
import os
import shlex
from collections.abc import Mapping
from typing import Any

from .. import targets
from ..common.errors import SepgenError
from ..common.identifiers import check_shader_name
from ..filters.filterfile import SeparableFilter, check_meaningful
from ..filters.rowsfile import RowsFilter
from ..options import EMIT_OPTIONS, ENGINE_FIELDS, EmitOptions
from ..plan import planner
from ..plan.passmodel import MANIFEST, Pass
from ..plan.taps import PassPlan, counts as plan_counts, fetch_counts
from . import manifest
from .context import coefficient_arrays, environment, header_lines, one_line, quality_for_header, tapless_header_lines
from .extensions import required_extensions, required_limits
from .files import Rendered
from .generator import GENERATORS, Generator, get as get_generator, register
from .output import Written, write_output

for _lang in targets.names():  # each target's generator package registers itself on import
    importlib.import_module(f"{__name__}.{_lang}")

__all__ = ["render", "Rendered", "write", "write_output", "Written", "fetch_counts", "build_passes", "resolve_options",
           "option_combinations", "default_command", "scaled_languages", "for_filter", "EmitOptions", "Generator",
           "GENERATORS", "register", "get_generator"]


def resolve_options(options: dict[str, Any] | EmitOptions | None = None) -> dict[str, Any]:
    """Every emit option (table order), checked; rejects unknown keys and unsupported combinations."""
    return EmitOptions.from_dict(options).to_dict()


def option_combinations() -> list[dict[str, Any]]:
    """Every supported combination of emit options (HLSL ignores glsl_version: listed once)."""
    return [o.to_dict() for o in EmitOptions.combinations()]


def default_command(filter_path: str, options: dict[str, Any] | EmitOptions, out_dir: str,
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


def for_filter(filt: SeparableFilter | RowsFilter, options: EmitOptions, linear_asked: bool = False) -> EmitOptions:
    """Scale source "auto" resolved: scaled taps from a uniform for filters fitted with scales,
    fixed taps for the others (an explicit source scales any filter; the CLI warns). Scaled taps
    are point taps fetched bilinearly: `linear_asked` (linear sampling was requested) is refused."""
    if options.scale_source == "auto" and filt.scales is not None:
        return options.replace(scale_source="uniform", linear_sampling=linear_asked)  # True: one-line error
    return options


def scale_options(filt: SeparableFilter | RowsFilter, options: Mapping[str, Any] | EmitOptions | None) -> EmitOptions:
    """`for_filter` for options as given: a linear-sampling request is one in the dict."""
    asked = options.get("linear_sampling") if isinstance(options, Mapping) else None
    checked = EmitOptions.from_dict(dict(options) if isinstance(options, Mapping) else options)
    return for_filter(filt, checked, bool(asked))


def scaled_languages() -> list[str]:
    """The languages whose generators emit scaled taps (`Target.scaled_taps`)."""
    return [name for name, gen in GENERATORS.items() if gen.scaled_taps]


def check_prefix(name: str) -> str:
    """Filter names become shader identifier prefixes: refuse what GLSL reserves."""
    return check_shader_name(name)


def build_passes(filter_name: str, plan: list[PassPlan], gen: Generator) -> list[Pass]:
    """The planner's typed passes for `gen`'s target: its file names, then its resource numbers."""
    passes = planner.build_passes(filter_name, plan, gen.options, gen.suffix, gen.max_workgroup_invocations)
    planner.check_output_format(passes, gen.options)
    return [gen.bind(p) for p in passes]


def render(filt: SeparableFilter | RowsFilter, options: dict[str, Any] | EmitOptions | None = None,
           templates_dir: str | os.PathLike | None = None,
           command: str | None = None) -> Rendered:
    """Every output file (relative path -> text, bytes for binary modules: `.spv`; `manifest.json`
    included) and the typed `Manifest`. `options`: a dict of some options, or checked `EmitOptions`."""
    if isinstance(filt, RowsFilter):  # issue 18: the rows structure has its own passes
        return _render_rows(filt, options, templates_dir, command)
    if not isinstance(filt, SeparableFilter):
        raise SepgenError(f"render() needs a SeparableFilter, got {type(filt).__name__}")
    opts = scale_options(filt, options)
    check_prefix(filt.name)
    check_meaningful(filt)  # a filter built in Python may not have been loaded
    if command is None:
        command = default_command(f"{filt.name}.json", opts, "OUT")
    command = one_line(command)
    gen = get_generator(opts.lang)(opts)
    if opts.scale_source != "auto" and not gen.scaled_taps:
        raise SepgenError(f"--lang {opts.lang} cannot emit scaled taps yet ({', '.join(scaled_languages())} can)")
    plan = filt.structure.plan(opts, one_vertical=opts.compute and gen.one_vertical_compute)
    if opts.scale_source != "auto":
        plan = planner.scaled(plan)
    counts = plan_counts(plan)
    passes = build_passes(filt.name, plan, gen)
    quality = quality_for_header(filt)
    extensions = required_extensions(opts, passes)
    limits = required_limits(opts, passes)
    block = gen.scale_binding() if gen.scale_block() else None
    scale = (None if opts.scale_source == "auto"
             else planner.scale_entry(filt.name, opts.scale_source, block, filt.scales))
    common = {
        "name": filt.name,
        "rank": filt.rank,
        "size": list(filt.shape),
        "origin": list(filt.origin),
        "counts": counts,
        "options": opts,
        "header": header_lines(filt, opts, counts, command, quality, extensions, limits),
        "tapless_header": tapless_header_lines(filt, opts, command, extensions),  # files a refit does not change
        "passes": passes,
        "arrays": coefficient_arrays(filt, gen.lit),
        "scale": None if scale is None else scale.to_dict(),  # what templates (and overrides of them) read
    }
    emitted = gen.generate(environment(templates_dir), filt.name, passes, common)
    built = manifest.build(filt, opts, passes, emitted, counts, quality, command, scale)
    files: dict[str, str | bytes] = {f.path: f.text for f in emitted}
    files[MANIFEST] = built.to_json()
    return Rendered(files, built)


def _render_rows(filt: RowsFilter, options: dict[str, Any] | EmitOptions | None, templates_dir: Any,
                 command: str | None) -> Rendered:
    from .rows_emit import render_rows

    opts = scale_options(filt, options)  # a scalable rows file reads a scale uniform by default
    check_prefix(filt.name)
    engine = [n for n in ENGINE_FIELDS if getattr(opts, n) != EMIT_OPTIONS[n].default]  # issue 19: separable only
    if engine:
        raise SepgenError(f"--{engine[0].replace('_', '-')} applies to separable filters; rows filters have "
                          "their own passes (rgba32f output, one texture per intermediate)")
    if command is None:
        command = default_command(f"{filt.name}.json", opts, "OUT")
    return render_rows(filt, opts, templates_dir, one_line(command))


def write(files: Mapping[str, str | bytes], out_dir: str | os.PathLike) -> list[str]:
    """Write `files` (a `Rendered`, or path -> text) under `out_dir` atomically; returns the paths
    that changed (others keep their mtime). Files the folder's previous manifest listed and
    `files` lacks are removed (`write_output` also says which)."""
    return write_output(files, out_dir).changed
