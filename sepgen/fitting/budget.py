"""Budget and target fitting: search rank, tap structure and pruning for a fetch budget.

`for_budget(problem, weights, N)` returns the filter with the least loss whose
emitted shaders read at most N texels per pixel on every target the counter is given
(`emitted_fetches(origin, targets)`; default `sepgen emit`'s options: MRT, linear sampling);
`for_target(problem, weights, E)` the one with the fewest fetches whose relative L2 error
is at most E. Candidates, for each rank 1..`max_rank` (8), and past it
while the request asks for more, up to RANK_CAP:

- a budget goes on to rank r + 1 while the best candidate so far is of rank r (the loss
  still falls with the rank) and rank r had a candidate within the budget;
- a target goes on while no candidate meets it, from the first rank whose SVD bound (the
  least relative L2 any rank-r filter can have) is within it; a target beyond even the
  bound at RANK_CAP fails at once.

- structure `free`: taps fitted freely (the ordinary fit);
- structure `shared`: a shared-ratio fit (`shared_ratio`): one bilinear fetch serves
  every component at each pair of horizontal offsets, and every vertical pair has one
  sign, so the horizontal pass costs half the fetches;
- pruning: tap groups (a tap, or a pair of taps one fetch reads) whose largest
  contribution to the filter, |tap| · max |other axis of its component|, is below a
  threshold × the filter's largest tap become exact zeros and the rest is refitted. For
  a budget the threshold is the smallest that fits it (the loss may then rise more than
  the plain prune's 2 % cap, and the provenance says by how much); for a target the
  largest that keeps the error within it.

Every candidate goes through `finish` (components with no energy dropped, ΣA = ΣK) before
it is measured, so what the search judges is exactly what the filter file holds.

Fetches are counted on the taps the filter file will hold by their structure
(`sepgen.filters.separable`), with the pass plan `sepgen emit` writes its shaders from
(`sepgen.plan`): fitting and emit are siblings, neither imports the other.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..common.errors import SepgenError
from ..filters import metrics
from ..filters.separable import Separable
from ..options import EmitOptions
from ..plan import taps
from . import finish, lowrank, shared_ratio as sr

STRUCTURES = ("free", "shared")
MAX_RANK = 8  # one MRT group: the frontier the search always explores
# How far past MAX_RANK a budget or a target may take the search. Each rank costs a fit of
# every structure (seconds each, more as the rank grows), and past 32 components the error
# falls slowly: a 64-wide ring needs rank 18 for a relative L2 of 0.05 (its SVD bound), rank
# 32 for 0.005. Four MRT groups of 8; the filter file holds up to 64.
RANK_CAP = 32
MAX_THRESHOLD = 0.5  # prune at most the taps below half the filter's largest tap
REFIT_TRIES = 4  # budget: tighter thresholds tried when a refit's count creeps over the budget


@dataclass(frozen=True)
class SearchSettings:
    """How each candidate is fitted (peak-1 scale, as `fit`)."""

    weights: Mapping[str, float]
    steps: int = 5000
    lr: float = 0.1
    optimizer: str = "gd"
    refit_steps: int = 2000


@dataclass
class Candidate:
    """One fitted filter the search considered (taps in peak-1 scale)."""

    rank: int
    structure: str
    threshold: float  # prune threshold used, 0 = unpruned
    vertical: np.ndarray
    horizontal: np.ndarray
    loss: float  # weighted loss (NumPy, peak-1 scale)
    loss_unpruned: float
    fetches: dict[str, int]
    quality: dict[str, Any] = field(default_factory=dict)
    fitted_rank: int = 0  # the rank searched (rank is what remains after empty components are dropped)
    finish_record: dict[str, Any] = field(default_factory=dict)  # the provenance's "components" and "dc" records

    @property
    def total(self) -> int:
        return int(self.fetches["total"])

    @property
    def relative_l2(self) -> float:
        return float(self.quality["relative_l2"])

    def describe(self) -> str:
        pruned = f"pruned at {self.threshold:.3g} (loss {100 * (self.loss / self.loss_unpruned - 1):+.1f}%)" \
            if self.threshold > 0 else "unpruned"
        return f"rank {self.rank} {self.structure}, {pruned}: {self.total} fetches, relL2 {self.relative_l2:.4g}"


Counter = Callable[[np.ndarray, np.ndarray], dict[str, int]]
Progress = Callable[[str, int, int, float], None]  # (what, fits done, fits planned, its loss), as the fit's


class Search:
    """Fits, prunes and counts candidates of one problem (see the module docstring)."""

    def __init__(self, kernel_peak: np.ndarray, loss_target: Any, origin: tuple[int, int],
                 settings: SearchSettings, count: Counter, progress: Progress | None = None):
        self.kernel = np.asarray(kernel_peak, np.float64)
        self.loss_target = loss_target
        self.origin = origin
        self.settings = settings
        self.count = count
        self.progress = progress
        self.planned = MAX_RANK * len(STRUCTURES)  # fits the progress counts towards (run_search sets it)
        h, w = self.kernel.shape
        single = lambda n: sr.PairLayout(np.arange(n), np.full(n, sr.SINGLE))  # noqa: E731
        self.structures = {
            "free": sr.Structure(single(h), single(w)),
            "shared": sr.Structure(sr.PairLayout.for_axis(h, origin[0]), sr.PairLayout.for_axis(w, origin[1])),
        }
        self._fits: dict[tuple[int, str], tuple[sr.Params, float]] = {}

    # -- fitting -------------------------------------------------------------------------
    def fitted(self, rank: int, structure: str) -> tuple[sr.Params, float]:
        """The unpruned fit of a rank and structure (cached); `shared` starts from `free`."""
        key = (rank, structure)
        if key not in self._fits:
            s = self.settings
            if structure == "free":
                start = sr.project(*lowrank.svd_components(self.kernel, rank), self.structures["free"])
            else:
                start = sr.project(*self.taps(self.fitted(rank, "free")[0], "free"), self.structures[structure])
            params, _ = sr.optimise(start, self.loss_target, dict(s.weights), self.structures[structure],
                                    steps=s.steps, lr=s.lr, optimizer=s.optimizer)
            self._fits[key] = (params, self.loss(*self.taps(params, structure)))
            if self.progress is not None:
                self.progress(f"search rank {rank} {structure}", len(self._fits), self.planned, self._fits[key][1])
        return self._fits[key]

    def fitted_keys(self) -> list[tuple[int, str]]:
        """(rank, structure) of every unpruned fit made so far, sorted."""
        return sorted(self._fits)

    def taps(self, params: sr.Params, structure: str) -> tuple[np.ndarray, np.ndarray]:
        return sr.taps(params, self.structures[structure])

    def loss(self, v: np.ndarray, h: np.ndarray) -> float:
        approx = np.einsum("ki,kj->ij", v, h)
        return metrics.weighted_loss(metrics.loss_terms(approx, self.kernel, self.origin), dict(self.settings.weights))

    # -- pruning -------------------------------------------------------------------------
    def contributions(self, params: sr.Params, structure: str) -> tuple[np.ndarray, np.ndarray]:
        """Largest contribution of each group (rank × groups, per axis) over the filter's largest tap."""
        st = self.structures[structure]
        v, h = self.taps(params, structure)
        peak = float(np.abs(np.einsum("ki,kj->ij", v, h)).max()) or 1.0

        def per_group(taps: np.ndarray, other: np.ndarray, layout: sr.PairLayout) -> np.ndarray:
            out = np.zeros((taps.shape[0], layout.groups))
            np.maximum.at(out.T, layout.group, np.abs(taps).T)
            return out * np.abs(other).max(axis=1, keepdims=True) / peak

        return per_group(v, h, st.vertical), per_group(h, v, st.horizontal)

    def masked(self, params: sr.Params, structure: str, threshold: float) -> tuple[sr.Params, sr.Params]:
        cv, ch = self.contributions(params, structure)
        masks = sr.Params((cv >= threshold) * 1.0, np.ones_like(params.pv),
                          (ch >= threshold) * 1.0, np.ones_like(params.ph))
        return params._replace(wv=params.wv * masks.wv, wh=params.wh * masks.wh), masks

    def candidate(self, rank: int, structure: str, threshold: float, refit: bool = True) -> Candidate:
        params, unpruned = self.fitted(rank, structure)
        if threshold > 0:
            params, masks = self.masked(params, structure, threshold)
            if refit:
                s = self.settings
                params, _ = sr.optimise(params, self.loss_target, dict(s.weights), self.structures[structure],
                                        steps=s.refit_steps, lr=s.lr, optimizer=s.optimizer, masks=masks)
        v, h, record = self.finished(rank, structure, *self.taps(params, structure))
        approx = np.einsum("ki,kj->ij", v, h)
        return Candidate(v.shape[0], structure, threshold, v, h, self.loss(v, h), unpruned, self.count(v, h),
                         metrics.quality(approx, self.kernel, v, h), fitted_rank=rank, finish_record=record)

    def finished(self, rank: int, structure: str, v: np.ndarray, h: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict]:
        """`finish` as every fit gets it (no empty components, ΣA = ΣK) and its provenance record."""
        energy = finish.component_energy(*self.taps(self.fitted(rank, structure)[0], structure))
        kept = finish.drop_empty(v, h)  # a pruned-away component costs no pass
        gain = finish.dc_gain(kept.vertical, kept.horizontal, self.kernel)
        v, h, renormalised = finish.exact_dc(kept.vertical, kept.horizontal, self.kernel)
        return v, h, {"components": {"fitted": rank, "kept": int(len(v)), "dropped": [
                          {"component": k, "energy": float(energy[k])} for k in kept.dropped]},
                      "dc": {"gain_fitted": gain, "renormalised": renormalised}}

    def thresholds(self, rank: int, structure: str) -> list[float]:
        """Thresholds that each prune one more group: just above each contribution, ascending."""
        cv, ch = self.contributions(self.fitted(rank, structure)[0], structure)
        values = np.unique(np.concatenate([cv.ravel(), ch.ravel()]))
        values = values[(values > 0) & (values < MAX_THRESHOLD)]
        return [float(np.nextafter(x, np.inf)) for x in values]


