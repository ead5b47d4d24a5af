"""issue 18 item 4: a rows filter at scale s (`sepgen.filters.rows_scaled`): the float64 model,
its kernel, and scalable rows files."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from sepgen import emit, kernels
from sepgen.common.errors import SepgenError
from sepgen.filters import rows, rows_scaled, scaling
from sepgen.filters.rowsfile import RowsFilter, filter_from_json


def disk_rows(size: int = 20, hole: bool = True) -> rows.RowsLayout:
    """An AA disk's row model: one box per row (fractional ends), unit gain; with `hole`, two
    boxes on the middle rows, so rows with different box counts meet."""
    r, c = size / 2, (size - 1) / 2
    lines = []
    for i in range(size):
        half = math.sqrt(max(r * r - (i - c) ** 2, 0.0))
        lo, hi = max(c - half, -0.5), min(c + half, size - 0.5)
        mid = hole and abs(i - c) < 2
        lines.append((rows.Box(lo, c - 1, 1.0), rows.Box(c + 1, hi, 1.0)) if mid else (rows.Box(lo, hi, 1.0),))
    lay = rows.RowsLayout("rows", (size, size), (size // 2, size // 2), tuple(lines))
    total = lay.reconstruct().sum()
    return rows.RowsLayout("rows", lay.shape, lay.origin,
                           tuple(tuple(b._replace(weight=b.weight / total) for b in line) for line in lay.lines))


def columns_layout() -> rows.RowsLayout:
    """Columns axis, off-centre origin, a negative weight, gain ≠ 1."""
    lines = tuple((rows.Box(1.25, 6.5, 0.5 + 0.1 * (j % 3)), rows.Box(7.5, 8.5, -0.05)) for j in range(13))
    return rows.RowsLayout("columns", (10, 13), (3, 9), lines)


def image(shape=(23, 31, 2), seed=0) -> np.ndarray:
    return np.random.default_rng(seed).random(shape)


@pytest.mark.parametrize("make", [disk_rows, columns_layout], ids=["disk", "columns"])
def test_scale_one_is_the_unscaled_filter(make) -> None:
    lay = make()
    img = image()
    assert np.allclose(rows_scaled.filter_image(img, lay, 1.0), rows.filter_image(img, lay), atol=1e-12)
    k, origin = rows_scaled.kernel_at(lay, 1.0)
    assert origin == lay.origin and np.allclose(k, lay.reconstruct(), atol=1e-15)


@pytest.mark.parametrize("s", [0.05, 0.25, 0.4, 0.5, 0.73])
@pytest.mark.parametrize("make", [disk_rows, columns_layout], ids=["disk", "columns"])
def test_the_filter_at_s_convolves_with_its_kernel_and_keeps_the_gain(make, s: float) -> None:
    lay = make()
    img = image()
    k, origin = rows_scaled.kernel_at(lay, s)
    assert k.sum() == pytest.approx(rows_scaled.gain(lay), rel=1e-12)  # renormalised: the gain at every scale
    as_rows = rows.RowsLayout("rows", k.shape, origin, tuple(rows.line_runs(line) for line in k))
    assert np.allclose(rows_scaled.filter_image(img, lay, s), rows.filter_image(img, as_rows), atol=1e-12)
    # the kernel is s times as large: its grid is the scaled separable filters' (scaling.scaled_axis)
    assert k.shape == (scaling.scaled_axis(lay.shape[0], lay.origin[0], s)[0],
                       scaling.scaled_axis(lay.shape[1], lay.origin[1], s)[0])


def test_scale_zero_is_the_source_times_the_gain() -> None:
    lay = columns_layout()
    img = image()
    assert np.allclose(rows_scaled.filter_image(img, lay, 0.0), rows_scaled.gain(lay) * img)


def test_a_map_applies_each_pixels_own_scale() -> None:
    lay = disk_rows()
    img = image()
    smap = np.random.default_rng(1).choice([0.0, 0.3, 0.5, 1.0], size=img.shape[:2])
    out = rows_scaled.filter_image(img, lay, smap)
    for s in (0.0, 0.3, 0.5, 1.0):
        assert np.allclose(out[smap == s], rows_scaled.filter_image(img, lay, s)[smap == s], atol=1e-12)


def test_fewer_lines_at_a_smaller_scale_and_continuous_in_s() -> None:
    lay = disk_rows()
    count = len(lay.lines)
    for s in (0.25, 0.5, 1.0):
        lines = {r.a for r in rows_scaled.reads(lay, s)}
        assert len(lines) <= math.ceil(s * (count + 1)) + 1
    # the end lines fade out: a scale that moves a line across the range's edge changes little
    s = 10 / 11  # s·(cl + 1) = 10: line a = 10 sits exactly at u = −1
    k0, _ = rows_scaled.kernel_at(lay, s)
    k1, _ = rows_scaled.kernel_at(lay, s * (1 - 1e-9))
    assert k0.shape == k1.shape and np.abs(k0 - k1).max() < 1e-6


def test_the_scaled_disk_approximates_the_disk_at_size_s() -> None:
    """A 40-tap AA disk's row model at 0.5 against the AA disk of 20 (centred like it)."""
    size = 40
    k = kernels.disk(size, antialias=True)
    filt = RowsFilter("d", k / k.sum(), rows.RowsLayout("rows", (size, size), (20, 20),
                                                        disk_rows(size, hole=False).lines), scales=(0.5, 1.0))
    rel = {row["scale"]: row["relative_l2"] for row in filt.metrics()["scales"]}
    assert rel[1.0] < 0.03 and rel[0.5] < 0.08  # the fitted AA disk 50 does better: docs/rows.md


