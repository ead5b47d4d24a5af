"""sepgen.filters.scaling: the bilinear model of scaled taps, the kernel at size·s, scaled filtering."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sepgen import kernels
from sepgen.common.errors import SepgenError
from sepgen.filters import scaling
from sepgen.filters.reference import convolve2d


def _sample_bilinear(row: np.ndarray, coord: float) -> float:
    """A linear clamp-to-edge sampler at texel-space coordinate `coord` (texel centres at integers)."""
    i0 = math.floor(coord)
    t = coord - i0
    n = len(row)
    return (1 - t) * row[min(max(i0, 0), n - 1)] + t * row[min(max(i0 + 1, 0), n - 1)]


def _brute_force(img, vertical, horizontal, origin, scale):
    """The scaled shaders pixel by pixel: tap j of a pass is fetched at (c − j)·scale[y, x]."""
    h, w = img.shape
    smap = np.broadcast_to(np.asarray(scale, float), img.shape)
    out = np.zeros_like(img)
    for v, hz in zip(vertical, horizontal):
        t = np.zeros_like(img)
        for y in range(h):
            for x in range(w):
                t[y, x] = sum(hz[j] * _sample_bilinear(img[y], x + (origin[1] - j) * smap[y, x])
                              for j in range(len(hz)))
        for y in range(h):
            for x in range(w):
                out[y, x] += sum(v[i] * _sample_bilinear(t[:, x], y + (origin[0] - i) * smap[y, x])
                                 for i in range(len(v)))
    return out


@pytest.fixture
def small():
    rng = np.random.default_rng(3)
    return rng.random((9, 12)), rng.normal(size=(2, 5)), rng.normal(size=(2, 7)), (2, 4)


@pytest.mark.parametrize("s", [1.0, 0.5, 0.3, 0.77])
def test_effective_kernel_equals_brute_force_bilinear_sampling(small, s):
    img, v, h, origin = small
    kernel, origin_s = scaling.effective_kernel(v, h, origin, s)
    expected = _brute_force(img, v, h, origin, s)
    np.testing.assert_allclose(convolve2d(img, kernel, origin_s), expected, atol=1e-12)
    np.testing.assert_allclose(scaling.apply_scaled(img, v, h, origin, s), expected, atol=1e-12)


def test_scale_map_follows_the_pixels_scale(small):
    img, v, h, origin = small
    smap = np.linspace(0.2, 1.0, img.size).reshape(img.shape)
    expected = _brute_force(img, v, h, origin, smap)
    np.testing.assert_allclose(scaling.apply_scaled(img, v, h, origin, smap), expected, atol=1e-12)
    # a constant map is the uniform scale
    np.testing.assert_allclose(scaling.apply_scaled(img, v, h, origin, np.full(img.shape, 0.6)),
                               scaling.apply_scaled(img, v, h, origin, 0.6), atol=1e-12)


def test_scale_one_is_the_filter_and_splats_keep_the_sum(small):
    _, v, h, origin = small
    kernel, origin_s = scaling.effective_kernel(v, h, origin, 1.0)
    assert origin_s == origin
    np.testing.assert_array_equal(kernel, np.einsum("ki,kj->ij", v, h))
    for s in (0.1, 0.25, 0.5, 0.9):
        assert scaling.effective_kernel(v, h, origin, s)[0].sum() == pytest.approx(kernel.sum(), rel=1e-12)


def test_scaled_grid():
    assert scaling.scaled_axis(50, 25, 1.0) == (50, 25)
    assert scaling.scaled_axis(50, 25, 0.5) == (26, 13)  # offsets −12 … 12.5 → texels −12 … 13
    b = scaling.splat_matrix(50, 25, 0.5)
    assert b.shape == (26, 50)
    np.testing.assert_allclose(b.sum(axis=0), 1.0)
    # tap j = 24 (offset 1) lands halfway between offsets 0 and 1
    assert b[13, 24] == 0.5 and b[12, 24] == 0.5
    assert scaling.scaled_axis(10, 5, 0.3) == (5, 2)  # 0.3·5 = 1.5, 0.3·(−4) = −1.2: offsets −2 … 2


def test_target_at_scale():
    spec = {"kernel": "disk", "size": 50, "antialias": False}
    k = kernels.disk(50)
    np.testing.assert_array_equal(scaling.target_at(k, spec, (25, 25), 1.0), k)
    half = scaling.target_at(k, spec, (25, 25), 0.5)
    assert half.shape == (26, 26) and half.sum() == pytest.approx(k.sum())
    assert set(np.unique(half / half.max())) == {0.0, 1.0}  # 25 is an integer size: binary
    assert (half > 0).sum() == pytest.approx(math.pi * 12.5**2, rel=0.02)
    odd = scaling.target_at(k, spec, (25, 25), 0.3)  # size 15: integer
    aa = scaling.target_at(k, spec, (25, 25), 0.37)  # size 18.5: anti-aliased
    assert len(np.unique(odd / odd.max())) == 2 and len(np.unique(aa / aa.max())) > 2
    assert (aa / aa.max()).sum() == pytest.approx(math.pi * (18.5 / 2) ** 2, rel=0.02)  # coverage = area


def test_target_at_scale_for_gaussians_and_arrays():
    g = kernels.gaussian(31, 4.0)
    spec = kernels.canonical_spec({"kernel": "gaussian", "size": 31, "sigma": 4.0})
    half = scaling.target_at(g, spec, (15, 15), 0.5)
    assert scaling.scaled_axis(31, 15, 0.5) == (17, 8)  # odd size: the centre stays on the origin
    ix = np.indices(half.shape)[1]
    assert math.sqrt((half * (ix - 8) ** 2).sum() / half.sum()) == pytest.approx(2.0, rel=0.05)  # sigma·s
    arr = scaling.target_at(g, None, (15, 15), 0.5)  # area-resampled image: same size, same sum
    assert arr.sum() == pytest.approx(g.sum())
    assert math.sqrt((arr * (ix - 8) ** 2).sum() / arr.sum()) == pytest.approx(2.0, rel=0.08)


@pytest.mark.parametrize("bad", [0, -0.5, 1.5, float("nan"), "0.5", True])
def test_bad_scale(bad):
    with pytest.raises(SepgenError, match="scale"):
        scaling.check_scale(bad)


@pytest.mark.parametrize("text, message", [("", "comma-separated"), ("0.5,,1", "comma-separated"),
                                           ("0.5,x", "comma-separated"), ("0.5,1,0.5", "more than once"),
                                           ("0,1", "outside"), ("0.5,1.2", "outside")])
def test_bad_scale_lists(text, message):
    with pytest.raises(SepgenError, match=message):
        scaling.parse_scales(text)
    assert scaling.parse_scales("1,0.25,0.5") == (0.25, 0.5, 1.0)
    with pytest.raises(SepgenError, match="non-empty"):
        scaling.check_scales([])


def test_bad_scale_map(small):
    img, v, h, origin = small
    with pytest.raises(SepgenError, match=r"scale map is 11x9, the image is 12x9 \(width x height\)"):
        scaling.apply_scaled(img, v, h, origin, np.ones((9, 11)))
    smap = np.ones(img.shape)
    smap[3, 4] = 1.25
    with pytest.raises(SepgenError, match=r"scale map value 1.25 at pixel \(3, 4\) is outside \[0, 1\]$"):
        scaling.apply_scaled(img, v, h, origin, smap)


def test_scale_0_is_the_focal_plane(small):
    """Scale 0 fetches every tap at offset 0: the input times the DC gain, at a scale or in a map (issue 20)."""
    img, v, h, origin = small
    gain = float((v.sum(axis=1) * h.sum(axis=1)).sum())
    kernel, origin_s = scaling.effective_kernel(v, h, origin, 0.0)
    assert kernel.shape == (1, 1) and origin_s == (0, 0) and kernel[0, 0] == pytest.approx(gain)
    np.testing.assert_allclose(scaling.apply_scaled(img, v, h, origin, 0), img * gain, rtol=1e-12)
    smap = np.linspace(0.0, 1.0, img.size).reshape(img.shape)
    smap[:, :3] = 0.0
    np.testing.assert_allclose(scaling.apply_scaled(img, v, h, origin, smap), _brute_force(img, v, h, origin, smap),
                               atol=1e-12)
    assert scaling.check_scale(np.float64(0.0), allow_zero=True) == 0.0
    with pytest.raises(SepgenError, match=r"^scale 0.0 is outside \(0, 1\]$"):  # a fitted scale stays above 0
        scaling.check_scale(np.float64(0.0))


@pytest.mark.parametrize("value", [np.float64(1.5), np.float32(-2.0), np.int64(3)])
def test_scale_messages_show_plain_numbers(value, small):
    img, v, h, origin = small
    for call in (lambda: scaling.check_scale(value, "--scale", allow_zero=True),
                 lambda: scaling.check_scale_map(np.full(img.shape, value), img.shape)):
        with pytest.raises(SepgenError) as err:
            call()
        assert "np." not in str(err.value) and "outside [0, 1]" in str(err.value)


@pytest.mark.parametrize("kind, options", [("polygon", {"sides": 6}), ("polygon", {"sides": 5, "rotation": 10.0}),
                                           ("ring", {}), ("disk", {})])
def test_target_at_scale_for_every_named_shape(kind, options):
    """The profiles take a column of y and a row of x (the hexagon + --scales crash of issue 20)."""
    spec = kernels.canonical_spec({"kernel": kind, "size": 41, **options})
    k = kernels.make(spec)
    half = scaling.target_at(k, spec, (20, 20), 0.5)
    assert half.shape == (21, 21) and half.sum() == pytest.approx(k.sum())
    np.testing.assert_allclose(half, half[::-1, ::-1] if kind != "polygon" or options["sides"] % 2 == 0 else half)
