"""The API extensions a GLSL ES 3.00 (WebGL2 / GLES 3) target needs for its passes' formats.

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

__all__ = ["required_extensions"]

RENDER = {"rgba32f": "EXT_color_buffer_float", "rgba16f": "EXT_color_buffer_half_float"}
FLOAT_LINEAR = "OES_texture_float_linear"
FLOAT_BLEND = "EXT_float_blend"


WEBGPU_LINEAR = "float32-filterable"
WEBGPU_BLEND = "float32-blendable"


def required_extensions(options: EmitOptions, passes: list[Pass] | tuple[Pass, ...]) -> tuple[str, ...]:
    """Sorted extension (GLSL ES) or feature (WebGPU) names the passes need on `options`' target."""
    if options.lang == "glsl" and options.glsl_version == "300es":
        render = {RENDER[o.format] for p in passes for o in p.outputs}
        return tuple(sorted(render | _float32_needs(passes, FLOAT_LINEAR, FLOAT_BLEND)))
    if options.lang == "wgsl":
        return tuple(sorted(_float32_needs(passes, WEBGPU_LINEAR, WEBGPU_BLEND)))
    return ()


def _float32_needs(passes: list[Pass] | tuple[Pass, ...], linear: str, blend: str) -> set[str]:
    """`linear` if a pass samples an rgba32f texture with linear filtering, `blend` if a
    fragment pass adds into an rgba32f target."""
    written = {o.texture: o.format for p in passes for o in p.outputs}
    need = set()
    for p in passes:
        if p.blend == "additive" and any(o.format == "rgba32f" for o in p.outputs):
            need.add(blend)
        if any(i.filter == "linear" and written.get(i.texture) == "rgba32f" for i in p.inputs):
            need.add(linear)
    return need
