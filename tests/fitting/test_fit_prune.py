"""sepgen/fitting/prune.py: exact zero taps, the refit and its tolerance."""

from __future__ import annotations

import numpy as np
import pytest

import sepgen
from sepgen.fitting import prune as pruning
from sepgen.kernels import disk


def test_pruning_yields_exact_zeros_within_tolerance():
    f = sepgen.fit(disk(30), 4, dict(l2=1.0, nonneg=1.5, zeros=0.3), steps=800, prune=0.2)
    p = f.provenance
    zeros_v, zeros_h = f.vertical == 0.0, f.horizontal == 0.0
    assert zeros_v.sum() + zeros_h.sum() > 0
    assert f.metrics()["zero_taps"] == zeros_v.sum() + zeros_h.sum()
    assert not np.any(np.signbit(f.vertical[zeros_v])) and not np.any(np.signbit(f.horizontal[zeros_h]))  # +0.0
    assert 0 < p["prune_threshold_used"] <= 0.2
    assert p["loss"]["pruned"] <= p["loss"]["fit"] * (1 + pruning.TOLERANCE) + 1e-12
    assert f.metrics()["loss"] == pytest.approx(p["loss"]["final"], rel=1e-12)  # pruned, then exact DC gain
    assert f.history[-1, 0] == 1600  # the refit continues the curve


def test_pruning_backs_off_when_the_loss_would_rise_too_much():
    f = sepgen.fit(disk(30), 4, dict(l2=1.0, nonneg=1.5, zeros=0.3), steps=200, prune=0.9)
    p = f.provenance
    assert p["prune_threshold_used"] < 0.9
    final = p["loss"].get("pruned", p["loss"]["fit"])
    assert final <= p["loss"]["fit"] * (1 + pruning.TOLERANCE) + 1e-12


def test_prune_masks_of_one_component_are_relative_to_its_peak():
    v = np.array([[1.0, 0.1, -0.3, 0.0]])
    h = np.array([[-10.0, 1.0, 3.0, 2.5]])
    mv, mh = pruning.masks_for(v, h, 0.25)
    assert mv.tolist() == [[True, False, True, False]]
    assert mh.tolist() == [[True, False, True, True]]


def test_prune_masks_judge_every_component_against_the_filters_largest_tap():
    # component 1 adds at most 0.3 · 0.5 = 0.15 to a filter whose largest tap is 1.15:
    # at 0.2 it goes whole, though its own peak taps would pass a per-component rule
    v = np.array([[1.0, 0.5, 0.0], [0.3, 0.03, 0.3]])
    h = np.array([[1.0, 0.9, 0.1], [0.5, 0.5, 0.05]])
    mv, mh = pruning.masks_for(v, h, 0.2)
    assert mv.tolist() == [[True, True, False], [False, False, False]]
    assert mh.tolist() == [[True, True, False], [False, False, False]]
    mv, mh = pruning.masks_for(v, h, 0.1)  # 0.1 · 1.15 = 0.115: only its peaks stay
    assert mv.tolist() == [[True, True, False], [True, False, True]]
    assert mh.tolist() == [[True, True, False], [True, True, False]]
    # a cell axis with one threshold per cell
    mv, _ = pruning.masks_for(np.stack([v, v]), np.stack([h, h]), np.array([0.2, 0.1]))
    assert mv[0].tolist() == [[True, True, False], [False, False, False]] and mv[1, 1].tolist() == [True, False, True]


def test_float_noise_components_are_pruned_whole_and_dropped():
    f = sepgen.fit({"kernel": "box", "size": 31}, 4, dict(l2=1.0, nonneg=1.5, zeros=0.3), steps=200, prune=0.2)
    assert f.rank == 1 and f.provenance["rank"] == 4
    assert [d["component"] for d in f.provenance["components"]["dropped"]] == [1, 2, 3]
