"""The pass plan (`taps.PassPlan`) becomes typed passes (`passmodel.Pass`) with their
resources, file names and shader-side names: what templates read and the manifest writes.

Decisions (which names, which bindings, which blend) are made here, never in a template.
The planner never imports emit: what it needs of the target's generator comes in as plain
values (the file suffix, where the scale block is bound), and the generator binds its own
resource numbers to the passes afterwards (`Generator.bind`).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from ..common.errors import SepgenError
from ..options import EmitOptions
from . import passmodel
from .passmodel import SCALE_TEXTURE, SCALE_UNIFORM, Pass, PassInput, PassOutput, ScaleEntry, Texture
from .taps import MAX_TARGETS, PassPlan

ARRAY = "array"  # intermediates="array"
SCALE_SAMPLER = "u_scale_map"  # the scale map's uniform / register name
ALONG = 64  # compute tile length along the pass direction (one pixel per invocation)
SHARED_BUDGET = 16384  # bytes of shared memory a compute tile may use when choosing its width
SHARED_TEXEL_BYTES = passmodel.TEXEL_BYTES["rgba32f"]  # compute tiles in shared memory hold vec4 of f32
MAX_INVOCATIONS = 512  # invocations per workgroup unless the target allows fewer (WebGPU's default: 256)


@dataclass(frozen=True)
class Tile:
    """A compute pass's shared-memory tile: `across` rows of `rowlen` texels starting at offset `lo`."""

    lo: int
    rowlen: int
    along: int
    across: int

    @property
    def tile_size(self) -> int:
        return self.across * self.rowlen


def tile_shape(span: int, max_invocations: int = MAX_INVOCATIONS) -> tuple[int, int]:
    """(pixels along the pass, rows/columns across) for a compute tile reading `span` extra texels,
    with at most `max_invocations` invocations (one per pixel)."""
    for across in (8, 4, 2, 1):
        if across * (ALONG + span) * 16 <= SHARED_BUDGET and across * ALONG <= max_invocations:
            return ALONG, across
    return ALONG, 1


def tile_for(p: Pass, max_invocations: int = MAX_INVOCATIONS) -> Tile:
    """The pass's tile; a pass with a workgroup size keeps the rows/columns it was planned with."""
    lo = min((math.floor(f.offset) for f in p.fetches), default=0)
    hi = max((math.ceil(f.offset) for f in p.fetches), default=0)
    along, across = tile_shape(hi - lo, max_invocations)
    if p.workgroup_size:
        across = p.workgroup_size[1] if p.horizontal else p.workgroup_size[0]
    return Tile(lo, along + hi - lo, along, across)


def textures(filter_name: str, rank: int, options: EmitOptions) -> tuple[Texture, ...]:
    """The source, one intermediate per component, the output (and the scale map, if read)."""
    fmt = options.intermediate_format
    scale = (Texture(SCALE_TEXTURE, "scale"),) if options.scale_source == "texture" else ()
    inter = (packed_textures(filter_name, rank, fmt) if options.channels == passmodel.RGB
             else (Texture(f"{filter_name}_t", "intermediate", fmt, layers=rank),) if options.intermediates == ARRAY
             else tuple(Texture(f"{filter_name}_t{k}", "intermediate", fmt, k) for k in range(rank)))
    return (Texture("source", "input"), *inter, Texture("output", "output", options.output_format), *scale)


def packed_textures(filter_name: str, rank: int, fmt: str) -> tuple[Texture, ...]:
    """channels="rgb": each MRT group's packed intermediates `<filter>_p<j>` (numbered across groups),
    with the component and channel each of their RGBA channels holds."""
    out: list[Texture] = []
    for first in range(0, rank, MAX_TARGETS):
        for chans in passmodel.packed_layout(min(MAX_TARGETS, rank - first)):
            held = tuple(None if c is None else (first + c[0], "rgb"[c[1]]) for c in chans)
            out.append(Texture(f"{filter_name}_p{len(out)}", "intermediate", fmt, channels=held))
    return tuple(out)


