"""The report's pictures of a scalable filter (fitted with `--scales`): per scale, the
kernel at size·s, the effective kernel the scaled taps apply and their difference; and a
bokeh strip of one image blurred at several scales and with a per-pixel scale ramp.
NumPy and matplotlib only (`sepgen.filters.scaling` is the model)."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..common import images
from ..filters import scaling
from ..filters.filterfile import SeparableFilter
from .figures import _plt, _save, _signed, to_display

if TYPE_CHECKING:  # pragma: no cover
    from ..run.gl import GLRunner

STRIP_SCALES = (0.25, 0.5, 0.75, 1.0)


def scale_maps(filt: SeparableFilter, scales: Sequence[float], path: str | os.PathLike) -> None:
    """One row per scale: kernel at size·s, effective kernel, error (blue = negative)."""
    plt = _plt()
    fig, axes = plt.subplots(len(scales), 3, figsize=(10, 3.2 * len(scales)), squeeze=False)
    spec = filt.provenance.get("kernel")
    for row, s in zip(axes, scales):
        approx, target, _ = scaling.compare_at(filt.vertical, filt.horizontal, filt.target, spec, filt.origin, s)
        lim = float(np.max(np.abs(target)))
        q = scaling.quality_at(filt.vertical, filt.horizontal, filt.target, spec, filt.origin, s)
        for ax, data, name, limit in ((row[0], target, f"s = {s:g}: kernel at size·s", lim),
                                      (row[1], approx, "scaled taps (bilinear)", lim),
                                      (row[2], approx - target, f"error: relL2 {q['relative_l2']:.3f}", None)):
            im = _signed(ax, data, name, limit)
            fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    _save(fig, path)


def ramp(shape: Sequence[int], low: float = 0.2, high: float = 1.0) -> np.ndarray:
    """A per-pixel scale map rising from `low` at the left edge to `high` at the right."""
    return np.broadcast_to(np.linspace(low, high, shape[1]), tuple(shape[:2])).copy()


def scaled_filtering(filt: SeparableFilter,
                     runner: GLRunner | None) -> tuple[Callable[[np.ndarray, Any], np.ndarray], str]:
    """(img, scale or H×W map) -> filtered image: the scaled shaders on the GL runner, or the NumPy model."""
    if runner is None:
        return (lambda img, s: scaling.apply_scaled(img, filt.vertical, filt.horizontal, filt.origin, s)), "NumPy model"
    from ..verify.apply import apply

    def on_gpu(img: np.ndarray, s: Any) -> np.ndarray:
        return apply(filt, img, "gpu", scale=s, runner=runner)

    return on_gpu, f"GLSL scaled shaders on {runner.renderer}"


def bokeh_strip(filt: SeparableFilter, img: np.ndarray, gamma: float, hdr: bool, path: str | os.PathLike,
                scales: Sequence[float] = STRIP_SCALES, runner: GLRunner | None = None) -> str:
    """`img` blurred (with the bokeh boost img^γ) at each scale, then with a scale ramp 0.2 → 1;
    returns what computed it."""
    boosted = images.gamma_encode(img, gamma)
    run, how = scaled_filtering(filt, runner)
    panels = [(f"scale {s:g}", run(boosted, s)) for s in scales]
    panels.append(("per-pixel scale 0.2 → 1 (left → right)", run(boosted, ramp(img.shape))))
    plt = _plt()
    h, w = img.shape[:2]
    fig, axes = plt.subplots(1, len(panels), figsize=(3.6 * len(panels), 3.6 * h / w + 0.6), squeeze=False)
    for ax, (name, out) in zip(axes[0], panels):
        ax.imshow(to_display(images.gamma_decode(out, gamma), hdr), interpolation="nearest")
        ax.set_title(name, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"{filt.name} at several scales ({how}), γ = {gamma:g}", fontsize=10)
    fig.tight_layout()
    _save(fig, path)
    return how
