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
