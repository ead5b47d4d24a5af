"""sepgen.verify.check without a driver: the variant table, tolerances, selection by name, bad arguments."""

from __future__ import annotations

import numpy as np
import pytest

from sepgen import SeparableFilter, SepgenError, kernels
from sepgen.filters import reference
from sepgen.verify import check as verify
from tests.support import random_filter, scalable, svd_filter

FILTERS = {
    "disk": lambda: svd_filter("disk", kernels.disk(12), 4),
    "rank1": lambda: random_filter("rank1", 1, (4, 4), seed=3, positive=0.05),  # even sizes, default origin
}


def test_variant_list_is_complete() -> None:
    names = [v.name for v in verify.variants(("glsl", "hlsl"))]
    assert len(names) == len(set(names))
    for must in ("glsl330 fragment mrt fp32 point", "glsl300es fragment per-component fp16 linear",
                 "glsl450 compute per-component fp16 point", "hlsl fragment mrt fp32 linear",
                 "hlsl compute mrt fp16 point"):
        assert must in names
    assert not any("compute" in n and "linear" in n for n in names)


def test_tolerance_follows_the_formats() -> None:
    filt = FILTERS["disk"]()
    img = verify.default_image()
    ref = reference.apply_filter(img, filt)
    tol = {k: verify.tolerance_for(filt, o, img, ref) for k, o in {
        # point sampling spelled out: linear is the default where the target filters
        "fp32": {"precision": "fp32", "linear_sampling": False},
        "fp16": {"precision": "fp16", "linear_sampling": False},
        "linear": {"precision": "fp32", "linear_sampling": True}}.items()}
    assert 1e-6 < tol["fp32"] < 3e-5  # "~1e-5 relative"
    assert tol["fp16"] > tol["fp32"] + 2.0**-10 * 0.99
    assert tol["linear"] > tol["fp32"] + 2 * 2.0**-8 * 0.99
    # A filter whose components cancel (large partial sums) gets a proportionally larger bound.
    loud = SeparableFilter("loud", filt.target, np.vstack([filt.vertical, filt.vertical, filt.vertical]),
                           np.vstack([filt.horizontal * 10, -filt.horizontal * 10, filt.horizontal]))
    assert verify.tolerance_for(loud, {"precision": "fp32", "linear_sampling": False}, img,
                                   reference.apply_filter(img, loud)) > 10 * tol["fp32"]
    # options that leave sampling out get the default's (linear) bound
    assert verify.tolerance_for(filt, {"precision": "fp32"}, img, ref) == tol["linear"]


def test_bad_verify_arguments() -> None:
    with pytest.raises(SepgenError, match="unknown shader language"):
        verify.variants(("metal",))
    with pytest.raises(SepgenError, match="tolerance"):
        verify.verify(FILTERS["rank1"](), tolerance=-1.0)


def test_a_scalable_build_is_verified_at_scales():
    emitted = [verify.Variant({"lang": "glsl"}), verify.Variant({"lang": "hlsl", "scale_source": "texture"})]
    todo = verify.scaled_targets(emitted)
    assert [v.name for v in todo] == ["glsl330 fragment mrt fp32 scale 0.3", "glsl330 fragment mrt fp32 scale 0.5",
                                      "glsl330 fragment mrt fp32 scale 1", "hlsl fragment mrt fp32 scale map"]
    assert all(not v.options["linear_sampling"] and v.options["scale_source"] != "auto" for v in todo)
    assert verify.variants_for(scalable(), ("glsl",)) == verify.scaled_variants(("glsl",))
    assert verify.select(["hlsl fragment mrt fp32 scale map"], ("hlsl",), scaled=True)[0].scale == "map"


def test_select_by_table_name():
    names = [v.name for v in verify.variants(("glsl", "hlsl"))]
    assert len(set(names)) == len(names)  # names identify variants
    picked = verify.select(["hlsl compute per-component fp16 point", "  glsl450  fragment mrt fp32 linear "])
    assert [v.name for v in picked] == ["hlsl compute per-component fp16 point", "glsl450 fragment mrt fp32 linear"]
    assert picked[0].options["strategy"] == "per-component" and picked[0].options["precision"] == "fp16"
    with pytest.raises(SepgenError, match="unknown variant 'glsl330 compute mrt fp32 linear'; did you mean"):
        verify.select(["glsl330 compute mrt fp32 linear"])  # compute has no linear sampling
