"""NumPy definitions of the loss terms and the quality metrics of a fitted filter.

These are the documented formulas; `sepgen.losses` is their JAX twin for the
optimiser. Both evaluate on kernels scaled to peak 1 (`scale_to_peak`), the scale
the seed's weights were tuned in, so the numbers mean the same for any kernel.

With A the approximation, K the target, [K=0] the zero mask, d the distance of a
tap from the origin divided by the largest such distance in the kernel:

    l2              mean((A − K)²)
    l1              mean(|A − K|)
    nonneg          mean(max(−A, 0))
    zeros           mean([K=0] · |A|)
    zeros_distance  mean([K=0] · |A| · d)
    max_error       max |A − K|
    dc              ((ΣA − ΣK) / ΣK)²

The loss is Σ weight[t] · term[t].
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

TERMS = ("l2", "nonneg", "zeros", "l1", "zeros_distance", "max_error", "dc")


def scale_to_peak(target: np.ndarray) -> float:
    """Factor that brings `target` to peak magnitude 1."""
    return 1.0 / float(np.max(np.abs(target)))


def distance_map(shape: tuple[int, int], origin: tuple[int, int]) -> np.ndarray:
    """Distance of each tap from the origin, divided by the largest one (0 for 1x1)."""
    iy, ix = np.indices(shape, dtype=np.float64)
    d = np.hypot(iy - origin[0], ix - origin[1])
    m = d.max()
    return d / m if m > 0 else d


def loss_terms(approx: np.ndarray, target: np.ndarray, origin: tuple[int, int]) -> dict[str, float]:
    """Every loss term, unweighted, on peak-scaled kernels."""
    s = scale_to_peak(target)
    a = np.asarray(approx, np.float64) * s
    k = np.asarray(target, np.float64) * s
    zero = k == 0
    d = distance_map(k.shape, origin)
    ksum = k.sum()
    return {
        "l2": float(np.mean((a - k) ** 2)),
        "nonneg": float(np.mean(np.maximum(-a, 0.0))),
        "zeros": float(np.mean(zero * np.abs(a))),
        "l1": float(np.mean(np.abs(a - k))),
        "zeros_distance": float(np.mean(zero * np.abs(a) * d)),
        "max_error": float(np.max(np.abs(a - k))),
        "dc": float(((a.sum() - ksum) / ksum) ** 2) if ksum != 0 else 0.0,
    }


def weighted_loss(terms: Mapping[str, float], weights: Mapping[str, float]) -> float:
    return float(sum(weights.get(t, 0.0) * terms[t] for t in TERMS))


def loss_record(approx: np.ndarray, target: np.ndarray, origin: tuple[int, int],
                provenance: Mapping[str, Any]) -> dict[str, Any]:
    """A filter's recomputed loss terms, and its weighted loss when its provenance names the weights
    (the head of every structure's `metrics()`)."""
    out: dict[str, Any] = {"loss_terms": loss_terms(approx, target, origin)}
    weights = provenance.get("weights")
    if isinstance(weights, dict):
        out["loss"] = weighted_loss(out["loss_terms"], weights)
    return out


def quality(approx: np.ndarray, target: np.ndarray, vertical: np.ndarray,
            horizontal: np.ndarray) -> dict[str, float | int]:
    """Scale-free quality figures of an approximation.

    relative_l2    ‖A − K‖ / ‖K‖
    negative_mass  Σ max(−A, 0) / Σ|K|       (ringing)
    leak           Σ [K=0]·|A| / Σ|K|         (energy outside the support)
    max_error      max |A − K| / max |K|
    dc_gain        ΣA / ΣK
    zero_taps      exact zeros over all vertical and horizontal taps
    """
    a = np.asarray(approx, np.float64)
    k = np.asarray(target, np.float64)
    kabs = np.abs(k).sum()
    return {
        "relative_l2": float(np.linalg.norm(a - k) / np.linalg.norm(k)),
        "negative_mass": float(np.maximum(-a, 0.0).sum() / kabs),
        "leak": float(np.abs(a[k == 0]).sum() / kabs),
        "max_error": float(np.abs(a - k).max() / np.abs(k).max()),
        "dc_gain": float(a.sum() / k.sum()) if k.sum() != 0 else 0.0,
        "zero_taps": int((np.asarray(vertical) == 0).sum() + (np.asarray(horizontal) == 0).sum()),
    }
