"""A fitted `RowsFilter`, and the structure choice of `sepgen optimize --structure`.

Budgets count what the shaders `sepgen emit` writes by default read per pixel (fragment
passes): the scan passes (`sepgen.plan.rowsplan`) plus two reads per gather read pair.
`--structure auto` (the default with a budget or a target error) fits both structures and
keeps the better: within a budget the lower relative L2, for a target error the fewer
fetches among those that meet it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .. import kernels
from .._version import __version__
from ..common.errors import SepgenError
from ..filters import rows
from ..filters.rowsfile import RowsFilter
from ..filters.rowsfilter import STRUCTURE_CHOICES, Rows, check_structure  # noqa: F401
from ..options import EmitOptions, FitSettings
from ..plan import rowsplan
from . import rows as rowsfit
from .core import Problem
from .optimizers import Progress


def _scan_reads(prob: rowsfit.RowsProblem, options: EmitOptions) -> int:
    n = prob.shape[1] if prob.axis == "rows" else prob.shape[0]
    return rowsplan.counts(rowsplan.scan_passes(rowsplan.tile_for(n), options.compute))["scan"]


def cheapest(kernel: np.ndarray, options: EmitOptions | None = None) -> int:
    """The fewest fetches per pixel of a rows filter of `kernel`: the scan plus one box per line,
    adjacent lines sharing their reads (the exact run lengths of a binary kernel)."""
    opts = options or EmitOptions()
    prob = rowsfit.problem(kernel)
    if rows.is_binary(prob.target):  # what the emitted gather reads: a shared read at an integer end is two
        gather = Rows(rows.exact_layout(prob.target, prob.axis)).gather_fetches()
    else:
        gather = rowsfit.least_reads(prob.lines)
    return _scan_reads(prob, opts) + gather


def fit_rows_filter(kernel: Any, *, budget: int | None = None, target_error: float | None = None,
                    name: str | None = None, kernel_spec: Mapping[str, Any] | None = None,
                    settings: FitSettings | None = None, progress: Progress | None = None) -> RowsFilter:
    """A rows filter of `kernel` within `budget` fetches per pixel (emit defaults, scan included),
    or reaching `target_error`; default one box per line. Negative kernels are refused."""
    base = Problem(kernel, 1, kernel_spec)
    name = base.filter_name(name)
    target = base.target
    prob = rowsfit.problem(target)
    scan = _scan_reads(prob, EmitOptions())
    gather_budget = None
    if budget is not None:
        least = cheapest(target)
        if budget < least:
            raise SepgenError(f"budget {budget} is below the cheapest rows filter of this kernel: --budget {least} "
                              f"or more (scan {scan} + one box per line, adjacent lines sharing reads)")
        gather_budget = budget - scan
    layout = _fit_layout(target, gather_budget, target_error, scan, budget, progress)
    provenance: dict[str, Any] = {
        "sepgen": __version__, "kernel": base.spec, "structure": "rows", "fit": "rows boxes (sepgen.fitting.rows)",
        **base.trimmed,
        **({"search": {"budget": budget}} if budget is not None else {}),
        **({"search": {"target_error": target_error}} if target_error is not None else {}),
    }
    if settings is not None:
        provenance["weights"] = dict(settings.weights)
    return RowsFilter(name, target, layout, provenance)


def _fit_layout(target: np.ndarray, gather_budget: int | None, target_error: float | None, scan: int,
                budget: int | None, progress: Progress | None) -> rows.RowsLayout:
    """The fitted layout at the target's scale. The fit counts two reads per read pair; an end at
    an integer position of a shared read takes two point reads (`Rows.gather_fetches`), so a fit
    over the budget is redone with the excess taken off its gather budget (at most 3 times)."""
    scale = float(target.sum())  # the fit works at sum 1: back to the target's scale
    for _ in range(3):
        fitted = rowsfit.fit_rows(target, budget=gather_budget, target_error=target_error, progress=progress)
        lines = tuple(tuple(rows.Box(b.start, b.end, b.weight * scale) for b in line) for line in fitted.layout.lines)
        layout = rows.RowsLayout(fitted.layout.axis, fitted.layout.shape, fitted.layout.origin, lines)
        total = scan + Rows(layout).gather_fetches()
        if budget is None or gather_budget is None or total <= budget:
            return layout
        gather_budget -= total - budget
    raise SepgenError(f"no rows filter of this kernel within {budget} fetches per pixel was found: raise --budget")


def relative_l2(filt: Any) -> float:
    a, k = filt.reconstruct(), filt.target
    return float(np.linalg.norm(a - k) / np.linalg.norm(k))


def choose(candidates: list[Any], budget: int | None, target_error: float | None,
           targets: list[EmitOptions] | None = None) -> Any:
    """Within a budget the lowest error; for a target the fewest fetches among those meeting it
    (else the lowest error). Fetches are the dearest of `targets` (default: `sepgen emit`'s)."""
    counted = targets or [EmitOptions()]

    def fetches(f: Any) -> int:
        return max(int(f.structure.fetch_counts(t)["total"]) for t in counted)

    if target_error is not None:
        meeting = [f for f in candidates if relative_l2(f) <= target_error]
        if meeting:
            return min(meeting, key=lambda f: (fetches(f), relative_l2(f)))
    within = [f for f in candidates if budget is None or fetches(f) <= budget] or candidates
    return min(within, key=lambda f: (relative_l2(f), fetches(f)))


def fit_auto(kernel: Any, settings: FitSettings, *, budget: int | None = None, target_error: float | None = None,
             name: str | None = None, kernel_spec: Mapping[str, Any] | None = None,
             progress: Progress | None = None, targets: Any = None,
             max_intermediate_bytes: int | None = None) -> Any:
    """Both structures searched, the better kept (`choose`) for the shipped `targets` (emit
    options; default `sepgen emit`'s); rows is skipped for kernels it cannot take (negative taps),
    for budgets below its cheapest filter and when a memory cap is asked for (the separable
    search is the one that caps intermediates)."""
    from ..options import search_targets
    from .searched import fit_searched

    counted = search_targets(targets)
    candidates: list[Any] = [fit_searched(kernel, settings, budget=budget, target_error=target_error, name=name,
                                          kernel_spec=kernel_spec, progress=progress, targets=targets,
                                          max_intermediate_bytes=max_intermediate_bytes)]
    k = kernels.make(dict(kernel)) if isinstance(kernel, Mapping) else np.asarray(kernel, np.float64)
    rows_ok = np.all(np.asarray(k) >= 0) and max_intermediate_bytes is None
    if rows_ok and (budget is None or budget >= cheapest(Problem(kernel, 1, kernel_spec).target)):
        try:
            candidates.append(fit_rows_filter(kernel, budget=budget, target_error=target_error, name=name,
                                              kernel_spec=kernel_spec, progress=progress))
        except SepgenError:  # no rows filter within the budget after all: the separable one stands
            pass
    best = choose(candidates, budget, target_error, counted)
    best.provenance.setdefault("search", {})["structures"] = [
        {"structure": c.structure.name, "fetches": max(c.structure.fetch_counts(t)["total"] for t in counted),
         "relative_l2": relative_l2(c)} for c in candidates]
    if best is not candidates[0]:  # rows won: keep the separable candidates for the report's frontier figure
        best.provenance["search"]["frontier"] = candidates[0].provenance["search"].get("frontier", [])
    return best
