"""Emit a rows filter (`sepgen.filters.rowsfile.RowsFilter`): scan passes, then a gather pass.

The passes and their reads are described in `sepgen.plan.rowsplan`; the typed passes
(`sepgen.plan.passmodel`) and `manifest.json` are the same contract as a separable
filter's, so every runner executes them unchanged. Textures: the source, two pairs of
scan targets (tilings A and B, ping-ponged between the fragment scan passes, rgba32f:
running sums need float32) and the output.

Targets so far: GLSL 330 and GLSL ES 300 (fragment passes; WebGL2 needs EXT_color_buffer_float
and, for bilinear reads, OES_texture_float_linear), GLSL 430 (compute, `--stage compute`) and
SPIR-V (Vulkan GLSL 450 from the same templates, texture2D + one linear sampler, compiled by
glslang and checked by spirv-val; both stages).
The gather reads the scan targets bilinearly at fractional box ends (fragment default and
compute), or exactly with two point reads (`--point-sampling`); integer ends always exactly.
Scaled (a scale uniform or map, fragment passes): the gather of `sepgen.filters.rows_scaled`.
File suffixes, entry points and template folders come from the target descriptors (`sepgen.targets`).
Every emit also writes an include file (`render_include`): the passes as functions an engine calls
with its own textures (the scan steps and the gather; with `--stage compute` the compute scan
`<name>_scan`, called from the engine's own compute shader, and the gather).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import jinja2
import numpy as np

from .. import targets
from .._version import __version__
from ..common import tools as spirv_tools
from ..common.errors import SepgenError
from ..filters import rows_scaled
from ..filters.rowsfile import RowsFilter
from ..options import EmitOptions
from ..plan import rowsplan
from ..plan.passmodel import (
    MANIFEST,
    SCALE_TEXTURE,
    Manifest,
    Pass,
    PassInput,
    PassOutput,
    ScaleEntry,
    ShaderFile,
    Texture,
)
from ..plan.planner import SCALE_SAMPLER, SHARED_TEXEL_BYTES, scale_entry
from .context import environment, one_line, provenance_lines, render_template
from .extensions import required_extensions, required_limits
from .files import Rendered
from .generator import get as get_generator
from .glsl import COMPUTE_VERSIONS, VERSIONS
from .literals import float32, float_literal
from .vulkan_bindings import vulkan_bindings

__all__ = ["render_rows"]

GATHER_GROUP = (8, 8, 1)
SCAN_TILES = 3  # the compute scan keeps A tile g, B tile g and B tile g + 1 in shared memory (rows_scan_functions)


def check_options(opts: EmitOptions) -> None:
    """What rows filters can be emitted for today: one-line errors for the rest."""
    if opts.lang == "glsl" and opts.glsl_version not in ("330", "300es"):
        raise SepgenError(f"rows filters are emitted for GLSL 330 and 300 es, SPIR-V, HLSL and WGSL, not GLSL "
                          f"{opts.glsl_version} (for Vulkan GLSL use --lang spirv, whose sources are GLSL 450)")
    if opts.precision != "fp32":
        raise SepgenError("rows filters need --precision fp32: their running sums do not fit in half floats")


def _io(texture: str, uniform: str, binding: int, linear: bool = False) -> PassInput:
    sampler = f"{uniform}_sampler" if linear else None
    return PassInput(texture, uniform, binding, "linear" if linear else "nearest", sampler)


def build_passes(filt: RowsFilter, opts: EmitOptions) -> list[Pass]:
    """The typed passes: scan (into `<name>_a<k>`, `<name>_b<k>`) then gather (into `output`)."""
    name, compute = filt.name, opts.compute
    scaled = "" if opts.scale_source == "auto" else opts.scale_source
    plan = filt.structure.plan(opts)
    direction = "horizontal" if filt.layout.axis == "rows" else "vertical"
    suffix = targets.get(opts.lang).suffix
    vertex = None if compute else f"{name}_fullscreen.vert.{suffix}"
    tile = rowsplan.tile_for(filt.layout.line_length)
    passes = []
    for rp in plan:
        if rp.kind == "scan":
            src = ("source",) if rp.index == 0 else (f"{name}_a{(rp.index - 1) % 2}", f"{name}_b{(rp.index - 1) % 2}")
            uniforms = ("u_source",) if rp.index == 0 else ("u_a", "u_b")
            inputs = tuple(_io(t, u, i) for i, (t, u) in enumerate(zip(src, uniforms)))
            outs = tuple(PassOutput(f"{name}_{ab}{rp.index % 2}", i, "rgba32f", None, i, f"u_out_{ab}", name=f"o_{ab}")
                         for i, ab in enumerate("ab"))
            group = (tile, 1, 1) if direction == "horizontal" else (1, tile, 1)
            storage = SCAN_TILES * tile * SHARED_TEXEL_BYTES
        else:
            last, linear = plan[-2].index % 2, compute or bool(opts.linear_sampling) or scaled != ""
            inputs = (_io(f"{name}_a{last}", "u_a", 0, linear), _io(f"{name}_b{last}", "u_b", 1, linear),
                      _io("source", "u_source", 2, linear))
            if scaled == "texture":  # the scale map, point-read at the pixel (as separable scaled passes)
                inputs += (PassInput(SCALE_TEXTURE, SCALE_SAMPLER, 3, param="scale_map"),)
            outs = (PassOutput("output", 0, "rgba32f", None, 0, "u_output", name="o_output"),)
            group, storage = GATHER_GROUP, 0
        draft = Pass(rp.index, rp.name, direction, (), inputs, outs, "none", rp.fetch_count,
                     function=f"{name}_{rp.name}", scale=scaled if rp.kind == "gather" else "")
        path = f"{name}_{rp.name}.{'comp' if compute else 'frag'}.{suffix}"
        done = (dataclasses.replace(draft, compute=path, workgroup_size=group, workgroup_storage=storage)
                if compute else dataclasses.replace(draft, vertex=vertex, fragment=path))
        passes.append(vulkan_bindings(done) if opts.lang in ("spirv", "wgsl") else done)
    return passes


def _boxes(filt: RowsFilter, lang: str = "glsl") -> list[dict[str, Any]]:
    """The gather's reads as float literals: both ends' positions along the line relative to the
    output pixel (F(x + upper) − F(x + lower)), the line's offset from the pixel's row (fractional
    where two lines share the read) and the weight. Positions are multiples of 1/256 (the fit
    snaps them): the shader splits them into texel and fraction exactly."""
    ca = filt.origin[1] if filt.layout.axis == "rows" else filt.origin[0]
    cl = filt.origin[0] if filt.layout.axis == "rows" else filt.origin[1]
    return [{"upper": float_literal(ca - r.start + 0.5, lang), "lower": float_literal(ca - r.end + 0.5, lang),
             "line_offset": float_literal(cl - r.line, lang), "weight": float_literal(r.weight, lang)}
            for r in filt.layout.gather_plan(share=True)]


def _offset(value: float | int, lang: str) -> str:
    """`value` as a term added to an expression: " + 3", " - 0.5", "" for an integer 0."""
    if isinstance(value, int):
        return "" if value == 0 else f" {'-' if value < 0 else '+'} {abs(value)}"
    return f" {'-' if value < 0 else '+'} {float_literal(abs(value), lang)}"


def _interior(filt: RowsFilter, lang: str, point: bool) -> dict[str, Any]:
    """The gather's interior reads, specialised at emit time (each value is the float32 the literal
    of `_boxes` holds, so the reads are those the general path makes there): per box end its kind
    ("lin": bilinear at a fractional end; "pf": E(q) + f s(q), point reads at one; "int": E(q) at an
    integer end), texel offset q and position; per box the rows it reads (a shared read mixes two
    with a constant weight). The bounds: the pixel is interior when x + qlo ≥ 1, x + qhi < width,
    y + alo ≥ 0 and y + ahi < height (every read inside the image: no clamp, no border case)."""
    ca = filt.origin[1] if filt.layout.axis == "rows" else filt.origin[0]
    cl = filt.origin[0] if filt.layout.axis == "rows" else filt.origin[1]
    boxes, qs, rows = [], [], []
    for r in filt.layout.gather_plan(share=True):
        a = float32(cl - r.line)
        af = int(np.floor(a))
        fa = a - np.float32(af)  # exact, as the shader's a - floor(a)
        ends = []
        for pos in (float32(ca - r.start + 0.5), float32(ca - r.end + 0.5)):
            q = int(np.floor(pos))
            f = pos - np.float32(q)
            kind = "int" if f == 0 else "pf" if point else "lin"
            ends.append({"kind": kind, "pos": _offset(float(pos), lang), "q": _offset(q, lang),
                         "f": float_literal(float(f), lang)})
            qs += [q, q + (kind == "lin")]
        shared = bool(fa != 0)
        rows += [af, af + shared]
        boxes.append({"upper": ends[0], "lower": ends[1], "shared": shared, "a": _offset(float(a), lang),
                      "row": _offset(af, lang), "row1": _offset(af + 1, lang),
                      "mix": float_literal(float(np.float32(1.0) - fa), lang),
                      "weight": float_literal(r.weight, lang)})
    return {"boxes": boxes, "qlo": _offset(min(qs, default=0), lang), "qhi": _offset(max(qs, default=0), lang),
            "alo": _offset(min(rows, default=0), lang), "ahi": _offset(max(rows, default=0), lang)}


def _header(name: str, what: str, prov: dict[str, Any], opts: EmitOptions, quality: dict[str, float], command: str,
            fetches: str) -> list[str]:
    metrics = ", ".join(f"{k}={v:.6g}" for k, v in quality.items())
    return [f"Generated by sepgen {__version__} - do not edit; regenerate instead.",
            f"filter: {name}, {what}", *provenance_lines(prov), f"metrics: {metrics}", fetches,
            f"options: {', '.join(f'{k}={v}' for k, v in opts.meaningful().items())}",
            f"regenerate: {one_line(command)}"]


def render_rows(filt: RowsFilter, opts: EmitOptions, templates_dir: Any = None,
                command: str = "") -> Rendered:
    """Every output file of a rows filter, `manifest.json` included, and its typed `Manifest`."""
    check_options(opts)
    passes = build_passes(filt, opts)
    counts = rowsplan.counts(filt.structure.plan(opts))
    quality = {k: float(f"{v:.6g}") for k, v in filt.metrics().items() if k in ("relative_l2", "negative_mass", "leak",
                                                                                   "max_error", "dc_gain")}
    env = environment(templates_dir)
    vulkan = opts.lang == "spirv"
    scale = _scale_entry(filt, opts)
    common = dict(_context(filt, opts, command, counts, quality), scale=None if scale is None else scale.to_dict())
    files: dict[str, str | bytes] = {}
    entries: list[ShaderFile] = []
    stage = "compute" if opts.compute else "fragment"

    target = targets.get(opts.lang)  # its templates folder (SPIR-V: the GLSL ones), suffixes, entry points
    lang_dir = target.templates
    ext = targets.get(lang_dir).suffix

    def add(path: str, template: str, stage_: str, ctx: dict[str, Any], index: int | None) -> None:
        text = render_template(env, template, dict(common, path=path, **ctx))
        if not vulkan:  # text files run as written (no .spv beside them)
            files[path] = text
            entries.append(ShaderFile(path, opts.lang, stage_, target.entry[stage_], index))
            return
        source = path[: -len("spv")] + "glsl"  # the Vulkan GLSL a module is compiled from
        files[source] = text
        entries.append(ShaderFile(source, "glsl", stage_, None, index, "source"))
        code = spirv_tools.compile_glsl(text, stage_, source)
        spirv_tools.validate(code, path)
        files[path] = code
        entries.append(ShaderFile(path, "spirv", stage_, "main", index))

    if not opts.compute:
        add(str(passes[0].vertex), f"{lang_dir}/rows_fullscreen.vert.{ext}.j2", "vertex", {}, None)
    for p in passes:
        kind = "scan" if p.name.startswith("s") else "gather"
        template = f"{lang_dir}/rows_{kind}.{'comp' if opts.compute else 'frag'}.{ext}.j2"
        add(str(p.compute or p.fragment), template, stage, {"P": p}, p.index)
    include = f"{filt.name}.{target.include_suffix}"
    include_ctx = dict(common, path=include, passes=passes, sampler=not common["point"], size=filt.shape,
                       origin=filt.origin)
    files[include] = render_include(env, f"{lang_dir}/rows_include.{target.include_suffix}.j2", include_ctx, filt.name)
    entries.append(ShaderFile(include, opts.lang, "fragment", None, None, "include"))
    textures = (Texture("source", "input"),
                *(Texture(f"{filt.name}_{ab}{k}", "intermediate", "rgba32f") for k in range(2) for ab in "ab"),
                Texture("output", "output", "rgba32f"),
                *((Texture(SCALE_TEXTURE, "scale"),) if opts.scale_source == "texture" else ()))
    manifest = Manifest(tuple(entries), textures, tuple(passes), __version__, command, filt.name, 0, filt.shape,
                        filt.origin, quality, opts.to_dict(), counts, required_extensions(opts, passes),
                        structure="rows", limits=required_limits(opts, passes) if opts.runner == "webgpu" else None,
                        scale=scale)
    files[MANIFEST] = manifest.to_json()
    return Rendered(files, manifest)


# --- include files: the passes as functions an engine calls with its own textures -----------------

# A declaration at file scope: a constant, a macro, a private or workgroup-shared array (the shared macros' names).
_FILE_SCOPE = re.compile(r"^(?:#define\s+|(?:static\s+)?const\s+(?:\w+\s+)?|(?:group)?shared\s+\w+\s+|"
                         r"var<(?:private|workgroup)>\s+)([A-Za-z_]\w*)", re.M)


def render_include(env: jinja2.Environment, template: str, ctx: dict[str, Any], name: str) -> str:
    """The include file: the passes' functions (`<name>_s<k>` or the compute `<name>_scan`, `<name>_g` /
    `<name>_gs`), no bindings, no entry point. The gather and scan text is the standalone passes' (the shared
    macros), whose file-scope names (TILE, BOXES, AT, the shared `sums`, ...) are prefixed here with `<name>_` so that
    an engine's own names and a second filter's include do not clash; `u_linear` becomes the
    engine's sampler `<name>_linear`."""
    return prefix_names(render_template(env, template, ctx), name)


