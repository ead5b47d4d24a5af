"""Shared test fixtures.

The `gpu` marker: tests that run shaders on an OpenGL driver (Mesa llvmpipe via EGL
when there is no GPU). They get a GL context from the session fixture `gl_context`.
If no context can be created the tests are skipped — unless the environment has
CI=true, where a missing driver fails the run instead of silently skipping.
"""

from __future__ import annotations

import os

import pytest


def _ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


@pytest.fixture(scope="session")
def gl_context():
    """A headless moderngl context for the whole session (skips or fails without a driver)."""
    from sepgen.errors import SepgenError
    from sepgen.glrun import create_context

    try:
        ctx = create_context()
    except SepgenError as exc:
        if _ci():
            pytest.fail(f"CI=true and no OpenGL context: {exc}", pytrace=False)
        pytest.skip(f"no OpenGL context: {exc}")
    yield ctx
    ctx.release()


@pytest.fixture
def gl_runner(gl_context):
    from sepgen.glrun import GLRunner

    return GLRunner(ctx=gl_context)


@pytest.fixture(autouse=True)
def _gpu_marker(request):
    """Tests marked `gpu` need the GL context even if they do not ask for it."""
    if request.node.get_closest_marker("gpu") is not None:
        request.getfixturevalue("gl_context")


@pytest.fixture(scope="session")
def cross_tools():
    """glslangValidator and spirv-cross (HLSL runs through them); same skip/fail rule as `gpu`."""
    from sepgen.crosscompile import TOOLS, require_tool
    from sepgen.errors import SepgenError

    try:
        return {name: require_tool(name) for name in TOOLS}
    except SepgenError as exc:
        if _ci():
            pytest.fail(f"CI=true and {exc}", pytrace=False)
        pytest.skip(str(exc))
