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

Devices: like a browser, the runner grants a program exactly the device features and limits
its manifest declares (`extensions`, `limits`) on top of WebGPU's defaults, never the
adapter's own, so a program that needs more than it declares fails here as it would in a
browser. One device per distinct request, reused.

SPIR-V: wgpu-native 0.32 cannot pass SPIR-V straight to the driver (its PASSTHROUGH_SHADERS
feature is not exposed, and requesting it is silently dropped), so SPIR-V modules go
through naga's SPIR-V front end, which validates them and writes SPIR-V again for the
Vulkan driver. sepgen therefore runs SPIR-V on `sepgen.run.vulkan.VulkanRunner` (the module
untouched) and uses this runner for WGSL. Programs are the Vulkan runner's `GpuProgram`s.
"""

from __future__ import annotations

import functools
import os
from typing import Any

import numpy as np

from ...common.errors import CheckFailed, SepgenError
from ...common.images import check_image, to_rgba
from ...common.webgpu import WEBGPU_DEFAULT_LIMITS, kebab as _kebab
from ..program import Program, Scale
from ..vulkan.device import DEBIAN_PACKAGES, quiet_mesa
from ..vulkan.folder import load_program
from ..vulkan.program import GpuProgram, Shader
from .execution import Execution
from .messages import first_line, validator_message

DISPLAY = "WebGPU"
NATIVE_BACKENDS = ("Vulkan", "Metal", "D3D12")  # wgpu's GL backend would run SPIR-V as translated GLSL

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
        raise SepgenError(f"no Vulkan/WebGPU adapter ({first_line(exc)}); "
                          f"install the Debian packages {DEBIAN_PACKAGES}") from None
    native = [a for a in adapters if a.info.get("backend_type") in NATIVE_BACKENDS]
    if not native:
        found = ", ".join(sorted({str(a.info.get("backend_type")) for a in adapters})) or "none"
        raise SepgenError(f"no Vulkan/WebGPU adapter (found: {found}); install the Debian packages {DEBIAN_PACKAGES}")
    rank = {"DiscreteGPU": 0, "IntegratedGPU": 1, "VirtualGPU": 2, "CPU": 3}
    return min(native, key=lambda a: rank.get(str(a.info.get("adapter_type")), 4))


def _grants(has: Any, name: str, value: int) -> bool:
    """Whether an adapter limit `has` allows `value` (min-* limits are better lower)."""
    if not isinstance(has, int):
        return False
    return has <= value if name.startswith("min-") else has >= value


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
        self._devices: dict[tuple[tuple[str, ...], tuple[tuple[str, int], ...]], Any] = {}
        self.gpu_device = self.device_for((), {})  # WebGPU's defaults: what validate_wgsl uses

    def device_for(self, features: tuple[str, ...], limits: dict[str, int]) -> Any:
        """A device with exactly `features` and the default limits raised to `limits` (WebGPU names)."""
        key = (tuple(sorted(features)), tuple(sorted(limits.items())))
        if key not in self._devices:
            missing = [f for f in key[0] if f not in self.adapter.features]
            if missing:
                raise SepgenError(f"the adapter {self.adapter_name} lacks the WebGPU features {', '.join(missing)}")
            # wgpu-py fills the limits a request leaves out with the adapter's: name every default
            defaults = {_kebab(k): v for k, v in WEBGPU_DEFAULT_LIMITS.items() if _kebab(k) in self.adapter.limits}
            wanted = {_kebab(k): v for k, v in key[1]}
            short = [f"{k}={v} (has {self.adapter.limits.get(k)})" for k, v in wanted.items()
                     if not _grants(self.adapter.limits.get(k), k, v)]
            if short:
                raise SepgenError(f"the adapter {self.adapter_name} cannot grant the WebGPU limits {', '.join(short)}")
            self._devices[key] = self.adapter.request_device_sync(required_features=list(key[0]),
                                                                  required_limits={**defaults, **wanted})
        return self._devices[key]

    @property
    def adapter_name(self) -> str:
        info = self.adapter.info
        return (f"{info.get('device') or info.get('vendor') or '?'} "
                f"({info.get('backend_type')}, {info.get('description') or 'no driver info'})")

    @property
    def device(self) -> str:
        return f"{DISPLAY}: {self.adapter_name}"

    def shader_module(self, shader: Shader, device: Any = None) -> Any:
        """Compile (and validate) a module on `device` (the default one); a rejected one raises
        CheckFailed with the validator's first message."""
        try:
            return (device or self.gpu_device).create_shader_module(label=shader.label, code=shader.code)
        except Exception as exc:  # GPUValidationError, ValueError for bytes that are not SPIR-V
            raise CheckFailed(f"{shader.label}: {validator_message(str(exc))}") from None

    def validate_wgsl(self, text: str, label: str) -> None:
        self.shader_module(Shader(text, "main", label))

    def run(self, program: Program | GpuProgram | str | os.PathLike, img: np.ndarray,
            scale: Scale = None) -> np.ndarray:
        """Filter `img` (H×W or H×W×C) with `program`; the result has img's shape, float32.
        A scaled program runs at `scale`: one value, or an H×W map (scale source "texture")."""
        arr = check_image(img)
        program = load_program(program)
        extra = program.scale_inputs(scale, arr.shape[0], arr.shape[1])
        device = self.device_for(program.features, program.limits)
        ex = Execution(device, program.features, functools.partial(self.shader_module, device=device), program,
                       arr.shape[1], arr.shape[0])
        ex.upload(to_rgba(arr))
        for name, data in extra.textures.items():
            ex.upload(data, name)
        if extra.uniform is not None:
            ex.write_uniform(extra.uniform)
        ex.execute()
        out = ex.read()
        return out[:, :, 0] if arr.ndim == 2 else out[:, :, : arr.shape[2]].copy()
