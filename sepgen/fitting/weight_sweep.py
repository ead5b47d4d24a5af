"""`sweep`: fit a grid of loss weights in one vmapped, jitted call.

The grid is the seed's: nonneg × zeros, row-major (nonneg outer, zeros inner);
every other weight is shared by all cells. Each cell follows exactly the
computation of `fit` with the same weights (same start, same steps, same
pruning rule), only batched.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from ..errors import SepgenError
from ..filterfile import SeparableFilter
from ..identifiers import check_identifier
from ..options import WEIGHT_OPTIONS, weights_with_defaults
from .core import default_name, fit_cells, prepare
from .optimizers import Progress

MAX_CELLS = 256


def weight_label(value: float) -> str:
    """A weight as an identifier fragment: 0.5 → 0p5, 1e-05 → 1em05."""
    return f"{float(value):g}".replace(".", "p").replace("-", "m").replace("+", "")


def cell_name(base: str, nonneg: float, zeros: float) -> str:
    return f"{base}_n{weight_label(nonneg)}_z{weight_label(zeros)}"


def grid(nonneg: Sequence[float], zeros: Sequence[float], base: Mapping[str, float] | None = None) -> list[dict[str, float]]:
    """Weight sets of the grid, row-major (nonneg outer, zeros inner)."""
    base = dict(base or {})
    for key in ("nonneg", "zeros"):
        base.pop(key, None)
    return [weights_with_defaults({**base, "nonneg": n, "zeros": z}) for n in nonneg for z in zeros]


def sweep(
    kernel: Any,
    rank: int,
    nonneg: Sequence[float] = (0.0, 0.5, 1.5),
    zeros: Sequence[float] = (0.0, 0.3, 0.8),
    *,
    weights: Mapping[str, float] | None = None,
    optimizer: str = "gd",
    steps: int = 5000,
    lr: float = 0.1,
    init: str = "svd",
    seed: int = 0,
    prune: float = 0.0,
    name: str | None = None,
    kernel_spec: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
) -> list[SeparableFilter]:
    """Fit every (nonneg, zeros) pair; `weights` sets the other terms (l2 defaults to 1).

    Returns the filters in row-major order (nonneg outer, zeros inner), named
    `<name>_n<nonneg>_z<zeros>` (e.g. disk50_n0p5_z0p3).
    """
    nonneg, zeros = list(nonneg), list(zeros)
    if not nonneg or not zeros:
        raise SepgenError("sweep needs at least one nonneg and one zeros weight")
    if len(nonneg) * len(zeros) > MAX_CELLS:
        raise SepgenError(f"sweep grid has {len(nonneg) * len(zeros)} cells, more than {MAX_CELLS}")
    for key, values in (("nonneg", nonneg), ("zeros", zeros)):
        for v in values:
            WEIGHT_OPTIONS[key].check(float(v) if isinstance(v, int) and not isinstance(v, bool) else v, "sweep")
        if len(set(map(float, values))) != len(values):
            raise SepgenError(f"sweep {key} weights repeat a value: {values}")
    problem, opts = prepare(kernel, rank, optimizer, steps, lr, init, seed, prune, kernel_spec)
    spec_given = kernel_spec is not None or isinstance(kernel, Mapping)
    base = check_identifier(name if name is not None else default_name(problem.spec if spec_given else None))
    weight_sets = grid(nonneg, zeros, weights)
    names = [check_identifier(cell_name(base, n, z)) for n in nonneg for z in zeros]
    return fit_cells(problem, weight_sets, names=names, batched=True, progress=progress,
                     **{k: v for k, v in opts.items() if k != "rank"})
