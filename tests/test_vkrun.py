"""The Vulkan runners: wgpu (WGSL, naga) and raw Vulkan (SPIR-V untouched), on hand-written shaders
and on emitted HLSL compiled to its own SPIR-V.

Marked `gpu`: skipped without a Vulkan adapter, failed instead with CI=true.
"""

from __future__ import annotations

import os
import tempfile

import numpy as np
import pytest

from sepgen import SeparableFilter, emit, reference, spirv
from sepgen.errors import CheckFailed, SepgenError
from sepgen.vkrun.reflect import reflect
from sepgen.verify import default_image, tolerance_for
from sepgen.vkrun import Binding, GpuPass, GpuProgram, Shader, load_program

gpu = pytest.mark.gpu
DISK = os.path.join(os.path.dirname(__file__), "data", "disk50_rank4.json")

SHIFT_X = """
@group(0) @binding(0) var src: texture_2d<f32>;
@group(0) @binding(128) var dst: texture_storage_2d<rgba32float, write>;
@compute @workgroup_size(8, 8, 1)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let last = vec2<i32>(textureDimensions(src)) - 1;
    let p = vec2<i32>(id.xy);
    if (any(p > last)) { return; }
    textureStore(dst, p, 2.0 * textureLoad(src, vec2<i32>(clamp(p.x - 1, 0, last.x), p.y), 0));
}
"""
FULLSCREEN = """@vertex fn main(@builtin(vertex_index) i: u32) -> @builtin(position) vec4<f32> {
    let c = vec2<f32>(f32((i << 1u) & 2u), f32(i & 2u));
    return vec4<f32>(c * 2.0 - 1.0, 0.0, 1.0);
}
"""
SHIFT_Y = """@group(0) @binding(0) var src: texture_2d<f32>;
@fragment fn main(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
    let p = vec2<i32>(pos.xy);
    let last = vec2<i32>(textureDimensions(src)) - 1;
    return 3.0 * textureLoad(src, vec2<i32>(p.x, clamp(p.y - 1, 0, last.y)), 0);
}
"""
SHIFT_X_GLSL = """#version 450
layout(local_size_x = 8, local_size_y = 8) in;
layout(set = 0, binding = 0) uniform texture2D src;
layout(set = 0, binding = 64) uniform sampler smp;
layout(set = 0, binding = 128, rgba32f) uniform writeonly image2D dst;
void main() {
    ivec2 p = ivec2(gl_GlobalInvocationID.xy);
    ivec2 last = textureSize(sampler2D(src, smp), 0) - 1;
    if (any(greaterThan(p, last))) return;
    imageStore(dst, p, 2.0 * texelFetch(sampler2D(src, smp), ivec2(clamp(p.x - 1, 0, last.x), p.y), 0));
}
"""
TEXTURES = {"s": "rgba32f", "o": "rgba32f"}


def _ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


def _need(factory):
    try:
        return factory()
    except SepgenError as exc:
        if _ci():
            pytest.fail(f"CI=true and {exc}", pytrace=False)
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def wgpu_runner():
    from sepgen.vkrun import WebGPURunner

    return _need(WebGPURunner)


@pytest.fixture(scope="module")
def raw_runner():
    from sepgen.vkrun import VulkanRunner

    runner = _need(lambda: VulkanRunner(validation=True))
    yield runner
    runner.device.close()


