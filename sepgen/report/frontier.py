"""The frontier figure: quality against fetches per pixel, sepgen against plain SVD.

Each point is one filter at its fetch count under `sepgen emit`'s default options:
relative L2 error, negative mass (ringing) and leak (energy outside the kernel's
support), for ranks 1–8. sepgen's points come from the filter file (a budget or
target fit records every candidate it fitted in `provenance.search.frontier`, see
`sepgen.fitting.searched`) plus the filter itself, which is marked; plain SVD's are
computed here with NumPy. No JAX.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from ..filters import metrics
from ..filters.filterfile import SeparableFilter
from . import figures

RANKS = range(1, 9)
FLOOR = 1e-9  # where a log panel draws exact zeros
PANELS = (("relative_l2", "relative L2 error", False),
          ("negative_mass", "negative mass (ringing; 0 drawn at 1e-9)", True),
          ("leak", "leak outside the support", False))
STYLES = {"free": ("o", "tab:blue", "sepgen"), "shared": ("^", "tab:green", "sepgen, shared ratios"),
          "svd": ("x", "tab:gray", "plain SVD")}


def point(filt: SeparableFilter, structure: str) -> dict[str, Any]:
    """One filter's frontier row (fetches from the emitter's default plan)."""
    from ..emit import fetch_counts

    q = metrics.quality(filt.reconstruct(), filt.target, filt.vertical, filt.horizontal)
    return {"rank": filt.rank, "structure": structure, "prune": float(filt.provenance.get("prune_threshold_used", 0.0)),
            "fetches": int(fetch_counts(filt, linear_sampling=True)["total"]), **{k: q[k] for k in
            ("relative_l2", "negative_mass", "leak", "max_error")}}


def svd_points(filt: SeparableFilter, ranks: Sequence[int] = RANKS) -> list[dict[str, Any]]:
    """Plain SVD of the same target at each rank (at most the kernel's smaller side)."""
    from ..fitting import lowrank  # NumPy only

    rows = []
    for r in ranks:
        if r > min(filt.shape):
            break
        v, h = lowrank.svd_components(filt.target, r)
        rows.append(point(SeparableFilter(f"svd{r}", filt.target, v, h, filt.origin), "svd"))
    return rows


def sepgen_points(filt: SeparableFilter) -> list[dict[str, Any]]:
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
            pts = sorted((r for r in rows if r["structure"] == structure), key=lambda r: r["fetches"])
            if pts:
                ax.plot([r["fetches"] for r in pts], [max(r[key], FLOOR) if log else r[key] for r in pts],
                        marker, color=color, label=name, markersize=5)
                for r in (r for r in pts if r.get("prune", 0) == 0):
                    ax.annotate(str(r["rank"]), (r["fetches"], max(r[key], FLOOR) if log else r[key]),
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


def frontier_figure(filt: SeparableFilter, path: str | os.PathLike) -> dict[str, Any]:
    """Write the figure for `filt`; returns the chosen point (for captions)."""
    structure = str(filt.provenance.get("structure", "free"))
    chosen = point(filt, structure)
    rows = sepgen_points(filt) + svd_points(filt)  # a rank fit has no other sepgen points: the star alone
    plot(path, rows, chosen, f"{filt.name}: quality against cost, ranks 1–{max(RANKS)} (numbers: rank, unpruned)")
    return chosen


def caption(chosen: dict[str, Any], filt: SeparableFilter) -> str:
    search = filt.provenance.get("search")
    why = f" Chosen: {search.get('chosen')} ({search.get('why')})." if isinstance(search, dict) else ""
    return (f"Relative L2, negative mass and leak against fetches per pixel: sepgen (blue; green = shared "
            f"bilinear ratios) and plain SVD (grey) at ranks 1–8; the star is this filter, {chosen['fetches']} "
            f"fetches, relative L2 {chosen['relative_l2']:.4g}.{why}")

