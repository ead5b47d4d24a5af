"""Scaled shaders: emit with a scale uniform or a per-pixel scale map, run on GL, verify, apply."""

from __future__ import annotations

import re

import numpy as np
import pytest

from sepgen import emit
from sepgen.common.errors import SepgenError
from sepgen.filters import scaling
from sepgen.filters.filterfile import SeparableFilter
from sepgen.verify import check as verify
from tests.support import check_in_focus, relative_error, scalable


@pytest.mark.gpu
@pytest.mark.parametrize("lang", ["glsl", "hlsl"])
def test_gpu_equals_the_numpy_model_at_a_scale_and_with_a_map(runners, cross_tools, lang):
    filt = scalable()
    img = verify.default_image(3, (37, 53))
    for scale, source in ((0.5, "uniform"), (0.3, "uniform"), (verify.scale_map(img.shape), "texture")):
        rel, _, _ = relative_error(filt, {"lang": lang, "scale_source": source}, img, runners, scale=scale)
        assert rel <= 1e-3
        # and the model at this scale is not the fixed filter
        model = scaling.apply_scaled(img, filt.vertical, filt.horizontal, filt.origin, scale)
        assert np.abs(model - scaling.apply_scaled(img, filt.vertical, filt.horizontal, filt.origin, 1.0)).max() > 1e-2


@pytest.mark.gpu
@pytest.mark.parametrize("lang", ["glsl", "hlsl"])
def test_gpu_at_scale_0_and_with_a_focal_plane_in_the_map(gl_runner, cross_tools, lang):
    check_in_focus(gl_runner, lang, ((0.0, "uniform"), (0.0, "texture"), ("map", "texture")))


@pytest.mark.gpu
def test_verify_runs_scaled_variants(gl_runner):
    filt = scalable()
    todo = [v for v in verify.scaled_variants(("glsl",)) if v.options["glsl_version"] == "330"
            and v.options["strategy"] == "mrt" and v.options["precision"] == "fp32"]
    assert [v.name for v in todo] == [f"glsl330 fragment mrt fp32 scale {s}" for s in ("0.3", "0.5", "1", "map")]
    results = verify.verify(filt, runner=gl_runner, only=todo)
    assert all(r.ok for r in results) and max(r.max_rel for r in results) < 1e-4
    assert len(verify.scaled_variants(("glsl", "hlsl"))) == 64
    assert len(verify.scaled_variants(("wgsl", "spirv"))) == 32  # tests/gpu/test_vk_scaled.py runs them


@pytest.mark.gpu
def test_runner_refuses_scales_it_cannot_take(gl_runner, tmp_path):
    filt = scalable()
    img = verify.default_image(3, (10, 14))
    fixed = SeparableFilter(filt.name, filt.target, filt.vertical, filt.horizontal)
    for name, f, options, scale, message in (
        ("fixed", fixed, {}, 0.5, "has fixed taps: it takes no scale"),
        ("uniform", filt, {}, np.full((10, 14), 0.5), "give one value, not a map"),
        ("texture", filt, {"scale_source": "texture"}, np.full((10, 13), 0.5),
         "scale map is 13x10, the image is 14x10"),
        ("range", filt, {}, 1.5, "scale values must lie in [0, 1]"),
    ):
        emit.write(emit.render(f, options), tmp_path / name)
        with pytest.raises(SepgenError, match=re.escape(message)):
            gl_runner.run(tmp_path / name, img, scale)


