"""Row sums (issue 18): the layout's exact kernel, its reads, the running-sum reference
filter against convolution, the tiled float32 simulation, run-length decomposition, JSON."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from sepgen import kernels
from sepgen.common.errors import SepgenError
from sepgen.common.jsonfmt import dumps
from sepgen.filters import reference, rows
from sepgen.filters.rows import Box, RowsLayout


def _random_layout(rng: np.random.Generator, shape: tuple[int, int], origin: tuple[int, int], axis: str) -> RowsLayout:
    count, n = shape if axis == "rows" else shape[::-1]
    lines = []
    for _ in range(count):
        boxes = []
        for _ in range(int(rng.integers(0, 3))):
            a, b = sorted(rng.uniform(-0.5, n - 0.5, 2))
            boxes.append((a, b, float(rng.normal())))
        lines.append(boxes)
    return RowsLayout(axis, shape, origin, lines)


def test_coverage_is_the_pixel_overlap_of_the_box():
    # [0.25, 2.5]: a quarter of tap 0's cell [−0.5, 0.5] is outside, taps 1 and 2 whole
    np.testing.assert_allclose(rows.coverage(0.25, 2.5, 4), [0.25, 1.0, 1.0, 0.0])
    np.testing.assert_allclose(rows.coverage(1.2, 1.7, 3), [0.0, 0.3, 0.2])  # straddles taps 1|2
    np.testing.assert_allclose(rows.coverage(-0.5, 3.5, 4), np.ones(4))


def test_reconstruct_puts_each_line_on_its_axis():
    lay = RowsLayout("columns", (3, 2), (1, 1), [[(0.5, 2.5, 2.0)], []])
    np.testing.assert_allclose(lay.reconstruct(), [[0, 0], [2, 0], [2, 0]])
    assert lay.boxes == 1 and lay.reads() == 2


@pytest.mark.parametrize("shape,origin,axis", [
    ((5, 7), (2, 3), "rows"),  # odd, centred
    ((6, 4), (3, 2), "columns"),  # even, centred
    ((4, 9), (0, 7), "rows"),  # non-square, off-centre origin
    ((3, 8), (2, 1), "columns"),
])
def test_running_sum_filter_equals_convolution_with_the_reconstructed_kernel(shape, origin, axis):
    rng = np.random.default_rng(sum(shape) + origin[1])
    lay = _random_layout(rng, shape, origin, axis)
    img = rng.normal(size=(9, 13, 2))
    want = reference.convolve_direct(img, lay.reconstruct(), origin)
    np.testing.assert_allclose(rows.filter_image(img, lay), want, atol=1e-12)
    np.testing.assert_allclose(reference.convolve2d(img, lay.reconstruct(), origin), want, atol=1e-12)
    for tile in (None, 1, 2, 5):  # the tiled arithmetic in float64 is the same filter
        np.testing.assert_allclose(rows.filter_image_tiled(img, lay, tile, np.float64), want, atol=1e-12)
        for scan in ("sequential", "compensated"):
            np.testing.assert_allclose(rows.filter_image_tiled(img, lay, tile, np.float64, scan), want, atol=1e-12)


def test_a_fractional_end_is_a_linear_read_of_the_prefix_sum():
    # one row, box [0.3, 2.5] over a 1×4 kernel centred at 2: out[x] = P̃(x + 2 − 0.8) − P̃(x + 2 − 3)
    lay = RowsLayout("rows", (1, 4), (0, 2), [[(0.3, 2.5, 1.0)]])
    src = np.array([1.0, 10.0, 100.0, 1000.0, 10000.0, 100000.0])
    p = np.concatenate([[0.0], np.cumsum(src)])  # p[m] = P(m − 1)
    x = 3

    def lerp(pos: float) -> float:
        return np.interp(pos + 1, np.arange(len(p)), p)

    want = lerp(x + 2 - 0.3 - 0.5) - lerp(x + 2 - 2.5 - 0.5)
    got = rows.filter_image(src[None, :], lay)[0, x]
    assert got == pytest.approx(want)
    assert got == pytest.approx(0.2 * src[x + 2] + src[x + 1] + src[x])  # tap 0 covered 0.2


def test_clamp_to_edge_is_the_linear_extension_of_the_prefix_sum():
    # the shader's edge rule: P(n) = (n + 1)·s[0] left of the row, P(w−1) + (n−w+1)·s[w−1] right of it
    src = np.array([3.0, -1.0, 4.0, 1.0, -5.0, 9.0])
    w = len(src)
    p = np.cumsum(src)

    def prefix(n: int) -> float:
        return (n + 1) * src[0] if n < 0 else p[-1] + (n - w + 1) * src[-1] if n >= w else p[n]

    def read(pos: float) -> float:
        n = math.floor(pos)
        return (1 - (pos - n)) * prefix(n) + (pos - n) * prefix(n + 1)

    lay = RowsLayout("rows", (1, 7), (0, 3), [[(-0.2, 5.7, 1.0), (1.25, 2.5, -2.0)]])
    got = rows.filter_image(src[None, :], lay)[0]
    want = [sum(b.weight * (read(x + 3 - b.start - 0.5) - read(x + 3 - b.end - 0.5)) for b in lay.lines[0])
            for x in range(w)]
    np.testing.assert_allclose(got, want, atol=1e-12)


def test_adjacent_lines_with_the_same_ends_share_their_reads():
    same = [(0.5, 3.5, 1.0)]
    lay = RowsLayout("rows", (4, 5), (2, 2), [same, [(0.5, 3.5, 3.0)], same, [(1.5, 2.5, 1.0)]])
    assert lay.reads(share=False) == 8 and lay.reads() == 6
    plan = lay.gather_plan(share=True)
    assert plan[0].line == pytest.approx(0.75) and plan[0].weight == 4.0  # w1/(w0+w1) = 3/4
    np.testing.assert_allclose(rows.plan_kernel(lay, plan), lay.reconstruct())
    # opposite signs cannot share one read
    mixed = RowsLayout("rows", (2, 5), (1, 2), [[(0.5, 3.5, 1.0)], [(0.5, 3.5, -1.0)]])
    assert mixed.reads(share=True) == 4


def test_shared_reads_of_a_random_layout_reproduce_its_kernel():
    rng = np.random.default_rng(3)
    ends = [(-0.5, 4.5), (1.0, 2.25)]
    lines = [[(*ends[int(rng.integers(0, 2))], float(rng.uniform(0.5, 2)))] for _ in range(9)]
    lay = RowsLayout("columns", (6, 9), (3, 4), lines)
    plan = lay.gather_plan(share=True)
    assert len(plan) < lay.boxes
    np.testing.assert_allclose(rows.plan_kernel(lay, plan), lay.reconstruct(), atol=1e-15)
    img = rng.normal(size=(7, 11))  # the simulation reads the plan: shared reads mix two rows of P
    want = reference.convolve_direct(img, lay.reconstruct(), lay.origin)
    for tile in (None, 2):
        np.testing.assert_allclose(rows.filter_image_tiled(img, lay, tile, np.float64), want, atol=1e-12)


def test_binary_disk_decomposes_exactly_into_one_box_per_row():
    k = kernels.disk(50)
    lay = rows.exact_layout(k)
    assert lay.axis == "rows" and lay.boxes == 50
    assert lay.reads(share=False) == 100 <= 2 * 50 + 4
    assert lay.reads() == 70  # the middle rows of a disk have equal runs
    np.testing.assert_array_equal(lay.reconstruct(), k)


def test_exact_layout_picks_the_axis_with_fewer_boxes():
    k = np.zeros((5, 5))
    k[:, 1] = k[:, 3] = 1.0  # two columns: rows need 2 boxes each, columns 1 box on 2 columns
    assert rows.choose_axis(k) == "columns"
    lay = rows.exact_layout(k)
    assert lay.axis == "columns" and lay.boxes == 2
    np.testing.assert_array_equal(lay.reconstruct(), k)
    assert rows.exact_layout(k, axis="rows").boxes == 10
    hexagon = kernels.polygon(51)  # flat top: fewer rows than columns
    assert rows.choose_axis(hexagon) == "rows" and rows.choose_axis(hexagon.T) == "columns"


def test_line_runs_are_exact_for_any_line():
    line = np.array([0, 2, 2, 0, 1, 3, 3, 3, 0])
    boxes = rows.line_runs(line)
    assert boxes == (Box(0.5, 2.5, 2.0), Box(3.5, 4.5, 1.0), Box(4.5, 7.5, 3.0))
    assert rows.is_binary(kernels.disk(9)) and not rows.is_binary(kernels.disk(9, antialias=True))


def test_json_round_trip_is_deterministic():
    lay = _random_layout(np.random.default_rng(1), (5, 6), (1, 4), "rows")
    text = dumps(lay.to_json())
    again = RowsLayout.from_json(json.loads(text))
    assert again == lay and dumps(again.to_json()) == text


@pytest.mark.parametrize("doc,words", [
    ({"axis": "diagonal", "shape": [2, 2], "origin": [1, 1], "lines": [[], []]}, "axis"),
    ({"axis": "rows", "shape": [2, 2], "origin": [2, 0], "lines": [[], []]}, "origin"),
    ({"axis": "rows", "shape": [2, 2], "origin": [1, 1], "lines": [[]]}, "needs 2 lines"),
    ({"axis": "rows", "shape": [2, 2], "origin": [1, 1], "lines": [[[0, 2, 1]], []]}, "not an interval"),
    ({"axis": "rows", "shape": [2, 2], "origin": [1, 1], "lines": [[[1, 0, 1]], []]}, "not an interval"),
    ({"axis": "rows", "shape": [2, 2], "origin": [1, 1], "lines": [[[0, 1, float("nan")]], []]}, "finite"),
    ({"axis": "rows", "shape": [2, 2], "origin": [1, 1], "lines": [[[0, 1]], []]}, "[start, end, weight]"),
    ({"axis": "rows", "shape": [2.5, 2], "origin": [1, 1], "lines": [[], []]}, "two integers"),
    ({"axis": "rows", "shape": [2, 2], "origin": [1, 1]}, "lacks lines"),
])
def test_bad_layouts_fail_with_one_line(doc, words):
    with pytest.raises(SepgenError, match=None) as err:
        RowsLayout.from_json(doc)
    assert words in str(err.value) and "\n" not in str(err.value)


def test_tiled_float32_sums_keep_a_highlight_from_streaking():
    k = kernels.disk(15)
    lay = rows.exact_layout(k / k.sum())
    img = np.full((6, 400), 0.01)
    img[3, 100] = 1e5
    ref = reference.convolve2d(img, lay.reconstruct())
    tiled = rows.hdr_ratio(rows.filter_image_tiled(img, lay, 32), ref)
    whole_sequential = rows.hdr_ratio(rows.filter_image_tiled(img, lay, None, scan="sequential"), ref)
    assert tiled < 1.0 < whole_sequential  # a whole-row sequential sum leaves the streak
    assert rows.hdr_ratio(rows.filter_image_tiled(img, lay, None, scan="compensated"), ref) < 0.5 * whole_sequential


def test_scan_reads():
    assert rows.scan_reads("compute") == 1
    assert rows.scan_reads("fragment", 64) == 18
    with pytest.raises(SepgenError, match="tile"):
        rows.scan_reads("fragment", None)


# --- fitting (JAX) ----------------------------------------------------------------------------

FAST = {"steps": 300, "lr": 0.05, "optimizer": "adam"}


def _quality(fit) -> dict:
    from sepgen.filters import metrics

    return metrics.quality(fit.layout.reconstruct(), fit.target, [], [])


def test_jax_reconstruct_is_the_layouts_kernel():
    from sepgen.fitting import rows as fr

    rng = np.random.default_rng(5)
    ends = rng.uniform(-1.0, 8.0, (4, 3, 2))
    weights = rng.normal(size=(4, 3))
    used = np.ones((4, 3), bool)
    got = np.asarray(fr.reconstruct(np.asarray(ends, np.float32), np.asarray(weights, np.float32), 7))
    np.testing.assert_allclose(got, fr.slots_kernel(fr.Slots(ends, weights, used, fr.identity_tie(4, 3)), 7), atol=1e-5)
    lines = [[(min(np.clip(e, -0.5, 6.5)), max(np.clip(e, -0.5, 6.5)), w * (1 if e[0] <= e[1] else -1))
              for e, w in zip(ends[i], weights[i])] for i in range(4)]
    np.testing.assert_allclose(got, RowsLayout("rows", (4, 7), (2, 3), lines).reconstruct(), atol=1e-5)


def test_fit_of_an_antialiased_disk_improves_on_its_start_and_keeps_dc():
    from sepgen.fitting import rows as fr
    from sepgen.options import FitSettings

    k = kernels.disk(15, antialias=True)
    prob = fr.problem(k)
    start = np.linalg.norm(fr.slots_kernel(fr.start_slots(prob.lines, 1), 15) - prob.lines) / np.linalg.norm(prob.lines)
    fit = fr.fit_rows(k, share=False, settings=FitSettings(**FAST))
    q = _quality(fit)
    assert fit.layout.reads(share=False) == 30 and fit.layout.axis == "rows"
    assert q["relative_l2"] < 0.6 * start and q["relative_l2"] < 0.05
    assert q["negative_mass"] <= 1e-4 and q["leak"] <= 1e-3
    assert abs(q["dc_gain"] - 1.0) < 1e-12
    ends = np.array([[b.start, b.end] for line in fit.layout.lines for b in line])
    np.testing.assert_array_equal(ends * fr.FRACTION, np.round(ends * fr.FRACTION))  # exact for 8-bit filtering
    # more reads buy more boxes where the residual is largest, and a lower error
    more = fr.fit_rows(k, budget=40, share=False, settings=FitSettings(**FAST))
    assert 30 < more.layout.reads(share=False) <= 40 and _quality(more)["relative_l2"] < q["relative_l2"]


def test_shared_reads_buy_boxes_within_the_same_budget():
    from sepgen.fitting import rows as fr
    from sepgen.options import FitSettings

    k = kernels.disk(15, antialias=True)
    alone = fr.fit_rows(k, budget=30, share=False, settings=FitSettings(**FAST))
    shared = fr.fit_rows(k, budget=30, settings=FitSettings(**FAST))
    assert shared.layout.reads() <= 30 < shared.layout.reads(share=False)
    assert _quality(shared)["relative_l2"] < _quality(alone)["relative_l2"]
    np.testing.assert_allclose(rows.plan_kernel(shared.layout, shared.layout.gather_plan()),
                               shared.layout.reconstruct(), atol=1e-15)


def test_tie_close_pairs_each_box_once():
    from sepgen.fitting import rows as fr

    ends = np.array([[[0.0, 4.0]], [[0.1, 4.0]], [[0.0, 4.1]], [[2.0, 3.0]]])
    weights = np.ones((4, 1))
    slots = fr.Slots(ends, weights, np.ones((4, 1), bool), fr.identity_tie(4, 1))
    tied = fr.tie_close(slots, 0.25)
    assert tied.cost() == 3  # lines 0+1 share; line 2 has no free partner left above, line 3 is too far
    np.testing.assert_array_equal(tied.shared_ends()[1], tied.shared_ends()[0])
    assert fr.tie_close(tied, 0.25).cost() == 3


def test_fit_picks_columns_for_a_hexagon_on_its_side():
    from sepgen.fitting import rows as fr
    from sepgen.options import FitSettings

    k = kernels.polygon(13, antialias=True).T
    fit = fr.fit_rows(k, settings=FitSettings(**FAST))
    assert fit.layout.axis == "columns" and fit.layout.reads() <= 2 * np.count_nonzero(k.any(axis=0))
    assert _quality(fit)["relative_l2"] < 0.05


def test_fit_of_a_binary_kernel_is_its_exact_run_lengths():
    from sepgen.fitting import rows as fr

    fit = fr.fit_rows(kernels.disk(20))
    np.testing.assert_allclose(fit.layout.reconstruct(), fit.target, atol=1e-17)
    assert fit.layout.reads(share=False) == 40


@pytest.mark.parametrize("kernel,budget,words", [
    (np.array([[0.0, 1.0, -0.2]]), None, "non-negative kernel; use the separable"),
    (kernels.disk(9, antialias=True), 8, "needs at least 10 gather reads"),  # adjacent lines share (issue 18)
    (kernels.disk(9, antialias=True), "20", "budget must be a positive integer"),
    (kernels.disk(9, antialias=True), 0, "budget must be a positive integer"),
])
def test_fit_refuses_what_rows_cannot_do(kernel, budget, words):
    from sepgen.fitting import rows as fr

    with pytest.raises(SepgenError, match=words):
        fr.fit_rows(kernel, budget=budget)


def test_snap_shared_puts_each_shared_read_on_an_8_bit_fraction():
    from sepgen.fitting import rows as fr

    lay = RowsLayout("rows", (3, 5), (1, 2), [[(0.5, 3.5, 1.0)], [(0.5, 3.5, 0.3)], [(1.5, 2.5, 1.0)]])
    assert lay.gather_plan()[0].line * 256 != round(lay.gather_plan()[0].line * 256)
    snapped = fr.snap_shared(lay)
    read = snapped.gather_plan()[0]
    assert read.line * 256 == pytest.approx(round(read.line * 256), abs=1e-9) and read.weight == pytest.approx(1.3)
    assert snapped.reads() == lay.reads() == 4


def test_fit_is_deterministic():
    from sepgen.fitting import rows as fr
    from sepgen.options import FitSettings

    k = kernels.polygon(11, antialias=True)
    a, b = (fr.fit_rows(k, budget=26, settings=FitSettings(**FAST)) for _ in range(2))
    assert dumps(a.layout.to_json()) == dumps(b.layout.to_json())
