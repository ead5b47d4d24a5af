"""Run emitted WGSL on Vulkan (or Metal, D3D12) through WebGPU: wgpu-py, Mesa's lavapipe without a GPU.

    from sepgen.run.webgpu import WebGPURunner
    out = WebGPURunner().run(program, img)     # a loaded program, the Vulkan runner's GpuProgram or a folder

Modules: `runner` (adapter, device, `run`), `execution` (one program on one device for one
image size: textures, pipelines, bind groups), `messages` (wgpu's reports as one line).
"""

from .messages import validator_message
from .runner import WebGPURunner

__all__ = ["WebGPURunner", "validator_message"]
