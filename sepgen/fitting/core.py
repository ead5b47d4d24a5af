"""The rank fit: kernel → SeparableFilter (SVD start, JAX optimisation, optional pruning).

`fit_with` runs it; `sepgen.fitting.facade.fit` is the keyword façade that sends a
rank here and a budget or an error target to `searched` (which reuses `Problem`).

Scaling: kernels come at peak 1. The filter file holds the target normalised to
sum 1 (unit DC gain, so a blur keeps brightness; kernels whose sum is not
positive are kept as they are). The optimiser works in peak-1 scale, where the
seed's learning rate and weights mean what they mean in the post, and the
components are scaled back by √(max|target|) each at the end.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import jax.numpy as jnp
import numpy as np

from .. import kernels
from .._version import __version__
from ..common.errors import SepgenError
from ..common.identifiers import check_shader_name
from ..filters import metrics
from ..filters.filterfile import SeparableFilter
from ..options import FIT_OPTIONS, FitSettings
from . import finish as finishing, losses, lowrank, optimizers, prune as pruning
from .optimizers import Params, Progress

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


def trim_empty_border(kernel: np.ndarray,
                      origin: tuple[int, int]) -> tuple[np.ndarray, tuple[int, int], dict[str, Any]]:
    """`kernel` without its all-zero outer rows and columns, the origin moved with it, and the
    provenance record of what went ({} when nothing did). The origin row and column are always
    kept, so the trimmed kernel at its origin convolves exactly as the whole kernel at its own."""
    rows, cols = np.flatnonzero(kernel.any(axis=1)), np.flatnonzero(kernel.any(axis=0))
    top, left = min(int(rows[0]), origin[0]), min(int(cols[0]), origin[1])
    bottom, right = max(int(rows[-1]), origin[0]) + 1, max(int(cols[-1]), origin[1]) + 1
    if (top, left, bottom, right) == (0, 0, *kernel.shape):
        return kernel, origin, {}
    record = {"trimmed": {"from": [int(kernel.shape[0]), int(kernel.shape[1])],
                          "rows": [top, bottom], "columns": [left, right]}}
    return kernel[top:bottom, left:right], (origin[0] - top, origin[1] - left), record


class Problem:
    """A kernel made ready for fitting: stored target, peak-1 target, loss constants."""

    def __init__(self, kernel: Any, rank: int, kernel_spec: Mapping[str, Any] | None):
        if isinstance(kernel, Mapping):  # a kernel spec, e.g. {"kernel": "disk", "size": 50}
            kernel_spec = dict(kernel) if kernel_spec is None else kernel_spec
            kernel = kernels.make(dict(kernel))
        k = kernels.validate(kernel)
        shape, origin = [int(k.shape[0]), int(k.shape[1])], (k.shape[0] // 2, k.shape[1] // 2)
        # Named shapes are drawn centred on their array (scaled targets rely on it); arrays and
        # image apertures lose their empty border so that no tap is spent on it.
        named = kernel_spec is not None and str(dict(kernel_spec).get("kernel")) in kernels.KERNELS
        self.trimmed: dict[str, Any] = {}
        if not named:
            k, origin, self.trimmed = trim_empty_border(k, origin)
        if rank > min(k.shape):
            trim = (f", its empty border trimmed from {self.trimmed['from'][0]}x{self.trimmed['from'][1]}"
                    if self.trimmed else "")
            raise SepgenError(f"rank {rank} is larger than the kernel's smaller side ({k.shape[0]}x{k.shape[1]}{trim})")
        total = float(k.sum())
        self.normalize = "sum" if total > 0 else "none"
        self.target = k / total if total > 0 else k.copy()
        self.origin = origin
        self.peak_scale = metrics.scale_to_peak(self.target)
        self.kernel_peak = self.target * self.peak_scale
        # a multi-scale problem puts a `multiscale.ScaledTarget` here (`losses.loss_of` takes either)
        self.loss_target: losses.Target | Any = losses.make_target(self.kernel_peak, self.origin, DTYPE)
        self.rank = rank
        if kernel_spec is not None:
            try:
                self.spec: dict[str, Any] = kernels.canonical_spec(dict(kernel_spec))
            except (KeyError, TypeError, AttributeError):
                raise SepgenError(f"invalid kernel spec {dict(kernel_spec)!r}") from None
        else:
            self.spec = {"kernel": "array", "shape": shape}  # as given (`trimmed` says what was fitted)
        self.spec_given = kernel_spec is not None

    def filter_name(self, name: str | None) -> str:
        """`name`, or one made from the kernel spec when one was given; checked as an identifier
        that can prefix shader symbols (before any fitting: `sepgen emit` would refuse it)."""
        return check_shader_name(name if name is not None else default_name(self.spec if self.spec_given else None))

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


class Outcome(NamedTuple):
    """What the optimiser made of every cell (leading cell axis, peak-1 scale)."""

    start: Params
    fitted: Params
    pruned: Params
    threshold: np.ndarray  # pruning threshold used per cell (0: unpruned kept)
    history: np.ndarray  # (cells, n, 2) of the fit
    refit_history: np.ndarray | None  # (cells, m, 2) of the prune refit, if one ran
    diverged: np.ndarray  # per cell: the fit or a refit ended NaN/inf


class Cells:
    """The optimiser runs of one fit: every cell (weight set) of `problem` under one `settings`.

    `batched` runs the cells vmapped (one jitted call per core); otherwise each
    cell runs the cheaper unbatched loop and the results get a cell axis again.
    """

    def __init__(self, problem: Problem, settings: FitSettings, weight_sets: Sequence[Mapping[str, float]],
                 batched: bool, progress: Progress | None):
        self.problem, self.settings, self.batched, self.progress = problem, settings, batched, progress
        self.weights = np.stack([losses.weight_vector(w, DTYPE) for w in weight_sets])
        self.active = losses.active_terms(*weight_sets)
        self.refit_diverged = np.zeros(len(weight_sets), bool)
        self.refits = 0  # prune refits so far: a halved threshold refits again

    def start(self) -> Params:
        """Every cell's start: the same SVD (or seeded random) point."""
        v0, h0 = (np.asarray(p, np.float32)
                  for p in self.problem.initial_params(self.settings.init, self.settings.seed))
        cells = self.weights.shape[0]
        return np.broadcast_to(v0, (cells,) + v0.shape), np.broadcast_to(h0, (cells,) + h0.shape)

    def run(self, params: Params, masks: Params | None, phase: optimizers.Phase,
            progress: Progress | None = None) -> optimizers.RunResult:
        target = self.problem.loss_target
        if self.batched:
            p = (np.asarray(params[0], DTYPE), np.asarray(params[1], DTYPE))
            m = None if masks is None else (np.asarray(masks[0]), np.asarray(masks[1]))
            return optimizers.run(p, target, self.weights, phase, m, batched=True, progress=progress)
        results = []
        for c in range(self.weights.shape[0]):
            p = (np.asarray(params[0][c], DTYPE), np.asarray(params[1][c], DTYPE))
            m = None if masks is None else (np.asarray(masks[0][c]), np.asarray(masks[1][c]))
            results.append(optimizers.run(p, target, self.weights[c], phase, m, progress=progress))
        return optimizers.RunResult(
            (np.stack([r.params[0] for r in results]), np.stack([r.params[1] for r in results])),
            *(np.stack([getattr(r, k) for r in results]) for k in ("loss", "history", "diverged")),
        )

    def fit(self, start: Params) -> optimizers.RunResult:
        return self.run(start, None, optimizers.Phase(self.settings, self.active), self.progress)

    def refit(self, params: Params, masks: pruning.Masks) -> tuple[Params, np.ndarray, np.ndarray]:
        """The prune refit: the zeros frozen, the step count continuing the fit's.

        The first refit shows its progress like the fit; a refit after a halved threshold
        reports only its end, so a fit keeps one progress display however often it halves."""
        self.refits += 1
        name = "prune-refit" if self.refits == 1 else f"prune-refit (threshold halved, try {self.refits})"
        phase = optimizers.Phase(self.settings, self.active, name, self.settings.steps)
        r = self.run(params, masks, phase, self.progress if self.refits == 1 else _end_only(self.progress))
        self.refit_diverged |= np.asarray(r.diverged)
        return (np.asarray(r.params[0]), np.asarray(r.params[1])), np.asarray(r.loss), r.history


