"""WGSL: WebGPU, run by wgpu on Vulkan."""

from __future__ import annotations

from .base import Constraint, Feature, Needs, Target

WEBGPU = Feature(render={"r11g11b10f": "rg11b10ufloat-renderable"},  # rgba32f/16f render in core
                 linear="float32-filterable", blend="float32-blendable",
                 header="needs the WebGPU device features {names} (request them with the device)")

WGSL = Target(
    name="wgsl", suffix="wgsl", include_suffix="wgsl",
    entry={"vertex": "vs_main", "fragment": "fs_main", "compute": "cs_main"},
    runner="webgpu",
    literal_suffix="f",  # f32 literals, never abstract floats that an expression could widen
    filterable=("rgba16f",),  # rgba32float only with float32-filterable
    needs=(Needs((), WEBGPU),),
    constraints=(Constraint((("stage", "compute"),), (("output_format", "r11g11b10f"),),
                            "WebGPU has no rg11b10ufloat storage textures: use --output-format rgba16f "
                            "or --stage fragment with --lang wgsl --output-format r11g11b10f"),),
    # core WebGPU has no read-write rgba32float storage texture: no pass may add into `output`
    one_vertical_compute=True,
    max_workgroup_invocations=256,  # WebGPU's default maxComputeInvocationsPerWorkgroup
    limits={"sampled_textures": 16},  # maxSampledTexturesPerShaderStage
)
