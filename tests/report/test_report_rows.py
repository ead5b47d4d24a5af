"""issue 18: the report and the frontier figure of rows filters (boxes read from running sums)."""

from __future__ import annotations

from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest

from sepgen import kernels
from sepgen.filters import rows
from sepgen.filters.filterfile import SeparableFilter
from sepgen.filters.rowsfile import RowsFilter
from sepgen.fitting import lowrank
from sepgen.report import figures, frontier
from tests.report.test_report import check_index_numbers, parse_index
from tests.support import cli

BAR = np.array([253, 231, 37])  # viridis at its top: the colour of a box of the largest weight


def disk_rows(size: int = 21, trim: float = 0.0) -> RowsFilter:
    """The binary disk's exact rows (every box one weight), each box `trim` shorter at both ends."""
    k = kernels.disk(size)
    k = k / k.sum()
    exact = rows.exact_layout(k, "rows")
    lines = tuple(tuple(rows.Box(b.start + trim, b.end - trim, b.weight) for b in line) for line in exact.lines)
    layout = rows.RowsLayout("rows", exact.shape, exact.origin, lines)
    return RowsFilter(f"disk{size}rows", k, layout, {"structure": "rows", "search": {"budget": 80}})


def bar_pixels(path: Path) -> int:
    img = iio.imread(path)[..., :3].astype(int)
    left = img[:, : img.shape[1] // 2]  # the panel of every line's boxes
    return int(np.sum(np.abs(left - BAR).sum(axis=-1) < 30))


def test_box_picture_draws_each_box_at_its_length(tmp_path):
    whole, trimmed = disk_rows(), disk_rows(trim=2.25)  # fractional ends: a quarter tap inside
    figures.rows_boxes(whole.layout, tmp_path / "whole.png", "whole", target=whole.target)
    figures.rows_boxes(trimmed.layout, tmp_path / "trimmed.png", "trimmed", target=trimmed.target)
    figures.rows_boxes(trimmed.layout, tmp_path / "again.png", "trimmed", target=trimmed.target)
    assert (tmp_path / "again.png").read_bytes() == (tmp_path / "trimmed.png").read_bytes()  # deterministic
    assert iio.imread(tmp_path / "whole.png").shape[:2] == (560, 1200)
    length = lambda f: sum(b.end - b.start for line in f.layout.lines for b in line)  # noqa: E731
    drawn = bar_pixels(tmp_path / "trimmed.png") / bar_pixels(tmp_path / "whole.png")
    assert bar_pixels(tmp_path / "whole.png") > 20000  # the bars are there, in the weight's shade
    assert drawn == pytest.approx(length(trimmed) / length(whole), abs=0.05)


def test_report_of_a_rows_file(tmp_path):
    filt = disk_rows(trim=0.25)
    filt.save(tmp_path / "r.json")
    out = tmp_path / "a"
    proc = cli("report", tmp_path / "r.json", "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ["disk21rows_bokeh.png", "disk21rows_boxes.png",
                                                     "disk21rows_frontier.png", "disk21rows_kernel.png", "index.html"]
    assert check_index_numbers(out) >= 7  # the quality metrics, boxes and gather reads, each the file's
    keys = {key for _, key, _ in parse_index(out / "index.html").values}
    assert {"boxes", "gather_reads", "relative_l2"} <= keys
    assert bar_pixels(out / "disk21rows_boxes.png") > 20000
    text = (out / "index.html").read_text()
    fetches = filt.structure.fetch_counts()["total"]
    assert f"rows: {filt.layout.boxes} boxes along the kernel&#39;s rows, {fetches} fetches per pixel" in text
    svd = max(r["rank"] for r in frontier.svd_points(filt) if r["fetches"] <= fetches)  # the bokeh's equal-cost SVD
    assert f"exact 2D kernel, SVD rank {svd}, " in text


def _drawn(monkeypatch, filt, others=()) -> dict[str, list[tuple[float, float]]]:
    """What the frontier's first panel draws, by legend label."""
    saved: list = []
    monkeypatch.setattr(figures, "_save", lambda fig, path: saved.append(fig))
    frontier.frontier_figure(filt, "unused.png", others)
    return {line.get_label(): list(zip(line.get_xdata(), line.get_ydata())) for line in saved[0].axes[0].get_lines()}


def test_frontier_of_a_separable_filter_shows_rows_beside_pairs(monkeypatch):
    rowsf = disk_rows()
    v, h = lowrank.svd_components(rowsf.target, 2)
    sep = SeparableFilter("disk21", rowsf.target, v, h, provenance={"structure": "free", "search": {
        "budget": 200, "structures": [{"structure": "separable", "fetches": 40, "relative_l2": 0.2},
                                      {"structure": "rows", "fetches": 70, "relative_l2": 0.01}]}})
    drawn = _drawn(monkeypatch, sep, [rowsf])
    points = drawn["rows (boxes from running sums)"]
    own = (rowsf.structure.fetch_counts()["total"], 0.0)  # `others`, and the exact runs (the same layout here)
    assert sorted(points) == sorted([(70, 0.01), own, own])
    assert "sepgen separable (the search's best)" not in drawn  # that is the star itself
    caption = frontier.caption(frontier.filter_point(sep), sep)
    assert "rows: relative L2 0.01 at 70 fetches" in caption


def test_frontier_of_a_rows_filter(monkeypatch):
    rowsf = disk_rows(trim=0.25)
    rowsf.provenance["search"]["structures"] = [{"structure": "separable", "fetches": 61, "relative_l2": 0.12},
                                                {"structure": "rows", "fetches": 79, "relative_l2": 0.02}]
    rowsf.provenance["search"]["frontier"] = [{"rank": 1, "structure": "free", "prune": 0.0, "fetches": 30,
                                               "relative_l2": 0.3, "negative_mass": 0.0, "leak": 0.1, "max_error": 1}]
    drawn = _drawn(monkeypatch, rowsf)
    chosen = frontier.filter_point(rowsf)
    assert drawn["this filter"] == [(chosen["fetches"], pytest.approx(chosen["relative_l2"]))]
    assert chosen["fetches"] == rowsf.structure.fetch_counts()["total"] and chosen["relative_l2"] > 0
    assert drawn["sepgen separable (the search's best)"] == [(61, 0.12)]
    assert drawn["sepgen"] == [(30, 0.3)]
    assert [p[0] for p in drawn["plain SVD"]] == [r["fetches"] for r in frontier.svd_points(rowsf)]
    exact = RowsFilter("e", rowsf.target, rows.exact_layout(rowsf.target)).structure.fetch_counts()["total"]
    assert drawn["rows (boxes from running sums)"] == [(exact, 0.0)]  # the exact runs (the auto row is itself)
    assert "separable: relative L2 0.12 at 61 fetches" in frontier.caption(chosen, rowsf)


def test_auto_keeps_the_separable_candidates_when_rows_wins(monkeypatch):
    """The separable search is stubbed (seconds of JAX fits otherwise): the rows filter that wins
    keeps its frontier, which the report draws beside the rows point."""
    from sepgen.fitting import rowsfit, searched
    from sepgen.options import FitSettings

    k = disk_rows().target
    v, h = lowrank.svd_components(k, 1)
    cands = [{"rank": 1, "structure": "free", "prune": 0.0, "fetches": 42, "relative_l2": 0.3}]
    stub = SeparableFilter("d", k, v, h, provenance={"search": {"budget": 200, "frontier": cands}})
    monkeypatch.setattr(searched, "fit_searched", lambda *a, **kw: stub)
    best = rowsfit.fit_auto(k, FitSettings(), budget=200, name="d")
    assert isinstance(best, RowsFilter)
    assert best.provenance["search"]["frontier"] == cands
    assert [s["structure"] for s in best.provenance["search"]["structures"]] == ["separable", "rows"]
