"""sepgen.plan.taps: the pass plan, fetch counts and linear sampling."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import scipy.ndimage as ndi

from sepgen import emit
from sepgen.filters.filterfile import SeparableFilter
from sepgen.plan import taps
from tests.support import hand_filter


def simulate(filt: SeparableFilter, plan: list[taps.PassPlan], img: np.ndarray) -> np.ndarray:
    """Run a pass plan in NumPy: point fetches clamp, linear fetches interpolate exactly."""
    H, W = img.shape

    def read(a: np.ndarray, offset: float, linear: bool, axis: int) -> np.ndarray:
        n = a.shape[axis]
        idx = np.arange(n)
        base = math.floor(offset)
        frac = offset - base if linear else 0.0
        i0 = np.clip(idx + base, 0, n - 1)
        i1 = np.clip(idx + base + 1, 0, n - 1)
        return (1 - frac) * np.take(a, i0, axis=axis) + frac * np.take(a, i1, axis=axis)

    out = np.zeros((H, W))
    inter: dict[int, np.ndarray] = {}
    for p in plan:
        if p.direction == "horizontal":
            for k in p.components:
                inter[k] = np.zeros((H, W))
            for f in p.fetches:
                s = read(img, f.offset, f.linear, axis=1)
                for t in f.terms:
                    inter[p.components[t.slot]] += t.weight * s
        else:
            for f in p.fetches:
                out += f.terms[0].weight * read(inter[p.components[f.input]], f.offset, f.linear, axis=0)
    return out


def reference(filt: SeparableFilter, img: np.ndarray) -> np.ndarray:
    cy, cx = filt.origin
    H, W = filt.shape
    return ndi.convolve(img, filt.reconstruct(), mode="nearest", origin=(cy - H // 2, cx - W // 2))


@pytest.mark.parametrize("seed", range(4))
def test_fetch_counts_match_the_formula_on_filters_with_zero_taps(seed):
    filt = hand_filter(seed=seed)
    h32 = filt.horizontal.astype(np.float32)
    v32 = filt.vertical.astype(np.float32)
    union_h = int(np.any(h32 != 0, axis=0).sum())
    sum_v = int((v32 != 0).sum())
    assert union_h < filt.rank * filt.shape[1]  # the test filter really has zeros to skip
    assert emit.fetch_counts(filt, linear_sampling=False) == {"horizontal": union_h, "vertical": sum_v,
                                                              "total": union_h + sum_v}
    per = emit.fetch_counts(filt, linear_sampling=False, strategy="per-component")
    assert per["horizontal"] == int((h32 != 0).sum())


@pytest.mark.parametrize("one_vertical", [False, True], ids=["v-per-group", "one-v"])
@pytest.mark.parametrize("strategy", ["mrt", "per-component"])
@pytest.mark.parametrize("linear", [False, True])
@pytest.mark.parametrize("seed", range(3))
def test_plan_reproduces_the_separable_convolution(strategy, linear, seed, one_vertical):
    filt = hand_filter(rank=3 if seed else 11, seed=seed, origin=(3, 5) if seed != 2 else None)
    img = np.random.default_rng(seed).random((23, 17))
    got = simulate(filt, taps.plan_passes(filt, strategy, linear, one_vertical), img)
    ref = reference(filt, img)
    assert np.max(np.abs(got - ref)) <= 1e-5 * np.max(np.abs(ref)) + 1e-6


@pytest.mark.parametrize("strategy", ["mrt", "per-component"])
def test_one_vertical_plan_ends_in_a_single_pass_reading_every_component(strategy):
    filt = hand_filter(rank=11, seed=5)
    plan = taps.plan_passes(filt, strategy, one_vertical=True)
    *horizontal, last = plan
    assert all(p.direction == "horizontal" for p in horizontal)
    assert [len(p.components) for p in horizontal] == ([8, 3] if strategy == "mrt" else [1] * 11)
    assert [p.name for p in horizontal] == [f"h{g}" for g in range(len(horizontal))]
    assert last.name == "v0" and last.direction == "vertical" and last.components == tuple(range(11))
    # the same taps as one vertical pass per group: counts do not depend on the plan's shape
    assert (taps.counts(plan) == taps.counts(taps.plan_passes(filt, strategy))
            == emit.fetch_counts(filt, linear_sampling=False, strategy=strategy))


def test_linear_sampling_merges_same_sign_neighbours_only():
    # offsets are cx - j: taps (j) 0..6 with cx = 3
    h = np.array([[1.0, 3.0, 0.0, 2.0, -2.0, 0.5, 0.5]])
    fetches = taps.plan_fetches(h, 3, linear=True)
    assert len(fetches) == 4  # (1, 3) merged, 2 alone, -2 alone, (0.5, 0.5) merged
    merged = [f for f in fetches if f.linear]
    assert [round(f.offset, 6) for f in merged] == [-3.0 + 0.5, 2.0 + 0.25]
    assert [f.terms[0].weight for f in merged] == [1.0, 4.0]
    assert len(taps.plan_fetches(h, 3, linear=False)) == 6


def test_linear_sampling_keeps_shared_point_fetches_when_merging_does_not_pay():
    # four components with the same support: a shared point fetch serves all of them
    rng = np.random.default_rng(3)
    h = rng.random((4, 10)) + 0.1
    assert len(taps.plan_fetches(h, 5, linear=True)) == 10
    # one component: five bilinear fetches
    assert len(taps.plan_fetches(h[:1], 5, linear=True)) == 5


def test_linear_never_costs_more_than_point():
    for seed in range(6):
        filt = hand_filter(rank=4, seed=seed)
        for strategy in ("mrt", "per-component"):
            a = emit.fetch_counts(filt, False, strategy)
            b = emit.fetch_counts(filt, True, strategy)
            assert b["horizontal"] <= a["horizontal"] and b["vertical"] <= a["vertical"]


def test_more_than_eight_components_split_into_pass_pairs():
    filt = hand_filter(rank=11, seed=5)
    plan = taps.plan_passes(filt, "mrt")
    assert [p.name for p in plan] == ["h0", "v0", "h1", "v1"]
    assert [len(p.components) for p in plan] == [8, 8, 3, 3]
    man = json.loads(emit.render(filt)["manifest.json"])
    assert [p["blend"] for p in man["passes"]] == ["none", "none", "none", "additive"]
    assert all(len(p["outputs"]) <= 8 for p in man["passes"])
