"""sepgen.filters.reference against scipy.ndimage.convolve(mode="nearest") and the literal formula."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from sepgen import SeparableFilter, SepgenError
from sepgen.filters import reference


def scipy_convolve(img: np.ndarray, kernel: np.ndarray, origin: tuple[int, int] | None = None) -> np.ndarray:
    """scipy with the project's origin: scipy's origin shifts by (cy − H//2, cx − W//2)."""
    cy, cx = origin if origin is not None else (kernel.shape[0] // 2, kernel.shape[1] // 2)
    shift = (cy - kernel.shape[0] // 2, cx - kernel.shape[1] // 2)
    if img.ndim == 2:
        return ndimage.convolve(img.astype(np.float64), kernel, mode="nearest", origin=shift)
    return np.stack(
        [ndimage.convolve(img[..., c].astype(np.float64), kernel, mode="nearest", origin=shift)
         for c in range(img.shape[2])],
        axis=-1,
    )


CASES = [
    # (kernel H, W, origin or None): odd, even, non-square, corner and off-centre origins
    (5, 5, None),
    (6, 4, None),
    (3, 8, (0, 7)),
    (7, 2, (6, 0)),
    (4, 9, (1, 6)),
    (1, 1, None),
]


@pytest.mark.parametrize("kh, kw, origin", CASES)
@pytest.mark.parametrize("channels", [None, 1, 3, 4])
def test_convolve2d_matches_scipy(kh: int, kw: int, origin, channels) -> None:
    rng = np.random.default_rng(kh * 100 + kw)
    shape = (13, 11) if channels is None else (13, 11, channels)
    img = rng.random(shape)
    kernel = rng.standard_normal((kh, kw))  # asymmetric: a flip or shifted origin changes the result
    got = reference.convolve2d(img, kernel, origin)
    assert got.shape == img.shape
    np.testing.assert_allclose(got, scipy_convolve(img, kernel, origin), rtol=0, atol=1e-12)


@pytest.mark.parametrize("kh, kw, origin", CASES)
@pytest.mark.parametrize("rank", [1, 2, 4, 9])
def test_separable_equals_2d_of_reconstruction(kh: int, kw: int, origin, rank: int) -> None:
    rng = np.random.default_rng(rank)
    img = rng.random((10, 17, 3))
    v, h = rng.standard_normal((rank, kh)), rng.standard_normal((rank, kw))
    got = reference.convolve_separable(img, v, h, origin)
    np.testing.assert_allclose(got, scipy_convolve(img, v.T @ h, origin), rtol=0, atol=1e-12)


def test_kernel_larger_than_image_clamps_like_scipy() -> None:
    rng = np.random.default_rng(3)
    img = rng.random((4, 5))
    kernel = rng.random((9, 12))  # every tap reads beyond the border
    np.testing.assert_allclose(reference.convolve2d(img, kernel), scipy_convolve(img, kernel), atol=1e-12)


def test_direct_formula_matches_fft_paths() -> None:
    rng = np.random.default_rng(4)
    img = rng.random((9, 8, 2))
    kernel = rng.standard_normal((4, 5))
    want = reference.convolve_direct(img, kernel, (3, 1))
    np.testing.assert_allclose(reference.convolve2d(img, kernel, (3, 1)), want, atol=1e-12)


def test_shift_kernel_moves_the_image_the_documented_way() -> None:
    # A single 1 at tap (i, j) with origin (cy, cx) reads in[y − i + cy, x − j + cx].
    img = np.arange(30.0).reshape(5, 6)
    kernel = np.zeros((3, 3))
    kernel[0, 2] = 1.0  # i=0, j=2, origin (1, 1): out[y, x] = in[y + 1, x − 1]
    out = reference.convolve2d(img, kernel)
    assert out[2, 3] == pytest.approx(img[3, 2])
    assert out[4, 0] == pytest.approx(img[4, 0])  # both clamped


def test_apply_filter_uses_the_filter_origin() -> None:
    rng = np.random.default_rng(5)
    target = rng.random((4, 6))
    v, h = rng.random((2, 4)), rng.random((2, 6))
    filt = SeparableFilter("f", target, v, h, origin=(0, 5))
    img = rng.random((7, 9))
    np.testing.assert_allclose(reference.apply_filter(img, filt), scipy_convolve(img, v.T @ h, (0, 5)), atol=1e-12)


def test_dtype_and_shape_preserved() -> None:
    img = np.ones((6, 7), dtype=np.float32)
    out = reference.convolve2d(img, np.full((3, 3), 1 / 9))
    assert out.shape == (6, 7) and out.dtype == np.float64
    np.testing.assert_allclose(out, 1.0)


@pytest.mark.parametrize(
    "img, kernel, origin, match",
    [
        (np.ones((3,)), np.ones((2, 2)), None, "H×W"),
        (np.ones((3, 3)), np.ones((2, 2, 2)), None, "2D"),
        (np.ones((3, 3)), np.array([[np.nan]]), None, "NaN"),
        (np.ones((3, 3)), np.ones((2, 2)), (2, 0), "outside"),
        (np.ones((0, 3)), np.ones((2, 2)), None, "non-empty"),
    ],
)
def test_bad_input_raises_one_line_error(img, kernel, origin, match) -> None:
    with pytest.raises(SepgenError, match=match):
        reference.convolve2d(img, kernel, origin)


def test_separable_rank_mismatch() -> None:
    with pytest.raises(SepgenError, match="same rank"):
        reference.convolve_separable(np.ones((4, 4)), np.ones((2, 3)), np.ones((3, 3)))


def test_fast_len_is_smooth_and_not_smaller() -> None:
    for n in range(1, 400):
        m = reference._fast_len(n)
        assert m >= n
        for p in (2, 3, 5):
            while m % p == 0:
                m //= p
        assert m == 1