def emitted_fetches(origin: tuple[int, int], targets: Sequence[EmitOptions] | None = None) -> Counter:
    """Fetches per pixel of the shaders `sepgen emit` writes for taps (v, h): the most any of
    `targets` reads (default: `sepgen emit`'s default options)."""
    chosen = list(targets) if targets else [EmitOptions()]

    def count(v: np.ndarray, h: np.ndarray) -> dict[str, int]:
        return taps.target_cost(Separable(v, h, origin), chosen)

    return count


def _bisect(n: int, ok: Callable[[int], bool]) -> int:
    """The smallest i in 0..n-1 with ok(i) (ok monotone), or n if none."""
    lo, hi = 0, n
    while lo < hi:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


def best_within_budget(search: Search, rank: int, structure: str, budget: int) -> Candidate | None:
    """The least-pruned candidate of this rank and structure with at most `budget` fetches."""
    first = search.candidate(rank, structure, 0.0)
    if first.total <= budget:
        return first
    levels = search.thresholds(rank, structure)
    i = _bisect(len(levels), lambda j: search.candidate(rank, structure, levels[j], refit=False).total <= budget)
    for j in range(i, min(i + REFIT_TRIES, len(levels))):
        cand = search.candidate(rank, structure, levels[j])
        if cand.total <= budget:
            return cand
    return None


