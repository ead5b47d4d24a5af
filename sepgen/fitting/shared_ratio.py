"""Linear-sampling-aware fitting: taps built from pairs that one bilinear fetch serves.

A bilinear fetch at d + f reads (1 − f)·x[d] + f·x[d+1]. In the horizontal MRT
pass one such fetch can feed every component k with its own weight wₖ only if
component k's taps at (d, d+1) are wₖ·(1 − f, f): all components share the split
ratio f of that pair (each wₖ may have either sign). The vertical pass reads one
intermediate per component, so there each component has its own ratio per pair;
sharing is then only a sign rule (both taps of a pair have the same sign).

Parametrisation (per axis, taps grouped by `PairLayout`): a pair's taps are
w·(cos φ, sin φ) with φ = π/4·(1 + sin ψ) ∈ [0, π/2], a single tap is w. The
horizontal pass has one ψ per pair shared by all components, the vertical pass
one ψ per component and pair. Half the fetches of the unconstrained fit's
horizontal pass, for what `benchmarks/bench_budget.py` measures in quality.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from . import executables, losses, optimizers

FIRST, SECOND, SINGLE = 0, 1, 2  # a tap's place in its group
EDGE = 0.02  # initial φ kept this far inside [0, π/2], where sin ψ still has a gradient


@dataclass(frozen=True, eq=False)
class PairLayout:
    """How the taps of one axis are grouped: `group[i]` and `place[i]` of tap i.
    Hashed by value, so a `Structure` can be a static argument of a jitted function."""

    group: np.ndarray  # (L,) int, 0..groups-1
    place: np.ndarray  # (L,) FIRST | SECOND | SINGLE

    def _key(self) -> tuple[bytes, bytes]:
        return np.asarray(self.group, np.int64).tobytes(), np.asarray(self.place, np.int64).tobytes()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PairLayout) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:  # whole (NumPy's repr elides long arrays): part of a compiled loop's cache key
        group, place = self._key()
        return f"PairLayout(group={group.hex()}, place={place.hex()})"

    @property
    def groups(self) -> int:
        return int(self.group.max()) + 1 if self.group.size else 0

    @classmethod
    def for_axis(cls, length: int, center: int) -> PairLayout:
        """Pairs (0,1), (2,3), … for even lengths; for odd ones the centre tap stands
        alone and pairs run outwards from it, so symmetric kernels get symmetric groups."""
        if length % 2 == 0 or not 0 <= center < length:
            runs = [list(range(i, min(i + 2, length))) for i in range(0, length, 2)]
        else:
            left = list(range(center - 1, -1, -1))
            right = list(range(center + 1, length))
            runs = [[center]]
            runs += [sorted(left[i:i + 2]) for i in range(0, len(left), 2)]
            runs += [right[i:i + 2] for i in range(0, len(right), 2)]
            runs.sort()
        group = np.zeros(length, int)
        place = np.zeros(length, int)
        for g, run in enumerate(runs):
            group[run] = g
            place[run] = [SINGLE] if len(run) == 1 else [FIRST, SECOND]
        return cls(group, place)


class Structure(NamedTuple):
    """Both axes' layouts; `shared`: one horizontal ratio per pair for all components."""

    vertical: PairLayout
    horizontal: PairLayout


RANK_BUCKET = 8  # ranks padded to a multiple of this: one compiled search loop per 8 ranks


class Params(NamedTuple):
    wv: Any  # rank × vertical groups
    pv: Any  # rank × vertical groups (ψ)
    wh: Any  # rank × horizontal groups
    ph: Any  # horizontal groups (ψ, shared)


def factors(psi: Any, layout: PairLayout, xp: Any = jnp) -> Any:
    """Per-tap factor cos φ / sin φ / 1 of a group's ψ (… × groups → … × L)."""
    angle = ((math.pi / 4) * (1.0 + xp.sin(psi)))[..., layout.group]
    place = layout.place
    return xp.where(place == FIRST, xp.cos(angle), xp.where(place == SECOND, xp.sin(angle), 1.0))


def expand(params: Params, structure: Structure, xp: Any = jnp) -> tuple[Any, Any]:
    """(vertical rank×H, horizontal rank×W) taps of structured parameters (JAX, or NumPy with xp=np)."""
    v = params.wv[:, structure.vertical.group] * factors(params.pv, structure.vertical, xp)
    h = params.wh[:, structure.horizontal.group] * factors(params.ph, structure.horizontal, xp)[None, :]
    return v, h


def _psi_of(angle: np.ndarray) -> np.ndarray:
    angle = np.clip(angle, EDGE, math.pi / 2 - EDGE)
    return np.arcsin(angle / (math.pi / 4) - 1.0)


