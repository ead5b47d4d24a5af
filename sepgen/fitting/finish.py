"""After the optimiser: no wasted passes, and the exact DC gain.

Both act on one filter's file-scale components (float64, NumPy only):

- `drop_empty`: a component whose outer product carries at most `ENERGY_FLOOR`
  of the whole filter's energy (‖outer(vₖ, hₖ)‖ ≤ ENERGY_FLOOR · ‖A‖, Frobenius)
  changes no output a shader can show, but costs a pass: it is removed. Float
  noise left in the spare components of an exactly separable kernel (±1e-9 taps)
  and components the pruning zeroed whole both go this way, so the rank is lowered.
- `exact_dc`: the components are scaled by √g each, g = ΣK/ΣA, so ΣA = ΣK (a blur
  keeps brightness exactly). Scaling keeps every exact zero tap, every sign and the
  shape; its cost in shape error is second order in g − 1 (docs/fitting.md).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

ENERGY_FLOOR = 1e-6  # relative Frobenius norm under which a component carries no energy


class Dropped(NamedTuple):
    vertical: np.ndarray
    horizontal: np.ndarray
    dropped: list[int]  # indices (in fitted order) of the removed components


def component_energy(vertical: np.ndarray, horizontal: np.ndarray) -> np.ndarray:
    """‖outer(vₖ, hₖ)‖ / ‖Σₖ outer(vₖ, hₖ)‖ per component (Frobenius norms; 0 for an all-zero filter)."""
    total = float(np.linalg.norm(np.einsum("ki,kj->ij", vertical, horizontal)))
    own = np.linalg.norm(vertical, axis=1) * np.linalg.norm(horizontal, axis=1)
    return own / total if total > 0 else np.zeros_like(own)


def drop_empty(vertical: np.ndarray, horizontal: np.ndarray) -> Dropped:
    """Remove the components that carry no energy (at least one component always stays)."""
    energy = component_energy(vertical, horizontal)
    keep = energy > ENERGY_FLOOR
    if not keep.any():
        keep[int(np.argmax(energy))] = True
    dropped = [int(k) for k in np.flatnonzero(~keep)]
    return Dropped(vertical[keep], horizontal[keep], dropped)


def dc_gain(vertical: np.ndarray, horizontal: np.ndarray, target: np.ndarray) -> float | None:
    """ΣA / ΣK, or None when ΣK = 0 (no DC gain to keep)."""
    ksum = float(np.sum(target))
    return float(np.einsum("ki,kj->", vertical, horizontal)) / ksum if ksum != 0 else None


def exact_dc(vertical: np.ndarray, horizontal: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """Components scaled so that ΣA = ΣK, and whether they were. A gain that is zero,
    negative (scaling would flip the filter) or undefined (ΣK = 0) is left alone."""
    gain = dc_gain(vertical, horizontal, target)
    if gain is None or not gain > 0:
        return vertical, horizontal, False
    root = np.sqrt(1.0 / gain)
    return vertical * root, horizontal * root, True
