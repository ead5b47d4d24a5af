"""sepgen.common.images: loading, saving, validation and the gamma boost."""

from __future__ import annotations

import hashlib

import imageio.v3 as iio
import numpy as np
import pytest

from sepgen import SepgenError
from sepgen.common import images


@pytest.mark.parametrize("shape", [(5, 7), (5, 7, 2), (5, 7, 3), (5, 7, 4)])
def test_npy_round_trip_is_exact(tmp_path, shape) -> None:
    arr = np.random.default_rng(0).standard_normal(shape).astype(np.float32) * 3
    images.save_image(tmp_path / "a.npy", arr)
    back = images.load_image(tmp_path / "a.npy")
    assert back.dtype == np.float32 and back.shape == shape
    np.testing.assert_array_equal(back, arr)


@pytest.mark.parametrize("shape", [(5, 7), (5, 7, 3), (5, 7, 4)])
def test_png_round_trip_within_one_step(tmp_path, shape) -> None:
    arr = np.random.default_rng(1).random(shape).astype(np.float32)
    images.save_image(tmp_path / "a.png", arr)
    back = images.load_image(tmp_path / "a.png")
    assert back.shape == shape
    assert np.max(np.abs(back - arr)) <= 0.5 / 255 + 1e-6


def test_png_clips_out_of_range(tmp_path) -> None:
    images.save_image(tmp_path / "c.png", np.array([[-1.0, 0.5, 2.0]], dtype=np.float32))
    np.testing.assert_array_equal(iio.imread(tmp_path / "c.png"), [[0, 128, 255]])


def test_sixteen_bit_png_and_jpg_scale_to_unit(tmp_path) -> None:
    iio.imwrite(tmp_path / "s.png", np.array([[0, 65535]], dtype=np.uint16))
    np.testing.assert_allclose(images.load_image(tmp_path / "s.png"), [[0.0, 1.0]])
    rgb = np.full((8, 8, 3), 200, dtype=np.uint8)
    iio.imwrite(tmp_path / "j.jpg", rgb)
    out = images.load_image(tmp_path / "j.jpg")
    assert out.shape == (8, 8, 3) and abs(float(out.mean()) - 200 / 255) < 0.02


def test_writes_are_deterministic(tmp_path) -> None:
    arr = np.random.default_rng(2).random((9, 4, 3)).astype(np.float32)
    digests = set()
    for _ in range(2):
        for name in ("x.png", "x.npy"):
            images.save_image(tmp_path / name, arr)
        digests.add(tuple(hashlib.sha256((tmp_path / n).read_bytes()).hexdigest() for n in ("x.png", "x.npy")))
    assert len(digests) == 1


@pytest.mark.parametrize(
    "arr, match",
    [
        (np.array([[np.nan, 1.0]]), "NaN"),
        (np.array([[np.inf]]), "NaN or infinite"),
        (np.array([[1e300]]), "beyond float32"),
        (np.ones(4), "H×W"),
        (np.ones((2, 2, 2, 2)), "H×W"),
        (np.ones((2, 2, 5)), "5 channels"),
        (np.ones((0, 3)), "empty"),
        (np.array([["a"]]), "real numbers"),
        (np.ones((2, 2), dtype=bool), "real numbers"),
    ],
)
def test_bad_arrays_are_rejected(tmp_path, arr, match) -> None:
    np.save(tmp_path / "bad.npy", arr)
    with pytest.raises(SepgenError, match=match):
        images.load_image(tmp_path / "bad.npy")


def test_not_an_image(tmp_path) -> None:
    (tmp_path / "x.png").write_text("not a png")
    with pytest.raises(SepgenError, match="cannot read image"):
        images.load_image(tmp_path / "x.png")
    (tmp_path / "x.npy").write_bytes(b"garbage")
    with pytest.raises(SepgenError, match="cannot read image"):
        images.load_image(tmp_path / "x.npy")
    with pytest.raises(SepgenError, match="does not exist"):
        images.load_image(tmp_path / "missing.png")
    (tmp_path / "folder.png").mkdir()
    with pytest.raises(SepgenError, match="folder.png is a directory, not a file"):
        images.load_image(tmp_path / "folder.png")


def test_pickled_npy_is_refused(tmp_path) -> None:
    np.save(tmp_path / "o.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(SepgenError):
        images.load_image(tmp_path / "o.npy")


def test_bad_output_suffix_writes_nothing(tmp_path) -> None:
    with pytest.raises(SepgenError, match=".npy or .png"):
        images.save_image(tmp_path / "out.tiff", np.ones((2, 2)))
    assert list(tmp_path.iterdir()) == []


def test_failed_write_leaves_no_partial_file(tmp_path) -> None:
    with pytest.raises(SepgenError):
        images.save_image(tmp_path / "o.npy", np.array([[np.nan]]))
    assert list(tmp_path.iterdir()) == []


def test_gamma_round_trip_and_negatives_clamped() -> None:
    x = np.array([0.0, 0.25, 1.0, -0.5], dtype=np.float32)
    enc = images.gamma_encode(x, 3.0)
    np.testing.assert_allclose(enc, [0.0, 0.25**3, 1.0, 0.0], rtol=1e-6)
    np.testing.assert_allclose(images.gamma_decode(enc, 3.0), np.maximum(x, 0), rtol=1e-6, atol=1e-7)
    # A fit's tiny negative lobes must not become dark specks after the root (issue 12, item 7).
    np.testing.assert_array_equal(images.gamma_decode(np.array([-1e-6, -3e-5, 0.0]), 8.0), 0.0)
    with pytest.raises(SepgenError, match="gamma"):
        images.gamma_encode(x, 0.0)


def test_to_rgba_pads_with_zeros() -> None:
    gray = np.full((2, 3), 0.5, dtype=np.float32)
    rgba = images.to_rgba(gray)
    assert rgba.shape == (2, 3, 4)
    np.testing.assert_array_equal(rgba[..., 0], 0.5)
    np.testing.assert_array_equal(rgba[..., 1:], 0.0)
