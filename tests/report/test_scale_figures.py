"""sepgen.report.scale_figures: per-scale kernel maps and the bokeh strip."""

from __future__ import annotations

import numpy as np

from sepgen import kernels
from sepgen.filters.filterfile import SeparableFilter
from sepgen.report import scale_figures


def _filter():
    k = kernels.disk(12)
    v = np.stack([k.sum(axis=1) / k.sum()])
    return SeparableFilter("d12", k / k.sum(), v, np.stack([k.sum(axis=0) / k.sum()]),
                           provenance={"kernel": kernels.canonical_spec({"kernel": "disk", "size": 12})},
                           scales=(0.5, 1.0))


def test_scale_figures_are_written(tmp_path):
    filt = _filter()
    scale_figures.scale_maps(filt, [0.5, 1.0], tmp_path / "maps.png")
    img = np.zeros((40, 60, 3))
    img[20, 30] = 1.0
    scale_figures.bokeh_strip(filt, img, 2.0, False, tmp_path / "strip.png", scales=(0.5, 1.0))
    assert (tmp_path / "maps.png").stat().st_size > 1000 and (tmp_path / "strip.png").stat().st_size > 1000


def test_ramp():
    r = scale_figures.ramp((3, 5))
    assert r.shape == (3, 5) and r[0, 0] == 0.2 and r[2, 4] == 1.0


def test_report_of_a_scalable_filter_shows_each_scale(tmp_path):
    from sepgen.report import filter_section, write_filter_report

    filt = _filter()
    img = np.zeros((40, 60, 3))
    img[20, 30] = 1.0
    sec = write_filter_report(filt, tmp_path, image=img, image_name="dot", gamma=1.0, runner=None)
    paths = [f["path"] for f in sec.figures]
    assert "d12_scales.png" in paths and "d12_scale_strip.png" in paths
    assert all((tmp_path / p).is_file() for p in paths)
    keys = [k for k, _ in filter_section(filt, "x.json").metrics]
    assert "relative_l2 at scale 0.5" in keys and "leak at scale 1" in keys
    plain = SeparableFilter(filt.name, filt.target, filt.vertical, filt.horizontal, provenance=filt.provenance)
    assert not any("at scale" in k for k, _ in filter_section(plain, "x.json").metrics)
