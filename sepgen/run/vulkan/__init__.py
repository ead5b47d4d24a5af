"""Run emitted programs on raw Vulkan: SPIR-V (and HLSL compiled to its own SPIR-V) goes to the
driver untouched.

    from sepgen.run.vulkan import VulkanRunner, load_program
    program = load_program("out/")            # manifest.json + shaders (HLSL compiled to its own SPIR-V)
    out = VulkanRunner().run(program, img)    # SPIR-V straight to the driver (PyPI `vulkan`)

Without a GPU it finds Mesa's lavapipe (Debian `mesa-vulkan-drivers libvulkan1`).
Modules: `program` (the `GpuProgram` both this runner and `sepgen.run.webgpu` execute),
`folder` (loaded program → `GpuProgram`), `device` + `raw` (the `vulkan` package), `reflect`
(SPIR-V entry points and bindings, checked before the driver sees a module).
"""

from .device import DEBIAN_PACKAGES, quiet_mesa
from .folder import RUNNABLE_LANGS, load_program
from .program import Binding, GpuPass, GpuProgram, Shader
from .raw import VulkanRunner, check_interface

__all__ = ["Binding", "GpuPass", "GpuProgram", "Shader", "VulkanRunner", "load_program",
           "check_interface", "quiet_mesa", "DEBIAN_PACKAGES", "RUNNABLE_LANGS"]
