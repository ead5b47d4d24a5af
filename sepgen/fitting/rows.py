"""Fit a kernel as row sums (`sepgen.filters.rows`): per line, weighted boxes with fractional ends.

Binary kernels need no fit: their run lengths are exact (`rows.exact_layout`). Any
other non-negative kernel is fitted in its line frame (rows, or columns when those
need fewer boxes, judged on the kernel thresholded at half its peak):

1. one box per line from its runs above half the line's peak (mass, centroid and
   peak of the taps nearest each run give a box of the same mass and centre);
2. the ends and weights of every box are optimised together with the project's loss
   terms and loop (`losses.loss_terms`, `optimizers.run`, Adam), the kernel being
   the exact coverage sum the shader computes — piecewise linear in the ends, so a
   gradient moves an end across a tap;
3. while the gather budget allows, the lines with the largest residual get one more
   box (over the residual's dominant-sign region) and everything is refitted;
4. boxes on adjacent lines whose ends are close are tied to common ends (one linear
   read between the two rows serves both: `rows.RowsLayout.gather_plan`), the reads
   saved buy more boxes (step 3), and the result is kept if its error is lower;
5. the boxes are made canonical (start ≤ end inside the kernel, ends and shared-read
   fractions on 1/256) and scaled so ΣA = ΣK.

All slots (`max_boxes` per line) exist from the start, the unused ones masked to
exactly zero, so a fit compiles one loop whatever the growth.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .. import kernels
from ..common.errors import SepgenError
from ..filters import metrics, rows
from ..options import FitSettings
from . import losses, optimizers
from .optimizers import Progress

DTYPE = jnp.float32
# The loss traced here is not among the sources `executables` fingerprints: the target's
# static data carries this file's hash, so a stored loop never outlives a change to it.
_SOURCE = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]


def reconstruct(ends: jnp.ndarray, weights: jnp.ndarray, n: int) -> jnp.ndarray:
    """Lines × n kernel of boxes `ends` (lines × slots × 2) and `weights` (lines × slots):
    the coverage sum of `rows.coverage`, ends clamped into the kernel as the layout stores them."""
    e = jnp.clip(ends, -0.5, n - 0.5)
    c = jnp.arange(n, dtype=ends.dtype) + 0.5
    cov = jnp.clip(c - e[..., 0:1], 0.0, 1.0) - jnp.clip(c - e[..., 1:2], 0.0, 1.0)
    return jnp.einsum("ls,lsn->ln", weights, cov)


@jax.tree_util.register_pytree_node_class
class RowsTarget:
    """`losses.Target` of the kernel in its line frame, for `optimizers.run`: the loop's
    (vertical, horizontal) pair is (box ends, box weights) here. `tie` (lines × slots × 2,
    traced) names the slot whose ends each slot uses: itself, or the slot on the line
    above that it shares its reads with."""

    def __init__(self, target: losses.Target, tie: np.ndarray, n: int, source: str = _SOURCE):
        self.target, self.tie, self.n, self.source = target, tie, n, source

    def tree_flatten(self) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        return (self.target, self.tie), (self.n, self.source)

    @classmethod
    def tree_unflatten(cls, aux: tuple[Any, ...], children: tuple[Any, ...]) -> RowsTarget:
        return cls(*children, *aux)

    def loss(self, ends: jnp.ndarray, weights: jnp.ndarray, loss_weights: jnp.ndarray,
             active: Sequence[str]) -> jnp.ndarray:
        approx = reconstruct(ends[self.tie[..., 0], self.tie[..., 1]], weights, self.n)
        return losses.weighted_loss(losses.loss_terms(approx, self.target, active), loss_weights)


class RowsProblem(NamedTuple):
    axis: str
    shape: tuple[int, int]
    origin: tuple[int, int]
    target: np.ndarray  # file scale (sum 1), H×W
    lines: np.ndarray  # peak-1 target in the line frame (lines × n)
    line_origin: tuple[int, int]


def problem(kernel: Any, axis: str = "auto") -> RowsProblem:
    """Check a kernel for rows (non-negative), normalise it to sum 1, pick the axis."""
    if isinstance(kernel, Mapping):
        kernel = kernels.make(dict(kernel))
    k = kernels.validate(kernel)
    if np.any(k < 0):
        raise SepgenError("the rows structure needs a non-negative kernel; use the separable structure "
                          "for kernels with negative lobes")
    target = k / k.sum()
    if axis == "auto":
        axis = rows.choose_axis(target >= 0.5 * target.max())
    if axis not in rows.AXES:
        raise SepgenError(f"rows axis must be auto, rows or columns, got {axis!r}")
    origin = (k.shape[0] // 2, k.shape[1] // 2)
    frame = target if axis == "rows" else target.T
    line_origin = origin if axis == "rows" else origin[::-1]
    return RowsProblem(axis, k.shape, origin, target, frame * metrics.scale_to_peak(frame), line_origin)


def initial_boxes(line: np.ndarray) -> list[tuple[float, float, float]]:
    """One box per run of the line above half its peak, with the mass, centroid and peak of
    the taps nearest that run."""
    if not np.any(line > 0):
        return []
    runs = rows.line_runs((line >= 0.5 * line.max()).astype(np.float64))
    j = np.arange(len(line))
    centres = np.array([(b.start + b.end) / 2 for b in runs])
    nearest = np.argmin(np.abs(j[:, None] - centres[None, :]), axis=1)
    out = []
    for r in range(len(runs)):
        part = np.where(nearest == r, line, 0.0)
        mass, peak = part.sum(), part.max()
        if mass <= 0:
            continue
        centre = (j * part).sum() / mass + 0.0
        half = mass / peak / 2
        out.append((centre - half, centre + half, float(peak)))
    return out


def residual_box(residual: np.ndarray) -> tuple[float, float, float] | None:
    """A box over the span of the residual's dominant sign (taps above a quarter of its peak)."""
    peak = np.abs(residual).max()
    if not peak > 0:
        return None
    sign = np.sign(residual[np.argmax(np.abs(residual))])
    taps = np.flatnonzero(sign * residual > 0.25 * peak)
    mean = float(residual[taps[0] : taps[-1] + 1].mean())
    return taps[0] - 0.5, taps[-1] + 0.5, mean if mean * sign > 0 else float(sign * peak / 2)