def image(shape=(5, 7, 4), seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random(shape).astype(np.float32)


def shift_x_program(code, label: str, storage: int = 128, out_format: str = "rgba32f", entry: str = "main") -> GpuProgram:
    bindings = (Binding(0, 0, "texture", "s"), Binding(0, 64, "sampler"), Binding(0, storage, "storage", "o"))
    return GpuProgram({"s": "rgba32f", "o": out_format}, "s", "o",
                      (GpuPass("c", bindings, compute=Shader(code, entry, label), workgroup=(8, 8)),))


@gpu
def test_wgsl_compute_and_fragment_read_the_right_neighbours(wgpu_runner) -> None:
    img = image()
    out = wgpu_runner.run(shift_x_program(SHIFT_X, "x.wgsl"), img)
    np.testing.assert_array_equal(out, 2 * img[:, np.clip(np.arange(7) - 1, 0, 6)])
    frag = GpuProgram(TEXTURES, "s", "o", (GpuPass("f", (Binding(0, 0, "texture", "s"),), vertex=Shader(FULLSCREEN, "main", "v.wgsl"),
                                                   fragment=Shader(SHIFT_Y, "main", "f.wgsl"), targets=("o",)),))
    out = wgpu_runner.run(frag, img[:, :, :3])  # rows are not flipped; 3 channels come back as 3
    np.testing.assert_array_equal(out, 3 * img[np.clip(np.arange(5) - 1, 0, 4), :, :3])
    assert "Vulkan" in wgpu_runner.adapter_name or "Metal" in wgpu_runner.adapter_name or "D3D12" in wgpu_runner.adapter_name


@gpu
def test_invalid_wgsl_gives_the_validators_line_and_column(wgpu_runner) -> None:
    with pytest.raises(CheckFailed) as info:
        wgpu_runner.validate_wgsl(SHIFT_X.replace("textureLoad(src", "textureLod(src"), "x.wgsl")
    msg = str(info.value)
    assert msg.startswith("x.wgsl: line 9 column 32: ") and "textureLod" in msg and "\n" not in msg
    assert info.value.exit_code == 1


@gpu
def test_raw_vulkan_runs_glsl_spirv_untouched(raw_runner) -> None:
    code = spirv.compile_glsl(SHIFT_X_GLSL, "compute", "x.comp")
    spirv.validate(code, "x.comp.spv")
    img = image()
    out = raw_runner.run(shift_x_program(code, "x.comp.spv"), img)
    np.testing.assert_array_equal(out, 2 * img[:, np.clip(np.arange(7) - 1, 0, 6)])
    assert "Vulkan" in raw_runner.adapter_name


@gpu
@pytest.mark.parametrize("bad, message", [
    ({"entry": "cs_main"}, "no compute entry point 'cs_main'"),
    ({"storage": 129}, "storage at set 0 binding 128, the manifest declares nothing there"),
    ({"out_format": "rgba16f"}, "is rgba32f in SPIR-V, texture 'o' is rgba16f"),
])
def test_raw_vulkan_checks_the_interface_before_the_driver_sees_it(raw_runner, bad, message) -> None:
    code = spirv.compile_glsl(SHIFT_X_GLSL, "compute", "x.comp")
    with pytest.raises(CheckFailed, match=message):
        raw_runner.run(shift_x_program(code, "x.comp.spv", **bad), image())


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
    wgpu = pytest.importorskip("wgpu")
    from sepgen.vkrun import WebGPURunner

    monkeypatch.setattr(wgpu.gpu, "enumerate_adapters_sync", lambda: [])
    with pytest.raises(SepgenError) as info:
        WebGPURunner()
    assert "mesa-vulkan-drivers libvulkan1" in str(info.value) and info.value.exit_code == 2


def asymmetric() -> SeparableFilter:
    rng = np.random.default_rng(3)
    v, h = rng.standard_normal((2, 5)), rng.standard_normal((2, 8))
    h[:, 2] = 0.0  # a zero tap column: skipped by the planner
    v[1, 4] = 0.0
    return SeparableFilter("asym", np.einsum("ki,kj->ij", v, h), v, h, origin=(1, 6))


@gpu
@pytest.mark.parametrize("filt", [pytest.param(SeparableFilter.load(DISK), id="disk50"), pytest.param(asymmetric(), id="asymmetric")])
@pytest.mark.parametrize("options", [
    {"stage": "fragment"}, {"stage": "fragment", "strategy": "per-component", "linear_sampling": True},
    {"stage": "fragment", "precision": "fp16"}, {"stage": "compute"}, {"stage": "compute", "strategy": "per-component"},
], ids=["frag-mrt", "frag-percomp-linear", "frag-fp16", "comp-mrt", "comp-percomp"])
def test_hlsl_runs_as_its_own_spirv_on_vulkan(raw_runner, filt, options) -> None:
    opts = {"lang": "hlsl", **options}
    img = default_image()
    ref = reference.apply_filter(img, filt)
    with tempfile.TemporaryDirectory() as tmp:
        emit.write(emit.render(filt, opts), tmp)
        out = raw_runner.run(load_program(tmp), img)
    rel = np.max(np.abs(out - ref)) / np.max(np.abs(ref))
    assert rel <= tolerance_for(filt, opts, img, ref)
    if opts.get("precision", "fp32") == "fp32":
        assert rel <= 1e-4
