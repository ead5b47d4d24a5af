"""A filter chosen by a fetch budget or an error target (`budget`), as a SeparableFilter.

    fit_searched(kernel, settings, budget=120)          # least loss within 120 fetches per pixel
    fit_searched(kernel, settings, target_error=0.12)   # fewest fetches with relative L2 ≤ 0.12
    fit_searched(kernel, settings, budget=80, targets=[EmitOptions(lang="wgsl")])  # counted for WGSL

Fetches are counted for the targets the filter ships to (`targets`, EmitOptions; default
`sepgen emit`'s defaults): a budget holds for every one of them (the search counts the
dearest). `max_intermediate_bytes` caps the bytes per pixel the passes write to their
intermediates (RGBA32F: 16 per component, RGBA16F: 8), so the rank.

`settings` (FitSettings) gives the weights, optimiser, steps and learning rate of every
candidate (each starts from the SVD: `init` does not apply); its prune is replaced by the
search's own. The provenance says what was chosen and why: `search` holds the request, the
chosen candidate, the reason, and every candidate the search fitted (rank, structure, prune
threshold, fetches, quality), which `sepgen report` draws as the frontier.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .._version import __version__
from ..common.errors import SepgenError
from ..filters.filterfile import SeparableFilter
from ..options import FIT_OPTIONS, EmitOptions, FitSettings, check_memory_cap, check_search, search_targets
from ..plan.passmodel import TEXEL_BYTES, intermediate_texels
from . import budget as search_budget
from .core import Problem
from .optimizers import Progress


def _row(c: search_budget.Candidate) -> dict[str, Any]:
    q = c.quality
    return {"rank": c.rank, "fitted_rank": c.fitted_rank, "structure": c.structure, "prune": c.threshold,
            "fetches": c.total,
            "relative_l2": q["relative_l2"], "negative_mass": q["negative_mass"], "leak": q["leak"],
            "max_error": q["max_error"]}


def frontier(search: search_budget.Search, found: list[search_budget.Candidate]) -> list[dict[str, Any]]:
    """Every unpruned fit the search made and every candidate it kept, cheapest first."""
    rows = [_row(search.candidate(r, s, 0.0, refit=False)) for (r, s) in search.fitted_keys()]
    rows += [_row(c) for c in found if c.threshold > 0]
    unique = {(row["fitted_rank"], row["structure"], row["prune"]): row for row in rows}
    return sorted(unique.values(), key=lambda r: (r["fetches"], r["relative_l2"]))


def make_search(problem: Problem, settings: FitSettings, progress: Progress | None,
                targets: Sequence[EmitOptions] | None = None) -> search_budget.Search:
    s = search_budget.SearchSettings(dict(settings.weights), steps=settings.steps, lr=settings.lr,
                                     optimizer=settings.optimizer, refit_steps=max(1, settings.steps // 2))
    return search_budget.Search(problem.kernel_peak, problem.loss_target, problem.origin, s,
                                search_budget.emitted_fetches(problem.origin, targets), progress)


def memory_rank(targets: Sequence[EmitOptions], max_bytes: int | None) -> int | None:
    """The most components whose intermediates fit in `max_bytes` per pixel on every target
    (None: no cap); a cap below one intermediate is a one-line error naming the least that fits."""
    if max_bytes is None:
        return None
    per_component = max(TEXEL_BYTES[t.intermediate_format] for t in targets)
    if max_bytes < per_component:
        raise SepgenError(f"max_intermediate_bytes {max_bytes} is below one intermediate: the smallest feasible "
                          f"value is {per_component} bytes per pixel ({per_component} per component)")
    if all(t.channels == "rgba" for t in targets):
        return max_bytes // per_component
    # channels="rgb" packs ceil(3n/4) intermediates per group of n: the largest rank that fits everywhere
    top = FIT_OPTIONS["rank"].max or 64
    return max(r for r in range(1, int(top) + 1) if intermediate_memory(r, targets) <= max_bytes)


def intermediate_memory(rank: int, targets: Sequence[EmitOptions]) -> int:
    """Bytes per pixel of a rank's intermediates on the dearest of `targets` (channels="rgb" packed)."""
    return max(intermediate_texels(rank, t.channels) * TEXEL_BYTES[t.intermediate_format] for t in targets)