def cheapest_within_error(search: Search, rank: int, structure: str, target: float) -> Candidate | None:
    """The most-pruned candidate of this rank and structure with relative L2 ≤ `target`.

    A refit never raises the error, so the thresholds that meet the target without a
    refit (cheap to find) bound the answer from below; refits bisect only above them."""
    first = search.candidate(rank, structure, 0.0)
    if first.relative_l2 > target:
        return None
    levels = search.thresholds(rank, structure)
    lo = _bisect(len(levels), lambda j: search.candidate(rank, structure, levels[j], refit=False).relative_l2 > target)
    cache: dict[int, Candidate] = {}

    def too_far(j: int) -> bool:
        cache[j] = search.candidate(rank, structure, levels[j])
        return cache[j].relative_l2 > target

    i = lo + _bisect(len(levels) - lo, lambda j: too_far(lo + j))
    if i == 0:
        return first
    return cache.get(i - 1) or search.candidate(rank, structure, levels[i - 1])


def for_budget(search: Search, budget: int, ranks: Sequence[int],
               cap: int | None = None) -> tuple[Candidate, list[Candidate]]:
    """The least-loss candidate within `budget` fetches, and every candidate found; past
    max(ranks), up to `cap`, while the best candidate is of the highest rank tried."""
    least = smallest_budget(search)  # rank 1 only: a hopeless budget fails before the other fits
    found = [] if budget < least else \
        [c for r in ranks for s in STRUCTURES if (c := best_within_budget(search, r, s, budget)) is not None]
    if not found:
        raise SepgenError(f"budget {budget} is below the cheapest filter: the smallest feasible budget is "
                          f"{least} fetches per pixel")
    best = lambda: min(found, key=lambda c: (c.loss, c.total))  # noqa: E731
    rank = max(ranks)
    while cap is not None and rank < cap and best().fitted_rank == rank:
        rank += 1
        search.planned = max(search.planned, rank * len(STRUCTURES))
        more = [c for s in STRUCTURES if (c := best_within_budget(search, rank, s, budget)) is not None]
        if not more:
            break
        found += more
    return best(), found