def test_scalable_rows_file_round_trips_and_emits_a_scale_uniform() -> None:
    lay = disk_rows()
    filt = RowsFilter("d", lay.reconstruct(), lay).with_scales((1.0, 0.25))
    text = filt.to_json()
    back = filter_from_json(text)
    assert back.scales == (0.25, 1.0) and back.to_json() == text
    doc = json.loads(text)
    assert doc["scales"] == [0.25, 1.0] and [r["scale"] for r in doc["metrics"]["scales"]] == [0.25, 1.0]
    manifest = json.loads(emit.render(back, {})["manifest.json"])
    assert manifest["scale"] == {"source": "uniform", "uniform": "u_scale", "fitted_scales": [0.25, 1.0]}
    unscaled = json.loads(emit.render(RowsFilter("d", lay.reconstruct(), lay), {})["manifest.json"])
    assert "scale" not in unscaled


@pytest.mark.parametrize("scales, words", [
    ([2.0], "'scales' 2.0 is outside (0, 1]"),
    ([0.5, 0.5], "lists scale 0.5 more than once"),
    ("half", "must be a non-empty list of scales"),
])
def test_bad_scales_in_a_rows_file_are_one_line_errors(scales, words) -> None:
    lay = disk_rows()
    doc = json.loads(RowsFilter("d", lay.reconstruct(), lay).to_json())
    doc["scales"] = scales
    with pytest.raises(SepgenError, match=words.replace("(", r"\(").replace(")", r"\)")) as err:
        filter_from_json(json.dumps(doc))
    assert "\n" not in str(err.value)


def test_scaled_rows_emit_counts_and_refusals() -> None:
    lay = disk_rows()
    filt = RowsFilter("d", lay.reconstruct(), lay).with_scales((0.5, 1.0))
    counts = json.loads(emit.render(filt, {"scale_source": "texture"})["manifest.json"])["fetches_per_pixel"]
    assert counts["gather"] == 2 * lay.boxes + 1  # at s = 1, no shared reads; the map read
    with pytest.raises(SepgenError, match="scaled taps need fragment passes"):
        emit.render(filt, {"stage": "compute"})
    with pytest.raises(SepgenError, match="scaled taps are bilinear fetches already"):
        emit.render(filt, {"linear_sampling": True})
