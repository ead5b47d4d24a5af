"""Emit a filter and run it on the driver its language targets, in one call (the run stage's
entry for verify, `sepgen apply --backend gpu` and the report). Sits above emit and the
runners: the runners themselves know nothing of emitting.

Which runner executes which target (docs/targets.md):

    glsl 330/450 -> OpenGL (glrun)          glsl 300es -> WebGL2 in headless Chromium (webglrun)
    hlsl, spirv  -> Vulkan, SPIR-V untouched (vkrun.VulkanRunner)
    wgsl         -> WebGPU on Vulkan (vkrun.WebGPURunner)
"""

from __future__ import annotations

import os
import tempfile
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import emit
from ..common.errors import SepgenError
from ..run.gl import GLRunner
from ..options import EmitOptions

if TYPE_CHECKING:  # pragma: no cover
    from ..filters.filterfile import SeparableFilter

__all__ = ["run_filter", "run_webgl_batch", "backend_for", "Runners", "BACKENDS"]

BACKENDS = {"gl": "OpenGL", "webgl": "WebGL2", "vulkan": "Vulkan", "webgpu": "WebGPU"}
# glslang 12 (Debian 12) gives an HLSL RWTexture2D<float4> the SPIR-V format Rgba32f and ignores
# [[vk::image_format]], so fp16 HLSL compute modules do not match their rgba16f images on Vulkan.
HLSL_ON_GL = "HLSL compute with fp16 intermediates (glslang cannot declare an rgba16f RWTexture2D)"


def backend_for(options: "dict[str, Any] | EmitOptions") -> str:
    """The runner ("gl", "webgl", "vulkan", "webgpu") that executes these emit options."""
    o = EmitOptions.from_dict(options)
    if o.scale_source != "auto" and o.lang in ("glsl", "hlsl"):
        return "gl"  # scaled taps read a uniform or a scale map: the GL runner binds them (HLSL cross-compiled)
    if o.lang == "glsl":
        return "webgl" if o.glsl_version == "300es" else "gl"
    if o.lang == "wgsl":
        return "webgpu"
    if o.lang == "hlsl" and o.compute and o.precision == "fp16":
        return "gl"  # HLSL_ON_GL: through SPIR-V -> GLSL instead
    return "vulkan"


class Runners:
    """One runner per backend, made on first use; `require` makes them up front (missing driver: exit 2)."""

    def __init__(self, gl: GLRunner | None = None) -> None:
        self._made: dict[str, Any] = {"gl": gl} if gl is not None else {}

    def get(self, backend: str) -> Any:
        if backend not in self._made:
            self._made[backend] = _make(backend)
        return self._made[backend]

    def require(self, backends: "set[str] | list[str]") -> None:
        for b in sorted(backends):
            self.get(b)

    def name(self, backend: str) -> str:
        """The device `backend` runs on, e.g. "llvmpipe (LLVM 15.0.6, 256 bits) (Vulkan 1.3.230)"."""
        r = self.get(backend)
        return getattr(r, "adapter_name", None) or r.renderer

    def device(self, backend: str) -> str:
        """The runner and its device, e.g. "Vulkan: llvmpipe (LLVM 15.0.6, 256 bits) (Vulkan 1.3.230)"."""
        return f"{BACKENDS[backend]}: {self.name(backend)}"

    def devices(self) -> list[str]:
        return [self.device(b) for b in BACKENDS if b in self._made]

    def run(self, backend: str, folder: str, img: np.ndarray, scale: float | np.ndarray | None = None) -> np.ndarray:
        runner = self.get(backend)
        if backend == "gl":
            return runner.run(folder, img, scale)
        if backend in ("vulkan", "webgpu"):
            from ..run.vulkan import load_program

            return runner.run(load_program(folder), img, scale)
        if scale is not None:  # scaled GLSL ES / HLSL folders route to "gl" (backend_for)
            raise SepgenError(f"the {BACKENDS[backend]} runner does not run scaled shaders")
        return runner.run(folder, img)


def _make(backend: str) -> Any:
    if backend == "gl":
        return GLRunner()
    if backend == "webgl":
        from ..run.webgl import WebGLRunner

        return WebGLRunner()
    from ..run.vulkan import VulkanRunner, WebGPURunner

    return VulkanRunner() if backend == "vulkan" else WebGPURunner()


def run_filter(filt: "SeparableFilter", img: np.ndarray, options: "dict[str, Any] | EmitOptions | None" = None,
               runner: "GLRunner | Runners | None" = None,
               templates_dir: "str | os.PathLike | None" = None, scale: float | np.ndarray | None = None) -> tuple[np.ndarray, str]:
    """Emit `filt` with these emit options (and template overrides, as `sepgen emit --templates`)
    into a temporary folder and run it on `img` (scaled shaders at `scale`: one value, or an H×W
    map with scale source "texture").

    Returns the float32 result (img's shape) and what computed it, e.g.
    "SPIRV shaders on Vulkan: llvmpipe (…)". Raises SepgenError without the driver.
    """
    runners = runner if isinstance(runner, Runners) else Runners(runner)
    opts = EmitOptions.from_dict(options)
    backend = backend_for(opts)
    with tempfile.TemporaryDirectory(prefix="sepgen-run-") as tmp:
        emit.write(emit.render(filt, opts, templates_dir=templates_dir), tmp)
        out = runners.run(backend, tmp, img, scale)
    return out, f"{opts.lang.upper()} shaders on {runners.device(backend)}"


def run_webgl_batch(filt: "SeparableFilter", img: np.ndarray, options: "list[dict[str, Any] | EmitOptions]",
                    runners: Runners, templates_dir: "str | os.PathLike | None" = None) -> "list[np.ndarray | SepgenError]":
    """GLSL ES 300 option sets of one filter in a single browser start (a start costs seconds):
    per set the result, or the SepgenError its emit or run raised."""
    from ..common.errors import SepgenError

    with tempfile.TemporaryDirectory(prefix="sepgen-webgl-batch-") as tmp:
        folders: list[str | SepgenError] = []
        for i, o in enumerate(options):
            folder = f"{tmp}/{i}"
            try:
                emit.write(emit.render(filt, EmitOptions.from_dict(o), templates_dir=templates_dir), folder)
                folders.append(folder)
            except SepgenError as exc:
                folders.append(exc)
        ran = iter(runners.get("webgl").run_many([f for f in folders if isinstance(f, str)], img))
        return [next(ran) if isinstance(f, str) else f for f in folders]
