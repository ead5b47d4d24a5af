"""The runners by name, and the one interface they share.

    runner = make("vulkan")                  # a new runner (a device, a context or a browser)
    runner.device                            # "Vulkan: llvmpipe (LLVM 15.0.6, 256 bits) (Vulkan 1.3.230)"
    out = runner.run(load("out/"), img)      # the same call on every runner

Runners are imported when made: the GL runner needs moderngl, Vulkan the `vulkan` package,
WebGPU wgpu, WebGL2 Chromium; none of them is imported to name the others.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

import numpy as np

from ..common.errors import SepgenError
from .program import Program, Scale

RUNNERS = {"gl": "OpenGL", "webgl": "WebGL2", "vulkan": "Vulkan", "webgpu": "WebGPU"}  # name -> what it runs on
# name -> the Debian packages (without a GPU driver: Mesa's llvmpipe/lavapipe, Chromium's
# SwiftShader) and the Python package each runner needs; what `sepgen runners` and verify name
DEBIAN_PACKAGES = {"gl": ("libegl1", "libegl-mesa0", "libgl1-mesa-dri"), "webgl": ("chromium",),
                   "vulkan": ("libvulkan1", "mesa-vulkan-drivers"), "webgpu": ("libvulkan1", "mesa-vulkan-drivers")}
PYTHON_PACKAGES = {"gl": "moderngl", "webgl": None, "vulkan": "vulkan", "webgpu": "wgpu"}

__all__ = ["Runner", "BatchRunner", "RUNNERS", "DEBIAN_PACKAGES", "PYTHON_PACKAGES", "make"]


@runtime_checkable
class Runner(Protocol):
    """What verify, apply and the report need of a runner."""

    name: str  # its key in RUNNERS: "gl", "webgl", "vulkan", "webgpu"

    @property
    def device(self) -> str:
        """The runner and its device, e.g. "Vulkan: llvmpipe (LLVM 15.0.6, 256 bits) (Vulkan 1.3.230)"."""
        ...

    def run(self, program: Program, img: np.ndarray, scale: Scale = None) -> np.ndarray:
        """`img` (H×W or H×W×C float) filtered by the program's passes: img's shape, float32.
        A scaled program needs `scale` (one value, or an H×W map for a texture source); an
        unscaled one refuses any (`Program.scale_inputs`)."""
        ...


@runtime_checkable
class BatchRunner(Runner, Protocol):
    """A runner that runs several programs in one go for less than one at a time (WebGL2: one
    browser start)."""

    def run_many(self, programs: list[Program], img: np.ndarray,
                 scales: list[Scale] | None = None) -> list[np.ndarray | SepgenError]:
        """Each program on `img` (at its scale): its result, or the SepgenError it raised."""
        ...


def _gl() -> Runner:
    from .gl import GLRunner

    return GLRunner()


def _webgl() -> Runner:
    from .webgl import WebGLRunner

    return WebGLRunner()


def _vulkan() -> Runner:
    from .vulkan import VulkanRunner

    return VulkanRunner()


def _webgpu() -> Runner:
    from .webgpu import WebGPURunner

    return WebGPURunner()


_FACTORIES: dict[str, Callable[[], Runner]] = {"gl": _gl, "webgl": _webgl, "vulkan": _vulkan, "webgpu": _webgpu}


def make(name: str) -> Runner:
    """A new runner of this name (a key of RUNNERS); a missing driver is a one-line SepgenError."""
    if name not in _FACTORIES:
        raise SepgenError(f"unknown runner {name!r} (known: {', '.join(RUNNERS)})")
    return _FACTORIES[name]()
