"""`sweep`: fit a grid of loss weights in one vmapped, jitted call.

The grid is the seed's: nonneg × zeros, row-major (nonneg outer, zeros inner);
every other weight is shared by all cells. Each cell follows exactly the
computation of `fit` with the same weights (same start, same steps, same
pruning rule), only batched.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..common.errors import SepgenError
from ..common.identifiers import check_shader_name
from ..filters.filterfile import SeparableFilter
from ..options import WEIGHT_OPTIONS, FitSettings, weights_with_defaults
from .core import fit_cells, problem_for
from .optimizers import Progress

MAX_CELLS = 256
DEFAULT_NONNEG = (0.0, 0.5, 1.5)  # the seed's grid
DEFAULT_ZEROS = (0.0, 0.3, 0.8)


def weight_label(value: float) -> str:
    """A weight as an identifier fragment: 0.5 → 0p5, 1e-05 → 1em05."""
    return f"{float(value):g}".replace(".", "p").replace("-", "m").replace("+", "")


def cell_name(base: str, nonneg: float, zeros: float) -> str:
    return f"{base}_n{weight_label(nonneg)}_z{weight_label(zeros)}"


def grid(nonneg: Sequence[float], zeros: Sequence[float],
         base: Mapping[str, float] | None = None) -> list[dict[str, float]]:
    """Weight sets of the grid, row-major (nonneg outer, zeros inner)."""
    base = dict(base or {})
    for key in ("nonneg", "zeros"):
        base.pop(key, None)
    return [weights_with_defaults({**base, "nonneg": n, "zeros": z}) for n in nonneg for z in zeros]


def check_grid(nonneg: Sequence[float], zeros: Sequence[float]) -> None:
    """One-line SepgenError for an empty, oversized, repeating or out-of-range grid."""
    if not nonneg or not zeros:
        raise SepgenError("sweep needs at least one nonneg and one zeros weight")
    if len(nonneg) * len(zeros) > MAX_CELLS:
        raise SepgenError(f"sweep grid has {len(nonneg) * len(zeros)} cells, more than {MAX_CELLS}")
    for key, values in (("nonneg", nonneg), ("zeros", zeros)):
        for v in values:
            WEIGHT_OPTIONS[key].check(float(v) if isinstance(v, int) and not isinstance(v, bool) else v, "sweep")
        if len(set(map(float, values))) != len(values):
            raise SepgenError(f"sweep {key} weights repeat a value: {values}")


def sweep_with(kernel: Any, rank: int, settings: FitSettings, nonneg: Sequence[float] = DEFAULT_NONNEG,
               zeros: Sequence[float] = DEFAULT_ZEROS, *, name: str | None = None,
               kernel_spec: Mapping[str, Any] | None = None, progress: Progress | None = None) -> list[SeparableFilter]:
    """Fit every (nonneg, zeros) pair; the other weights and everything else come from `settings`."""
    nonneg, zeros = list(nonneg), list(zeros)
    check_grid(nonneg, zeros)
    problem = problem_for(kernel, rank, kernel_spec)
    base = problem.filter_name(name)
    names = [check_shader_name(cell_name(base, n, z)) for n in nonneg for z in zeros]
    return fit_cells(problem, settings, grid(nonneg, zeros, settings.weights), names, batched=True, progress=progress)


def sweep(kernel: Any, rank: int, nonneg: Sequence[float] = DEFAULT_NONNEG, zeros: Sequence[float] = DEFAULT_ZEROS, *,
          name: str | None = None, kernel_spec: Mapping[str, Any] | None = None, progress: Progress | None = None,
          **fit_kwargs: Any) -> list[SeparableFilter]:
    """Fit every (nonneg, zeros) pair; `fit_kwargs` are `sepgen.fit`'s settings with its
    defaults (weights sets the other terms, l2 defaulting to 1; optimizer, steps, lr, init,
    seed, prune) and make one `FitSettings` (see `sweep_with`).

    Returns the filters in row-major order (nonneg outer, zeros inner), named
    `<name>_n<nonneg>_z<zeros>` (e.g. disk50_n0p5_z0p3).
    """
    check_grid(list(nonneg), list(zeros))
    if fit_kwargs.get("weights") is None:
        fit_kwargs.pop("weights", None)
    settings = FitSettings.seed_settings(**fit_kwargs)
    return sweep_with(kernel, rank, settings, nonneg, zeros, name=name, kernel_spec=kernel_spec, progress=progress)