def _pair_angle(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Best shared (w, φ) for taps (a, b) per row (rank-1 fit of the rows' (a, b))."""
    m = np.stack([a, b], axis=-1)  # rows × 2
    _, _, vt = np.linalg.svd(m, full_matrices=False)
    u = vt[0] * (1.0 if vt[0].sum() >= 0 else -1.0)
    if u[0] * u[1] < 0:  # no same-sign direction: keep the stronger tap alone
        u = np.array([1.0, 0.0]) if abs(u[0]) >= abs(u[1]) else np.array([0.0, 1.0])
    return m @ u, np.arctan2(u[1], u[0])


def project(vertical: np.ndarray, horizontal: np.ndarray, structure: Structure) -> Params:
    """Structured parameters close to free taps: the start of a structured fit."""
    rank = vertical.shape[0]

    def axis(taps: np.ndarray, layout: PairLayout, shared: bool) -> tuple[np.ndarray, np.ndarray]:
        w = np.zeros((rank, layout.groups))
        ang = np.full((rank, layout.groups), math.pi / 4)
        for g in range(layout.groups):
            idx = np.flatnonzero(layout.group == g)
            if len(idx) == 1:
                w[:, g] = taps[:, idx[0]]
                continue
            rows = [slice(None)] if shared else [slice(k, k + 1) for k in range(rank)]
            for r in rows:
                w[r, g], ang[r, g] = _pair_angle(taps[r, idx[0]], taps[r, idx[1]])
        return w, _psi_of(ang)

    wv, pv = axis(vertical, structure.vertical, shared=False)
    wh, ph = axis(horizontal, structure.horizontal, shared=True)
    return Params(wv, pv, wh, ph[0])


def _objective(target: losses.Target, weights: Any, active: tuple[str, ...], structure: Structure, masks: Params):
    def f(p: Params) -> Any:
        p = p._replace(wv=p.wv * masks.wv, wh=p.wh * masks.wh)
        v, h = expand(p, structure)
        return losses.weighted_loss(losses.loss_terms(losses.reconstruct(v, h), target, active), weights)

    return f


@partial(jax.jit, static_argnames=("structure", "active", "optimizer"))
def _optimise(params, target, weights, masks, lr, steps, *, structure, active, optimizer):
    f = _objective(target, weights, active, structure, masks)
    opt = optimizers.transform(optimizer)  # the update direction; lr is applied here (not for lbfgs)

    def step(_, carry):
        p, state, best, best_loss = carry
        if optimizer == "lbfgs":
            value, grad = optax.value_and_grad_from_state(f)(p, state=state)
            updates, state = opt.update(grad, state, p, value=value, grad=grad, value_fn=f)
        else:
            value, grad = jax.value_and_grad(f)(p)
            updates, state = opt.update(grad, state, p)
            updates = jax.tree.map(lambda u: lr * u, updates)
        better = value < best_loss  # the loss of p, before this step's update
        best = jax.tree.map(lambda b, q: jnp.where(better, q, b), best, p)
        return optax.apply_updates(p, updates), state, best, jnp.where(better, value, best_loss)

    carry = (params, opt.init(params), params, jnp.asarray(jnp.inf, jnp.float32))
    p, _, best, best_loss = jax.lax.fori_loop(0, steps, step, carry)
    last = f(p)
    use_last = last <= best_loss
    return jax.tree.map(lambda b, q: jnp.where(use_last, q, b), best, p), jnp.minimum(last, best_loss)


def optimise(params: Params, target: losses.Target, weights: dict[str, float], structure: Structure, *,
             steps: int, lr: float, optimizer: str = "gd", masks: Params | None = None) -> tuple[Params, float]:
    """Minimise the weighted loss over structured parameters (float32); returns the best iterate."""
    active = losses.active_terms(weights)
    wvec = np.asarray(losses.weight_vector(weights), np.float32)
    if masks is None:
        masks = Params(*(np.ones(np.shape(x)) for x in params))
    # NumPy arguments (an eager JAX op would compile for each rank's shapes) and the compiled loop
    # through `executables`, kept on disk: a budget search in a new process compiles nothing. The
    # rank is padded to a multiple of RANK_BUCKET with masked, zero components, so one compiled
    # loop serves ranks 1-8 of a search instead of one per rank.
    rank = np.shape(params.wv)[0]
    pad = -rank % RANK_BUCKET
    p = Params(*(np.asarray(_pad(x, pad, name != "ph"), np.float32) for name, x in zip(Params._fields, params)))
    m = Params(*(np.asarray(_pad(x, pad, name != "ph"), np.float32) for name, x in zip(Params._fields, masks)))
    out, loss = executables.call(_optimise, {"structure": structure, "active": active, "optimizer": optimizer},
                                 p, target, wvec, m, np.float32(lr), np.int32(steps))
    out = Params(*(np.asarray(x, np.float64)[:rank] if name != "ph" else np.asarray(x, np.float64)
                   for name, x in zip(Params._fields, out)))
    return out._replace(wv=out.wv * masks.wv, wh=out.wh * masks.wh), float(loss)


def _pad(x: Any, extra: int, ranked: bool) -> np.ndarray:
    """`x` with `extra` zero rows (components) appended when it has a rank axis."""
    x = np.asarray(x)
    return np.concatenate([x, np.zeros((extra, *x.shape[1:]), x.dtype)]) if ranked and extra else x


def taps(params: Params, structure: Structure) -> tuple[np.ndarray, np.ndarray]:
    """NumPy (float64) taps of structured parameters; exact zeros where a group's weight is 0."""
    v, h = expand(Params(*(np.asarray(x, np.float64) for x in params)), structure, np)
    return v + 0.0, h + 0.0