def prefix_names(text: str, name: str) -> str:
    """`text` with every file-scope name that lacks the `<name>_` prefix renamed (code lines only;
    a name whose prefixed form is taken gets a trailing `_`)."""
    found = sorted({n for n in _FILE_SCOPE.findall(text) if not n.startswith((f"{name}_", "SEPGEN_"))})
    taken = set(re.findall(r"\w+", text))
    mapping = {n: f"{name}_{n}" + ("_" if f"{name}_{n}" in taken else "") for n in found}
    mapping["u_linear"] = f"{name}_linear"
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, mapping)) + r")\b")
    return "\n".join(line if line.lstrip().startswith("//") else pattern.sub(lambda m: mapping[m.group(1)], line)
                     for line in text.split("\n"))


def _scale_entry(filt: RowsFilter, opts: EmitOptions) -> ScaleEntry | None:
    """The manifest's `scale` of a scaled rows filter, bound where the separable passes bind it."""
    if opts.scale_source == "auto":
        return None
    gen = get_generator(opts.lang)(opts)
    block = gen.scale_binding() if gen.scale_block() else None
    return scale_entry(filt.name, opts.scale_source, block, filt.scales)


def _scaled(filt: RowsFilter, lang: str) -> dict[str, Any]:
    """The scaled gather's tables (`sepgen.filters.rows_scaled`): per line from −1 to L + 1 (the ends
    empty) its (first box, boxes), per box (upper offset, lower offset, weight) as literals, the
    lines, the origin across them, the gain."""
    table = rows_scaled.line_table(filt.layout)
    count, cl = rows_scaled.across(filt.layout)
    firsts = [sum(len(line) for line in table[:i]) for i in range(len(table))]
    boxes = [tuple(float_literal(v, lang) for v in box) for line in table for box in line]
    return {"line_count": count, "across_origin": cl, "gain": float_literal(rows_scaled.gain(filt.layout), lang),
            "lines": [(0, 0), *((f, len(line)) for f, line in zip(firsts, table)), (0, 0), (0, 0)],
            "boxes": boxes or [tuple(float_literal(0.0, lang) for _ in range(3))]}


