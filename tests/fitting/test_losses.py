"""The JAX loss terms (sepgen.fitting.losses) against the NumPy formulas (sepgen.filters.metrics)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sepgen.filters import metrics
from sepgen.fitting import losses, optimizers
from sepgen.kernels import disk, gaussian

TERMS = metrics.TERMS


def _case(seed: int, shape=(9, 13)):
    rng = np.random.default_rng(seed)
    target = np.where(rng.random(shape) < 0.4, 0.0, rng.uniform(0.1, 3.0, shape))  # zeros where the mask is tested
    approx = target + rng.normal(0.0, 0.4, shape)
    origin = (shape[0] // 2, shape[1] // 3)
    return approx, target, origin


def _jax_terms(approx, target, origin, dtype=jnp.float32, active=TERMS):
    s = metrics.scale_to_peak(target)  # the optimiser works on peak-1 kernels
    t = losses.make_target(target * s, origin, dtype)
    return {k: float(v) for k, v in losses.loss_terms(jnp.asarray(approx * s, dtype), t, active).items()}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_terms_match_numpy_formulas(seed):
    approx, target, origin = _case(seed)
    want = metrics.loss_terms(approx, target, origin)
    got = _jax_terms(approx, target, origin)
    assert set(got) == set(TERMS)
    for name in TERMS:
        assert got[name] == pytest.approx(want[name], rel=2e-5, abs=1e-9), name


def test_terms_match_in_float64_exactly_enough():
    approx, target, origin = _case(5, (6, 6))
    want = metrics.loss_terms(approx, target, origin)
    with jax.enable_x64(True):
        got = _jax_terms(approx, target, origin, jnp.float64)
    for name in TERMS:
        assert got[name] == pytest.approx(want[name], rel=1e-12, abs=1e-15), name


def test_terms_written_out_by_hand():
    # Independent of both implementations: the formulas of the issue on a tiny case.
    k = np.array([[0.0, 1.0], [1.0, 0.0]])  # peak 1 already
    a = np.array([[-0.5, 1.0], [0.5, 0.25]])
    got = _jax_terms(a, k, (1, 1))
    assert got["l2"] == pytest.approx((0.25 + 0 + 0.25 + 0.0625) / 4)
    assert got["nonneg"] == pytest.approx(0.5 / 4)
    assert got["zeros"] == pytest.approx((0.5 + 0.25) / 4)
    assert got["l1"] == pytest.approx((0.5 + 0 + 0.5 + 0.25) / 4)
    assert got["max_error"] == pytest.approx(0.5)
    assert got["dc"] == pytest.approx(((1.25 - 2.0) / 2.0) ** 2)
    # distance from origin (1,1): [0,0] is √2 (the farthest, d=1), [1,1] is 0
    assert got["zeros_distance"] == pytest.approx(0.5 * 1.0 / 4)


def test_dc_term_is_zero_for_zero_sum_target():
    k = np.array([[1.0, -1.0]])
    got = _jax_terms(np.array([[0.3, 0.2]]), k, (0, 1))
    assert got["dc"] == 0.0 == metrics.loss_terms(np.array([[0.3, 0.2]]), k, (0, 1))["dc"]


def test_weighted_loss_uses_table_order():
    approx, target, origin = _case(3)
    rng = np.random.default_rng(9)
    weights = {t: float(w) for t, w in zip(TERMS, rng.uniform(0, 2, len(TERMS)))}
    want = metrics.weighted_loss(metrics.loss_terms(approx, target, origin), weights)
    s = metrics.scale_to_peak(target)
    t = losses.make_target(target * s, origin)
    terms = losses.loss_terms(jnp.asarray(approx * s, jnp.float32), t)
    assert float(losses.weighted_loss(terms, losses.weight_vector(weights))) == pytest.approx(want, rel=2e-5)


def test_active_terms_skip_zero_weights_only():
    w1 = dict.fromkeys(TERMS, 0.0) | {"l2": 1.0, "zeros": 0.5}
    w2 = dict.fromkeys(TERMS, 0.0) | {"nonneg": 1.0}
    assert losses.active_terms(w1, w2) == ("l2", "nonneg", "zeros")


def _numpy_loss(v, h, target, origin, weights):
    return metrics.weighted_loss(metrics.loss_terms(v.T @ h, target, origin), weights)


@pytest.mark.parametrize("kernel", ["disk", "gaussian"])
def test_grad_matches_finite_differences(kernel):
    target = disk(8) if kernel == "disk" else gaussian(7)
    origin = (target.shape[0] // 2, target.shape[1] // 2)
    rng = np.random.default_rng(4)
    v = rng.normal(0.0, 0.6, (2, target.shape[0]))
    h = rng.normal(0.0, 0.6, (2, target.shape[1]))
    weights = {"l2": 1.0, "nonneg": 0.7, "zeros": 0.4, "l1": 0.3, "zeros_distance": 0.5, "max_error": 0.2, "dc": 0.6}
    with jax.enable_x64(True):
        t = losses.make_target(target, origin, jnp.float64)  # disk/gaussian are peak 1
        f = optimizers.objective(t, losses.weight_vector(weights, jnp.float64), metrics.TERMS, None)
        gv, gh = (np.asarray(g) for g in jax.grad(f)((jnp.asarray(v), jnp.asarray(h))))
    eps = 1e-6
    for arr, grad, which in ((v, gv, 0), (h, gh, 1)):
        for idx in [(0, 0), (1, 3), (0, arr.shape[1] // 2), (1, arr.shape[1] - 1)]:
            plus, minus = arr.copy(), arr.copy()
            plus[idx] += eps
            minus[idx] -= eps
            args_p = (plus, h) if which == 0 else (v, plus)
            args_m = (minus, h) if which == 0 else (v, minus)
            fd = ((_numpy_loss(*args_p, target, origin, weights) - _numpy_loss(*args_m, target, origin, weights))
                  / (2 * eps))
            assert grad[idx] == pytest.approx(fd, rel=1e-4, abs=1e-7), (which, idx)
