"""JAX twin of `sepgen.filters.metrics.loss_terms`, used by the optimiser.

Same formulas (documented in `sepgen.filters.metrics`: l2, l1, nonneg, zeros,
zeros_distance, max_error, dc), same peak-1 scale, tested term by term against them.

The loss is Σ weight[t] · term[t]. Terms whose weight is zero everywhere can be
left out of the traced function (`active`), which keeps the seed's three-term
loss as cheap as the seed's own code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import jax.numpy as jnp
import numpy as np

from ..filters import metrics

TERMS = metrics.TERMS


class Target(NamedTuple):
    """Everything the loss needs to know about the target, precomputed once (peak-1 scale)."""

    kernel: np.ndarray  # K, H×W   (NumPy: traced arguments of the compiled loops)
    zero: np.ndarray  # [K=0] as 0/1
    zero_distance: np.ndarray  # [K=0] · d
    ksum: np.ndarray  # ΣK (scalar)


def make_target(kernel_peak: np.ndarray, origin: tuple[int, int], dtype=jnp.float32) -> Target:
    """Precompute the constants of the loss for a kernel already scaled to peak 1."""
    k = np.asarray(kernel_peak, np.float64)
    zero = (k == 0).astype(np.float64)
    d = metrics.distance_map(k.shape, origin)
    return Target(
        np.asarray(k, dtype),
        np.asarray(zero, dtype),
        np.asarray(zero * d, dtype),
        np.asarray(k.sum(), dtype),
    )


def reconstruct(vertical: jnp.ndarray, horizontal: jnp.ndarray) -> jnp.ndarray:
    """Σ_k outer(vertical[k], horizontal[k])."""
    return jnp.einsum("ki,kj->ij", vertical, horizontal)


def loss_terms(approx: jnp.ndarray, target: Target, active: Sequence[str] = TERMS) -> dict[str, jnp.ndarray]:
    """The loss terms named in `active` (all by default), unweighted."""
    k = target.kernel
    out: dict[str, jnp.ndarray] = {}
    if "l2" in active:
        out["l2"] = jnp.mean(jnp.square(approx - k))
    if "nonneg" in active:
        out["nonneg"] = jnp.mean(-jnp.minimum(approx, 0.0))
    if "zeros" in active:
        out["zeros"] = jnp.mean(target.zero * jnp.abs(approx))
    if "l1" in active:
        out["l1"] = jnp.mean(jnp.abs(approx - k))
    if "zeros_distance" in active:
        out["zeros_distance"] = jnp.mean(target.zero_distance * jnp.abs(approx))
    if "max_error" in active:
        out["max_error"] = jnp.max(jnp.abs(approx - k))
    if "dc" in active:
        safe = jnp.where(target.ksum != 0, target.ksum, 1.0)
        out["dc"] = jnp.where(target.ksum != 0, jnp.square((jnp.sum(approx) - target.ksum) / safe), 0.0)
    return out


def loss_of(target: Target | Any, vertical: jnp.ndarray, horizontal: jnp.ndarray, weights: jnp.ndarray,
            active: Sequence[str]) -> jnp.ndarray:
    """The weighted loss of components against `target`: a `Target` (Σ outer(v, h) against
    one kernel), or any target with a `loss(vertical, horizontal, weights, active)` method
    (e.g. `multiscale.ScaledTarget`, the same terms at several scales)."""
    if isinstance(target, Target):
        return weighted_loss(loss_terms(reconstruct(vertical, horizontal), target, active), weights)
    return target.loss(vertical, horizontal, weights, active)


def weighted_loss(terms: dict[str, jnp.ndarray], weights: jnp.ndarray) -> jnp.ndarray:
    """Σ weight[t] · term[t]; `weights` is a vector in `TERMS` order."""
    total = jnp.zeros((), weights.dtype)
    for i, name in enumerate(TERMS):
        if name in terms:
            total = total + weights[i] * terms[name]
    return total


def weight_vector(weights: Mapping[str, float], dtype=jnp.float32) -> np.ndarray:
    """Weights dict (every term present) as a vector in `TERMS` order (NumPy: no eager JAX op)."""
    return np.asarray([weights[t] for t in TERMS], dtype)


def active_terms(*weight_dicts: Mapping[str, float]) -> tuple[str, ...]:
    """Terms with a non-zero weight in any of the given weight sets, in `TERMS` order."""
    return tuple(t for t in TERMS if any(w[t] != 0 for w in weight_dicts))
