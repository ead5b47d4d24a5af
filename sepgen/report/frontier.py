"""The frontier figure: quality against fetches per pixel, sepgen against plain SVD, separable
passes beside rows of boxes (issue 18).

Each point is one filter at its fetch count under `sepgen emit`'s default options:
relative L2 error, negative mass (ringing) and leak (energy outside the kernel's
support), for ranks 1–8. sepgen's points come from the filter file (a budget or
target fit records every candidate it fitted in `provenance.search.frontier`, see
`sepgen.fitting.searched`; a `--structure auto` fit lists each structure's best in
`provenance.search.structures`) plus the filter itself, which is marked; plain SVD's
and the exact rows decomposition of a non-negative kernel (one box per run of equal
taps, `sepgen.filters.rows.exact_layout`) are computed here with NumPy. No JAX.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..filters import metrics, rows
from ..filters.filterfile import SeparableFilter
from ..filters.rowsfile import RowsFilter
from ..filters.rowsfilter import Rows
from . import figures

RANKS = range(1, 9)
FLOOR = 1e-9  # where a log panel draws exact zeros
PANELS = (("relative_l2", "relative L2 error", False),
          ("negative_mass", "negative mass (ringing; 0 drawn at 1e-9)", True),
          ("leak", "leak outside the support", False))
STYLES = {"free": ("o", "tab:blue", "sepgen"), "shared": ("^", "tab:green", "sepgen, shared ratios"),
          "separable": ("D", "tab:blue", "sepgen separable (the search's best)"),
          "rows": ("s", "tab:orange", "rows (boxes from running sums)"), "svd": ("x", "tab:gray", "plain SVD")}
EXACT_ROWS_REACH = 2.0  # the exact rows point is drawn up to this many times this filter's fetches


def point(filt: SeparableFilter, structure: str) -> dict[str, Any]:
    """One filter's frontier row (fetches from the emitter's default plan)."""
    from ..emit import fetch_counts

    q = metrics.quality(filt.reconstruct(), filt.target, filt.vertical, filt.horizontal)
    return {"rank": filt.rank, "structure": structure, "prune": float(filt.provenance.get("prune_threshold_used", 0.0)),
            "fetches": int(fetch_counts(filt, linear_sampling=True)["total"]), **{k: q[k] for k in
            ("relative_l2", "negative_mass", "leak", "max_error")}}


def rows_point(filt: RowsFilter, label: str = "") -> dict[str, Any]:
    """A rows filter's frontier row: fetches of `sepgen emit`'s default (fragment) passes, scan included."""
    q = metrics.quality(filt.reconstruct(), filt.target, np.ones(1), np.ones(1))
    return {"rank": 0, "structure": "rows", "prune": 0.0, "label": label, "boxes": filt.layout.boxes,
            "fetches": int(filt.structure.fetch_counts()["total"]),
            **{k: q[k] for k in ("relative_l2", "negative_mass", "leak", "max_error")}}


def filter_point(filt: SeparableFilter | RowsFilter) -> dict[str, Any]:
    """The frontier row of a filter of either structure."""
    if isinstance(filt, RowsFilter):
        return rows_point(filt)
    return point(filt, str(filt.provenance.get("structure", "free")))


def exact_rows_point(filt: SeparableFilter | RowsFilter, reach: int) -> list[dict[str, Any]]:
    """The exact rows decomposition of a non-negative target (relative L2 0), when it costs at most
    `reach` fetches (a smooth kernel's runs are one tap long: far off the figure)."""
    if np.any(filt.target < 0) or min(_runs(filt.target), _runs(filt.target.T)) > reach:
        return []  # each run is a box of at least one fetch: out of reach without building it
    layout = rows.exact_layout(filt.target, origin=filt.origin)
    fetches = int(Rows(layout).fetch_counts()["total"])
    if fetches > reach:
        return []
    return [rows_point(RowsFilter(filt.name, filt.target, layout), "exact")]


def _runs(k: np.ndarray) -> int:
    """Runs of equal non-zero taps along axis 1 (the exact layout's boxes along the rows)."""
    starts = np.ones(k.shape, bool)
    starts[:, 1:] = k[:, 1:] != k[:, :-1]
    return int(np.count_nonzero(starts & (k != 0)))


def structure_points(filt: SeparableFilter | RowsFilter) -> list[dict[str, Any]]:
    """The other structure's best from a `--structure auto` search (`provenance.search.structures`:
    fetches and relative L2 only, so they show in the first panel)."""
    search = filt.provenance.get("search")
    found = search.get("structures", []) if isinstance(search, dict) else []
    own = filt.structure.name
    out = []
    for r in found if isinstance(found, list) else []:
        if not isinstance(r, dict) or r.get("structure") not in ("rows", "separable") or r["structure"] == own:
            continue
        keys = ("fetches", "relative_l2")
        if all(isinstance(r.get(k), (int, float)) and not isinstance(r.get(k), bool) for k in keys):
            out.append({"rank": 0, "structure": r["structure"], "prune": 0.0, "label": "auto",
                        "fetches": int(r["fetches"]), "relative_l2": float(r["relative_l2"])})
    return out


def svd_points(filt: SeparableFilter | RowsFilter, ranks: Sequence[int] = RANKS) -> list[dict[str, Any]]:
    """Plain SVD of the same target at each rank (at most the kernel's smaller side)."""
    from ..fitting import lowrank  # NumPy only

    rows = []
    for r in ranks:
        if r > min(filt.shape):
            break
        v, h = lowrank.svd_components(filt.target, r)
        rows.append(point(SeparableFilter(f"svd{r}", filt.target, v, h, filt.origin), "svd"))
    return rows


def sepgen_points(filt: SeparableFilter | RowsFilter) -> list[dict[str, Any]]:
    """The candidates a budget/target search recorded (empty for other fits)."""
    search = filt.provenance.get("search")
    rows = search.get("frontier", []) if isinstance(search, dict) else []
    return [dict(r) for r in rows if isinstance(r, dict) and {"fetches", "relative_l2", "structure"} <= set(r)]


def plot(path: str | os.PathLike, rows: Sequence[dict[str, Any]], chosen: dict[str, Any], title: str = "") -> None:
    """Three panels against fetches per pixel; the chosen filter is a red star."""
    plt = figures._plt()
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for ax, (key, label, log) in zip(axes, PANELS):
        for structure, (marker, color, name) in STYLES.items():
            pts = sorted((r for r in rows if r["structure"] == structure and key in r), key=lambda r: r["fetches"])
            if pts:
                ax.plot([r["fetches"] for r in pts], [max(r[key], FLOOR) if log else r[key] for r in pts],
                        marker, color=color, label=name, markersize=5)
                for r in (r for r in pts if r.get("prune", 0) == 0 and r.get("label", r["rank"])):
                    ax.annotate(str(r.get("label", r["rank"])), (r["fetches"], max(r[key], FLOOR) if log else r[key]),
                                fontsize=6, xytext=(3, 2), textcoords="offset points", color=color)
        ax.plot([chosen["fetches"]], [max(chosen[key], FLOOR) if log else chosen[key]], "*", color="tab:red",
                markersize=13, label="this filter")
        if log:
            ax.set_yscale("log")
        ax.set_xlabel("fetches per pixel (sepgen emit defaults)")
        ax.set_title(label, fontsize=9)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    figures._save(fig, path)


def frontier_figure(filt: SeparableFilter | RowsFilter, path: str | os.PathLike,
                    others: Sequence[SeparableFilter | RowsFilter] = ()) -> dict[str, Any]:
    """Write the figure for `filt` (either structure), with `others` (filters of the same kernel)
    as more points; returns the chosen point (for captions)."""
    chosen = filter_point(filt)
    extra = [filter_point(o) for o in others]
    reach = int(EXACT_ROWS_REACH * max([chosen["fetches"]] + [r["fetches"] for r in extra]))
    points = sepgen_points(filt) + structure_points(filt) + extra + exact_rows_point(filt, reach) + svd_points(filt)
    # a rank fit has no other sepgen points: the star alone
    plot(path, points, chosen, f"{filt.name}: quality against cost, ranks 1–{max(RANKS)} (numbers: rank, unpruned)")
    return chosen


def caption(chosen: dict[str, Any], filt: SeparableFilter | RowsFilter) -> str:
    search = filt.provenance.get("search")
    why = ""
    if isinstance(search, dict) and "chosen" in search:
        why = f" Chosen: {search.get('chosen')} ({search.get('why')})."
    auto = structure_points(filt)
    if auto:
        why += " A search of both structures found " + ", ".join(
            f"{r['structure']}: relative L2 {r['relative_l2']:.4g} at {r['fetches']} fetches" for r in auto) + "."
    what = f"{filt.layout.boxes} boxes" if isinstance(filt, RowsFilter) else f"rank {filt.rank}"
    return (f"Relative L2, negative mass and leak against fetches per pixel: sepgen's separable passes (blue; green = "
            f"shared bilinear ratios), rows of boxes (orange squares; 'exact': one box per run of equal taps) and "
            f"plain SVD (grey) at ranks 1–8; the star is this filter ({what}), {chosen['fetches']} "
            f"fetches, relative L2 {chosen['relative_l2']:.4g}.{why}")

