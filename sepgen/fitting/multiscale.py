"""Fitting one set of components for several scales (see `sepgen.filters.scaling` for the model).

At scale s each tap is fetched at o·s with bilinear filtering; `splat` is the JAX twin
of `sepgen.filters.scaling.splat_matrix` (the weights computed from s in JAX, on the grid
`scaling.scaled_axis` gives), tested against it.

The loss is the mean over the scales of the usual weighted terms (`losses.py`) between
the effective kernel at s and the kernel rendered at size·s (`scaling.target_at`).
So that small scales are not drowned, each scale's terms are taken as a dedicated fit
of the kernel at size·s would take them: on the effective kernel's own grid (about
size·s + 1 taps a side, so a mean is over that support, not over the full-size grid)
and with both kernels scaled so that that scale's target has peak 1 (a scaled-down
kernel has a peak about 1/s² higher). Bilinear splats keep every tap's weight, so ΣA
is the same at every scale; the fit ends as every fit does (`core.finish`: components
without energy dropped, then scaled so that ΣA = ΣK exactly), which makes the DC gain 1 at
every scale.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ..filters import scaling
from ..filters.filterfile import SeparableFilter
from ..options import SEED_WEIGHTS, FitSettings
from . import losses
from .core import DTYPE, Problem, fit_cells, problem_for
from .optimizers import Progress


def splat(vectors: jnp.ndarray, origin: int, s: float) -> jnp.ndarray:
    """rank×n taps -> rank×n_s effective taps at scale s (bilinear fetch at o·s). The weights are
    computed in JAX; s is a Python float because it also fixes the output grid (`scaling.scaled_axis`)."""
    n = vectors.shape[-1]
    n_s, origin_s = scaling.scaled_axis(n, origin, float(s))
    p = (origin - jnp.arange(n, dtype=vectors.dtype)) * jnp.asarray(s, vectors.dtype)
    r = jnp.round(p)
    p = jnp.where(jnp.abs(p - r) < scaling.SNAP * 10, r, p)  # float32: a looser snap than NumPy's
    f = jnp.floor(p)
    t = p - f
    idx = (origin_s - f).astype(jnp.int32)
    out = jnp.zeros(vectors.shape[:-1] + (n_s,), vectors.dtype)
    out = out.at[..., idx].add(vectors * (1.0 - t), mode="drop")
    return out.at[..., idx - 1].add(vectors * t, mode="drop")


def effective_kernel(v: jnp.ndarray, h: jnp.ndarray, origin: tuple[int, int], s: float) -> jnp.ndarray:
    """Σ_k outer(splat(v_k), splat(h_k)): the kernel the scaled filter applies at s."""
    return losses.reconstruct(splat(v, origin[0], s), splat(h, origin[1], s))


@jax.tree_util.register_pytree_node_class
class ScaledTarget:
    """The loss constants of every scale: a `losses.Target` per scale (traced), and the scales,
    the factors that bring each scale's target to peak 1 and the origin (static)."""

    def __init__(self, targets: tuple[losses.Target, ...], scales: tuple[float, ...], peaks: tuple[float, ...],
                 origin: tuple[int, int]):
        self.targets, self.scales, self.peaks, self.origin = targets, scales, peaks, origin

    def tree_flatten(self) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        return (self.targets,), (self.scales, self.peaks, self.origin)

    @classmethod
    def tree_unflatten(cls, aux: tuple[Any, ...], children: tuple[Any, ...]) -> ScaledTarget:
        return cls(children[0], *aux)

    def loss(self, v: jnp.ndarray, h: jnp.ndarray, weights: jnp.ndarray, active: Sequence[str]) -> jnp.ndarray:
        """Mean over scales of Σ weight·term, each scale at its own peak 1 on its own grid."""
        total = jnp.zeros((), v.dtype)
        for target, s, peak in zip(self.targets, self.scales, self.peaks):
            approx = effective_kernel(v, h, self.origin, s) * peak
            total = total + losses.weighted_loss(losses.loss_terms(approx, target, active), weights)
        return total / len(self.scales)


class ScaledProblem(Problem):
    """A `Problem` whose loss target is every scale's (`ScaledTarget`); the NumPy loss matches."""

    def __init__(self, base: Problem, scales: Sequence[float]):
        vars(self).update(vars(base))
        self.scales = scaling.check_scales(list(scales))
        self.spec_for_scaling = self.spec if self.spec_given else None
        targets, peaks = [], []
        for s in self.scales:
            k_s = scaling.target_at(self.kernel_peak, self.spec_for_scaling, self.origin, s)
            (h, w), (cy, cx) = self.kernel_peak.shape, self.origin
            origin_s = (scaling.scaled_axis(h, cy, s)[1], scaling.scaled_axis(w, cx, s)[1])
            peaks.append(1.0 / float(np.max(np.abs(k_s))))
            targets.append(losses.make_target(k_s * peaks[-1], origin_s, DTYPE))
        self.loss_target = ScaledTarget(tuple(targets), self.scales, tuple(peaks), self.origin)

    def loss(self, vertical: np.ndarray, horizontal: np.ndarray, weights: Mapping[str, float]) -> float:
        return scaling.loss_across(vertical, horizontal, self.target, self.spec_for_scaling, self.origin,
                                   self.scales, dict(weights))


def fit_scales_with(kernel: Any, rank: int, scales: Sequence[float], settings: FitSettings, *,
                    name: str | None = None, kernel_spec: Mapping[str, Any] | None = None,
                    progress: Progress | None = None) -> SeparableFilter:
    """Fit one rank-`rank` filter for every scale in `scales` (each in (0, 1]), as `settings` says;
    the result has DC gain exactly 1 (at every scale) and records the scales."""
    scales = scaling.check_scales(list(scales))
    problem = ScaledProblem(problem_for(kernel, rank, kernel_spec), scales)
    filt = fit_cells(problem, settings, [settings.weights], [problem.filter_name(name)], batched=False,
                     progress=progress)[0]
    out = SeparableFilter(filt.name, filt.target, filt.vertical, filt.horizontal, filt.origin,
                          {**filt.provenance, "scales": list(scales)}, scales=scales)
    out.history = filt.history
    return out


def fit_scales(kernel: Any, rank: int, scales: Sequence[float], weights: Mapping[str, float] = SEED_WEIGHTS,
               optimizer: str = "gd", steps: int = 5000, lr: float = 0.1, *, init: str = "svd", seed: int = 0,
               prune: float = 0.0, name: str | None = None, kernel_spec: Mapping[str, Any] | None = None,
               progress: Progress | None = None) -> SeparableFilter:
    """`sepgen.fit` across scales: the same keywords (and defaults), plus `scales`."""
    settings = FitSettings(weights=weights, optimizer=optimizer, steps=steps, lr=lr, init=init, seed=seed, prune=prune)
    return fit_scales_with(kernel, rank, scales, settings, name=name, kernel_spec=kernel_spec, progress=progress)