FRACTION = 256  # ends snap to 1/256 tap: the 8-bit fraction of hardware linear filtering reads them exactly


class Slots(NamedTuple):
    """Every line's box slots in the line frame, peak-1 scale (NumPy)."""

    ends: np.ndarray  # lines × slots × 2
    weights: np.ndarray  # lines × slots
    used: np.ndarray  # lines × slots, bool
    tie: np.ndarray  # lines × slots × 2: (line, slot) whose ends each slot uses (itself unless shared)

    def shared_ends(self) -> np.ndarray:
        return self.ends[self.tie[..., 0], self.tie[..., 1]]

    def cost(self) -> int:
        """Boxes that need their own reads: the used ones, less those sharing a partner's."""
        own = self.tie[..., 0] == np.arange(self.ends.shape[0])[:, None]
        return int((self.used & own).sum())


def identity_tie(lines: int, slots: int) -> np.ndarray:
    return np.stack(np.meshgrid(np.arange(lines), np.arange(slots), indexing="ij"), axis=-1)


def slots_kernel(slots: Slots, n: int) -> np.ndarray:
    """The line-frame kernel of the used slots (float64, NumPy twin of `reconstruct`)."""
    out = np.zeros((slots.ends.shape[0], n))
    ends = slots.shared_ends()
    for i, s in zip(*np.nonzero(slots.used)):
        a, b = np.clip(ends[i, s], -0.5, n - 0.5)
        out[i] += slots.weights[i, s] * rows.coverage(min(a, b), max(a, b), n) * (1.0 if a <= b else -1.0)
    return out


