"""Benchmark: sepgen.fit / sepgen.sweep against the seed's optimisation loop.

Both run in this one process on the same target, the seed's 50x50 binary disk at
rank 4, 5000 plain gradient-descent steps at lr 0.1, from the same SVD start:

  seed   the post's method as written: a list of (v, h) pairs, `jax.grad` of the
         list-model loss, a `jax.jit`ted update step called from a Python loop.
  sepgen `sepgen.fit(kernel, 4, optimizer="gd", steps=5000, lr=0.1)` as users call it
         (the whole loop in one jitted lax loop).

Cold = the first call in the process (includes tracing and XLA compilation).
Warm = after one warm-up call; the best of REPEATS calls, seed and sepgen
interleaved (compile not included; the best rather than the median because the
machine may be shared, and both sides are treated the same way).
Final losses are both evaluated with the NumPy formulas of `sepgen.filters.metrics`
(float64) on the optimiser's result (sepgen's `provenance.loss.fit`, before its
filters get their DC gain made exact, which the seed's loop does not do). Goals (issue 2): fit ≥ 10x faster with the
same final loss ±0.2 %; the 3x3 sweep ≥ 20x faster than nine seed loops.

Run: .venv/bin/python benchmarks/bench_fit.py [--pin]
(--pin runs the whole process on one CPU core: steadier figures on a shared machine.)
"""

from __future__ import annotations

import functools
import gc
import os
import platform
import sys
import time

if "--pin" in sys.argv[1:]:  # before JAX starts its thread pools
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

import jax
import jax.numpy as jnp
import numpy as np

import sepgen
from sepgen.filters import metrics
from sepgen.kernels import disk

SIZE, RANK, STEPS, LR = 50, 4, 5000, 0.1
REPEATS = 5
GRID_NONNEG = (0.0, 0.5, 1.5)
GRID_ZEROS = (0.0, 0.3, 0.8)

# ---- the seed's code, as the post writes it (FILTER_SIZE / REF_SHAPE globals) ----
FILTER_SIZE = SIZE
REF_SHAPE = disk(SIZE).astype(np.float32)  # binary 0/1 circle


def model(vs):
    dst = jnp.zeros((FILTER_SIZE, FILTER_SIZE))
    for separable_pass in vs:
        dst += jnp.outer(separable_pass[0], separable_pass[1])
    return dst


def loss(vs, l2_weight, non_negativity_weight, keep_zeros_weight):
    target = model(vs)
    l2_term = l2_weight * jnp.mean(jnp.square(target - REF_SHAPE))
    non_negative_term = non_negativity_weight * jnp.mean(-jnp.minimum(target, 0.0))
    # the post writes np.mean here; jnp.mean is the same value and traces under jit
    keep_zeros_term = keep_zeros_weight * jnp.mean((REF_SHAPE == 0.0) * jnp.abs(target))
    return l2_term + non_negative_term + keep_zeros_term


@jax.jit
def update_parameters_step(vs, learning_rate, l2_weight, non_negativity_weight, keep_zeros_weight):
    grad_loss = jax.grad(loss)
    grads = grad_loss(vs, l2_weight, non_negativity_weight, keep_zeros_weight)
    return [(param[0] - learning_rate * grad[0], param[1] - learning_rate * grad[1]) for param, grad in zip(vs, grads)]


def optimize_loop(vs, l2_weight, non_negativity_weight, keep_zeros_weight):
    for _ in range(STEPS):
        vs = update_parameters_step(vs, learning_rate=LR, l2_weight=l2_weight,
                                    non_negativity_weight=non_negativity_weight, keep_zeros_weight=keep_zeros_weight)
    return jax.block_until_ready(vs)


def svd_init(ref: np.ndarray, rank: int, perturb: float = 0.0):
    """The post's start: the SVD rank-N approximation, each singular value split as √s into v and h."""
    u, s, vt = np.linalg.svd(np.asarray(ref, np.float64))
    return [(jnp.asarray(u[:, i] * np.sqrt(s[i]) * (1.0 + perturb), jnp.float32),
             jnp.asarray(vt[i] * np.sqrt(s[i]), jnp.float32))
            for i in range(rank)]
# ---- end of the seed's code ----


