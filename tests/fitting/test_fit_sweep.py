"""sepgen/fitting/weight_sweep.py: `sepgen.sweep`, a grid of loss weights in one vmapped call."""

from __future__ import annotations

import numpy as np
import pytest

import sepgen
from sepgen.common.errors import SepgenError
from sepgen.fitting import weight_sweep as sweep_module
from sepgen.kernels import disk


def test_sweep_cell_equals_single_fit():
    kernel = disk(20)
    cells = sepgen.sweep(kernel, 3, nonneg=(0.0, 1.5), zeros=(0.3, 0.8), steps=300, prune=0.2)
    assert [c.name for c in cells] == ["kernel_n0_z0p3", "kernel_n0_z0p8", "kernel_n1p5_z0p3", "kernel_n1p5_z0p8"]
    assert [(c.provenance["weights"]["nonneg"], c.provenance["weights"]["zeros"]) for c in cells] == [
        (0.0, 0.3), (0.0, 0.8), (1.5, 0.3), (1.5, 0.8)]
    single = sepgen.fit(kernel, 3, dict(l2=1.0, nonneg=1.5, zeros=0.8), steps=300, prune=0.2)
    cell = cells[3]
    np.testing.assert_allclose(cell.vertical, single.vertical, rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(cell.horizontal, single.horizontal, rtol=1e-5, atol=1e-9)
    assert np.array_equal(cell.vertical == 0, single.vertical == 0)
    assert cell.provenance["loss"] == pytest.approx(single.provenance["loss"], rel=1e-5)


def test_sweep_default_grid_and_names():
    cells = sepgen.sweep({"kernel": "disk", "size": 8}, 2, steps=3)
    assert len(cells) == 9
    assert cells[4].name == "disk8_n0p5_z0p3"
    assert sweep_module.weight_label(1e-05) == "1em05"


def test_sweep_rejects_bad_grids():
    with pytest.raises(SepgenError, match="at least one"):
        sepgen.sweep(disk(5), 1, nonneg=())
    with pytest.raises(SepgenError, match="repeat"):
        sepgen.sweep(disk(5), 1, zeros=(0.3, 0.3))
    with pytest.raises(SepgenError, match=">= 0"):
        sepgen.sweep(disk(5), 1, nonneg=(-1.0,))