def scaled(plan: list[PassPlan]) -> list[PassPlan]:
    """A plan whose taps are fetched at offset·scale: every fetch bilinear (same offsets, same counts)."""
    return [dataclasses.replace(p, fetches=tuple(dataclasses.replace(f, linear=True) for f in p.fetches)) for p in plan]


def scale_entry(filter_name: str, source: str, block: dict[str, int] | None,
                fitted: tuple[float, ...] | None) -> ScaleEntry:
    """The manifest's `scale`: where scaled passes read the scale (docs/manifest.md).

    `block`: where the target binds the scale uniform's block (`{"binding": 0}`,
    `{"set": 0, "binding": 192}`), None where the uniform is loose (GLSL 330 / 300 es)."""
    fitted = tuple(fitted) if fitted else None
    if source == "uniform" and block is None:
        return ScaleEntry(source, SCALE_UNIFORM, fitted_scales=fitted)
    if source == "uniform":
        assert block is not None
        return ScaleEntry(source, SCALE_UNIFORM, block=f"{filter_name}_Scale", set=block.get("set"),
                          binding=block["binding"], fitted_scales=fitted)
    return ScaleEntry(source, SCALE_SAMPLER, texture=SCALE_TEXTURE, channel="r", fitted_scales=fitted)


def _blend(p: PassPlan, options: EmitOptions, first_output_pass: int) -> str:
    if p.direction == "horizontal" or p.index == first_output_pass:
        return "none"
    return "accumulate" if options.compute else "additive"


def _input(texture: str, uniform: str, binding: int, p: PassPlan, param: str, fetches: tuple) -> PassInput:
    sampler = f"{uniform}_sampler" if p.linear else None
    return PassInput(texture, uniform, binding, "linear" if p.linear else "nearest", sampler,
                     param=param, fetches=fetches)


def _resources(filter_name: str, p: PassPlan,
               options: EmitOptions) -> tuple[tuple[PassInput, ...], tuple[PassOutput, ...]]:
    if options.channels == passmodel.RGB:
        return _packed_resources(filter_name, p, options)
    if options.intermediates == ARRAY:
        return _array_resources(filter_name, p, options)
    if p.direction == "horizontal":
        fmt = options.intermediate_format
        inputs: tuple[PassInput, ...] = (_input("source", "u_source", 0, p, "src", p.fetches),)
        outputs = tuple(PassOutput(f"{filter_name}_t{k}", slot, fmt, k, slot, f"u_t{k}",
                                   name=f"o_t{k}", param=f"t{slot}")
                        for slot, k in enumerate(p.components))
        return _with_scale_map(inputs, options), outputs
    inputs = tuple(_input(f"{filter_name}_t{k}", f"u_t{k}", slot, p, f"t{slot}",
                          tuple(f for f in p.fetches if f.input == slot)) for slot, k in enumerate(p.components))
    return _with_scale_map(inputs, options), (PassOutput("output", 0, options.output_format, None, 0, "u_output",
                                                         name="o_output", param="acc"),)


def _packed_resources(filter_name: str, p: PassPlan,
                      options: EmitOptions) -> tuple[tuple[PassInput, ...], tuple[PassOutput, ...]]:
    """channels="rgb": the horizontal pass writes the group's packed textures, the vertical pass
    reads them (`taps.pack_rgb` made its fetches per packed texture)."""
    layout = passmodel.packed_layout(len(p.components))
    base = 3 * p.components[0] // 4  # textures of the full groups of 8 before this one: 6 each
    names = [f"{filter_name}_p{base + j}" for j in range(len(layout))]
    if p.direction == "horizontal":
        outputs = tuple(PassOutput(n, j, options.intermediate_format, None, j, f"u_p{base + j}",
                                   name=f"o_p{base + j}", param=f"t{j}", packs=layout[j]) for j, n in enumerate(names))
        return (_input("source", "u_source", 0, p, "src", p.fetches),), outputs
    inputs = tuple(dataclasses.replace(_input(n, f"u_p{base + j}", j, p, f"t{j}",
                                              tuple(f for f in p.fetches if f.input == j)), packs=layout[j])
                   for j, n in enumerate(names))
    return inputs, (PassOutput("output", 0, options.output_format, None, 0, "u_output", name="o_output", param="acc"),)


