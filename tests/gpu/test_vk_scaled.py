"""Scaled taps in WGSL (WebGPU) and SPIR-V (raw Vulkan): emit, validate, run against the NumPy model."""

from __future__ import annotations

import numpy as np
import pytest

from sepgen import emit
from sepgen.cli import main
from sepgen.common.errors import SepgenError
from sepgen.filters import scaling
from sepgen.run.vulkan import load_program
from sepgen.verify import check as verify
from tests.support import check_in_focus, relative_error, scalable

LANGS = ("wgsl", "spirv")


@pytest.mark.gpu
@pytest.mark.parametrize("source", ["uniform", "texture"])
def test_wgsl_scaled_passes_pass_the_webgpu_validator(webgpu_runner, source):
    files = emit.render(scalable(), {"lang": "wgsl", "scale_source": source})
    for name in ("d12_h0.frag.wgsl", "d12_v0.frag.wgsl"):
        webgpu_runner.validate_wgsl(files[name], name)
    assert ("d12_scale.u_scale" in files["d12_h0.frag.wgsl"]) == (source == "uniform")


@pytest.mark.gpu
@pytest.mark.parametrize("lang", LANGS)
def test_gpu_equals_the_numpy_model_at_a_scale_and_with_a_map(runners, lang):
    filt = scalable()
    img = verify.default_image(3, (37, 53))
    for scale, source in ((0.5, "uniform"), (0.3, "uniform"), (verify.scale_map(img.shape), "texture")):
        rel, _, device = relative_error(filt, {"lang": lang, "scale_source": source}, img, runners, scale=scale)
        assert device.startswith("WGSL shaders on WebGPU" if lang == "wgsl" else "SPIRV shaders on Vulkan")
        assert rel <= 1e-3
        # and the model at this scale is not the fixed filter
        model = scaling.apply_scaled(img, filt.vertical, filt.horizontal, filt.origin, scale)
        assert np.abs(model - scaling.apply_scaled(img, filt.vertical, filt.horizontal, filt.origin, 1.0)).max() > 1e-2


@pytest.mark.gpu
@pytest.mark.parametrize("lang", LANGS)
def test_gpu_at_scale_0_and_with_a_focal_plane_in_the_map(runners, lang):
    """Scale 0 (in focus) runs on Vulkan and WebGPU: the input times the DC gain there (issue 20)."""
    check_in_focus(runners, lang, ((0.0, "uniform"), ("map", "texture")))


@pytest.mark.gpu
@pytest.mark.parametrize("lang", LANGS)
def test_runners_refuse_a_missing_or_wrong_scale(vulkan_runner, webgpu_runner, tmp_path, lang):
    runner = webgpu_runner if lang == "wgsl" else vulkan_runner
    img = verify.default_image(3, (8, 10))
    emit.write(emit.render(scalable(), {"lang": lang}), tmp_path / "u")
    emit.write(emit.render(scalable(), {"lang": lang, "scale_source": "texture"}), tmp_path / "t")
    with pytest.raises(SepgenError, match="has scaled taps: give a scale"):
        runner.run(load_program(tmp_path / "u"), img)
    with pytest.raises(SepgenError, match="from a uniform: give one value, not a map"):
        runner.run(load_program(tmp_path / "u"), img, np.full((8, 10), 0.5))
    with pytest.raises(SepgenError, match="outside"):
        runner.run(load_program(tmp_path / "u"), img, 1.5)
    with pytest.raises(SepgenError, match="scale map is 9x8, the image is 10x8"):
        runner.run(load_program(tmp_path / "t"), img, np.full((8, 9), 0.5))


@pytest.mark.gpu
def test_verify_runs_wgsl_and_spirv_scaled_variants(runners):
    todo = [v for v in verify.scaled_variants(LANGS)
            if v.options["strategy"] == "mrt" and v.options["precision"] == "fp32"]
    assert [v.name for v in todo] == [f"{lang} fragment mrt fp32 scale {s}"
                                      for lang in LANGS for s in ("0.3", "0.5", "1", "map")]
    results = verify.verify(scalable(), runner=runners, only=todo)
    assert len(results) == 8 and all(r.ok for r in results) and max(r.max_rel for r in results) < 1e-4


@pytest.mark.gpu
@pytest.mark.parametrize("lang", LANGS)
def test_apply_gpu_with_scale_and_scale_map(vulkan_runner, webgpu_runner, tmp_path, lang):
    filt = scalable()
    filt.save(tmp_path / "f.json")
    img = verify.default_image(3, (20, 24))
    np.save(tmp_path / "img.npy", img)
    smap = verify.scale_map(img.shape)
    np.save(tmp_path / "map.npy", smap)
    for flag, value, scale in (("--scale", "0.5", 0.5), ("--scale-map", str(tmp_path / "map.npy"), smap)):
        out = tmp_path / f"{flag}.npy"
        args = ["apply", str(tmp_path / "f.json"), "-i", str(tmp_path / "img.npy"), "-o", str(out), "--backend", "gpu",
                "--lang", lang, flag, value]
        assert main(args) == 0
        ref = scaling.apply_scaled(img, filt.vertical, filt.horizontal, filt.origin, scale)
        assert np.abs(np.load(out) - ref).max() <= 1e-3 * np.abs(ref).max()
