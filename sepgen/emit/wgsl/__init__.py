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
from ...targets.wgsl import WGSL
from ..generator import Generator, register
from ..vulkan_bindings import UNIFORM_BASE, vulkan_bindings

MAX_SAMPLED_TEXTURES = WGSL.limits["sampled_textures"]  # WebGPU's guaranteed maxSampledTexturesPerShaderStage
STORAGE_FORMATS = {"rgba32f": "rgba32float", "rgba16f": "rgba16float"}  # no rg11b10ufloat storage in WebGPU


@register
class WGSLGenerator(Generator):
    language = WGSL

    def target(self) -> dict[str, Any]:
        return {"lang": self.name, "entry": self.entry, "formats": STORAGE_FORMATS}

    def scale_binding(self) -> dict[str, int]:
        return {"set": self.options.descriptor_set, "binding": self.options.binding_offset + UNIFORM_BASE}

    def bind(self, p: Pass) -> Pass:
        return vulkan_bindings(p, self.options.descriptor_set, self.options.binding_offset)

    def check(self, passes: list[Pass]) -> None:
        widest = max(len(p.inputs) for p in passes)
        if self.options.compute and widest > MAX_SAMPLED_TEXTURES:
            raise SepgenError(f"WGSL compute reads all {widest} components in one pass; WebGPU guarantees "
                              f"{MAX_SAMPLED_TEXTURES} textures per stage: use --stage fragment for this rank")
