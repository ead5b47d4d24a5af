"""Shared test fixtures and filter factories.

One CI rule for everything a test needs from the machine (a GL context, glslangValidator,
spirv-cross, Chromium): without it the test is skipped — unless the environment has CI=true, where
the missing piece fails the run instead of silently skipping (`unavailable`).

The `gpu` marker: tests that run shaders on a driver: OpenGL (Mesa llvmpipe via EGL when
there is no GPU; the one GL context of the session, `gl_context`), Vulkan (`vulkan_runner`:
raw SPIR-V, `webgpu_runner`: WGSL; lavapipe without a GPU) or WebGL2 (`webgl_runner`:
headless Chromium on SwiftShader). Each follows the CI rule above.

Filter factories (`random_filter`, `sparse_filter`, `hand_filter`, `disk_filter`) are plain functions so
that test modules can build filters at import time: `from conftest import sparse_filter`.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

from sepgen.filters.filterfile import SeparableFilter

ROOT = Path(__file__).resolve().parent.parent
DISK = ROOT / "tests" / "data" / "disk50_rank4.json"


def pytest_configure(config) -> None:
    """Fits in tests compile into a throw-away JAX cache, not the user's ~/.cache (unless
    SEPGEN_JAX_CACHE says where, e.g. a CI cache folder kept between runs); build records
    go to a throw-away XDG_CACHE_HOME."""
    if "SEPGEN_JAX_CACHE" not in os.environ:
        folder = tempfile.mkdtemp(prefix="sepgen-test-jax-")
        os.environ["SEPGEN_JAX_CACHE"] = folder
        atexit.register(shutil.rmtree, folder, True)
    # `sepgen build` records its last build under $XDG_CACHE_HOME/sepgen/build: a throw-away one too
    folder = tempfile.mkdtemp(prefix="sepgen-test-xdg-")
    os.environ["XDG_CACHE_HOME"] = folder
    atexit.register(shutil.rmtree, folder, True)


def _ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


def unavailable(message: str) -> None:
    """Skip the test, or fail it with CI=true: the one rule for missing drivers and tools."""
    if _ci():
        pytest.fail(f"CI=true and {message}", pytrace=False)
    pytest.skip(message)


# -- filters ------------------------------------------------------------------------------------

def random_filter(name: str, rank: int, shape: tuple[int, int], origin=None, seed: int = 0,
                  positive: float | None = None) -> SeparableFilter:
    """Dense random components (normal, or uniform + `positive`): asymmetric, so a flipped or
    shifted tap changes the result."""
    rng = np.random.default_rng(seed)
    draw = (lambda s: rng.random(s) + positive) if positive is not None else rng.standard_normal
    v, h = draw((rank, shape[0])), draw((rank, shape[1]))
    return SeparableFilter(name, v.T @ h, v, h, origin=origin)


def sparse_filter(name: str, rank: int, shape: tuple[int, int], origin=None, seed: int = 0,
                  zeros: tuple[float, float] = (0.3, 0.3), positive_h: bool = False) -> SeparableFilter:
    """Normal taps with about `zeros` (vertical, horizontal) of them exactly zero."""
    rng = np.random.default_rng(seed)
    v = rng.normal(size=(rank, shape[0])) * (rng.random((rank, shape[0])) > zeros[0])
    h = rng.normal(size=(rank, shape[1]))
    h = (np.abs(h) if positive_h else h) * (rng.random((rank, shape[1])) > zeros[1])
    return SeparableFilter(name, np.einsum("ki,kj->ij", v, h), v, h, origin=origin)


def hand_filter(rank: int = 3, shape: tuple[int, int] = (9, 7), origin: tuple[int, int] | None = (3, 5),
                seed: int = 1, name: str = "hand") -> SeparableFilter:
    """Random signs and magnitudes, about a third of the taps exactly zero."""
    f = sparse_filter(name, rank, shape, origin, seed, zeros=(0.35, 0.35))
    v, h = f.vertical.copy(), f.horizontal.copy()
    v[:, 0] = 0.0  # whole offsets with no tap in any component
    h[:, -1] = 0.0
    return SeparableFilter(name, np.einsum("ki,kj->ij", v, h), v, h, origin=origin)


def disk_filter() -> SeparableFilter:
    """The committed rank-4 fit of the seed's 50x50 disk (the goldens' filter)."""
    return SeparableFilter.load(DISK)


# -- machine capabilities ---------------------------------------------------------------------

@pytest.fixture(scope="session")
def gl_context():
    """A headless moderngl context for the whole session (skips or fails without a driver)."""
    from sepgen.common.errors import SepgenError
    from sepgen.run.gl import create_context

    try:
        ctx = create_context()
    except SepgenError as exc:
        unavailable(f"no OpenGL context: {exc}")
    yield ctx
    ctx.release()


@pytest.fixture
def gl_runner(gl_context):
    from sepgen.run.gl import GLRunner

    return GLRunner(ctx=gl_context)


@pytest.fixture(autouse=True)
def _gpu_marker(request):
    """Tests marked `gpu` need the GL context even if they do not ask for it."""
    if request.node.get_closest_marker("gpu") is not None:
        request.getfixturevalue("gl_context")


@pytest.fixture(scope="session")
def cross_tools():
    """glslangValidator and spirv-cross (HLSL runs through them)."""
    from sepgen.common.errors import SepgenError
    from sepgen.common.tools import CROSS_TOOLS, require_tool

    try:
        return {name: require_tool(name) for name in CROSS_TOOLS}
    except SepgenError as exc:
        unavailable(str(exc))


@pytest.fixture(scope="session")
def chromium():
    """Headless Chromium (Debian package `chromium`) for pages opened in a real browser."""
    from sepgen.common.browser import find_chromium
    from sepgen.common.errors import SepgenError

    try:
        return find_chromium()
    except SepgenError as exc:
        unavailable(str(exc))


@pytest.fixture(scope="session")
def glslang():
    """glslangValidator alone (compiling emitted GLSL/HLSL without running it)."""
    path = shutil.which("glslangValidator")
    if path is None:
        unavailable("glslangValidator is not installed (apt-get install glslang-tools)")
    return path


def _runner(factory):
    from sepgen.common.errors import SepgenError

    try:
        return factory()
    except SepgenError as exc:
        unavailable(str(exc))


@pytest.fixture(scope="session")
def vulkan_runner():
    """Raw Vulkan (SPIR-V untouched); with CI=true the Khronos validation layer is required."""
    from sepgen.run.vulkan import VulkanRunner

    runner = _runner(lambda: VulkanRunner(validation=True if _ci() else None))
    yield runner
    runner.close()


@pytest.fixture(scope="session")
def webgpu_runner():
    """wgpu-py on a Vulkan (Metal, D3D12) adapter: runs and validates WGSL."""
    from sepgen.run.webgpu import WebGPURunner

    return _runner(WebGPURunner)


@pytest.fixture(scope="session")
def webgl_runner():
    """Headless Chromium's WebGL2 (GLSL ES 300)."""
    from sepgen.run.webgl import WebGLRunner

    return _runner(WebGLRunner)
