"""`fit`: kernel → SeparableFilter (SVD start, JAX optimisation, optional pruning).

Scaling: kernels come at peak 1. The filter file holds the target normalised to
sum 1 (unit DC gain, so a blur keeps brightness; kernels whose sum is not
positive are kept as they are). The optimiser works in peak-1 scale, where the
seed's learning rate and weights mean what they mean in the post, and the
components are scaled back by √(max|target|) each at the end.
"""

from __future__ import annotations

import math
import re
from types import MappingProxyType
from typing import Any, Mapping, Sequence

import jax.numpy as jnp
import numpy as np

from .. import kernels, metrics
from .._version import __version__
from ..errors import SepgenError
from ..filterfile import SeparableFilter
from ..identifiers import check_identifier
from ..options import FIT_OPTIONS, weights_with_defaults
from . import losses, lowrank, optimizers, prune as pruning
from .optimizers import Progress

SEED_WEIGHTS: Mapping[str, float] = MappingProxyType({"l2": 1.0, "nonneg": 1.0, "zeros": 1.0})
DTYPE = jnp.float32  # the seed's precision; results are stored as float64


def default_name(spec: Mapping[str, Any] | None) -> str:
    """A filter name from a kernel spec: disk50, polygon50, file stem, or `kernel`."""
    if not spec:
        return "kernel"
    kind = str(spec.get("kernel", "kernel"))
    if kind.startswith("file:"):
        stem = re.sub(r"\W", "_", kind[5:].replace("\\", "/").rsplit("/", 1)[-1].rsplit(".", 1)[0])
        name = stem if stem and not stem[0].isdigit() else f"k_{stem}"
        return name[:64]
    return f"{kind}{spec.get('size', '')}"


def check_fit_options(**values: Any) -> dict[str, Any]:
    """Validate fit options against `sepgen.options.FIT_OPTIONS` (one-line errors)."""
    out = {}
    for key, value in values.items():
        if isinstance(value, np.integer):
            value = int(value)
        elif isinstance(value, np.floating):
            value = float(value)
        out[key] = FIT_OPTIONS[key].check(value)
    return out