def svd_bounds(kernel: np.ndarray) -> np.ndarray:
    """[r] = the least relative L2 error any rank-r filter of `kernel` can have (Eckart–Young)."""
    s2 = np.linalg.svd(np.asarray(kernel, np.float64), compute_uv=False) ** 2
    tail = np.concatenate([np.cumsum(s2[::-1])[::-1], [0.0]])  # [r] = Σ s² from r on
    return np.sqrt(tail / s2.sum())


def for_target(search: Search, target: float, ranks: Sequence[int],
               cap: int | None = None) -> tuple[Candidate, list[Candidate]]:
    """The fewest-fetch candidate with relative L2 ≤ `target` (ties: lower error), and all found;
    past max(ranks), up to `cap`, until some candidate meets the target."""
    found = [c for r in ranks for s in STRUCTURES if (c := cheapest_within_error(search, r, s, target)) is not None]
    last = max(ranks)
    if not found and cap is not None and cap > last:
        bound = svd_bounds(search.kernel)
        cap = min(cap, len(bound) - 1)
        if bound[cap] > target:
            raise SepgenError(f"target_error {target:g} is out of reach up to rank {cap} (the search's cap): no "
                              f"rank-{cap} filter is closer than relative L2 {bound[cap]:.4f}")
        first = next(r for r in range(last + 1, cap + 1) if bound[r] <= target)  # lower ranks cannot meet it
        for last in range(first, cap + 1):
            search.planned = max(search.planned, len(search.fitted_keys()) + len(STRUCTURES))
            found = [c for s in STRUCTURES if (c := cheapest_within_error(search, last, s, target)) is not None]
            if found:
                break
    if not found:
        best = min(search.candidate(r, s, 0.0).relative_l2 for r, s in search.fitted_keys())
        raise SepgenError(f"target_error {target:g} is out of reach up to rank {last}: the best "
                          f"relative L2 there is {best:.4g}")
    return min(found, key=lambda c: (c.total, c.relative_l2)), found


def smallest_budget(search: Search) -> int:
    """Fetches of the cheapest filter the search can make: rank 1, pruned at MAX_THRESHOLD."""
    return min(search.candidate(1, s, math.nextafter(MAX_THRESHOLD, 0), refit=False).total for s in STRUCTURES)
