"""HLSL generator: Shader Model 5 vertex/pixel shaders, cs_5_0 compute passes, a .hlsli include.

Templates: templates/hlsl/.
"""

from __future__ import annotations

from ...common.errors import SepgenError
from ...plan.passmodel import Pass
from ...targets.hlsl import HLSL
from ..generator import Generator, register


@register
class HLSLGenerator(Generator):
    # one_vertical_compute (HLSL's descriptor): cs_5_0 cannot load a float4 from a RWTexture2D,
    # so no pass may add into `output`; 128 SRV slots hold every component up to MAX_RANK.
    # GLSL compute keeps a vertical pass per group (imageLoad of rgba32f is core in GL 4.3, and
    # GL guarantees only 16 texture units per compute stage, fewer than MAX_RANK).
    language = HLSL

    def check(self, passes: list[Pass]) -> None:
        if self.options.compute and any(p.accumulate for p in passes):
            raise SepgenError("internal error: an HLSL compute pass would read its RWTexture2D output")