def _array_resources(filter_name: str, p: PassPlan,
                     options: EmitOptions) -> tuple[tuple[PassInput, ...], tuple[PassOutput, ...]]:
    """intermediates="array": the horizontal pass writes layer k of `<filter>_t` for each of its
    components k (colour location = slot), the vertical pass reads the layers as one array texture:
    its fetches keep their slot as `input`, `layers` maps a slot to its layer."""
    name = f"{filter_name}_t"
    if p.direction == "horizontal":
        outputs = tuple(PassOutput(name, slot, options.intermediate_format, k, slot, "u_t", layer=k,
                                   name="o_t", param=f"t[{slot}]") for slot, k in enumerate(p.components))
        return (_input("source", "u_source", 0, p, "src", p.fetches),), outputs
    inp = dataclasses.replace(_input(name, "u_t", 0, p, "t", p.fetches), layers=p.components)
    return (inp,), (PassOutput("output", 0, options.output_format, None, 0, "u_output", name="o_output", param="acc"),)


def _with_scale_map(inputs: tuple[PassInput, ...], options: EmitOptions) -> tuple[PassInput, ...]:
    """Scale source "texture": every pass also reads the scale map, point-sampled at its own pixel."""
    if options.scale_source != "texture":
        return inputs
    return inputs + (PassInput(SCALE_TEXTURE, SCALE_SAMPLER, len(inputs), param="scale_map"),)


UNSIGNED_FORMATS = ("r11g11b10f",)  # output formats without a sign bit (negative values store as 0)


def check_output_format(passes: list[Pass], options: EmitOptions) -> None:
    """Refuse an unsigned output that passes add partial sums into: a component's partial sum may be
    negative where the whole filter is not, and the format would clamp it to 0 before the next adds."""
    adding = [p.name for p in passes if p.blend != "none" and any(o.texture == "output" for o in p.outputs)]
    if options.output_format in UNSIGNED_FORMATS and adding:
        raise SepgenError(f"--output-format {options.output_format} holds no negative values, and passes "
                          f"{', '.join(adding)} add partial sums into it: use --strategy mrt (rank <= 8), "
                          "or --output-format rgba16f")


def stage_file(filter_name: str, pass_name: str, compute: bool, suffix: str) -> str:
    """A pass's program file: `disk50_h0.frag.glsl`, `disk50_v0.comp.spv`."""
    return f"{filter_name}_{pass_name}.{'comp' if compute else 'frag'}.{suffix}"


def vertex_file(filter_name: str, compute: bool, suffix: str) -> str | None:
    """The fullscreen vertex shader fragment passes share (none for compute passes)."""
    return None if compute else f"{filter_name}_fullscreen.vert.{suffix}"


def build_passes(filter_name: str, plan: list[PassPlan], options: EmitOptions, suffix: str,
                 max_invocations: int = MAX_INVOCATIONS) -> list[Pass]:
    """Typed passes in execution order, their files named with the target's `suffix`, compute
    workgroups of at most `max_invocations` (not yet bound: the generator adds its resource numbers)."""
    first_output = next(p.index for p in plan if p.direction == "vertical")
    vertex = vertex_file(filter_name, options.compute, suffix)
    passes = []
    for p in plan:
        inputs, outputs = _resources(filter_name, p, options)
        scale = options.scale_source if options.scale_source != "auto" else ""
        draft = Pass(p.index, p.name, p.direction, p.components, inputs, outputs, _blend(p, options, first_output),
                     p.fetch_count, function=f"{filter_name}_{p.name}", scale=scale)
        path = stage_file(filter_name, p.name, options.compute, suffix)
        if options.compute:
            tile = tile_for(draft, max_invocations)
            size = (tile.along, tile.across, 1) if draft.horizontal else (tile.across, tile.along, 1)
            passes.append(dataclasses.replace(draft, compute=path, workgroup_size=size,
                                              workgroup_storage=tile.tile_size * SHARED_TEXEL_BYTES))
        else:
            passes.append(dataclasses.replace(draft, vertex=vertex, fragment=path))
    return passes