def np_loss(vertical: np.ndarray, horizontal: np.ndarray, weights: dict[str, float]) -> float:
    """Loss by the NumPy formulas (peak-scaled, float64)."""
    approx = np.einsum("ki,kj->ij", np.asarray(vertical, np.float64), np.asarray(horizontal, np.float64))
    terms = metrics.loss_terms(approx, REF_SHAPE.astype(np.float64), (SIZE // 2, SIZE // 2))
    return metrics.weighted_loss(terms, weights)


def seed_loss(vs, weights: dict[str, float]) -> float:
    return np_loss(np.array([np.asarray(v) for v, _ in vs]), np.array([np.asarray(h) for _, h in vs]), weights)


def timed(fn):
    gc.collect()  # garbage left by the previous run (the seed's loop makes lots) is not this run's cost
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def warm(fn) -> tuple[float, object]:
    fn()  # warm-up
    times, out = [], None
    for _ in range(REPEATS):
        t, out = timed(fn)
        times.append(t)
    return min(times), out


def warm_pair(a, b) -> tuple[float, object, float, object]:
    """Warm timings of two functions, interleaved (a, b, a, b, …) so that a change in
    the machine's load hits both alike; the best of REPEATS each."""
    a(), b()  # warm-up
    ta, tb = [], []
    for _ in range(REPEATS):
        t, out_a = timed(a)
        ta.append(t)
        t, out_b = timed(b)
        tb.append(t)
    return min(ta), out_a, min(tb), out_b


def rel(a: float, b: float) -> float:
    return (a - b) / b


def main() -> None:
    print(f"sepgen {sepgen.__version__}, jax {jax.__version__} on {jax.devices()[0].platform} "
          f"({platform.processor() or platform.machine()}), float32, {SIZE}x{SIZE} disk, rank {RANK}, "
          f"{STEPS} gd steps, lr {LR}, {len(os.sched_getaffinity(0))} CPU core(s) usable, "
          f"load average {os.getloadavg()[0]:.2f}")
    jnp.zeros(1).block_until_ready()  # backend start-up outside every timing
    kernel = disk(SIZE)
    seed_w = {"l2": 1.0, "nonneg": 1.0, "zeros": 1.0}
    vs0 = svd_init(REF_SHAPE, RANK)

    # (a) one fit
    seed_cold, vs = timed(lambda: optimize_loop(vs0, 1.0, 1.0, 1.0))
    fit_cold, f = timed(lambda: sepgen.fit(kernel, RANK, optimizer="gd", steps=STEPS, lr=LR))
    seed_warm, vs, fit_warm, f = warm_pair(lambda: optimize_loop(vs0, 1.0, 1.0, 1.0),
                                           lambda: sepgen.fit(kernel, RANK, optimizer="gd", steps=STEPS, lr=LR))
    l_seed = seed_loss(vs, seed_w)
    l_fit = f.provenance["loss"]["fit"]  # the optimiser's result, before the DC gain is made exact (as the seed's)
    # noise floor of the final loss: the seed's own loop from a start perturbed by ~1 float32 ulp
    floor = [seed_loss(optimize_loop(svd_init(REF_SHAPE, RANK, p), 1.0, 1.0, 1.0), seed_w) for p in (1e-7, -1e-7)]
    print("\n(a) one fit, weights l2=nonneg=zeros=1")
    print(f"  seed loop   cold {seed_cold * 1e3:8.1f} ms   warm {seed_warm * 1e3:8.1f} ms   final loss {l_seed:.7f}")
    print(f"  sepgen.fit  cold {fit_cold * 1e3:8.1f} ms   warm {fit_warm * 1e3:8.1f} ms   final loss {l_fit:.7f}")
    print(f"  speed-up    warm {seed_warm / fit_warm:.1f}x   cold {seed_cold / fit_cold:.1f}x   (goal >= 10x)")
    print(f"  final loss  sepgen vs seed {100 * rel(l_fit, l_seed):+.3f} %   (goal within ±0.2 %)")
    print(f"  seed's own spread from a start perturbed by ±1e-7: "
          f"{', '.join(f'{100 * rel(x, l_seed):+.3f} %' for x in floor)}")

    # (b) the 3x3 sweep vs nine seed loops
    grid = [(n, z) for n in GRID_NONNEG for z in GRID_ZEROS]

    def nine_seed_loops():
        return [optimize_loop(vs0, 1.0, n, z) for n, z in grid]

    def one_sweep():
        return sepgen.sweep(kernel, RANK, GRID_NONNEG, GRID_ZEROS, weights={"l2": 1.0}, optimizer="gd", steps=STEPS,
                            lr=LR, prune=0.0)

    seeds_cold, _ = timed(nine_seed_loops)
    sweep_cold, _ = timed(one_sweep)
    seeds_warm, seed_cells, sweep_warm, cells = warm_pair(nine_seed_loops, one_sweep)
    diffs = [rel(c.provenance["loss"]["fit"], seed_loss(s, {"l2": 1.0, "nonneg": n, "zeros": z}))
             for c, s, (n, z) in zip(cells, seed_cells, grid)]
    print("\n(b) 3x3 weight sweep (nonneg x zeros), one vmapped jitted loop per core vs nine seed loops")
    print(f"  nine seed loops  cold {seeds_cold * 1e3:8.1f} ms   warm {seeds_warm * 1e3:8.1f} ms")
    print(f"  sepgen.sweep     cold {sweep_cold * 1e3:8.1f} ms   warm {sweep_warm * 1e3:8.1f} ms")
    print(f"  speed-up         warm {seeds_warm / sweep_warm:.1f}x   cold {seeds_cold / sweep_cold:.1f}x"
          "   (goal >= 20x)")
    print(f"  final loss per cell, sepgen vs seed: {', '.join(f'{100 * d:+.3f}%' for d in diffs)}")

    # (c) other optimisers, for reference (same weights, 5000 steps)
    print("\n(c) other optimisers, same target and weights, 5000 steps (warm)")
    for opt, lr in (("gd", LR), ("adam", 0.01), ("lbfgs", LR)):
        t, g = warm(functools.partial(sepgen.fit, kernel, RANK, optimizer=opt, steps=STEPS, lr=lr))
        print(f"  {opt:6s} lr {lr:<5g} {t * 1e3:8.1f} ms   final loss {g.provenance['loss']['fit']:.7f}"
              + ("   (lr unused: line search)" if opt == "lbfgs" else ""))


if __name__ == "__main__":
    main()
