"""sepgen.common.crosscompile: HLSL through glslang and spirv-cross, and its one-line errors."""

from __future__ import annotations

import shutil

import pytest

from sepgen import SepgenError
from sepgen.common import tools as crosscompile
from tests.support.handwritten import HLSL_FRAG


def test_crosscompile_gives_bindings_to_renamed_samplers(cross_tools) -> None:
    glsl = crosscompile.hlsl_to_glsl(HLSL_FRAG, "ps_main", "fragment", "f.hlsl")
    assert "layout(binding = 0) uniform sampler2D SPIRV_Cross_Combinedu_aSPIRV_Cross_DummySampler" in glsl
    assert "layout(binding = 1) uniform sampler2D SPIRV_Cross_Combinedu_bu_b_sampler" in glsl


def test_crosscompile_error_names_file_and_line(cross_tools) -> None:
    with pytest.raises(crosscompile.CompileError) as info:
        crosscompile.hlsl_to_glsl("float4 ps_main() : SV_Target { return undefined; }", "ps_main", "fragment",
                                  "bad.hlsl")
    assert "bad.hlsl" in str(info.value) and "\n" not in str(info.value)


def test_missing_tool_names_the_debian_package(monkeypatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(SepgenError, match="glslang-tools"):
        crosscompile.hlsl_to_glsl(HLSL_FRAG, "ps_main", "fragment")
    with pytest.raises(SepgenError, match="install the Debian package spirv-cross"):
        crosscompile.spirv_to_glsl(b"")


def test_unknown_stage(monkeypatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)  # the same answer with or without glslang
    with pytest.raises(SepgenError, match="unknown shader stage 'geometry'"):
        crosscompile.hlsl_to_spirv("", "main", "geometry")
