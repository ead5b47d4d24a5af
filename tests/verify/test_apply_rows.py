"""issue 18: `sepgen.apply` and `sepgen apply` of a rows filter file (NumPy and GPU)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import sepgen
from sepgen import kernels
from sepgen.filters import reference, rows, rows_scaled
from sepgen.filters.rowsfile import RowsFilter
from tests.support import cli


def rows_file(tmp_path: Path) -> tuple[RowsFilter, Path]:
    """An AA-edged 11-tap disk as rows: the binary disk's runs with fractional ends (not on whole taps)."""
    k = kernels.disk(11)
    exact = rows.exact_layout(k / k.sum(), "rows")
    lines = tuple(tuple(rows.Box(b.start + 0.3, b.end - 0.2, b.weight) for b in line) for line in exact.lines)
    layout = rows.RowsLayout("rows", exact.shape, exact.origin, lines)
    filt = RowsFilter("disk11rows", layout.reconstruct(), layout)
    path = tmp_path / "rows.json"
    filt.save(path)
    return filt, path


def image(shape: tuple[int, ...] = (23, 37, 3)) -> np.ndarray:
    rng = np.random.default_rng(3)
    img = rng.random(shape).astype(np.float32)
    img[5, 7] = 40.0  # a highlight near the border: clamp-to-edge shows
    return img


def test_apply_a_rows_file_is_its_running_sum_reference(tmp_path):
    filt, path = rows_file(tmp_path)
    img = image()
    out = sepgen.apply(path, img)  # before issue 18's item: refused as "holds a 'rows' filter"
    assert out.dtype == np.float32 and out.shape == img.shape
    np.testing.assert_array_equal(out, rows.filter_image(img.astype(np.float64), filt.layout).astype(np.float32))
    # the running sums compute the boxes' kernel: the ordinary convolution of reconstruct()
    conv = reference.convolve2d(img, filt.reconstruct(), filt.origin)
    np.testing.assert_allclose(out, conv, rtol=1e-5, atol=1e-5 * float(np.max(np.abs(conv))))
    gray = sepgen.apply(filt, img[:, :, 0], gamma=2.0)
    assert gray.shape == img.shape[:2] and np.all(np.isfinite(gray))


UNSCALED = "disk11rows was fitted without scales: its quality at other scales was not fitted (fit with --scales)"


def test_a_rows_filter_fitted_without_scales_runs_at_a_scale_with_the_warning_pairs_get(tmp_path):
    """A rows filter scales analytically (no refit): one fitted without scales runs at a scale as
    pairs do, the CLI warning in the same words (its quality there was not measured)."""
    filt, path = rows_file(tmp_path)
    img = image()
    ref = rows_scaled.filter_image(img.astype(np.float64), filt.layout, 0.5).astype(np.float32)
    np.testing.assert_array_equal(sepgen.apply(filt, img, scale=0.5), ref)
    np.save(tmp_path / "in.npy", img)
    code, _, err = cli("apply", path, "-i", tmp_path / "in.npy", "-o", tmp_path / "s.npy", "--scale", "0.5")
    assert code == 0 and f"warning: {UNSCALED}" in err, err
    np.testing.assert_array_equal(np.load(tmp_path / "s.npy"), ref)


def scale_map(shape: tuple[int, ...]) -> np.ndarray:
    """Scales on 1/64 (exact in float32) from 0 to 1: every pixel its own line count."""
    return np.random.default_rng(5).integers(0, 65, shape[:2]) / 64.0


def test_apply_a_scalable_rows_file_at_a_scale_is_the_scaled_reference(tmp_path):
    """`scale=` of a rows file fitted with scales: `rows_scaled.filter_image` (before: refused)."""
    filt, _ = rows_file(tmp_path)
    scalable = filt.with_scales((0.5, 1.0))
    img = image()
    for scale in (0.5, 0.0, scale_map(img.shape)):
        ref = rows_scaled.filter_image(img.astype(np.float64), filt.layout, scale).astype(np.float32)
        np.testing.assert_array_equal(sepgen.apply(scalable, img, scale=scale), ref)
    np.testing.assert_array_equal(sepgen.apply(scalable, img, scale=1.0), sepgen.apply(filt, img))
    gray = sepgen.apply(scalable, img[:, :, 0], scale=0.3)
    np.testing.assert_array_equal(gray, rows_scaled.filter_image(img[:, :, 0].astype(np.float64), filt.layout,
                                                                 0.3).astype(np.float32))


def test_apply_cli_scale_and_scale_map_of_a_scalable_rows_file(tmp_path):
    filt, _ = rows_file(tmp_path)
    scalable = filt.with_scales((0.5, 1.0))
    scalable.save(tmp_path / "s.json")
    img = image()
    smap = scale_map(img.shape).astype(np.float32)
    np.save(tmp_path / "in.npy", img)
    np.save(tmp_path / "map.npy", smap)
    code, out, err = cli("apply", tmp_path / "s.json", "-i", tmp_path / "in.npy", "-o", tmp_path / "a.npy",
                         "--scale", "0.5")
    assert code == 0 and "warning" not in err, err
    assert "scaled running-sum reference" in err
    np.testing.assert_array_equal(np.load(tmp_path / "a.npy"), sepgen.apply(scalable, img, scale=0.5))
    code, _, err = cli("apply", tmp_path / "s.json", "-i", tmp_path / "in.npy", "-o", tmp_path / "m.npy",
                       "--scale-map", tmp_path / "map.npy")
    assert code == 0, err
    np.testing.assert_array_equal(np.load(tmp_path / "m.npy"), sepgen.apply(scalable, img, scale=smap))


@pytest.mark.gpu
def test_apply_a_scalable_rows_file_on_the_gpu_matches_numpy(tmp_path, gl_runner):
    """The GPU backend emits the scaled passes (a scale uniform, or the map as a texture) and runs them."""
    filt, _ = rows_file(tmp_path)
    scalable = filt.with_scales((0.5, 1.0))
    img = image()
    for scale in (0.4, scale_map(img.shape)):
        got = sepgen.apply(scalable, img, backend="gpu", scale=scale, runner=gl_runner)
        ref = sepgen.apply(scalable, img, scale=scale)
        assert float(np.max(np.abs(got - ref))) <= 2e-5 * float(np.max(np.abs(ref)))


def test_apply_cli_of_a_rows_file(tmp_path):
    filt, path = rows_file(tmp_path)
    img = image()
    np.save(tmp_path / "in.npy", img)
    code, out, err = cli("apply", path, "-i", tmp_path / "in.npy", "-o", tmp_path / "out.npy")
    assert code == 0, err
    assert "wrote" in out and "numpy" in out and "running-sum reference" in err
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), sepgen.apply(filt, img))


@pytest.mark.gpu
@pytest.mark.parametrize("sampling", ["--linear-sampling", "--point-sampling"])
def test_apply_cli_of_a_rows_file_on_the_gpu(tmp_path, sampling):
    filt, path = rows_file(tmp_path)
    img = image()
    np.save(tmp_path / "in.npy", img)
    code, out, err = cli("apply", path, "-i", tmp_path / "in.npy", "-o", tmp_path / "gpu.npy", "--backend", "gpu",
                         sampling)
    assert code == 0, err
    assert "GLSL shaders on OpenGL" in out
    got, ref = np.load(tmp_path / "gpu.npy"), sepgen.apply(filt, img)
    assert float(np.max(np.abs(got - ref))) <= 2e-3 * float(np.max(np.abs(ref)))
