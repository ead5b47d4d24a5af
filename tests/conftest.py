"""Shared test fixtures (helpers and filter factories: tests/support).

Test folders mirror sepgen/: tests/<package>/ holds the tests of sepgen/<package>/ (common, filters,
plan, emit, fitting, build, report, run, verify; top-level modules at tests/test_<module>.py);
tests/cli holds the command line's tests, tests/gpu the runners and the emit → run → compare
checks (all marked gpu); a CLI or emit file with one GPU case keeps it beside its siblings, marked gpu
(`-m gpu` / `-m "not gpu"` select them).

One CI rule for everything a test needs from the machine (a GL context, glslangValidator,
spirv-cross, Chromium): without it the test is skipped — unless the environment has CI=true, where
the missing piece fails the run instead of silently skipping (`unavailable`).

The `gpu` marker: tests that run shaders on a driver: OpenGL (Mesa llvmpipe via EGL when
there is no GPU; the one GL context of the session, `gl_context`), Vulkan (`vulkan_runner`:
raw SPIR-V, `webgpu_runner`: WGSL; lavapipe without a GPU) or WebGL2 (`webgl_runner`:
headless Chromium on SwiftShader). Each follows the CI rule above.

The GL and Vulkan drivers run without LLVM's optimiser in tests (`GALLIVM_PERF=nopt`, unless
set outside): ~20 % off the GPU tests, the same references and tolerances.

Runners are made once per session: one GL context, one Vulkan device, one WebGPU adapter, one
WebGL2 runner; `runners` hands all of them to `run_filter` / `verify` as one `Runners`.
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.support import ci, unavailable


def pytest_configure(config) -> None:
    """Fits in tests compile into a throw-away JAX cache, not the user's ~/.cache (unless
    SEPGEN_JAX_CACHE says where, e.g. a CI cache folder kept between runs), Mesa's shaders into one
    throw-away folder per run; build records and compiled templates go to a throw-away XDG_CACHE_HOME."""
    if "SEPGEN_JAX_CACHE" not in os.environ:
        folder = tempfile.mkdtemp(prefix="sepgen-test-jax-")
        os.environ["SEPGEN_JAX_CACHE"] = folder
        atexit.register(shutil.rmtree, folder, True)
    # Mesa (llvmpipe, lavapipe) keeps compiled shaders under $XDG_CACHE_HOME, which each xdist worker
    # replaces below: one throw-away folder for the whole run instead, made by the controller and
    # inherited by its workers, so a shader two workers run is compiled once, cold at the start as on CI.
    if "MESA_SHADER_CACHE_DIR" not in os.environ:
        folder = tempfile.mkdtemp(prefix="sepgen-test-mesa-")
        os.environ["MESA_SHADER_CACHE_DIR"] = folder
        atexit.register(shutil.rmtree, folder, True)
    # llvmpipe and lavapipe JIT every shader with LLVM, whose optimiser is most of the GPU tests'
    # time; without it they take ~20 % less (tests/gpu/test_rows_gpu.py + test_vkrun.py: 53 s ->
    # 43 s). What a shader computes does not depend on it: the same references and tolerances
    # judge it. Users' runs (`sepgen verify`) keep the driver's default; GALLIVM_PERF set outside wins.
    os.environ.setdefault("GALLIVM_PERF", "nopt")
    # NumPy's OpenBLAS starts a thread per core that spins after each call: beside the other busy
    # worker that spinning is CPU taken from it (~1.7 % of a run's samples); the tests' matrices are small.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    # `sepgen build` records its last build under $XDG_CACHE_HOME/sepgen/build, compiled templates
    # go to $XDG_CACHE_HOME/sepgen/templates: a throw-away folder too, made by the controller and
    # inherited by its workers (records are per working folder, all of them temporary)
    if "PYTEST_XDIST_WORKER" not in os.environ:
        folder = tempfile.mkdtemp(prefix="sepgen-test-xdg-")
        os.environ["XDG_CACHE_HOME"] = folder
        atexit.register(shutil.rmtree, folder, True)


@functools.cache
def _has_module_fixture(path: str) -> bool:
    try:
        return 'scope="module"' in Path(path).read_text(encoding="utf-8")
    except OSError:
        return False


def pytest_xdist_make_scheduler(config, log):
    """`pytest -n N` (what `make test` runs): xdist's load scheduling, except that the tests of a
    module defining a module-scoped fixture (the demo run, the variant matrix, a fitted filter) go
    to one worker as one unit, so the fixture is made once per run, not once per worker that gets
    one of its tests. The largest units go first. (xdist's own `--dist loadgroup` cannot do it under
    pytest 9.2: it renames node ids through an attribute pytest no longer reads.)"""
    if config.getvalue("dist") != "load":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ModuleFixtureScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return path if _has_module_fixture(path) else nodeid

    return ModuleFixtureScheduling(config, log)


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

    runner = _runner(lambda: VulkanRunner(validation=True if ci() else None))
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


@pytest.fixture(scope="session")
def runners(gl_context, vulkan_runner, webgpu_runner, webgl_runner):
    """The session's runners as one `Runners` (for `run_filter`, `verify`): no test opens its own
    GL context, Vulkan device or WebGPU adapter. Needs every driver (the CI rule for each)."""
    from sepgen.run.gl import GLRunner
    from sepgen.verify.runfilter import Runners

    made = Runners(GLRunner(ctx=gl_context), vulkan_runner, webgpu_runner, webgl_runner)
    return made
