"""`fit`: the keyword façade over both fits, above the engines it dispatches to.

A rank goes to the rank fit (`core.fit_with`); a fetch budget or an error target to the
search (`searched.fit_searched`). Neither engine imports this module, so the two stay
acyclic (tests/test_layout.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..common.errors import SepgenError
from ..options import SEED_WEIGHTS, FitSettings, check_search
from . import rowsfit
from .core import fit_with
from .optimizers import Progress

__all__ = ["fit"]


def fit(
    kernel: Any,
    rank: int | None = None,
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
    budget: int | None = None,
    target_error: float | None = None,
    options: Any = None,
    max_intermediate_bytes: int | None = None,
    structure: str | None = None,
) -> Any:
    """Fit `kernel` (2D array, or a kernel spec dict) as a rank-`rank` sum of separable passes.

    Instead of a rank, `budget` (fetches per pixel of the shaders `sepgen emit` writes by
    default) or `target_error` (relative L2) lets a search choose rank, tap structure and
    pruning: see `sepgen.fitting.searched`. `options` (emit options: a dict, an EmitOptions or a
    list of them) are the targets whose fetches the search counts, the dearest of them within the
    budget; `max_intermediate_bytes` caps the intermediates' bytes per pixel.

    Minimises Σ weight·term (see `sepgen.filters.metrics`) from the SVD (or random) start
    with `optimizer` for `steps` steps in one jitted loop; with `prune` > 0, taps
    below `prune` × their vector's peak are set to exactly 0 and the rest refitted.
    Weights not given take their defaults from `sepgen.options.WEIGHT_OPTIONS`.
    The result's `.history` is the sampled loss curve, rows [step, loss].
    The keywords make one `FitSettings` (see `fit_with`).
    `structure`: "separable" (the default), "rows" (boxes per kernel row, a `RowsFilter`:
    `sepgen.fitting.rowsfit`) or "auto" (with a budget or target: both searched, the better kept).
    """
    settings = FitSettings(weights=weights, optimizer=optimizer, steps=steps, lr=lr, init=init, seed=seed, prune=prune)
    searching = budget is not None or target_error is not None
    # issue 18: the CLI and build configs search both structures by default with a budget or target;
    # the Python call keeps returning a SeparableFilter unless asked (structure="auto" or "rows")
    chosen = rowsfit.check_structure(structure or "separable", rank is not None, searching)
    if chosen != "separable":
        return _fit_structure(chosen, kernel, settings, rank is not None, budget, target_error, name, kernel_spec,
                              progress, options, max_intermediate_bytes)
    if budget is not None or target_error is not None:
        check_search(budget, target_error, rank_given=rank is not None)
        from .searched import fit_searched  # the search needs optax (shared-ratio fits); a rank fit never does

        return fit_searched(kernel, settings, budget=budget, target_error=target_error, name=name,
                            kernel_spec=kernel_spec, progress=progress, targets=options,
                            max_intermediate_bytes=max_intermediate_bytes)
    if options is not None or max_intermediate_bytes is not None:
        given = "options" if options is not None else "max_intermediate_bytes"
        raise SepgenError(f"{given} applies to a search only: give a budget or a target_error")
    if rank is None:
        raise SepgenError("fit needs a rank, a budget or a target_error")
    return fit_with(kernel, rank, settings, name=name, kernel_spec=kernel_spec, progress=progress)


def _fit_structure(chosen: str, kernel: Any, settings: FitSettings, rank_given: bool, budget: int | None,
                   target_error: float | None, name: str | None, kernel_spec: Mapping[str, Any] | None,
                   progress: Progress | None, options: Any, max_intermediate_bytes: int | None) -> Any:
    """A rows filter, or the better of both structures ("auto") for the shipped `options`."""
    if chosen == "rows":
        check_search(budget, target_error)
        if options is not None or max_intermediate_bytes is not None:  # the rows fit counts emit's defaults
            raise SepgenError("structure rows counts fetches for `sepgen emit`'s default target and caps no "
                              "intermediates yet: drop the target options / max_intermediate_bytes, or use "
                              "structure auto or separable")
        return rowsfit.fit_rows_filter(kernel, budget=budget, target_error=target_error, name=name,
                                       kernel_spec=kernel_spec, settings=settings, progress=progress)
    check_search(budget, target_error, rank_given=rank_given)
    return rowsfit.fit_auto(kernel, settings, budget=budget, target_error=target_error, name=name,
                            kernel_spec=kernel_spec, progress=progress, targets=options,
                            max_intermediate_bytes=max_intermediate_bytes)
