"""The Vulkan runners: wgpu (WGSL, naga) and raw Vulkan (SPIR-V untouched), on hand-written shaders
and on emitted HLSL compiled to its own SPIR-V.

Marked `gpu`: skipped without a Vulkan adapter, failed instead with CI=true.
"""

from __future__ import annotations

import numpy as np
import pytest

from sepgen import emit
from sepgen.common import tools as spirv
from sepgen.common.errors import CheckFailed
from sepgen.run.vulkan import Binding, GpuPass, GpuProgram, Shader, load_program
from sepgen.verify import runfilter
from sepgen.verify.check import default_image
from tests.support import disk_filter, hand_filter, random_filter, relative_error, wide_filter
from tests.support.handwritten import FULLSCREEN, SHIFT_X, SHIFT_X_GLSL, SHIFT_Y

gpu = pytest.mark.gpu

TEXTURES = {"s": "rgba32f", "o": "rgba32f"}


def image(shape=(5, 7, 4), seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random(shape).astype(np.float32)


def shift_x_program(code, label: str, storage: int = 128, out_format: str = "rgba32f",
                    entry: str = "main") -> GpuProgram:
    bindings = (Binding(0, 0, "texture", "s"), Binding(0, 64, "sampler"), Binding(0, storage, "storage", "o"))
    return GpuProgram({"s": "rgba32f", "o": out_format}, "s", "o",
                      (GpuPass("c", bindings, compute=Shader(code, entry, label), workgroup=(8, 8)),))


@gpu
def test_wgsl_compute_and_fragment_read_the_right_neighbours(webgpu_runner) -> None:
    img = image()
    out = webgpu_runner.run(shift_x_program(SHIFT_X, "x.wgsl"), img)
    np.testing.assert_array_equal(out, 2 * img[:, np.clip(np.arange(7) - 1, 0, 6)])
    frag = GpuProgram(TEXTURES, "s", "o", (GpuPass("f", (Binding(0, 0, "texture", "s"),),
                                                   vertex=Shader(FULLSCREEN, "main", "v.wgsl"),
                                                   fragment=Shader(SHIFT_Y, "main", "f.wgsl"), targets=("o",)),))
    out = webgpu_runner.run(frag, img[:, :, :3])  # rows are not flipped; 3 channels come back as 3
    np.testing.assert_array_equal(out, 3 * img[np.clip(np.arange(5) - 1, 0, 4), :, :3])
    name = webgpu_runner.adapter_name
    assert "Vulkan" in name or "Metal" in name or "D3D12" in name


@gpu
def test_invalid_wgsl_gives_the_validators_line_and_column(webgpu_runner) -> None:
    with pytest.raises(CheckFailed) as info:
        webgpu_runner.validate_wgsl(SHIFT_X.replace("textureLoad(src", "textureLod(src"), "x.wgsl")
    msg = str(info.value)
    assert msg.startswith("x.wgsl: line 9 column 32: ") and "textureLod" in msg and "\n" not in msg
    assert info.value.exit_code == 1


@gpu
def test_raw_vulkan_runs_glsl_spirv_untouched(vulkan_runner) -> None:
    code = spirv.compile_glsl(SHIFT_X_GLSL, "compute", "x.comp")
    spirv.validate(code, "x.comp.spv")
    img = image()
    out = vulkan_runner.run(shift_x_program(code, "x.comp.spv"), img)
    np.testing.assert_array_equal(out, 2 * img[:, np.clip(np.arange(7) - 1, 0, 6)])
    assert "Vulkan" in vulkan_runner.adapter_name


@gpu
@pytest.mark.parametrize("bad, message", [
    ({"entry": "cs_main"}, "no compute entry point 'cs_main'"),
    ({"storage": 129}, "storage at set 0 binding 128, the manifest declares nothing there"),
    ({"out_format": "rgba16f"}, "is rgba32f in SPIR-V, texture 'o' is rgba16f"),
])
def test_raw_vulkan_checks_the_interface_before_the_driver_sees_it(vulkan_runner, bad, message) -> None:
    code = spirv.compile_glsl(SHIFT_X_GLSL, "compute", "x.comp")
    with pytest.raises(CheckFailed, match=message):
        vulkan_runner.run(shift_x_program(code, "x.comp.spv", **bad), image())


FILTERS = [pytest.param(disk_filter(), id="disk50"),
           pytest.param(hand_filter(), id="zero-taps"),  # a third of the taps and whole offsets exactly zero
           pytest.param(random_filter("asym", 2, (5, 8), origin=(1, 6), seed=3), id="asymmetric"),
           pytest.param(wide_filter(), id="rank11")]  # two MRT groups: later passes add
OPTIONS = [{"stage": "fragment"}, {"stage": "fragment", "strategy": "per-component", "linear_sampling": True},
           {"stage": "fragment", "precision": "fp16"}, {"stage": "compute"},
           {"stage": "compute", "strategy": "per-component"}]
OPTION_IDS = ["frag-mrt", "frag-percomp-linear", "frag-fp16", "comp-mrt", "comp-percomp"]


@gpu
@pytest.mark.parametrize("filt", FILTERS)
@pytest.mark.parametrize("options", OPTIONS, ids=OPTION_IDS)
@pytest.mark.parametrize("lang", ["wgsl", "spirv", "hlsl"])
def test_emitted_targets_match_the_reference_on_vulkan(runners, filt, options, lang) -> None:
    opts = {"lang": lang, **options}
    if lang == "hlsl" and opts.get("stage") == "compute" and opts.get("precision") == "fp16":
        pytest.skip("runs through GL (runfilter.HLSL_ON_GL)")
    rel, tol, where = relative_error(filt, opts, default_image(channels=3), runners)
    assert runfilter.BACKENDS[runfilter.backend_for(opts)] in where
    assert rel <= tol
    if opts.get("precision", "fp32") == "fp32" and not opts.get("linear_sampling"):
        assert rel <= 1e-4  # the goal for fp32; linear sampling is bounded by its 8-bit weights


@gpu
def test_hlsl_fp16_compute_is_refused_on_vulkan_with_the_reason(vulkan_runner, tmp_path) -> None:
    emit.write(emit.render(hand_filter(), {"lang": "hlsl", "stage": "compute", "precision": "fp16"}), tmp_path)
    with pytest.raises(CheckFailed, match="storage image at set 0 binding 128 is rgba32f in SPIR-V, "
                                          "texture 'hand_t0' is rgba16f"):
        vulkan_runner.run(load_program(tmp_path), default_image())
    assert runfilter.backend_for({"lang": "hlsl", "stage": "compute", "precision": "fp16"}) == "gl"


