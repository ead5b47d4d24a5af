"""The API extensions a GLSL ES 3.00 (WebGL2 / GLES 3) target needs for its passes' formats.

ES 3.00 core can neither render to float targets nor filter or blend 32-bit float ones, and
sepgen's intermediates and output are float. What each pass does decides what it needs:

- `EXT_color_buffer_float`: render to RGBA32F (on WebGL2 it also covers RGBA16F);
- `EXT_color_buffer_half_float`: render to RGBA16F (`--precision fp16`, GLES 3);
- `OES_texture_float_linear`: sample RGBA32F with linear filtering (`--linear-sampling`);
- `EXT_float_blend`: additive blending into RGBA32F (`--strategy per-component`, rank > 8).

They are enabled by the application (`gl.getExtension` in WebGL2), not by `#extension` lines.
Desktop GL 3.3+ and Direct3D 11 have all of this in core: other targets need none.
"""

from __future__ import annotations

from ..options import EmitOptions
from ..passmodel import Pass

__all__ = ["required_extensions"]

RENDER = {"rgba32f": "EXT_color_buffer_float", "rgba16f": "EXT_color_buffer_half_float"}
FLOAT_LINEAR = "OES_texture_float_linear"
FLOAT_BLEND = "EXT_float_blend"


def required_extensions(options: EmitOptions, passes: list[Pass] | tuple[Pass, ...]) -> tuple[str, ...]:
    """Sorted extension names the passes need on `options`' target (empty off GLSL ES)."""
    if options.lang != "glsl" or options.glsl_version != "300es":
        return ()
    written = {o.texture: o.format for p in passes for o in p.outputs}
    need = set()
    for p in passes:
        for o in p.outputs:
            need.add(RENDER[o.format])
            if p.blend != "none" and o.format == "rgba32f":
                need.add(FLOAT_BLEND)
        need |= {FLOAT_LINEAR for i in p.inputs if i.filter == "linear" and written.get(i.texture) == "rgba32f"}
    return tuple(sorted(need))
