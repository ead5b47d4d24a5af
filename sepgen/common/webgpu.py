"""WebGPU's default limits, and limit names as wgpu-py spells them.

A manifest's `limits` (WGSL) name what its passes need beyond these defaults (emit), and the
WebGPU runner grants a device exactly the defaults raised by them (run), as a browser does.
"""

from __future__ import annotations

import re

__all__ = ["WEBGPU_DEFAULT_LIMITS", "kebab"]

# WebGPU's default limits (https://www.w3.org/TR/webgpu/#limit-default): what a device that asks
# for nothing gets in a browser
WEBGPU_DEFAULT_LIMITS = {
    "maxTextureDimension1D": 8192, "maxTextureDimension2D": 8192, "maxTextureDimension3D": 2048,
    "maxTextureArrayLayers": 256, "maxBindGroups": 4, "maxBindGroupsPlusVertexBuffers": 24,
    "maxBindingsPerBindGroup": 1000, "maxDynamicUniformBuffersPerPipelineLayout": 8,
    "maxDynamicStorageBuffersPerPipelineLayout": 4, "maxSampledTexturesPerShaderStage": 16,
    "maxSamplersPerShaderStage": 16, "maxStorageBuffersPerShaderStage": 8,
    "maxStorageTexturesPerShaderStage": 4, "maxUniformBuffersPerShaderStage": 12,
    "maxUniformBufferBindingSize": 65536, "maxStorageBufferBindingSize": 134217728,
    "minUniformBufferOffsetAlignment": 256, "minStorageBufferOffsetAlignment": 256,
    "maxVertexBuffers": 8, "maxBufferSize": 268435456, "maxVertexAttributes": 16,
    "maxVertexBufferArrayStride": 2048, "maxInterStageShaderVariables": 16,
    "maxColorAttachments": 8, "maxColorAttachmentBytesPerSample": 32,
    "maxComputeWorkgroupStorageSize": 16384, "maxComputeInvocationsPerWorkgroup": 256,
    "maxComputeWorkgroupSizeX": 256, "maxComputeWorkgroupSizeY": 256, "maxComputeWorkgroupSizeZ": 64,
    "maxComputeWorkgroupsPerDimension": 65535,
}


def kebab(name: str) -> str:
    """A WebGPU limit name as wgpu-py spells it: maxTextureDimension2D -> max-texture-dimension-2d."""
    return re.sub(r"(?<=[a-z])(?=[A-Z0-9])", "-", name).lower()
