"""The report's pictures, one function per figure, each writing one PNG.

Matplotlib with the Agg backend and no 'Software' metadata, so the same numbers
give the same bytes. Signed data uses a diverging colour map centred on zero, so
negative taps (ringing) show in blue.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from ..common import atomic

DIVERGING = "RdBu_r"


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: str | os.PathLike) -> None:
    plt = _plt()
    with atomic.atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)


def _signed(ax, data: np.ndarray, title: str, limit: float | None = None, log: bool = False):
    """Signed image centred on zero; `log` compresses large values so 1% leaks stay visible."""
    lim = float(limit if limit is not None else np.max(np.abs(data))) or 1.0
    if log:
        from matplotlib.colors import SymLogNorm

        norm = SymLogNorm(linthresh=0.01 * lim, linscale=0.5, vmin=-lim, vmax=lim, base=10)
        im = ax.imshow(data, cmap=DIVERGING, norm=norm, interpolation="nearest")
    else:
        im = ax.imshow(data, cmap=DIVERGING, vmin=-lim, vmax=lim, interpolation="nearest")
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    return im


SEQUENTIAL = "viridis"  # perceptually uniform: equal steps of value look like equal steps of colour


def kernel_maps(target: np.ndarray, approx: np.ndarray, path: str | os.PathLike, title: str = "") -> None:
    """Target, approximation and error side by side. Target and approximation share a
    sequential scale over their whole range (not a diverging one saturated at ±max|K|, which
    paints a flat interior one colour and hides the approximation's ripple); negative lobes
    show as the darkest colours. The error's scale is symmetric-log, so ripple of a few
    percent stays visible beside a large error at the edge."""
    plt = _plt()
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.8))
    low = min(float(np.min(target)), float(np.min(approx)), 0.0)
    high = max(float(np.max(target)), float(np.max(approx))) or 1.0
    for ax, data, name in ((axes[0], target, "target K"), (axes[1], approx, "approximation A")):
        im = ax.imshow(data, cmap=SEQUENTIAL, vmin=low, vmax=high, interpolation="nearest")
        ax.set_title(name, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    im = _signed(axes[2], approx - target, "error A − K (symmetric log)", log=True)
    fig.colorbar(im, ax=axes[2], fraction=0.046, pad=0.04)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    _save(fig, path)


def pass_profiles(vertical: np.ndarray, horizontal: np.ndarray, origin: tuple[int, int],
                  path: str | os.PathLike) -> None:
    """The 1D taps of every pass; exact zero taps (skipped by the shaders) are marked x."""
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6), sharey=False)
    for ax, comps, name, c in ((axes[0], vertical, "vertical passes v_k", origin[0]),
                               (axes[1], horizontal, "horizontal passes h_k", origin[1])):
        taps = np.arange(comps.shape[1]) - c
        for k, comp in enumerate(comps):
            (line,) = ax.plot(taps, comp, marker=".", ms=3, lw=1, label=f"k={k}")
            zero = comp == 0
            if zero.any():
                ax.plot(taps[zero], comp[zero], "x", color=line.get_color(), ms=4)
        ax.axhline(0, color="k", lw=0.5)
        ax.set_title(name + "  (x = zero tap, skipped)", fontsize=9)
        ax.set_xlabel("tap offset from origin")
        ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    _save(fig, path)


def singular_energy(energy: np.ndarray, rank: int, path: str | os.PathLike) -> None:
    """Energy (Σσ² share) captured by the first r singular values, r = 1..16
    (`energy` as `sepgen.fitting.lowrank.energy` gives it)."""
    plt = _plt()
    n = min(16, len(energy))
    fig, ax = plt.subplots(figsize=(6, 3.4))
    colors = ["tab:orange" if r + 1 == rank else "tab:blue" for r in range(n)]
    ax.bar(np.arange(1, n + 1), energy[:n], color=colors)
    for r in range(n):
        ax.text(r + 1, energy[r], f"{energy[r] * 100:.1f}", ha="center", va="bottom", fontsize=6)
    ax.set_ylim(min(energy[:n].min(), 0.8) - 0.02, 1.01)
    ax.set_xlabel("rank (number of separable passes)")
    ax.set_ylabel("energy captured by SVD")
    ax.set_title(f"singular-value energy (rank {rank} highlighted)", fontsize=9)
    fig.tight_layout()
    _save(fig, path)


def sweep_sheet(approxs: Sequence[np.ndarray], labels: Sequence[str], rows: Sequence[str], cols: Sequence[str],
                path: str | os.PathLike) -> None:
    """A contact sheet of approximations (row-major), each titled with its metrics.

    Symmetric-log colours: ringing (blue) and corner leaks of 1% of the peak show."""
    plt = _plt()
    nr, nc = len(rows), len(cols)
    fig, axes = plt.subplots(nr, nc, figsize=(3.2 * nc, 3.3 * nr + 0.6), squeeze=False)
    lim = max(float(np.max(np.abs(a))) for a in approxs)
    for idx, (a, label) in enumerate(zip(approxs, labels)):
        ax = axes[idx // nc][idx % nc]
        im = _signed(ax, a, label, lim, log=True)
    ticks = [f * lim for f in (-1, -0.1, -0.01, 0, 0.01, 0.1, 1)]
    bar = fig.colorbar(im, ax=axes, orientation="horizontal", fraction=0.03, pad=0.02, ticks=ticks,
                       label="tap value, % of the largest (symmetric log scale)")
    bar.ax.set_xticklabels([f"{t / lim * 100:g}%" for t in ticks])
    for r, name in enumerate(rows):
        axes[r][0].set_ylabel(name, fontsize=9)
    for c, name in enumerate(cols):
        axes[0][c].set_title(f"{name}\n" + axes[0][c].get_title(), fontsize=8)
    _save(fig, path)


def to_display(img: np.ndarray, hdr: bool) -> np.ndarray:
    """Linear HDR → [0, 1] (Reinhard, gamma 2.2); display-referred images are clipped.
    Negative values (ringing) clip to black."""
    img = np.clip(np.asarray(img, np.float64), 0.0, None)
    if hdr:
        img = (img / (1.0 + img)) ** (1 / 2.2)
    return np.clip(img, 0.0, 1.0)


def bokeh_comparison(panels: Sequence[tuple[str, np.ndarray]], crops: Sequence[tuple[int, int, int]], hdr: bool,
                     path: str | os.PathLike, title: str = "") -> None:
    """Full images in the first row, zoomed crops (y, x, size) below, one column per panel."""
    plt = _plt()
    nc = len(panels)
    nr = 1 + len(crops)
    h, w = panels[0][1].shape[:2]
    fig, axes = plt.subplots(nr, nc, figsize=(4.2 * nc, 4.2 * h / w + 3.4 * len(crops)), squeeze=False,
                             gridspec_kw={"height_ratios": [4.2 * h / w] + [3.4] * len(crops)})
    for c, (name, img) in enumerate(panels):
        disp = to_display(img, hdr)
        axes[0][c].imshow(disp, interpolation="nearest")
        axes[0][c].set_title(name, fontsize=9)
        for r, (y, x, s) in enumerate(crops, start=1):
            axes[r][c].imshow(disp[y:y + s, x:x + s], interpolation="nearest")
            if c == 0:
                axes[0][0].add_patch(_plt().Rectangle((x, y), s, s, fill=False, ec="yellow", lw=1))
        for r in range(nr):
            axes[r][c].set_xticks([])
            axes[r][c].set_yticks([])
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    _save(fig, path)


def loss_curves(curves: dict[str, np.ndarray], path: str | os.PathLike, title: str = "") -> None:
    """Loss against step for each optimiser; `curves[name]` is an (n, 2) [step, loss] array."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, curve in curves.items():
        curve = np.asarray(curve)
        ax.plot(curve[:, 0], curve[:, 1], label=f"{name} (final {curve[-1, 1]:.4g})")
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("loss (peak-scaled)")
    ax.set_title(title or "optimisers on the same problem", fontsize=9)
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    _save(fig, path)


def error_crops_points(exact: np.ndarray, size: int, count: int = 2) -> list[tuple[int, int, int]]:
    """Crop windows around the brightest spots of the exact result, far enough apart."""
    lum = exact.mean(axis=2) if exact.ndim == 3 else exact
    h, w = lum.shape
    s = int(min(size, h, w))
    order = np.argsort(lum, axis=None)[::-1]
    picks: list[tuple[int, int]] = []
    for flat in order[: 50000]:
        y, x = divmod(int(flat), w)
        if all(abs(y - py) > s or abs(x - px) > s for py, px in picks):
            picks.append((y, x))
            if len(picks) == count:
                break
    return [(int(np.clip(y - s // 2, 0, h - s)), int(np.clip(x - s // 2, 0, w - s)), s) for y, x in picks]


def _box_colours(layout) -> tuple[str, float, float]:
    """Colour map and limits of box weights: sequential from 0 when none is negative, else diverging."""
    weights = [b.weight for line in layout.lines for b in line] or [1.0]
    low, high = min(weights), max(weights)
    if low >= 0:
        return SEQUENTIAL, 0.0, high or 1.0
    lim = max(-low, high)
    return DIVERGING, -lim, lim


def rows_boxes(layout, path: str | os.PathLike, title: str = "", target: np.ndarray | None = None) -> None:
    """A rows filter's boxes (`sepgen.filters.rows.RowsLayout`): left, every line's boxes as bars over
    the kernel's tap grid (tap j covers [j − ½, j + ½]; a line's boxes stacked within its cell, shaded
    by weight), a dot where two adjacent lines share a read; right, the line with the most boxes:
    each box as a bar of its weight, the taps they sum to (and `target`'s, the kernel fitted), and
    their fractional ends."""
    plt = _plt()
    from matplotlib.colors import Normalize

    cmap_name, low, high = _box_colours(layout)
    cmap, norm = plt.get_cmap(cmap_name), Normalize(low, high)
    fig, axes = plt.subplots(1, 2, figsize=(12, 5.6), gridspec_kw={"width_ratios": [1, 1.25]})
    _boxes_on_grid(axes[0], layout, cmap, norm)
    # the busiest line; among equals the one a quarter in, where a round aperture's edge slants
    pick = max(range(len(layout.lines)), key=lambda i: (len(layout.lines[i]), -abs(i - len(layout.lines) // 4)))
    line_target = None if target is None else (target[pick] if layout.axis == "rows" else target[:, pick])
    _one_line(axes[1], layout, pick, cmap, norm, line_target)
    fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=cmap), ax=axes[0], fraction=0.046, pad=0.04,
                 label="box weight")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    _save(fig, path)


def _boxes_on_grid(ax, layout, cmap, norm) -> None:
    """Bars in kernel coordinates (x: column, y: row, row 0 at the top, as the kernel maps draw it)."""
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import Rectangle

    h, w = layout.shape
    along_rows = layout.axis == "rows"
    patches, colours = [], []
    for i, line in enumerate(layout.lines):
        k = max(1, len(line))
        for slot, b in enumerate(line):
            across = i - 0.45 + 0.9 * slot / k  # the line's cell, shared by its boxes
            x, y, bw, bh = (b.start, across, b.end - b.start, 0.9 / k)
            patches.append(Rectangle((x, y), bw, bh) if along_rows else Rectangle((y, x), bh, bw))
            colours.append(cmap(norm(b.weight)))
    ax.add_collection(PatchCollection(patches, facecolors=colours, edgecolors="none"))
    shared = [r for r in layout.gather_plan(share=True) if not float(r.line).is_integer()]
    if shared:
        mid = [0.5 * (r.start + r.end) for r in shared]
        pos = [r.line for r in shared]
        xs, ys = (mid, pos) if along_rows else (pos, mid)
        ax.plot(xs, ys, "o", ms=2.5, mfc="white", mec="black", mew=0.5, ls="none",
                label=f"{len(shared)} reads shared by two lines")
        ax.legend(fontsize=7, loc="lower right")
    ax.set_xlim(-0.5, w - 0.5)
    ax.set_ylim(h - 0.5, -0.5)
    ax.set_aspect("equal")
    for edge in np.arange(-0.5, w, 1.0):
        ax.axvline(edge, color="0.85", lw=0.3, zorder=0)
    for edge in np.arange(-0.5, h, 1.0):
        ax.axhline(edge, color="0.85", lw=0.3, zorder=0)
    ax.set_xlabel("kernel column")
    ax.set_ylabel("kernel row")
    ax.set_title(f"{layout.boxes} boxes along the kernel's {layout.axis} (grid: taps)", fontsize=9)


def _one_line(ax, layout, i: int, cmap, norm, target: np.ndarray | None) -> None:
    """Line `i` in detail: the boxes as bars of their weight (translucent, so overlaps show) over
    the tap cells, the taps they sum to, and each fractional end marked."""
    n = layout.line_length
    line = layout.lines[i]
    for b in line:
        ax.bar([0.5 * (b.start + b.end)], [b.weight], width=b.end - b.start, color=cmap(norm(b.weight)),
               edgecolor="black", lw=0.4, alpha=0.7)
        for end in (b.start, b.end):
            if not float(end + 0.5).is_integer():
                ax.axvline(end, color="tab:red", lw=0.6, ls=":")
    taps = layout.line_matrix()[i]
    ax.step(np.arange(n), taps, where="mid", color="black", lw=1, label="taps the boxes give")
    if target is not None:
        ax.plot(np.arange(n), target, ".", color="tab:orange", ms=4, label="target taps")
    for edge in np.arange(-0.5, n, 1.0):
        ax.axvline(edge, color="0.85", lw=0.3, zorder=0)
    ax.axhline(0, color="k", lw=0.5)
    ax.set_xlim(-0.5, n - 0.5)
    ax.set_xlabel(f"tap along {layout.axis[:-1]} {i} (dotted red: fractional box ends)")
    ax.set_title(f"{layout.axis[:-1]} {i}: {len(line)} box{'es' if len(line) != 1 else ''}", fontsize=9)
    ax.legend(fontsize=7)