def _context(filt: RowsFilter, opts: EmitOptions, command: str, counts: dict[str, int],
             quality: dict[str, float]) -> dict[str, Any]:
    """What the rows templates see besides the pass: names, tile, boxes, header, version switches."""
    vulkan = opts.lang == "spirv"
    tile = rowsplan.tile_for(filt.layout.line_length)
    lang = opts.lang if opts.lang in ("hlsl", "wgsl") else "glsl"
    scaled = opts.scale_source != "auto"
    point = not opts.compute and not opts.linear_sampling and not scaled
    # the border path: a loop over a table of the reads (GL, WGSL) or straight-line clamped reads
    # (Vulkan GLSL, HLSL), whichever Mesa compiles faster (benchmarks/bench_rows_compile.py)
    border = ("border pixels read up to twice as many" if opts.lang in ("spirv", "hlsl")
              else "boxes crossing the right border read one more")
    header = _header(filt.name, f"rows ({filt.layout.axis}), {filt.layout.boxes} boxes, "
                              f"{filt.shape[0]}x{filt.shape[1]} taps, origin (y {filt.origin[0]}, x {filt.origin[1]})",
                              filt.provenance, opts, quality, command,
                              f"fetches per pixel: {counts['scan']} scan + {counts['gather']} gather = "
                              f"{counts['total']} (tile {tile}; {border})")
    return {"name": filt.name, "rows": filt.layout.axis == "rows", "tile": tile, "half": tile // 2,
            "line_length": filt.layout.line_length,
            "along_origin": filt.origin[1] if filt.layout.axis == "rows" else filt.origin[0],
            "boxes": _boxes(filt, lang), "counts": counts,
            "interior": _interior(filt, lang, point), "scaled": _scaled(filt, lang) if scaled else None,
            "point": point, "header": header,
            "compute": opts.compute,
            "version": "#version 450" if vulkan else
            (COMPUTE_VERSIONS if opts.compute else VERSIONS)[opts.glsl_version],
            "es": opts.lang == "glsl" and opts.glsl_version == "300es", "vulkan": vulkan}
