"""SPIR-V: Vulkan GLSL 450 sources (the GLSL templates) and the `.spv` modules glslang makes."""

from __future__ import annotations

from .base import Target

SPIRV = Target(
    name="spirv", suffix="spv", include_suffix="glsl",
    entry=dict.fromkeys(("vertex", "fragment", "compute"), "main"),
    runner="vulkan",
    templates="glsl",
    filterable=("rgba16f",),  # RGBA32F linear filtering is a per-device format feature
)
