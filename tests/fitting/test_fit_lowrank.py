"""sepgen/fitting/lowrank.py: the SVD start (NumPy only)."""

from __future__ import annotations

import numpy as np
import pytest

from sepgen.fitting import lowrank
from sepgen.kernels import polygon


def test_lowrank_matches_truncated_svd_and_energy():
    k = polygon(21)
    u, s, vt = np.linalg.svd(k)
    v, h = lowrank.svd_components(k, 3)
    assert v.shape == (3, 21) and h.shape == (3, 21)
    assert np.allclose(v.T @ h, (u[:, :3] * s[:3]) @ vt[:3], atol=1e-12)
    assert np.all(h.sum(axis=1) >= 0)  # deterministic signs
    assert np.allclose(lowrank.singular_values(k), s)
    e = lowrank.energy(k)
    assert np.all(np.diff(e) >= -1e-15) and e[-1] == pytest.approx(1.0)
    assert lowrank.energy(np.ones((4, 6)))[0] == pytest.approx(1.0)  # a box is separable
