"""Which runner executes which emit options. The rules live in the target descriptors
(`sepgen.targets`, `Target.runner_for`); this is verify's name for them (docs/targets.md)."""

from __future__ import annotations

from typing import Any

from ..options import EmitOptions

__all__ = ["backend_for", "HLSL_ON_GL"]

# glslang 12 (Debian 12) gives an HLSL RWTexture2D<float4> the SPIR-V format Rgba32f and ignores
# [[vk::image_format]], so fp16 HLSL compute modules do not match their rgba16f images on Vulkan.
HLSL_ON_GL = "HLSL compute with fp16 intermediates (glslang cannot declare an rgba16f RWTexture2D)"


def backend_for(options: dict[str, Any] | EmitOptions) -> str:
    """The runner ("gl", "webgl", "vulkan", "webgpu": `sepgen.run.registry.RUNNERS`) that
    executes these emit options."""
    return EmitOptions.from_dict(options).runner
