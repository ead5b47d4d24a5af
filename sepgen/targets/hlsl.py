"""HLSL: Shader Model 5 vertex/pixel shaders, cs_5_0 compute, run as SPIR-V on Vulkan."""

from __future__ import annotations

from .base import Target

HLSL = Target(
    name="hlsl", suffix="hlsl", include_suffix="hlsli",
    entry={"vertex": "vs_main", "fragment": "ps_main", "compute": "cs_main"},
    runner="vulkan",
    literal_suffix="f",  # avoids literal-double promotion
    runners=(((("scale_source", "uniform"),), "gl"), ((("scale_source", "texture"),), "gl"),  # cross-compiled to GL
             # glslang 12 gives an HLSL RWTexture2D<float4> the SPIR-V format Rgba32f, so fp16
             # compute modules do not match their rgba16f images on Vulkan: through GLSL instead
             ((("stage", "compute"), ("precision", "fp16")), "gl"),
             # the same for an --output-format other than rgba32f (issue 19)
             ((("stage", "compute"), ("output_format", "rgba16f")), "gl"),
             ((("stage", "compute"), ("output_format", "r11g11b10f")), "gl")),
    # cs_5_0 cannot load a float4 from a RWTexture2D (typed UAV loads are limited to single
    # 32-bit-component formats in D3D11.0), so no pass may add into `output`
    one_vertical_compute=True,
    limits={"uav_outputs": 8, "srv_slots": 128},
)