def start_slots(lines: np.ndarray, max_boxes: int) -> Slots:
    ends = np.zeros((lines.shape[0], max_boxes, 2))
    weights = np.zeros((lines.shape[0], max_boxes))
    used = np.zeros((lines.shape[0], max_boxes), bool)
    for i, line in enumerate(lines):
        for s, (a, b, w) in enumerate(initial_boxes(line)[:max_boxes]):
            ends[i, s], weights[i, s], used[i, s] = (a, b), w, True
    return Slots(ends, weights, used, identity_tie(*used.shape))


def grow(slots: Slots, lines: np.ndarray, count: int) -> Slots:
    """One more box on each of the `count` lines with a free slot and the largest residual."""
    residual = lines - slots_kernel(slots, lines.shape[1])
    energy = np.where(slots.used.all(axis=1), -1.0, (residual**2).sum(axis=1))
    ends, weights, used = (a.copy() for a in slots[:3])
    for i in np.argsort(-energy, kind="stable")[:count]:
        box = residual_box(residual[i]) if energy[i] > 0 else None
        if box is None:
            continue
        s = int(np.argmin(used[i]))
        ends[i, s], weights[i, s], used[i, s] = box[:2], box[2], True
    return Slots(ends, weights, used, slots.tie)


def optimise(slots: Slots, prob: RowsProblem, settings: FitSettings, progress: Progress | None) -> Slots:
    """Adam on every used slot's ends and weight (the unused ones masked to zero), with the
    learning rate dropped tenfold for the second half of the steps."""
    target = RowsTarget(losses.make_target(prob.lines, prob.line_origin, DTYPE), slots.tie.astype(np.int32),
                        prob.lines.shape[1])
    weights = losses.weight_vector(settings.weights, DTYPE)
    active = losses.active_terms(settings.weights)
    masks = (np.repeat(slots.used[..., None], 2, axis=-1), slots.used)
    params = (slots.ends.astype(np.float32), slots.weights.astype(np.float32))
    half = max(1, settings.steps // 2)
    for lr, name in ((settings.lr, "rows-fit"), (settings.lr / 10, "rows-refine")):
        phase = optimizers.Phase(settings.replace(steps=half, lr=lr, optimizer="adam"), active, name)
        params = optimizers.run(params, target, weights, phase, masks, progress=progress).params
    ends, w = (np.where(m, np.asarray(p, np.float64), 0.0) for p, m in zip(params, masks))
    return Slots(ends, w, slots.used, slots.tie)


def to_layout(slots: Slots, prob: RowsProblem) -> rows.RowsLayout:
    """Canonical boxes (start ≤ end inside the kernel, ends on 1/FRACTION), file scale, ΣA = ΣK."""
    n = prob.lines.shape[1]
    peak = metrics.scale_to_peak(prob.target if prob.axis == "rows" else prob.target.T)
    lines, shared = [], slots.shared_ends()
    for i in range(slots.ends.shape[0]):
        boxes = []
        for s in np.flatnonzero(slots.used[i]):
            a, b = np.round(np.clip(shared[i, s], -0.5, n - 0.5) * FRACTION) / FRACTION
            w = float(slots.weights[i, s]) / peak
            if a > b:
                a, b, w = b, a, -w
            if b > a and w != 0:
                boxes.append(rows.Box(float(a) + 0.0, float(b) + 0.0, w))
        lines.append(boxes)
    layout = snap_shared(rows.RowsLayout(prob.axis, prob.shape, prob.origin, tuple(map(tuple, lines))))
    gain = float(prob.target.sum() / layout.reconstruct().sum())
    if not gain > 0:
        return layout
    scaled = tuple(tuple(b._replace(weight=b.weight * gain) for b in line) for line in layout.lines)
    return rows.RowsLayout(prob.axis, prob.shape, prob.origin, scaled)


def snap_shared(layout: rows.RowsLayout) -> rows.RowsLayout:
    """Weights of each shared pair moved so that its read's fraction between the two lines,
    w1/(w0 + w1), is a multiple of 1/FRACTION (exact for 8-bit hardware filtering); a box
    whose weight that makes zero is dropped."""
    lines = [list(line) for line in layout.lines]
    for (i, k), (i1, k1) in rows.shared_pairs(layout.lines).items():
        b0, b1 = lines[i][k], lines[i1][k1]
        total = b0.weight + b1.weight
        t = round(b1.weight / total * FRACTION) / FRACTION
        lines[i][k], lines[i1][k1] = b0._replace(weight=total * (1 - t)), b1._replace(weight=total * t)
    kept = tuple(tuple(b for b in line if b.weight != 0) for line in lines)
    return rows.RowsLayout(layout.axis, layout.shape, layout.origin, kept)


SHARE_TOLERANCES = (0.25, 1.0)  # taps (|Δstart| + |Δend|) within which adjacent boxes are tried as one read


def tie_close(slots: Slots, tol: float) -> Slots:
    """Let boxes on adjacent lines whose ends differ by at most `tol` taps in all (and whose
    weights have one sign) share their reads: the lower one uses the upper one's ends,
    moved to the mean of both. A box shares with at most one other (one read serves two lines)."""
    ends, used, w = slots.shared_ends(), slots.used, slots.weights
    tie, new_ends = slots.tie.copy(), slots.ends.copy()
    taken = used & (tie[..., 0] != np.arange(len(used))[:, None])
    taken[tie[taken][:, 0], tie[taken][:, 1]] = True  # the partners they read with
    cands: list[tuple[float, int, int, int]] = []
    for i in range(len(used) - 1):
        for s in np.flatnonzero(used[i] & ~taken[i]):
            for s2 in np.flatnonzero(used[i + 1] & ~taken[i + 1]):
                cost = float(np.abs(ends[i, s] - ends[i + 1, s2]).sum())
                if w[i, s] * w[i + 1, s2] > 0 and cost <= tol:
                    cands.append((cost, i, int(s), int(s2)))
    for _, i, k, k2 in sorted(cands):
        if not (taken[i, k] or taken[i + 1, k2]):
            new_ends[i, k] = (ends[i, k] + ends[i + 1, k2]) / 2
            tie[i + 1, k2] = (i, k)
            taken[i, k] = taken[i + 1, k2] = True
    return Slots(new_ends, slots.weights, slots.used, tie)


TIE_TO_BUDGET = (0.25, 1.0, 2.0, 4.0, 8.0, math.inf)  # taps: ever looser ties until the reads fit


def least_reads(lines: np.ndarray) -> int:
    """The fewest gather reads of a fit: one box per line, adjacent lines sharing every read they can."""
    return 2 * tie_close(start_slots(lines, 1), math.inf).cost()


def tie_to_budget(slots: Slots, budget: int) -> Slots:
    """`slots` with adjacent boxes tied (`tie_close`, ever looser) until their reads fit `budget`."""
    for tol in TIE_TO_BUDGET:
        tied = tie_close(slots, tol)
        if 2 * tied.cost() <= budget:
            return tied
    raise SepgenError(f"a rows filter of this kernel needs at least {2 * tied.cost()} gather reads "
                      f"(one box per line, adjacent lines sharing their reads), budget {budget}")


class RowsFit(NamedTuple):
    layout: rows.RowsLayout
    target: np.ndarray  # the kernel normalised to sum 1 (what `layout` approximates)
    rounds: list[dict[str, Any]]  # per fit round: boxes and relative L2


def _rel_l2(slots: Slots, prob: RowsProblem) -> float:
    return float(np.linalg.norm(slots_kernel(slots, prob.lines.shape[1]) - prob.lines) / np.linalg.norm(prob.lines))


class _Run(NamedTuple):
    prob: RowsProblem
    budget: int  # gather reads, shared reads counted once
    target_error: float | None
    settings: FitSettings
    progress: Progress | None


def fit_within(slots: Slots, run: _Run, rounds: list[dict[str, Any]], label: str) -> Slots:
    """Fit, then grow a box on the worst lines and refit, until the budget is spent or the
    target error reached."""
    prob = run.prob
    while True:
        slots = optimise(slots, prob, run.settings, run.progress)
        err = _rel_l2(slots, prob)
        rounds.append({"stage": label, "boxes": int(slots.used.sum()), "reads": 2 * slots.cost(), "relative_l2": err})
        room = run.budget // 2 - slots.cost()  # an upper bound: boxes that happen to share count twice
        if room <= 0 or (run.target_error is not None and err <= run.target_error) or slots.used.all():
            return slots
        slots = grow(slots, prob.lines, min(room, max(1, math.ceil(prob.lines.shape[0] / 4))))


def _better(cand: Slots, best: Slots, run: _Run) -> bool:
    """Lower error within the budget; with a target error met by both, fewer reads."""
    reads = to_layout(cand, run.prob).reads(share=True)  # a refit may flip a weight's sign: no sharing then
    if reads > run.budget:
        return False
    e_cand, e_best = _rel_l2(cand, run.prob), _rel_l2(best, run.prob)
    if run.target_error is not None and e_cand <= run.target_error and e_best <= run.target_error:
        return reads < to_layout(best, run.prob).reads(share=True)
    return e_cand < e_best


def fit_rows(kernel: Any, *, budget: int | None = None, target_error: float | None = None, axis: str = "auto",
             max_boxes: int = 4, share: bool = True, settings: FitSettings | None = None,
             progress: Progress | None = None) -> RowsFit:
    """Fit `kernel` (2D array or kernel spec) as row sums within `budget` gather reads (2 per
    box, a box sharing its reads with the adjacent line's counted once; default one box per
    non-empty line, or as many as `target_error` needs), growing boxes on the worst lines until
    the budget is spent or the relative L2 reaches `target_error`. With `share`, adjacent boxes
    with close ends are then tried as shared reads, the reads saved spent on more boxes; kept
    where that pays. `settings`: loss weights, steps per round, learning rate (default: the
    project's weights, 1500 steps, lr 0.05)."""
    for what, value in (("budget", budget), ("max_boxes", max_boxes)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1):
            raise SepgenError(f"rows {what} must be a positive integer, got {value!r}")
    if target_error is not None and not (isinstance(target_error, (int, float)) and 0 < target_error < math.inf):
        raise SepgenError(f"rows target_error must be a positive number, got {target_error!r}")
    prob = problem(kernel, axis)
    settings = settings or FitSettings(steps=1500, lr=0.05, optimizer="adam")
    if rows.is_binary(prob.target):
        layout = rows.exact_layout(prob.target, prob.axis)
        return RowsFit(layout, prob.target, [{"boxes": layout.boxes, "reads": layout.reads(True), "relative_l2": 0.0}])
    slots = start_slots(prob.lines, max_boxes)
    first = slots.cost()
    if budget is None:
        budget = 2 * first if target_error is None else 2 * slots.used.size
    if budget < 2 * first:  # adjacent lines share reads from the start, as far as the budget needs
        slots = tie_to_budget(slots, int(budget))
    run = _Run(prob, int(budget), target_error, settings, progress)
    rounds: list[dict[str, Any]] = []
    best = fit_within(slots, run, rounds, "fit")
    for tol in SHARE_TOLERANCES if share else ():
        tied = tie_close(best, tol)
        if tied.cost() < best.cost():
            cand = fit_within(tied, run, rounds, f"share {tol}")
            best = cand if _better(cand, best, run) else best
    return RowsFit(to_layout(best, prob), prob.target, rounds)
