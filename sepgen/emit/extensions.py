"""The API extensions or device features a target needs for its passes' formats, from what its
descriptor declares (`sepgen.targets`: `Target.needs`). For a GLSL ES 3.00 (WebGL2 / GLES 3) target:

ES 3.00 core can neither render to float targets nor filter or blend 32-bit float ones, and
sepgen's intermediates and output are float. What each pass does decides what it needs:

- `EXT_color_buffer_float`: render to RGBA32F (on WebGL2 it also covers RGBA16F);
- `EXT_color_buffer_half_float`: render to RGBA16F (`--precision fp16`, GLES 3);
- `OES_texture_float_linear`: sample RGBA32F with linear filtering (`--linear-sampling`);
- `EXT_float_blend`: additive blending into RGBA32F (`--strategy per-component`, rank > 8).

They are enabled by the application (`gl.getExtension` in WebGL2), not by `#extension` lines.
WGSL (WebGPU) renders to float targets in core but needs the device features
`float32-filterable` (linear sampling of rgba32f) and `float32-blendable` (additive blending
into rgba32f), the ones sepgen's WebGPU runner asks for. Desktop GL 3.3+, Direct3D 11 and
Vulkan (SPIR-V) list nothing.
"""

from __future__ import annotations

from ..options import EmitOptions
from ..plan.passmodel import Pass
from ..targets import Feature

__all__ = ["required_extensions", "header_note"]


def required_extensions(options: EmitOptions, passes: list[Pass] | tuple[Pass, ...]) -> tuple[str, ...]:
    """Sorted extension (GLSL ES) or feature (WebGPU) names the passes need on `options`' target
    (what its descriptor declares: `Target.needs`)."""
    feature = options.target.feature_for(options.to_dict())
    if feature is None:
        return ()
    render = {feature.render[o.format] for p in passes for o in p.outputs if o.format in feature.render}
    return tuple(sorted(render | _float32_needs(passes, feature)))


def header_note(options: EmitOptions, names: tuple[str, ...] | list[str]) -> str:
    """The shader header's line saying what to enable for `names`."""
    feature = options.target.feature_for(options.to_dict())
    template = feature.header if feature is not None else "needs {names}"
    return template.format(names=", ".join(names))


def _float32_needs(passes: list[Pass] | tuple[Pass, ...], feature: Feature) -> set[str]:
    """Its `linear` if a pass samples an rgba32f texture with linear filtering, `blend` if a
    fragment pass adds into an rgba32f target."""
    written = {o.texture: o.format for p in passes for o in p.outputs}
    need = set()
    for p in passes:
        if p.blend == "additive" and any(o.format == "rgba32f" for o in p.outputs):
            need.add(feature.blend)
        if any(i.filter == "linear" and written.get(i.texture) == "rgba32f" for i in p.inputs):
            need.add(feature.linear)
    return need
