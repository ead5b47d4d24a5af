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
    assert f.metrics()["loss"] == pytest.approx(p["loss"]["pruned"], rel=1e-12)
    assert f.history[-1, 0] == 1600  # the refit continues the curve



def test_pruning_backs_off_when_the_loss_would_rise_too_much():
    f = sepgen.fit(disk(30), 4, dict(l2=1.0, nonneg=1.5, zeros=0.3), steps=200, prune=0.9)
    p = f.provenance
    assert p["prune_threshold_used"] < 0.9
    final = p["loss"].get("pruned", p["loss"]["fit"])
    assert final <= p["loss"]["fit"] * (1 + pruning.TOLERANCE) + 1e-12



def test_prune_masks_are_relative_to_each_vectors_peak():
    v = np.array([[1.0, 0.1, -0.3, 0.0]])
    h = np.array([[-10.0, 1.0, 3.0, 2.5]])
    mv, mh = pruning.masks_for(v, h, 0.25)
    assert mv.tolist() == [[True, False, True, False]]
    assert mh.tolist() == [[True, False, True, True]]
