"""Which runner executes which emit options: the one place that knows it (docs/targets.md).

    glsl 330/450 -> "gl": OpenGL                glsl 300es -> "webgl": WebGL2 in headless Chromium
    hlsl, spirv  -> "vulkan": SPIR-V untouched  wgsl       -> "webgpu": WebGPU on Vulkan
    scaled GLSL/HLSL, fp16 HLSL compute -> "gl" (HLSL cross-compiled)

(This knowledge belongs in the target descriptors; until they exist it lives here alone.)
"""

from __future__ import annotations

from typing import Any

from ..options import EmitOptions

__all__ = ["backend_for", "HLSL_ON_GL"]

# glslang 12 (Debian 12) gives an HLSL RWTexture2D<float4> the SPIR-V format Rgba32f and ignores
# [[vk::image_format]], so fp16 HLSL compute modules do not match their rgba16f images on Vulkan.
HLSL_ON_GL = "HLSL compute with fp16 intermediates (glslang cannot declare an rgba16f RWTexture2D)"


def backend_for(options: "dict[str, Any] | EmitOptions") -> str:
    """The runner ("gl", "webgl", "vulkan", "webgpu": `sepgen.run.registry.RUNNERS`) that executes these emit options."""
    o = EmitOptions.from_dict(options)
    if o.scale_source != "auto" and o.lang in ("glsl", "hlsl"):
        return "gl"  # scaled taps read a uniform or a scale map: the GL runner binds them (HLSL cross-compiled)
    if o.lang == "glsl":
        return "webgl" if o.glsl_version == "300es" else "gl"
    if o.lang == "wgsl":
        return "webgpu"
    if o.lang == "hlsl" and o.compute and o.precision == "fp16":
        return "gl"  # HLSL_ON_GL: through SPIR-V -> GLSL instead
    return "vulkan"