def _end_only(progress: Progress | None) -> Progress | None:
    """`progress` for the last update of a run only (its step equals its total)."""
    if progress is None:
        return None

    def report(phase: str, step: int, total: int, loss: float) -> None:
        if step >= total:
            progress(phase, step, total, loss)

    return report


def optimise(cells: Cells, names: Sequence[str]) -> Outcome:
    """Fit every cell, then prune and refit it (one-line error if a cell diverges to NaN everywhere)."""
    start = cells.start()
    res = cells.fit(start)
    _check_finite(res.params, names)
    fitted = (np.asarray(res.params[0]), np.asarray(res.params[1]))
    pruned, _, used, refit_history = pruning.prune_and_refit(fitted, res.loss, cells.settings.prune, cells.refit)
    _check_finite(pruned, names)
    diverged = np.asarray(res.diverged) | cells.refit_diverged
    return Outcome(start, fitted, pruned, used, res.history, refit_history, diverged)


def finish(problem: Problem, fitted: tuple[np.ndarray, np.ndarray], v: np.ndarray, h: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Drop the components that carry no energy, then make ΣA = ΣK exactly (file scale).
    Returns the components and what happened, for the provenance."""
    energy = finishing.component_energy(*fitted)  # each component's share of the unpruned fit
    kept = finishing.drop_empty(v, h)
    gain = finishing.dc_gain(kept.vertical, kept.horizontal, problem.target)
    v, h, renormalised = finishing.exact_dc(kept.vertical, kept.horizontal, problem.target)
    record = {
        "components": {"fitted": int(len(energy)), "kept": int(len(v)),
                       "dropped": [{"component": k, "energy": float(energy[k])} for k in kept.dropped]},
        "dc": {"gain_fitted": gain, "renormalised": renormalised},
    }
    return v, h, record


def cell_filter(problem: Problem, settings: FitSettings, name: str, out: Outcome, c: int) -> SeparableFilter:
    """Cell `c` of `out` as a filter file: file-scale taps, losses, provenance and loss curve."""
    cell = lambda params: problem.to_file_scale((params[0][c], params[1][c]))  # noqa: E731
    fitted, (v, h) = cell(out.fitted), cell(out.pruned)
    loss = {"initial": problem.loss(*cell(out.start), settings.weights), "fit": problem.loss(*fitted, settings.weights)}
    history = out.history[c]
    if out.threshold[c] > 0:
        loss["pruned"] = problem.loss(v, h, settings.weights)
        assert out.refit_history is not None  # a cell pruned (threshold > 0) was refit
        history = np.concatenate([history, out.refit_history[c]])
    v, h, record = finish(problem, fitted, v, h)
    loss["final"] = problem.loss(v, h, settings.weights)  # of the stored components
    provenance = {
        "sepgen": __version__,
        "kernel": problem.spec,
        "normalize": problem.normalize,
        "rank": problem.rank,
        **settings.to_json(),
        "prune_threshold_used": float(out.threshold[c]),
        "precision": "float32",
        **record,
        "loss": loss,
        **problem.trimmed,  # only when an empty border was trimmed, so other files stay unchanged
    }
    if out.diverged[c]:  # only present when it happened, so ordinary files stay unchanged
        provenance["diverged"] = True
    filt = SeparableFilter(name, problem.target, v, h, problem.origin, provenance)
    filt.history = history
    return filt


def fit_cells(problem: Problem, settings: FitSettings, weight_sets: Sequence[Mapping[str, float]],
              names: Sequence[str], *, batched: bool, progress: Progress | None) -> list[SeparableFilter]:
    """Fit one filter per weight set (each replacing `settings.weights`), all else as `settings` says."""
    cells = Cells(problem, settings, weight_sets, batched, progress)
    out = optimise(cells, names)
    return [cell_filter(problem, settings.replace(weights=w), names[c], out, c) for c, w in enumerate(weight_sets)]


def _check_finite(params: Params, names: Sequence[str]) -> None:
    for c, name in enumerate(names):
        if not (np.all(np.isfinite(params[0][c])) and np.all(np.isfinite(params[1][c]))):
            raise SepgenError(f"fit of {name} diverged (NaN or infinite taps); lower the learning rate")


def problem_for(kernel: Any, rank: int, kernel_spec: Mapping[str, Any] | None) -> Problem:
    """Check the rank (one-line SepgenError) and make the kernel ready for fitting."""
    rank = FIT_OPTIONS["rank"].check(int(rank) if isinstance(rank, np.integer) else rank)
    return Problem(kernel, rank, kernel_spec)


def fit_with(kernel: Any, rank: int, settings: FitSettings, *, name: str | None = None,
             kernel_spec: Mapping[str, Any] | None = None, progress: Progress | None = None) -> SeparableFilter:
    """Fit `kernel` (2D array, or a kernel spec dict) as a rank-`rank` sum of separable
    passes, as `settings` says. What `fit`, `sepgen optimize`, `sepgen build` and the demo run."""
    problem = problem_for(kernel, rank, kernel_spec)
    name = problem.filter_name(name)
    return fit_cells(problem, settings, [settings.weights], [name], batched=False, progress=progress)[0]


def recommended() -> dict[str, Any]:
    """Keyword arguments of `fit` for the recommended settings (the CLI defaults,
    from `sepgen.options`), e.g. `fit(kernel, **recommended())`."""
    return {"rank": FIT_OPTIONS["rank"].default, **FitSettings().to_json()}
