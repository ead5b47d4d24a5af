"""HLSL generator: Shader Model 5 vertex/pixel shaders, cs_5_0 compute passes, a .hlsli include.

Templates: templates/hlsl/.
"""

from __future__ import annotations

from ...common.errors import SepgenError
from ...plan.passmodel import Pass
from ..generator import Generator, register


@register
class HLSLGenerator(Generator):
    name = "hlsl"
    suffix = "hlsl"
    include_suffix = "hlsli"
    entry = {"vertex": "vs_main", "fragment": "ps_main", "compute": "cs_main"}
    literal_suffix = "f"  # avoids literal-double promotion
    # cs_5_0 cannot load a float4 from a RWTexture2D (typed UAV loads are limited to single
    # 32-bit-component formats in D3D11.0), so no pass may add into `output`; 128 SRV slots
    # hold every component up to MAX_RANK. GLSL compute keeps a vertical pass per group
    # (imageLoad of rgba32f is core in GL 4.3, and GL guarantees only 16 texture units
    # per compute stage, fewer than MAX_RANK).
    one_vertical_compute = True

    def check(self, passes: list[Pass]) -> None:
        if self.options.compute and any(p.accumulate for p in passes):
            raise SepgenError("internal error: an HLSL compute pass would read its RWTexture2D output")
