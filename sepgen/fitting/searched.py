"""A filter chosen by a fetch budget or an error target (`budget`), as a SeparableFilter.

    fit_searched(kernel, budget=120)          # least loss within 120 fetches per pixel
    fit_searched(kernel, target_error=0.12)   # fewest fetches with relative L2 ≤ 0.12

The provenance says what was chosen and why: `search` holds the request, the
chosen candidate's description and reason, and every candidate the search fitted
(rank, structure, prune threshold, fetches and quality), which `sepgen report`
draws as the frontier figure.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np

from .._version import __version__
from ..errors import SepgenError
from ..filterfile import SeparableFilter
from . import budget as search_budget
from .core import Problem

FRONTIER_KEYS = ("rank", "structure", "prune", "fetches", "relative_l2", "negative_mass", "leak", "max_error")


def check_request(budget: Any, target_error: Any, rank_given: bool = False) -> tuple[int | None, float | None]:
    """Validate --budget / --target-error (one-line SepgenError)."""
    if budget is not None and target_error is not None:
        raise SepgenError("give --budget or --target-error, not both")
    if (budget is not None or target_error is not None) and rank_given:
        flag = "--budget" if budget is not None else "--target-error"
        raise SepgenError(f"{flag} chooses the rank itself: drop --rank")
    if budget is not None:
        if isinstance(budget, bool) or not isinstance(budget, (int, np.integer)) or budget < 1:
            raise SepgenError(f"budget must be a positive whole number of fetches per pixel, got {budget!r}")
        return int(budget), None
    if target_error is not None:
        try:
            value = float(target_error)
        except (TypeError, ValueError):
            raise SepgenError(f"target_error must be a number, got {target_error!r}") from None
        if not math.isfinite(value) or value <= 0:
            raise SepgenError(f"target_error must be a positive finite relative L2 error, got {target_error!r}")
        return None, value
    return None, None


def _row(c: search_budget.Candidate) -> dict[str, Any]:
    q = c.quality
    return {"rank": c.rank, "structure": c.structure, "prune": c.threshold, "fetches": c.total,
            "relative_l2": q["relative_l2"], "negative_mass": q["negative_mass"], "leak": q["leak"],
            "max_error": q["max_error"]}


def frontier(search: search_budget.Search, found: list[search_budget.Candidate]) -> list[dict[str, Any]]:
    """Every unpruned fit the search made and every candidate it kept, cheapest first."""
    rows = [_row(search.candidate(r, s, 0.0, refit=False)) for (r, s) in sorted(search._fits)]
    rows += [_row(c) for c in found if c.threshold > 0]
    unique = {tuple(row[k] for k in ("rank", "structure", "prune")): row for row in rows}
    return sorted(unique.values(), key=lambda r: (r["fetches"], r["relative_l2"]))


def fit_searched(
    kernel: Any,
    *,
    budget: int | None = None,
    target_error: float | None = None,
    weights: Mapping[str, float],
    optimizer: str = "gd",
    steps: int = 5000,
    lr: float = 0.1,
    name: str,
    kernel_spec: Mapping[str, Any] | None = None,
    max_rank: int = search_budget.MAX_RANK,
    progress: search_budget.Progress | None = None,
) -> SeparableFilter:
    """The filter `budget` or `target_error` asks for (exactly one of them), unit DC gain."""
    budget, target_error = check_request(budget, target_error)
    if budget is None and target_error is None:
        raise SepgenError("fit_searched needs a budget or a target_error")
    problem = Problem(kernel, 1, kernel_spec)
    ranks = range(1, min(max_rank, *problem.target.shape) + 1)
    settings = search_budget.SearchSettings(dict(weights), steps=steps, lr=lr, optimizer=optimizer,
                                            refit_steps=max(1, steps // 2))
    search = search_budget.Search(problem.kernel_peak, problem.loss_target, problem.origin, settings,
                                  search_budget.emitted_fetches(problem.target, problem.origin), progress)
    if budget is not None:
        chosen, found = search_budget.for_budget(search, budget, ranks)
        why = f"least loss of {len(found)} candidates within {budget} fetches per pixel"
        request: dict[str, Any] = {"budget": budget}
    else:
        chosen, found = search_budget.for_target(search, target_error, ranks)  # type: ignore[arg-type]
        why = f"fewest fetches of {len(found)} candidates with relative L2 ≤ {target_error:g}"
        request = {"target_error": target_error}
    v, h = unit_gain(*_file_scale(problem, chosen), problem.target)
    provenance = {
        "sepgen": __version__, "kernel": problem.spec, "normalize": problem.normalize, "rank": chosen.rank,
        "weights": dict(weights), "optimizer": optimizer, "steps": steps, "lr": lr, "init": "svd", "seed": 0,
        "prune": chosen.threshold, "prune_threshold_used": chosen.threshold, "precision": "float32",
        "structure": chosen.structure,
        "loss": {"fit": chosen.loss_unpruned, "pruned": chosen.loss} if chosen.threshold > 0 else {"fit": chosen.loss},
        "search": {**request, "chosen": chosen.describe(), "why": why, "frontier": frontier(search, found)},
    }
    return SeparableFilter(name, problem.target, v, h, problem.origin, provenance)


def _file_scale(problem: Problem, c: search_budget.Candidate) -> tuple[np.ndarray, np.ndarray]:
    return problem.to_file_scale((c.vertical, c.horizontal))


def unit_gain(v: np.ndarray, h: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scale the vertical taps so that ΣA = ΣK (zeros stay exact zeros, ratios stay shared)."""
    total, got = float(target.sum()), float(np.einsum("ki,kj->", v, h))
    if total == 0 or got == 0:
        return v, h
    return v * (total / got) + 0.0, h
