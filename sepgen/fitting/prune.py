"""Exact zero taps, so the shader emitter has taps to skip.

After a fit, every tap whose largest contribution to the filter is below
`threshold` × the filter's largest tap becomes exactly 0 and stays frozen while
the other taps are refitted. A vertical tap vₖ[i] contributes vₖ[i]·hₖ[j] to the
2D filter, at most |vₖ[i]|·max|hₖ| (a horizontal tap likewise), and the filter's
largest tap is max|Σₖ outer(vₖ, hₖ)|: so a weak component is judged by what it adds
to the filter, not by its own peak, and a component of float noise is zeroed whole
(`finish.drop_empty` then removes it). The refit may not raise the loss by
more than `TOLERANCE` (relative) over the unpruned fit; when it does, the
threshold is halved and the prune retried, at most `MAX_TRIES` times, and if no
threshold passes the unpruned fit is kept. Provenance records the threshold that
was used and the loss before and after.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

TOLERANCE = 0.02  # refit loss ≤ (1 + TOLERANCE) · unpruned loss
MAX_TRIES = 4

Masks = tuple[np.ndarray, np.ndarray]


def masks_for(vertical: np.ndarray, horizontal: np.ndarray, threshold: np.ndarray | float) -> Masks:
    """Boolean masks of the taps to keep: |vₖ[i]|·max|hₖ| (|hₖ[j]|·max|vₖ|) ≥ threshold · max|A|,
    A = Σₖ outer(vₖ, hₖ) the filter.

    Arrays may carry leading cell axes; `threshold` broadcasts over them.
    """
    v = np.abs(np.asarray(vertical, np.float64))
    h = np.abs(np.asarray(horizontal, np.float64))
    peak = np.abs(np.einsum("...ki,...kj->...ij", vertical, horizontal, dtype=np.float64)).max(axis=(-2, -1))
    limit = (np.asarray(threshold, np.float64) * peak)[..., None, None]
    # (x > 0) keeps a zero tap frozen, and an all-zero component all-frozen instead of all-kept
    keep_v = (v * h.max(axis=-1, keepdims=True) >= limit) & (v > 0)
    keep_h = (h * v.max(axis=-1, keepdims=True) >= limit) & (h > 0)
    return keep_v, keep_h


def apply_masks(vertical: np.ndarray, horizontal: np.ndarray, masks: Masks) -> tuple[np.ndarray, np.ndarray]:
    """Zero the frozen taps exactly (positive zero, never -0.0)."""
    return (np.where(masks[0], vertical, 0.0).astype(vertical.dtype),
            np.where(masks[1], horizontal, 0.0).astype(horizontal.dtype))


def within_tolerance(refit_loss: np.ndarray, fit_loss: np.ndarray) -> np.ndarray:
    """Whether a pruned refit is acceptable (per cell)."""
    fit_loss = np.asarray(fit_loss, np.float64)
    return np.asarray(refit_loss, np.float64) <= fit_loss * (1.0 + TOLERANCE) + 1e-12


def prune_and_refit(
    params: tuple[np.ndarray, np.ndarray],
    fit_loss: np.ndarray,
    threshold: float,
    refit: Callable[[tuple[np.ndarray, np.ndarray], Masks],
                    tuple[tuple[np.ndarray, np.ndarray], np.ndarray, np.ndarray]],
) -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray, np.ndarray, np.ndarray | None]:
    """Prune every cell (leading axis of `params`) and refit with the zeros frozen.

    `refit(start_params, masks) -> (params, loss, history)` runs the optimiser
    for all cells at once. Returns (params, loss, threshold used per cell
    (0 = unpruned kept), refit history per cell or None if nothing was refitted).
    """
    v, h = params
    cells = v.shape[0]
    out_v, out_h = v.copy(), h.copy()
    out_loss = np.asarray(fit_loss, np.float64).copy()
    used = np.zeros(cells)
    thr = np.full(cells, float(threshold))
    pending = np.full(cells, threshold > 0)
    history = None
    for _ in range(MAX_TRIES):
        if not pending.any():
            break
        masks = masks_for(v, h, thr)
        # cells with nothing to prune are done; the rest refit (all cells run, only pending ones are used)
        nothing = np.array([masks[0][c].all() and masks[1][c].all() for c in range(cells)])
        pending &= ~nothing
        if not pending.any():
            break
        start = apply_masks(v, h, masks)
        (rv, rh), loss, hist = refit(start, masks)
        rv, rh = apply_masks(rv, rh, masks)
        ok = pending & within_tolerance(loss, fit_loss)
        out_v[ok], out_h[ok], out_loss[ok], used[ok] = rv[ok], rh[ok], loss[ok], thr[ok]
        if history is None:
            history = hist.copy()
        history[ok] = hist[ok]
        pending &= ~ok
        thr = np.where(pending, thr / 2.0, thr)
    return (out_v, out_h), out_loss, used, history
