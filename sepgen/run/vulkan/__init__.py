"""Run emitted folders on Vulkan: WGSL through WebGPU (wgpu-py), SPIR-V on raw Vulkan, untouched.

    from sepgen.run.vulkan import VulkanRunner, WebGPURunner, load_program
    program = load_program("out/")            # manifest.json + shaders (HLSL compiled to its own SPIR-V)
    out = VulkanRunner().run(program, img)    # SPIR-V straight to the driver (PyPI `vulkan`)
    out = WebGPURunner().run(program, img)    # WGSL (or SPIR-V through naga) on a WebGPU adapter

Without a GPU both find Mesa's lavapipe (Debian `mesa-vulkan-drivers libvulkan1`).
Modules: `program` (what runs), `folder` (emitted folder → program), `webgpu` +
`webgpu_exec` (wgpu-py), `device` + `raw` (the `vulkan` package), `reflect` (SPIR-V
entry points and bindings, checked before the driver sees a module).
"""

from .folder import RUNNABLE_LANGS, load_program
from .program import Binding, GpuPass, GpuProgram, Shader
from .raw import VulkanRunner, check_interface
from .webgpu import DEBIAN_PACKAGES, WebGPURunner, quiet_mesa, validator_message

__all__ = ["Binding", "GpuPass", "GpuProgram", "Shader", "VulkanRunner", "WebGPURunner", "load_program",
           "check_interface", "quiet_mesa", "validator_message", "DEBIAN_PACKAGES", "RUNNABLE_LANGS"]
