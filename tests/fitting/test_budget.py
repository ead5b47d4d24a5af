"""Budget and target fitting: shared-ratio structure, fetch budgets, error targets."""

from __future__ import annotations

import numpy as np
import pytest

from sepgen.common.errors import SepgenError
from sepgen.filters.metrics import scale_to_peak
from sepgen.fitting import budget, losses, shared_ratio as sr
from sepgen.kernels import disk

WEIGHTS = {"l2": 1.0, "nonneg": 1.5, "zeros": 0.3, "l1": 0.0, "zeros_distance": 0.0, "max_error": 0.0, "dc": 0.0}


def _search(size: int = 16, steps: int = 600) -> budget.Search:
    k = disk(size)
    k = k * scale_to_peak(k)
    origin = (size // 2, size // 2)
    settings = budget.SearchSettings(WEIGHTS, steps=steps, refit_steps=300)
    return budget.Search(k, losses.make_target(k, origin), origin, settings, budget.emitted_fetches(origin))


@pytest.fixture(scope="module")
def search() -> budget.Search:
    return _search()


def test_pair_layouts_cover_every_tap_once_and_odd_ones_are_symmetric():
    even = sr.PairLayout.for_axis(6, 3)
    assert even.group.tolist() == [0, 0, 1, 1, 2, 2] and even.place.tolist() == [0, 1, 0, 1, 0, 1]
    odd = sr.PairLayout.for_axis(9, 4)
    assert odd.groups == 5 and odd.place[4] == sr.SINGLE
    sizes = np.bincount(odd.group)
    assert sizes.tolist() == sizes[::-1].tolist()  # mirror-symmetric grouping around the centre
    assert odd.group[3] == odd.group[2] != odd.group[4]


def test_projection_keeps_taps_that_already_have_the_structure():
    st = sr.Structure(sr.PairLayout.for_axis(6, 3), sr.PairLayout.for_axis(6, 3))
    rng = np.random.default_rng(0)
    ratio = rng.uniform(0.1, 0.9, 3)
    h = np.repeat(rng.normal(size=(2, 3)), 2, axis=1) * np.tile(np.stack([1 - ratio, ratio], 1).ravel(), (2, 1))
    v = rng.uniform(0.5, 2.0, (2, 6))  # same-sign pairs, ratios away from the edges of [0, 1]
    v2, h2 = sr.taps(sr.project(v, h, st), st)
    np.testing.assert_allclose(np.einsum("ki,kj->ij", v2, h2), np.einsum("ki,kj->ij", v, h), atol=1e-12)


def test_shared_fit_costs_one_horizontal_fetch_per_pair(search):
    params, _ = search.fitted(3, "shared")
    v, h = search.taps(params, "shared")
    counts = search.count(v, h)
    assert counts["horizontal"] == 8  # 16 offsets, 8 pairs, every component served by each read
    free = search.count(*search.taps(search.fitted(3, "free")[0], "free"))
    assert free["horizontal"] > counts["horizontal"]
    assert np.all(v[:, 0::2] * v[:, 1::2] >= 0)  # every vertical pair has one sign


def test_budget_is_respected_and_more_budget_never_fits_worse(search):
    small, found = budget.for_budget(search, 30, range(1, 5))
    assert small.total <= 30 and all(c.total <= 30 for c in found)
    large, _ = budget.for_budget(search, 60, range(1, 5))
    assert large.total <= 60 and large.loss <= small.loss
    assert large.describe().startswith(f"rank {large.rank} ")


def test_target_error_is_met_with_the_fewest_fetches_found(search):
    chosen, found = budget.for_target(search, 0.2, range(1, 5))
    assert chosen.relative_l2 <= 0.2
    assert chosen.total == min(c.total for c in found)


def test_a_budget_below_the_cheapest_filter_names_the_smallest_feasible_one(search):
    least = budget.smallest_budget(search)
    with pytest.raises(SepgenError, match=f"smallest feasible budget is {least} "):
        budget.for_budget(search, least - 1, range(1, 3))
    assert budget.for_budget(search, least, range(1, 3))[0].total <= least


def test_an_unreachable_target_says_what_is_reachable(search):
    with pytest.raises(SepgenError, match="out of reach up to rank 2"):
        budget.for_target(search, 1e-4, range(1, 3))


# --- issue 20, item 13: past rank 8 while the request asks for it --------------------------------


def test_a_target_goes_past_the_ranks_searched_until_it_is_met(search):
    reachable = search.candidate(5, "free", 0.0).relative_l2  # what rank 5 reaches unpruned
    with pytest.raises(SepgenError, match="out of reach up to rank 2"):
        budget.for_target(search, reachable, range(1, 3))  # no cap: ranks 1..2 only, as before
    chosen, found = budget.for_target(search, reachable, range(1, 3), cap=8)
    assert chosen.relative_l2 <= reachable and 2 < chosen.fitted_rank <= 5
    assert all(c.fitted_rank == chosen.fitted_rank for c in found)  # it stopped at the first rank that met it
    bounds = budget.svd_bounds(search.kernel)
    assert all(bounds[r] > reachable for r in range(3, chosen.fitted_rank)) or chosen.fitted_rank == 3


def test_a_target_beyond_the_cap_fails_before_fitting_past_the_ranks_searched():
    fresh = _search(steps=100)
    bounds = budget.svd_bounds(fresh.kernel)
    assert bounds[0] == pytest.approx(1.0) and bounds[16] == 0.0 and np.all(np.diff(bounds) <= 1e-15)
    target = bounds[6] / 2
    with pytest.raises(SepgenError, match=rf"out of reach up to rank 6 \(the search's cap\): no rank-6 filter is "
                                          rf"closer than relative L2 {bounds[6]:.4f}"):
        budget.for_target(fresh, target, range(1, 3), cap=6)
    assert max(r for r, _ in fresh.fitted_keys()) == 2


def test_a_budget_goes_past_the_ranks_searched_while_the_loss_falls(search):
    small, _ = budget.for_budget(search, 400, range(1, 3))
    assert small.fitted_rank <= 2
    chosen, found = budget.for_budget(search, 400, range(1, 3), cap=5)
    assert chosen.total <= 400 and all(c.total <= 400 for c in found)
    assert chosen.fitted_rank > 2 and chosen.loss < small.loss
    assert max(c.fitted_rank for c in found) <= 5
