"""issue 18: the cheapest rows filter of a binary kernel is what its emitted gather reads, so
`--structure auto` at a budget between the two counts keeps the separable filter instead of failing."""

from __future__ import annotations

import numpy as np
import pytest

from sepgen import kernels
from sepgen.common.errors import SepgenError
from sepgen.filters import rows
from sepgen.filters.filterfile import SeparableFilter
from sepgen.filters.rowsfilter import Rows
from sepgen.fitting import lowrank, rowsfit, searched
from sepgen.options import FitSettings


def binary_disk() -> np.ndarray:
    k = kernels.disk(50)
    return k / k.sum()


def test_cheapest_counts_the_reads_the_exact_runs_are_emitted_with() -> None:
    k = binary_disk()
    emitted = Rows(rows.exact_layout(k)).fetch_counts()["total"]
    assert emitted == 126  # docs/rows.md: binary disk 50, 126 fetches (fragment)
    assert rowsfit.cheapest(k) == emitted  # was 96: two reads per shared pair, not two per integer end
    with pytest.raises(SepgenError, match="--budget 126 or more"):
        rowsfit.fit_rows_filter(k, budget=120)


def test_auto_keeps_the_separable_filter_when_rows_does_not_fit(monkeypatch) -> None:
    k = binary_disk()
    v, h = lowrank.svd_components(k, 2)
    stub = SeparableFilter("d", k, v, h, provenance={"search": {"budget": 120, "frontier": []}})
    monkeypatch.setattr(searched, "fit_searched", lambda *a, **kw: stub)  # seconds of JAX fits otherwise
    best = rowsfit.fit_auto(k, FitSettings(), budget=120, name="d")
    assert best is stub
    assert [s["structure"] for s in best.provenance["search"]["structures"]] == ["separable"]
