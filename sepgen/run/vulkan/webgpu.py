"""Run passes on Vulkan through WebGPU (wgpu-py; Mesa's lavapipe when there is no GPU).

The runner executes a `GpuProgram`: textures by name and passes in order, each pass a
fullscreen triangle (vertex + fragment shader, one colour attachment per target) or a
compute dispatch, with its resources declared as (group, binding) entries. Shaders are
WGSL text or SPIR-V bytes (GLSL 450 or HLSL compiled by glslang). The source image is
uploaded as rgba32float; the output texture is read back as float32.

    runner = WebGPURunner()                       # one adapter and device, reusable
    out = runner.run(program, img)                # H×W(×C) float32 → same shape
    out = runner.run(program, img, scale=0.5)     # scaled passes: a value, or an H×W scale map
    runner.validate_wgsl(text, "blur_h.wgsl")     # naga's verdict, one line with line:column

SPIR-V: wgpu-native 0.32 cannot pass SPIR-V straight to the driver (its PASSTHROUGH_SHADERS
feature is not exposed, and requesting it is silently dropped), so SPIR-V modules go
through naga's SPIR-V front end, which validates them and writes SPIR-V again for the
Vulkan driver. sepgen therefore runs SPIR-V on `raw.VulkanRunner` (the module untouched) and
uses this runner for WGSL.
"""

from __future__ import annotations

import os
import re
import tempfile
from typing import Any

import numpy as np

from ...common.errors import CheckFailed, SepgenError
from ...common.images import check_image, to_rgba
from .program import GpuProgram, Shader, scale_inputs

DEBIAN_PACKAGES = "mesa-vulkan-drivers libvulkan1"
NATIVE_BACKENDS = ("Vulkan", "Metal", "D3D12")  # wgpu's GL backend would run SPIR-V as translated GLSL
OPTIONAL_FEATURES = ("float32-filterable", "float32-blendable", "texture-adapter-specific-format-features")

__all__ = ["WebGPURunner", "quiet_mesa", "validator_message", "DEBIAN_PACKAGES"]


def quiet_mesa() -> None:
    """Mesa's Vulkan driver warns on stderr when XDG_RUNTIME_DIR is unset: give it a private one."""
    current = os.environ.get("XDG_RUNTIME_DIR")
    if not current or not os.path.isdir(current):
        os.environ["XDG_RUNTIME_DIR"] = tempfile.mkdtemp(prefix="sepgen-xdg-")


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


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
        raise SepgenError(f"no Vulkan/WebGPU adapter ({_first_line(exc)}); install the Debian packages {DEBIAN_PACKAGES}") from None
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
    """One WebGPU device on a Vulkan (or Metal/D3D12) adapter that runs `GpuProgram`s."""

    def __init__(self) -> None:
        self.adapter = _request_adapter()
        self.features = tuple(f for f in OPTIONAL_FEATURES if f in self.adapter.features)
        # The adapter's own limits: rgba32f MRT needs 16 bytes per target, WebGPU's default is 32 in all.
        limits = {k: v for k, v in self.adapter.limits.items() if k.startswith("max-")}
        self.device = self.adapter.request_device_sync(required_features=list(self.features), required_limits=limits)

    @property
    def adapter_name(self) -> str:
        info = self.adapter.info
        return f"{info.get('device') or info.get('vendor') or '?'} ({info.get('backend_type')}, {info.get('description') or 'no driver info'})"

    def shader_module(self, shader: Shader) -> Any:
        """Compile (and validate) a module; a rejected one raises CheckFailed with the validator's first message."""
        try:
            return self.device.create_shader_module(label=shader.label, code=shader.code)
        except Exception as exc:  # GPUValidationError, ValueError for bytes that are not SPIR-V
            raise CheckFailed(f"{shader.label}: {validator_message(str(exc))}") from None

    def validate_wgsl(self, text: str, label: str) -> None:
        self.shader_module(Shader(text, "main", label))

    def run(self, program: GpuProgram, img: np.ndarray, scale: "float | np.ndarray | None" = None) -> np.ndarray:
        """Filter `img` (H×W or H×W×C) with `program`; the result has img's shape, float32.
        A scaled program runs at `scale`: one value, or an H×W map (scale source "texture")."""
        from .webgpu_exec import Execution

        arr = check_image(img)
        extra = scale_inputs(program, scale, arr.shape[0], arr.shape[1])
        ex = Execution(self, program, arr.shape[1], arr.shape[0])
        ex.upload(to_rgba(arr))
        for name, data in extra.textures.items():
            ex.upload(data, name)
        if extra.uniform is not None:
            ex.write_uniform(extra.uniform)
        ex.execute()
        out = ex.read()
        return out[:, :, 0] if arr.ndim == 2 else out[:, :, : arr.shape[2]].copy()


def validator_message(log: str) -> str:
    """naga's first error with its line and column, from wgpu's multi-line report."""
    lines = [line.rstrip() for line in log.splitlines() if line.strip()]
    message = next((ln.split("error:", 1)[1].strip() for ln in lines if "error:" in ln), None)
    where = next((m for ln in lines if (m := re.search(r":(\d+):(\d+)\s*$", ln.strip()))), None)
    if message is None:
        message = lines[-1].strip() if lines else "rejected"
    return f"line {where.group(1)} column {where.group(2)}: {message}" if where else message
