"""HLSL generator: Shader Model 5 vertex/pixel shaders, cs_5_0 compute passes, a .hlsli include.

Templates: templates/hlsl/.

Every resource has its Vulkan `[[vk::binding(N, 0)]]` beside its D3D `register()` (the
shared scheme of docs/targets.md: tK -> K, sK -> 64 + K, uK -> 128 + K, the scale cbuffer
-> 192), so DXC, Slang and glslang bind alike (Slang and DXC otherwise put t0, s0 and u0 on
one binding); D3D compilers ignore `vk::` attributes. Entry points carry `[shader("...")]`,
so library compilation (Slang, DXC `-T lib_6_x`) finds them by name.
"""

from __future__ import annotations

from typing import Any

from ...common.errors import SepgenError
from ...common.tools import SAMPLER_BASE, STORAGE_BASE, TEXTURE_BASE, UNIFORM_BASE
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
    # the Vulkan binding of register K of each kind, in descriptor set `set` (before --binding-offset)
    vk = {"set": 0, "texture": TEXTURE_BASE, "sampler": SAMPLER_BASE, "storage": STORAGE_BASE, "uniform": UNIFORM_BASE}

    def target(self) -> dict[str, Any]:
        shift = self.options.binding_offset
        vk = {k: v + shift for k, v in self.vk.items() if k != "set"}
        return {**super().target(), "vk": {"set": self.options.descriptor_set, **vk}}

    def check(self, passes: list[Pass]) -> None:
        if self.options.compute and any(p.accumulate for p in passes):
            raise SepgenError("internal error: an HLSL compute pass would read its RWTexture2D output")
