"""sepgen.run.vulkan without a device: SPIR-V reflection, spirv-val, and the no-adapter message."""

from __future__ import annotations

import pytest

from sepgen.common import tools as spirv
from sepgen.common.errors import CheckFailed, SepgenError
from sepgen.run.vulkan.reflect import reflect
from tests.support.handwritten import SHIFT_X_GLSL


def test_reflection_and_spirv_val(tmp_path) -> None:
    try:
        code = spirv.compile_glsl(SHIFT_X_GLSL, "compute", "x.comp")
    except SepgenError as exc:
        pytest.skip(str(exc))
    info = reflect(code, "x.spv")
    assert info.entry_points == {"main": "compute"}
    assert info.resources == {(0, 0): ("texture", None), (0, 64): ("sampler", None), (0, 128): ("storage", "rgba32f")}
    with pytest.raises(CheckFailed, match="x.spv: spirv-val: "):
        spirv.validate(code[:-8], "x.spv")
    with pytest.raises(CheckFailed, match="not a SPIR-V module"):
        reflect(b"\0" * 24, "junk.spv")


def test_no_adapter_names_the_debian_packages(monkeypatch) -> None:
    pytest.importorskip("wgpu")
    import wgpu.backends.wgpu_native  # selecting the backend replaces wgpu.gpu: patch the real one

    from sepgen.run.webgpu import WebGPURunner

    monkeypatch.setattr(wgpu.gpu, "enumerate_adapters_sync", lambda: [])
    with pytest.raises(SepgenError) as info:
        WebGPURunner()
    assert "mesa-vulkan-drivers libvulkan1" in str(info.value) and info.value.exit_code == 2