class Problem:
    """A kernel made ready for fitting: stored target, peak-1 target, loss constants."""

    def __init__(self, kernel: Any, rank: int, kernel_spec: Mapping[str, Any] | None):
        if isinstance(kernel, Mapping):  # a kernel spec, e.g. {"kernel": "disk", "size": 50}
            kernel_spec = dict(kernel) if kernel_spec is None else kernel_spec
            kernel = kernels.make(dict(kernel))
        k = kernels.validate(kernel)
        if rank > min(k.shape):
            raise SepgenError(f"rank {rank} is larger than the kernel's smaller side ({k.shape[0]}x{k.shape[1]})")
        total = float(k.sum())
        self.normalize = "sum" if total > 0 else "none"
        self.target = k / total if total > 0 else k.copy()
        self.origin = (k.shape[0] // 2, k.shape[1] // 2)
        self.peak_scale = metrics.scale_to_peak(self.target)
        self.kernel_peak = self.target * self.peak_scale
        self.loss_target = losses.make_target(self.kernel_peak, self.origin, DTYPE)
        self.rank = rank
        if kernel_spec is not None:
            try:
                self.spec: dict[str, Any] = kernels.canonical_spec(dict(kernel_spec))
            except (KeyError, TypeError, AttributeError):
                raise SepgenError(f"invalid kernel spec {dict(kernel_spec)!r}") from None
        else:
            self.spec = {"kernel": "array", "shape": [int(k.shape[0]), int(k.shape[1])]}

    def initial_params(self, init: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """Start point in peak-1 scale: the SVD rank-N approximation, or seeded random."""
        if init == "svd":
            return lowrank.svd_components(self.kernel_peak, self.rank)
        # Positive uniform noise whose mean reconstruction matches the kernel's mean level.
        rng = np.random.default_rng(seed)
        level = abs(float(self.kernel_peak.mean())) or float(np.sqrt(np.mean(self.kernel_peak**2)))
        c = 2.0 * math.sqrt(level / self.rank)
        h, w = self.kernel_peak.shape
        return rng.uniform(0.0, c, (self.rank, h)), rng.uniform(0.0, c, (self.rank, w))

    def to_file_scale(self, params: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Peak-1 components → components of the stored (unit-gain) target."""
        root = math.sqrt(1.0 / self.peak_scale)
        v, h = (np.asarray(p, np.float64) * root + 0.0 for p in params)  # + 0.0 turns -0.0 into 0.0
        return v, h

    def loss(self, vertical: np.ndarray, horizontal: np.ndarray, weights: Mapping[str, float]) -> float:
        """The loss of file-scale components, by the NumPy formulas (float64)."""
        approx = np.einsum("ki,kj->ij", vertical, horizontal)
        return metrics.weighted_loss(metrics.loss_terms(approx, self.target, self.origin), weights)


def fit_cells(
    problem: Problem,
    weight_sets: Sequence[dict[str, float]],
    *,
    optimizer: str,
    steps: int,
    lr: float,
    init: str,
    seed: int,
    prune: float,
    names: Sequence[str],
    batched: bool,
    progress: Progress | None,
) -> list[SeparableFilter]:
    """Fit one filter per weight set; `batched` runs the cells vmapped (one jitted call per core)."""
    cells = len(weight_sets)
    active = losses.active_terms(*weight_sets)
    weights = jnp.stack([losses.weight_vector(w, DTYPE) for w in weight_sets])
    v0, h0 = (np.asarray(p, np.float32) for p in problem.initial_params(init, seed))
    start = (np.broadcast_to(v0, (cells,) + v0.shape), np.broadcast_to(h0, (cells,) + h0.shape))

    def run(params, masks, phase, offset):
        kw = dict(optimizer=optimizer, steps=steps, lr=lr, active=active, progress=progress, phase=phase, step_offset=offset)
        if batched:
            p = tuple(jnp.asarray(x, DTYPE) for x in params)
            m = None if masks is None else tuple(jnp.asarray(x) for x in masks)
            res = optimizers.run(p, problem.loss_target, weights, masks=m, batched=True, **kw)
            return res
        # single cell: the unbatched compiled loop (cheaper), results given a cell axis again
        results = []
        for c in range(cells):
            p = tuple(jnp.asarray(x[c], DTYPE) for x in params)
            m = None if masks is None else tuple(jnp.asarray(x[c]) for x in masks)
            results.append(optimizers.run(p, problem.loss_target, weights[c], masks=m, **kw))
        return optimizers.RunResult(
            tuple(np.stack([r.params[i] for r in results]) for i in range(2)),
            np.stack([r.loss for r in results]),
            np.stack([r.history for r in results]),
            np.stack([r.diverged for r in results]),
        )

    res = run(start, None, "fit", 0)
    _check_finite(res.params, names)
    fitted = tuple(np.asarray(p) for p in res.params)
    history = res.history

    refit_diverged: list[np.ndarray] = []

    def refit(params, masks):
        r = run(params, masks, "prune-refit", steps)
        refit_diverged.append(np.asarray(r.diverged))
        return tuple(np.asarray(p) for p in r.params), np.asarray(r.loss), r.history

    pruned, _, used, refit_hist = pruning.prune_and_refit(fitted, res.loss, prune, refit)
    _check_finite(pruned, names)

    filters = []
    for c in range(cells):
        v_fit, h_fit = problem.to_file_scale((fitted[0][c], fitted[1][c]))
        v, h = problem.to_file_scale((pruned[0][c], pruned[1][c]))
        v_init, h_init = problem.to_file_scale((start[0][c], start[1][c]))
        w = weight_sets[c]
        loss = {"initial": problem.loss(v_init, h_init, w), "fit": problem.loss(v_fit, h_fit, w)}
        hist = history[c]
        if used[c] > 0:
            loss["pruned"] = problem.loss(v, h, w)
            hist = np.concatenate([hist, refit_hist[c]])
        provenance = {
            "sepgen": __version__,
            "kernel": problem.spec,
            "normalize": problem.normalize,
            "rank": problem.rank,
            "weights": dict(w),
            "optimizer": optimizer,
            "steps": steps,
            "lr": lr,
            "init": init,
            "seed": seed,
            "prune": prune,
            "prune_threshold_used": float(used[c]),
            "precision": "float32",
            "loss": loss,
        }
        diverged = bool(res.diverged[c]) or any(bool(d[c]) for d in refit_diverged)
        if diverged:  # only present when it happened, so ordinary files stay unchanged
            provenance["diverged"] = True
        filt = SeparableFilter(names[c], problem.target, v, h, problem.origin, provenance)
        filt.history = hist
        filters.append(filt)
    return filters


def _check_finite(params: tuple[np.ndarray, np.ndarray], names: Sequence[str]) -> None:
    for c, name in enumerate(names):
        if not (np.all(np.isfinite(params[0][c])) and np.all(np.isfinite(params[1][c]))):
            raise SepgenError(f"fit of {name} diverged (NaN or infinite taps); lower the learning rate")


def prepare(
    kernel: Any,
    rank: int,
    optimizer: str,
    steps: int,
    lr: float,
    init: str,
    seed: int,
    prune: float,
    kernel_spec: Mapping[str, Any] | None,
) -> tuple[Problem, dict[str, Any]]:
    """Validate every fit argument (one-line SepgenError) and build the problem."""
    opts = check_fit_options(rank=rank, optimizer=optimizer, steps=steps, lr=lr, init=init, seed=seed, prune=prune)
    return Problem(kernel, opts["rank"], kernel_spec), opts


def fit(
    kernel: Any,
    rank: int,
    weights: Mapping[str, float] = SEED_WEIGHTS,
    optimizer: str = "gd",
    steps: int = 5000,
    lr: float = 0.1,
    *,
    init: str = "svd",
    seed: int = 0,
    prune: float = 0.0,
    name: str | None = None,
    kernel_spec: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
) -> SeparableFilter:
    """Fit `kernel` (2D array, or a kernel spec dict) as a rank-`rank` sum of separable passes.

    Minimises Σ weight·term (see `sepgen.metrics`) from the SVD (or random) start
    with `optimizer` for `steps` steps in one jitted loop; with `prune` > 0, taps
    below `prune` × their vector's peak are set to exactly 0 and the rest refitted.
    Weights not given take their defaults from `sepgen.options.WEIGHT_OPTIONS`.
    The result's `.history` is the sampled loss curve, rows [step, loss].
    """
    problem, opts = prepare(kernel, rank, optimizer, steps, lr, init, seed, prune, kernel_spec)
    w = weights_with_defaults(dict(weights))
    name = check_identifier(name if name is not None else default_name(problem.spec if kernel_spec is not None or isinstance(kernel, Mapping) else None))
    return fit_cells(problem, [w], names=[name], batched=False, progress=progress, **{k: v for k, v in opts.items() if k != "rank"})[0]


def recommended() -> dict[str, Any]:
    """Keyword arguments of `fit` for the recommended settings (the CLI defaults,
    from `sepgen.options`), e.g. `fit(kernel, **recommended())`."""
    opts = {name: opt.default for name, opt in FIT_OPTIONS.items()}
    return {"weights": weights_with_defaults({}), **opts}
