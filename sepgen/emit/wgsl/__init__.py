"""WGSL generator (WebGPU): fragment passes with a fullscreen-triangle vertex stage, compute
passes with a workgroup tile, an include-style module. Templates: templates/wgsl/.

Resources follow the shared Vulkan/WebGPU layout (`vulkan_bindings`). Compute plans end in
one vertical pass reading every component, as in HLSL: core WebGPU has no read-write
rgba32float storage texture, so no pass may add into `output`.
"""

from __future__ import annotations

from typing import Any

from ...common.errors import SepgenError
from ...plan.passmodel import Pass
from ..generator import Generator, register
from ..vulkan_bindings import UNIFORM_BASE, vulkan_bindings

MAX_SAMPLED_TEXTURES = 16  # WebGPU's guaranteed maxSampledTexturesPerShaderStage
STORAGE_FORMATS = {"rgba32f": "rgba32float", "rgba16f": "rgba16float"}


@register
class WGSLGenerator(Generator):
    name = "wgsl"
    suffix = "wgsl"
    include_suffix = "wgsl"
    entry = {"vertex": "vs_main", "fragment": "fs_main", "compute": "cs_main"}
    literal_suffix = "f"  # f32 literals, never abstract floats that an expression could widen
    one_vertical_compute = True
    max_workgroup_invocations = 256  # WebGPU's default maxComputeInvocationsPerWorkgroup

    def target(self) -> dict[str, Any]:
        return {"lang": self.name, "entry": self.entry, "formats": STORAGE_FORMATS}

    def scale_binding(self) -> dict[str, int]:
        return {"set": 0, "binding": UNIFORM_BASE}

    def bind(self, p: Pass) -> Pass:
        return vulkan_bindings(p)

    def check(self, passes: list[Pass]) -> None:
        widest = max(len(p.inputs) for p in passes)
        if self.options.compute and widest > MAX_SAMPLED_TEXTURES:
            raise SepgenError(f"WGSL compute reads all {widest} components in one pass; WebGPU guarantees "
                              f"{MAX_SAMPLED_TEXTURES} textures per stage: use --stage fragment for this rank")
