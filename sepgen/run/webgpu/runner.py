"""Run passes on Vulkan through WebGPU (wgpu-py; Mesa's lavapipe when there is no GPU).

The runner executes a `GpuProgram`: textures by name and passes in order, each pass a
fullscreen triangle (vertex + fragment shader, one colour attachment per target) or a
compute dispatch, with its resources declared as (group, binding) entries. Shaders are
WGSL text or SPIR-V bytes (GLSL 450 or HLSL compiled by glslang). The source image is
uploaded as rgba32float; the output texture is read back as float32.

    runner = WebGPURunner()                       # one adapter and device, reusable
    out = runner.run(program, img)                # a loaded program, a GpuProgram or a folder; H×W(×C) float32
    out = runner.run(program, img, scale=0.5)     # scaled passes: a value, or an H×W scale map
    runner.validate_wgsl(text, "blur_h.wgsl")     # naga's verdict, one line with line:column

SPIR-V: wgpu-native 0.32 cannot pass SPIR-V straight to the driver (its PASSTHROUGH_SHADERS
feature is not exposed, and requesting it is silently dropped), so SPIR-V modules go
through naga's SPIR-V front end, which validates them and writes SPIR-V again for the
Vulkan driver. sepgen therefore runs SPIR-V on `sepgen.run.vulkan.VulkanRunner` (the module
untouched) and uses this runner for WGSL. Programs are the Vulkan runner's `GpuProgram`s.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ...common.errors import CheckFailed, SepgenError
from ...common.images import check_image, to_rgba
from ..program import Program, Scale
from ..vulkan.device import DEBIAN_PACKAGES, quiet_mesa
from ..vulkan.folder import load_program
from ..vulkan.program import GpuProgram, Shader
from .execution import Execution
from .messages import first_line, validator_message

DISPLAY = "WebGPU"
NATIVE_BACKENDS = ("Vulkan", "Metal", "D3D12")  # wgpu's GL backend would run SPIR-V as translated GLSL
OPTIONAL_FEATURES = ("float32-filterable", "float32-blendable", "texture-adapter-specific-format-features")

__all__ = ["WebGPURunner"]


def _request_adapter() -> Any:
    quiet_mesa()
    try:
        import wgpu
    except ImportError:
        raise SepgenError("wgpu is not installed (pip install wgpu)") from None
    _native_backends_only()
    try:
        adapters = wgpu.gpu.enumerate_adapters_sync()
    except Exception as exc:  # wgpu-native raises plain errors when no loader or driver is found
        raise SepgenError(f"no Vulkan/WebGPU adapter ({first_line(exc)}); install the Debian packages {DEBIAN_PACKAGES}") from None
    native = [a for a in adapters if a.info.get("backend_type") in NATIVE_BACKENDS]
    if not native:
        found = ", ".join(sorted({str(a.info.get("backend_type")) for a in adapters})) or "none"
        raise SepgenError(f"no Vulkan/WebGPU adapter (found: {found}); install the Debian packages {DEBIAN_PACKAGES}")
    rank = {"DiscreteGPU": 0, "IntegratedGPU": 1, "VirtualGPU": 2, "CPU": 3}
    return min(native, key=lambda a: rank.get(str(a.info.get("adapter_type")), 4))


def _native_backends_only() -> None:
    """Keep wgpu off its GL backend: enumerating it makes an EGL context current and so
    breaks a moderngl context in the same process (verify runs both)."""
    try:
        from wgpu.backends.wgpu_native.extras import set_instance_extras

        set_instance_extras(backends=["Primary"])  # Vulkan, Metal, DX12
    except Exception:  # an instance already exists (it keeps its backends) or an older wgpu
        pass


class WebGPURunner:
    """One WebGPU device on a Vulkan (or Metal/D3D12) adapter that runs `GpuProgram`s.
    A `sepgen.run.registry.Runner`."""

    name = "webgpu"  # its key in sepgen.run.registry.RUNNERS

    def __init__(self) -> None:
        self.adapter = _request_adapter()
        self.features = tuple(f for f in OPTIONAL_FEATURES if f in self.adapter.features)
        # The adapter's own limits: rgba32f MRT needs 16 bytes per target, WebGPU's default is 32 in all.
        limits = {k: v for k, v in self.adapter.limits.items() if k.startswith("max-")}
        self.gpu_device = self.adapter.request_device_sync(required_features=list(self.features), required_limits=limits)

    @property
    def adapter_name(self) -> str:
        info = self.adapter.info
        return f"{info.get('device') or info.get('vendor') or '?'} ({info.get('backend_type')}, {info.get('description') or 'no driver info'})"

    @property
    def device(self) -> str:
        return f"{DISPLAY}: {self.adapter_name}"

    def shader_module(self, shader: Shader) -> Any:
        """Compile (and validate) a module; a rejected one raises CheckFailed with the validator's first message."""
        try:
            return self.gpu_device.create_shader_module(label=shader.label, code=shader.code)
        except Exception as exc:  # GPUValidationError, ValueError for bytes that are not SPIR-V
            raise CheckFailed(f"{shader.label}: {validator_message(str(exc))}") from None

    def validate_wgsl(self, text: str, label: str) -> None:
        self.shader_module(Shader(text, "main", label))

    def run(self, program: "Program | GpuProgram | str | os.PathLike", img: np.ndarray, scale: Scale = None) -> np.ndarray:
        """Filter `img` (H×W or H×W×C) with `program`; the result has img's shape, float32.
        A scaled program runs at `scale`: one value, or an H×W map (scale source "texture")."""
        arr = check_image(img)
        program = load_program(program)
        extra = program.scale_inputs(scale, arr.shape[0], arr.shape[1])
        ex = Execution(self.gpu_device, self.features, self.shader_module, program, arr.shape[1], arr.shape[0])
        ex.upload(to_rgba(arr))
        for name, data in extra.textures.items():
            ex.upload(data, name)
        if extra.uniform is not None:
            ex.write_uniform(extra.uniform)
        ex.execute()
        out = ex.read()
        return out[:, :, 0] if arr.ndim == 2 else out[:, :, : arr.shape[2]].copy()
