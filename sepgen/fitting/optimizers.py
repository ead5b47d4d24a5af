"""The optimisation loop: gd / adam / lbfgs (optax), run as one jitted loop.

The whole loop is a `lax.fori_loop` inside `jax.jit`; Python only calls it once
(or, when progress is shown, once per chunk of steps: at most `MAX_CHUNKS` calls,
all of the same compiled function). The carried state tracks the best iterate,
so a fit never returns something worse than where it started, and a sampled
loss history for plots.

Parameters are the pair (vertical rank×H, horizontal rank×W) in float32, the
seed's precision. `masks` (same shapes, bool) freeze taps at exactly zero: the
loss sees `where(mask, p, 0)`, so frozen taps get no gradient and no influence.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import cache, partial
from typing import TYPE_CHECKING, Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..options import FitSettings
from . import executables, losses

OPTIMIZERS = ("gd", "adam", "lbfgs")
HISTORY_SAMPLES = 200  # loss samples kept per run, for plots
MAX_CHUNKS = 10  # jitted calls per run when progress is reported

if TYPE_CHECKING:  # pragma: no cover
    import optax

# (vertical, horizontal): NumPy arrays into the compiled loops, JAX tracers inside them; Any
# because NumPy and JAX array types do not unify for mypy
Params = tuple[Any, Any]
Progress = Callable[[str, int, int, float], None]


@cache
def transform(name: str) -> optax.GradientTransformation:
    """The update direction of optimiser `name`, built once per process.

    The learning rate is applied by the loop (`lr · update`), not baked in, so
    one transform and one compiled loop serve every lr. `gd` is the seed's plain
    step p ← p − lr·∇ (optax.sgd's update, exactly); `adam` is optax.adam's;
    `lbfgs` picks its own step with optax's zoom line search, so lr does not apply.
    optax is imported here, when a loop is traced: a process that loads its compiled
    loops from the cache (`executables`) never imports it.
    """
    import optax

    if name == "gd":
        return optax.scale(-1.0)
    if name == "adam":
        return optax.chain(optax.scale_by_adam(), optax.scale(-1.0))
    if name == "lbfgs":
        return optax.lbfgs()
    raise ValueError(f"unknown optimizer {name!r}")


class LoopState(NamedTuple):
    params: Params
    opt_state: tuple  # the optimiser state's leaves: the loops' inputs and outputs name no optax class
    best_params: Params
    best_loss: jnp.ndarray
    history: jnp.ndarray  # loss at steps 0, every, 2·every, … (one slot per sample)


def objective(target: losses.Target | Any, weights: jnp.ndarray, active: tuple[str, ...],
              masks: Params | None) -> Callable[[Params], jnp.ndarray]:
    def f(params: Params) -> jnp.ndarray:
        v, h = params
        if masks is not None:
            v = jnp.where(masks[0], v, 0.0)
            h = jnp.where(masks[1], h, 0.0)
        return losses.loss_of(target, v, h, weights, active)

    return f


def _init(params: Params, n_samples: int, optimizer: str) -> LoopState:
    opt_state = tuple(jax.tree.leaves(transform(optimizer).init(params)))
    return LoopState(params, opt_state, params, jnp.asarray(jnp.inf, params[0].dtype),
                     jnp.zeros(n_samples, params[0].dtype))


def _steps(state: LoopState, first, stop, every, steps, target, weights, lr, masks, optimizer: str,
           active: tuple[str, ...]) -> LoopState:
    """Run history samples `first`..`stop`-1: each records the loss, updates the best
    iterate, then runs `every` optimiser steps (fewer for the last one) in an inner loop.

    The inner loop carries only (params, opt_state): extra carried values in the
    hot loop cost XLA:CPU more than the step itself for small kernels.
    """
    import optax

    opt = transform(optimizer)
    structure = jax.tree.structure(opt.init(state.params))  # of the state whose leaves the loop carries
    f = objective(target, weights, active, masks)

    def step(_: jnp.ndarray, carry: tuple[Params, Any]) -> tuple[Params, Any]:
        params, opt_state = carry
        if optimizer == "lbfgs":  # its line search sets the step length
            value, grad = optax.value_and_grad_from_state(f)(params, state=opt_state)
            updates, opt_state = opt.update(grad, opt_state, params, value=value, grad=grad, value_fn=f)
        else:
            updates, opt_state = opt.update(jax.grad(f)(params), opt_state, params)
            updates = jax.tree.map(lambda u: lr * u, updates)
        return optax.apply_updates(params, updates), opt_state

    def sample(k: jnp.ndarray, st: LoopState) -> LoopState:
        value = f(st.params)
        better = value < st.best_loss  # NaN never counts as better
        best_params = jax.tree.map(lambda b, p: jnp.where(better, p, b), st.best_params, st.params)
        best_loss = jnp.where(better, value, st.best_loss)
        history = st.history.at[k].set(value)
        n = jnp.minimum(every, steps - k * every)
        params, opt_state = jax.lax.fori_loop(0, n, step, (st.params, jax.tree.unflatten(structure, st.opt_state)))
        return LoopState(params, tuple(jax.tree.leaves(opt_state)), best_params, best_loss, history)

    return jax.lax.fori_loop(first, stop, sample, state)


def _evaluate(params: Params, target, weights, masks, active: tuple[str, ...]) -> jnp.ndarray:
    return objective(target, weights, active, masks)(params)


_STATIC = ("optimizer", "active")

init_single = jax.jit(_init, static_argnames=("n_samples", "optimizer"))
steps_single = jax.jit(_steps, static_argnames=_STATIC)
evaluate_single = jax.jit(_evaluate, static_argnames=("active",))


@partial(jax.jit, static_argnames=("n_samples", "optimizer"))
def init_batched(params: Params, n_samples: int, optimizer: str) -> LoopState:
    return jax.vmap(lambda p: _init(p, n_samples, optimizer))(params)


@partial(jax.jit, static_argnames=_STATIC)
def steps_batched(state, first, stop, every, steps, target, weights, lr, masks, optimizer: str,
                  active: tuple[str, ...]) -> LoopState:
    def one(st, w, m):
        return _steps(st, first, stop, every, steps, target, w, lr, m, optimizer, active)

    return jax.vmap(one, in_axes=(0, 0, None if masks is None else 0))(state, weights, masks)


@partial(jax.jit, static_argnames=("active",))
def evaluate_batched(params: Params, target, weights, masks, active: tuple[str, ...]) -> jnp.ndarray:
    def one(p, w, m):
        return _evaluate(p, target, w, m, active)

    return jax.vmap(one, in_axes=(0, 0, None if masks is None else 0))(params, weights, masks)


class RunResult(NamedTuple):
    params: tuple[np.ndarray, np.ndarray]  # best iterate (float32), batched if the run was
    loss: np.ndarray  # its loss (scalar or per cell)
    history: np.ndarray  # (n, 2) [step, loss], or (batch, n, 2); the last row is the final iterate
    diverged: np.ndarray  # whether the final iterate was NaN/inf (then an earlier one is returned)


class Phase(NamedTuple):
    """One optimiser run of a fit: the settings, the loss terms traced, and where
    it stands in the fit (`fit`, or `prune-refit` continuing the step count)."""

    settings: FitSettings
    active: tuple[str, ...]
    name: str = "fit"
    step_offset: int = 0


def chunk_bounds(n: int, chunks: int) -> list[tuple[int, int]]:
    """Split 0..n into at most `chunks` contiguous non-empty ranges."""
    chunks = max(1, min(chunks, n))
    edges = [round(n * i / chunks) for i in range(chunks + 1)]
    return [(a, b) for a, b in zip(edges, edges[1:]) if b > a]


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def run(
    params: Params,
    target: losses.Target | Any,
    weights: jnp.ndarray | np.ndarray,
    phase: Phase,
    masks: Params | None = None,
    *,
    batched: bool = False,
    progress: Progress | None = None,
    shards: int | None = None,
) -> RunResult:
    """Run `phase.settings.steps` optimiser steps from `params`; with `batched`, `params`,
    `weights` and `masks` carry a leading cell axis and all cells run in one
    vmapped call. Returns the best iterate among the sampled ones and the final one.

    A batched run is split into `shards` (default: one per usable core) equal
    slices of cells, each one vmapped jitted call in its own thread: a cell is
    compute-bound on one core at this size, XLA:CPU does not spread one small
    batched loop over cores, and JAX releases the GIL while a call runs."""
    cells = params[0].shape[0] if batched else 1
    shards = min(cells, usable_cores() if shards is None else shards, 8)
    if shards <= 1:
        return _run(params, target, weights, phase, masks, batched, progress)
    size = math.ceil(cells / shards)
    # Pad with copies of the last cell so every shard has one shape: one compile.
    index = np.minimum(np.arange(size * shards), cells - 1).reshape(shards, size)

    def take(pair: Params, sl: np.ndarray) -> Params:
        return np.asarray(pair[0])[sl], np.asarray(pair[1])[sl]

    def shard(s: int) -> RunResult:
        sl = index[s]
        masks_s = None if masks is None else take(masks, sl)
        return _run(take(params, sl), target, np.asarray(weights)[sl], phase, masks_s, True,
                    progress if s == 0 else None)

    with ThreadPoolExecutor(max_workers=shards) as pool:
        parts = list(pool.map(shard, range(shards)))
    join = lambda arrays: np.concatenate(arrays)[:cells]  # noqa: E731
    return RunResult((join([p.params[0] for p in parts]), join([p.params[1] for p in parts])),
                     *(join([getattr(p, k) for p in parts]) for k in ("loss", "history", "diverged")))


def _run(params: Params, target: losses.Target | Any, weights: jnp.ndarray | np.ndarray, phase: Phase,
         masks: Params | None, batched: bool, progress: Progress | None) -> RunResult:
    steps, optimizer, active = phase.settings.steps, phase.settings.optimizer, phase.active
    dtype = params[0].dtype
    every = max(1, math.ceil(steps / HISTORY_SAMPLES))
    n_samples = math.ceil(steps / every)  # samples at steps 0, every, 2·every, … < steps
    # NumPy scalars and arrays: traced arguments that need no eager JAX op (each would compile)
    lr = np.asarray(phase.settings.lr, dtype)
    if masks is None:  # all-true masks: the first fit and the prune refit share one compiled loop
        masks = (np.ones(np.shape(params[0]), bool), np.ones(np.shape(params[1]), bool))
    init, step_fn, evaluate = ((init_batched, steps_batched, evaluate_batched) if batched
                               else (init_single, steps_single, evaluate_single))
    # a fixed history length, so the loop compiled for one step count serves every other
    state = executables.call(init, {"n_samples": HISTORY_SAMPLES, "optimizer": optimizer}, params)
    ints = np.int32  # traced, so any steps reuse one compile
    bounds = chunk_bounds(n_samples, MAX_CHUNKS) if progress is not None else ([(0, n_samples)] if n_samples else [])
    evaluate_now = lambda st: np.asarray(  # noqa: E731
        executables.call(evaluate, {"active": active}, st.params, target, weights, masks))
    for a, b in bounds:
        state = executables.call(step_fn, {"optimizer": optimizer, "active": active},
                                 state, ints(a), ints(b), ints(every), ints(steps), target, weights, lr, masks)
        if progress is not None:
            # the worst cell when batched
            progress(phase.name, min(b * every, steps), steps, float(np.max(evaluate_now(state))))
    final = evaluate_now(state)
    return _result(state, final, n_samples, every, steps, phase.step_offset)


def _result(state: LoopState, final: np.ndarray, n_samples: int, every: int, steps: int, step_offset: int) -> RunResult:
    """The final iterate unless a sampled one was strictly better or it diverged (NaN/inf),
    with the sampled loss history as rows [step, loss]."""
    best_loss = np.asarray(state.best_loss)
    use_final = (np.isfinite(final) & ~(best_loss < final)) | ~np.isfinite(best_loss)
    pick = lambda p, b: np.where(use_final.reshape(use_final.shape + (1, 1)), np.asarray(p), np.asarray(b))  # noqa: E731
    params_out = (pick(state.params[0], state.best_params[0]), pick(state.params[1], state.best_params[1]))
    loss = np.where(use_final, final, best_loss)
    sampled = np.asarray(state.history)[..., :n_samples]
    losses_col = np.concatenate([sampled, final[..., None]], axis=-1).astype(np.float64)
    steps_col = np.append(np.arange(n_samples) * every, steps).astype(np.float64) + step_offset
    history = np.stack([np.broadcast_to(steps_col, losses_col.shape), losses_col], axis=-1)
    return RunResult(params_out, np.asarray(loss), history, ~np.isfinite(final))