def run_search(search: search_budget.Search, budget: int | None, target_error: float | None,
               ranks: range, cap: int | None = None) -> tuple[search_budget.Candidate, dict[str, Any]]:
    """The chosen candidate and the provenance's `search` record; past `ranks` up to `cap`
    while the budget or the target asks for it (`sepgen.fitting.budget`)."""
    search.planned = len(ranks) * len(search_budget.STRUCTURES)
    if budget is not None:
        chosen, found = search_budget.for_budget(search, budget, ranks, cap)
        request: dict[str, Any] = {"budget": budget}
        why = f"least loss of {len(found)} candidates within {budget} fetches per pixel"
    else:
        assert target_error is not None  # a search runs for a budget or a target error
        chosen, found = search_budget.for_target(search, float(target_error), ranks, cap)
        request = {"target_error": target_error}
        why = f"fewest fetches of {len(found)} candidates with relative L2 ≤ {target_error:g}"
    return chosen, {**request, "chosen": chosen.describe(), "why": why, "frontier": frontier(search, found)}


def _limits(problem: Problem, targets: Sequence[EmitOptions], max_bytes: int | None, max_rank: int,
            rank_cap: int) -> tuple[range, int, str]:
    """The ranks always searched, the search's cap, and what the memory cap adds to an error."""
    most = min(rank_cap, *problem.target.shape)
    by_memory = memory_rank(targets, max_bytes)
    note = ""
    if by_memory is not None and by_memory < most:
        most = by_memory
        note = f" (max_intermediate_bytes {max_bytes} allows at most {by_memory} components)"
    return range(1, min(max_rank, most) + 1), most, note


def fit_searched(kernel: Any, settings: FitSettings, *, budget: int | None = None, target_error: float | None = None,
                 name: str | None = None, kernel_spec: Mapping[str, Any] | None = None,
                 progress: Progress | None = None, max_rank: int = search_budget.MAX_RANK,
                 rank_cap: int = search_budget.RANK_CAP, targets: Any = None,
                 max_intermediate_bytes: int | None = None) -> SeparableFilter:
    """The filter `budget` or `target_error` asks for (exactly one of them), with ΣA = ΣK.
    Ranks 1..`max_rank` are always searched; higher ones up to `rank_cap` while the request asks.
    `targets`: the emit options (one, or a list; EmitOptions or dicts) whose fetches count."""
    budget, target_error = check_search(budget, target_error)
    if budget is None and target_error is None:
        raise SepgenError("a search needs a budget or a target_error")
    chosen_targets = search_targets(targets)
    max_intermediate_bytes = check_memory_cap(max_intermediate_bytes)
    problem = Problem(kernel, 1, kernel_spec)
    name = problem.filter_name(name)
    ranks, most, note = _limits(problem, chosen_targets, max_intermediate_bytes, max_rank, rank_cap)
    search = make_search(problem, settings, progress, chosen_targets)
    try:
        chosen, record = run_search(search, budget, target_error, ranks, most)
    except SepgenError as exc:
        raise SepgenError(f"{exc}{note}") from None
    asked = next(iter(record))  # budget or target_error: first, as before
    record = {asked: record[asked], **_request_record(chosen_targets, max_intermediate_bytes, chosen), **record}
    v, h = problem.to_file_scale((chosen.vertical, chosen.horizontal))  # already finished (budget.Search.candidate)
    loss = {"fit": chosen.loss_unpruned, **({"pruned": chosen.loss} if chosen.threshold > 0 else {})}
    provenance = {
        "sepgen": __version__, "kernel": problem.spec, "normalize": problem.normalize, "rank": chosen.rank,
        **settings.replace(prune=chosen.threshold, init="svd").to_json(), "prune_threshold_used": chosen.threshold,
        "precision": "float32", "loss": loss, **chosen.finish_record, "structure": chosen.structure, "search": record,
        **problem.trimmed,
    }
    return SeparableFilter(name, problem.target, v, h, problem.origin, provenance)


def _request_record(targets: list[EmitOptions], max_bytes: int | None,
                    chosen: search_budget.Candidate) -> dict[str, Any]:
    """What the search counted for: the targets (their emit options), the memory cap, and the
    chosen filter's cost there (`sepgen emit` warns when a variant costs more than the request)."""
    out: dict[str, Any] = {"targets": [t.to_dict() for t in targets]}
    if max_bytes is not None:
        out["max_intermediate_bytes"] = max_bytes
    out["intermediate_bytes"] = intermediate_memory(chosen.rank, targets)
    return out
