"""Scalable filters: a fitted filter's taps fetched at offset·s with bilinear filtering.

At scale s ∈ [0, 1] the shader reads tap j of a pass (offset o = c − j in the
filtering convention, c the origin) at o·s texels from the output pixel through a
linear, clamp-to-edge sampler. The sampler splats that fetch onto the two texels
around it: weight 1 − t at floor(o·s) and t at floor(o·s) + 1, t = o·s − floor(o·s).
So the effective 1D kernel at s is B_s·taps, B_s a (n_s × n) matrix of those weights,
and the effective 2D kernel Σ_k outer(B_s v_k, B_s h_k) is still separable per
component. Each splat keeps its tap's weight, so the DC gain is the same at every scale.

The effective kernel lives on its own grid (`scaled_axis`): the offsets from
floor(s·(c − n + 1)) to ceil(s·c), with the origin at index ceil(s·c); at s = 1 that
is the filter's own grid. `target_at` renders the kernel the filter was fitted to at
size·s on that grid: same kind and options, centred where the scaled taps are centred,
anti-aliased where size·s is not an integer. NumPy only; `sepgen.fitting.multiscale`
is the JAX twin used by the fit, tested against this module.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import kernels
from ..common.errors import SepgenError
from . import metrics
from .reference import convolve_separable

SNAP = 1e-6  # o·s this close to an integer is that integer (decimal scales, float rounding)
SUPERSAMPLE = 16  # sub-samples per axis where the scaled kernel is anti-aliased


def check_scale(value: Any, where: str = "scale", allow_zero: bool = False) -> float:
    """`value` as a float in (0, 1] (a fitted scale), or in [0, 1] with `allow_zero` (a scale to
    run at: 0 is the focal plane, every tap fetched at offset 0, so the output is the input times
    the filter's DC gain); else a one-line SepgenError."""
    interval = "[0, 1]" if allow_zero else "(0, 1]"
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise SepgenError(f"{where} must be a number in {interval}, got {value!r}")
    s = float(value)
    if not (math.isfinite(s) and (0.0 <= s if allow_zero else 0.0 < s) and s <= 1.0):
        raise SepgenError(f"{where} {s!r} is outside {interval}")  # a float: never a NumPy repr
    return s


def check_scales(values: Any, where: str = "scales") -> tuple[float, ...]:
    """A non-empty list of distinct scales in (0, 1], sorted ascending."""
    if not isinstance(values, (list, tuple)) or not values:
        raise SepgenError(f"{where} must be a non-empty list of scales in (0, 1], got {values!r}")
    scales = [check_scale(v, where) for v in values]
    dup = sorted({s for s in scales if scales.count(s) > 1})
    if dup:
        raise SepgenError(f"{where} lists scale {dup[0]:g} more than once")
    return tuple(sorted(scales))


def parse_scales(text: str, where: str = "--scales") -> tuple[float, ...]:
    """'0.25,0.5,1' -> (0.25, 0.5, 1.0) (validated by `check_scales`)."""
    parts = [p.strip() for p in text.split(",")]
    if not text.strip() or any(not p for p in parts):
        raise SepgenError(f"{where} must be a comma-separated list of scales in (0, 1], got {text!r}")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise SepgenError(f"{where} must be a comma-separated list of scales in (0, 1], got {text!r}") from None
    return check_scales(values, where)


def _snap(p: np.ndarray) -> np.ndarray:
    r = np.round(p)
    return np.where(np.abs(p - r) < SNAP, r, p)


def positions(taps: int, origin: int, s: float) -> np.ndarray:
    """Where each tap is fetched at scale s: o·s texels, o = origin − j."""
    return _snap((origin - np.arange(taps)) * float(s))


def scaled_axis(taps: int, origin: int, s: float) -> tuple[int, int]:
    """(taps, origin) of the effective kernel's grid along one axis at scale s."""
    ends = _snap(np.array([origin - taps + 1, origin], np.float64) * float(s))
    lo, hi = int(np.floor(ends[0])), int(np.ceil(ends[1]))
    return hi - lo + 1, hi


def splat_matrix(taps: int, origin: int, s: float) -> np.ndarray:
    """B_s (n_s × n): column j holds tap j's bilinear weights on the effective grid."""
    n_s, origin_s = scaled_axis(taps, origin, s)
    p = positions(taps, origin, s)
    f = np.floor(p)
    t = p - f
    b = np.zeros((n_s, taps))
    cols = np.arange(taps)
    idx = (origin_s - f).astype(int)  # offset d sits at index origin_s − d
    np.add.at(b, (idx, cols), 1.0 - t)
    inside = t > 0  # offset f + 1 at index idx − 1; weight 0 when the fetch hits a texel
    np.add.at(b, (idx[inside] - 1, cols[inside]), t[inside])
    return b


def effective_components(
    vertical: np.ndarray, horizontal: np.ndarray, origin: tuple[int, int], s: float
) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """(vertical rank×H_s, horizontal rank×W_s, origin_s): the taps the sampler applies at s."""
    v = np.atleast_2d(np.asarray(vertical, np.float64))
    h = np.atleast_2d(np.asarray(horizontal, np.float64))
    bv = splat_matrix(v.shape[1], origin[0], s)
    bh = splat_matrix(h.shape[1], origin[1], s)
    origin_s = (scaled_axis(v.shape[1], origin[0], s)[1], scaled_axis(h.shape[1], origin[1], s)[1])
    return v @ bv.T, h @ bh.T, origin_s


def effective_kernel(
    vertical: np.ndarray, horizontal: np.ndarray, origin: tuple[int, int], s: float
) -> tuple[np.ndarray, tuple[int, int]]:
    """The 2D kernel the scaled filter applies at s, and its origin."""
    v, h, origin_s = effective_components(vertical, horizontal, origin, s)
    return np.einsum("ki,kj->ij", v, h), origin_s


def _axis_coords(taps: int, origin: int, s: float, sub: int) -> np.ndarray:
    """Sample coordinates on the effective grid, in pixels of the scaled kernel from its centre."""
    n_s, origin_s = scaled_axis(taps, origin, s)
    centre = s * (origin - (taps - 1) / 2.0)  # the kernel's centre, scaled like the taps
    within = (np.arange(sub) + 0.5) / sub - 0.5
    return (np.arange(n_s)[:, None] - origin_s + centre + within[None, :]).ravel()


def _array_profile(kernel: np.ndarray) -> kernels.Profile:
    """A kernel array as a piecewise-constant shape (one value per pixel)."""
    h, w = kernel.shape

    def value(y: np.ndarray, x: np.ndarray) -> np.ndarray:
        i = np.floor(y + h / 2.0).astype(int)
        j = np.floor(x + w / 2.0).astype(int)
        ok = (i >= 0) & (i < h) & (j >= 0) & (j < w)
        return np.where(ok, kernel[np.clip(i, 0, h - 1), np.clip(j, 0, w - 1)], 0.0)

    return value


def target_at(kernel: np.ndarray, spec: dict[str, Any] | None, origin: tuple[int, int], s: float) -> np.ndarray:
    """The kernel rendered at size·s on the effective grid of scale s, with the same sum as `kernel`.

    Named kernels (`spec`) are redrawn from their continuous shape, point-sampled when
    size·s is an integer and the spec is not anti-aliased, else covered with 16×16
    sub-samples; other kernels are area-resampled as piecewise-constant images.
    """
    k = np.asarray(kernel, np.float64)
    if s == 1.0:
        return k.copy()
    shape = kernels.profile(spec) if spec else None
    if shape is not None:
        assert spec is not None  # the profile came from it
        size = float(spec["size"]) * s
        exact = abs(size - round(size)) < SNAP and not spec.get("antialias")
        sub = 1 if exact else SUPERSAMPLE
    else:
        shape, sub = _array_profile(k), SUPERSAMPLE
    ys = _axis_coords(k.shape[0], origin[0], s, sub) / s
    xs = _axis_coords(k.shape[1], origin[1], s, sub) / s
    values = np.asarray(shape(ys[:, None], xs[None, :]), np.float64)
    n_y, n_x = len(ys) // sub, len(xs) // sub
    out = values.reshape(n_y, sub, n_x, sub).mean(axis=(1, 3))
    total = out.sum()
    if total == 0:
        raise SepgenError(f"the kernel vanishes at scale {s:g} (nothing of it covers a pixel)")
    return out * (k.sum() / total)


def apply_scaled(img: np.ndarray, vertical: np.ndarray, horizontal: np.ndarray,
                 origin: tuple[int, int], scale: float | np.ndarray) -> np.ndarray:
    """Filter `img` as the scaled shaders do, at one scale or a per-pixel H×W scale map.

    One scale: the effective components, convolved (exact). A map: each pass reads the
    scale at its output pixel and fetches every tap bilinearly at o·scale, so the
    vertical pass sees horizontal results made with their own pixels' scales.
    """
    if np.ndim(scale) == 0:
        v, h, origin_s = effective_components(vertical, horizontal, origin, check_scale(scale, allow_zero=True))
        return convolve_separable(img, v, h, origin_s)
    arr = np.asarray(img, np.float64)
    smap = check_scale_map(scale, arr.shape[:2])
    flat = arr.ndim == 2
    arr = arr[:, :, None] if flat else arr
    out = np.zeros_like(arr)
    for v, h in zip(np.atleast_2d(vertical), np.atleast_2d(horizontal)):
        t = _gather_pass(arr, h, origin[1], smap, axis=1)
        out += _gather_pass(t, v, origin[0], smap, axis=0)
    return out[:, :, 0] if flat else out


def check_scale_map(scale: Any, shape: Sequence[int], where: str = "scale map") -> np.ndarray:
    """An H×W map of scales in [0, 1] matching the image (0: in focus, no blur), or a one-line SepgenError."""
    smap = np.asarray(scale, np.float64)
    if smap.shape != tuple(shape[:2]):
        size = f"{smap.shape[1]}x{smap.shape[0]}" if smap.ndim == 2 else f"shaped {smap.shape}"
        raise SepgenError(f"{where} is {size}, the image is {shape[1]}x{shape[0]} (width x height)")
    bad = ~(np.isfinite(smap) & (smap >= 0) & (smap <= 1))
    if bad.any():
        y, x = (int(i) for i in np.argwhere(bad)[0])
        raise SepgenError(f"{where} value {float(smap[y, x]):g} at pixel ({y}, {x}) is outside [0, 1]")
    return smap


def _gather_pass(arr: np.ndarray, taps: np.ndarray, origin: int, smap: np.ndarray, axis: int) -> np.ndarray:
    """One pass along `axis` (1 horizontal, 0 vertical): bilinear clamp-to-edge fetches at o·scale."""
    n = arr.shape[axis]
    pos = np.arange(n)[None, :] if axis == 1 else np.arange(n)[:, None]
    out = np.zeros_like(arr)
    for j, w in enumerate(taps):
        if w == 0.0:
            continue
        p = _snap((origin - j) * smap)
        f = np.floor(p)
        t = (p - f)[:, :, None]
        i0 = np.clip(pos + f.astype(int), 0, n - 1)[:, :, None]
        i1 = np.clip(pos + f.astype(int) + 1, 0, n - 1)[:, :, None]
        a0 = np.take_along_axis(arr, np.broadcast_to(i0, arr.shape), axis=axis)
        a1 = np.take_along_axis(arr, np.broadcast_to(i1, arr.shape), axis=axis)
        out += w * ((1.0 - t) * a0 + t * a1)
    return out


def compare_at(vertical: np.ndarray, horizontal: np.ndarray, target: np.ndarray, spec: dict[str, Any] | None,
               origin: tuple[int, int], s: float) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """(effective kernel, kernel at size·s, their origin) on the grid of scale s."""
    approx, origin_s = effective_kernel(vertical, horizontal, origin, s)
    return approx, target_at(target, spec, origin, s), origin_s


def quality_at(vertical: np.ndarray, horizontal: np.ndarray, target: np.ndarray, spec: dict[str, Any] | None,
               origin: tuple[int, int], s: float) -> dict[str, float | int]:
    """`metrics.quality` of the filter at scale s against the kernel at size·s."""
    approx, target_s, _ = compare_at(vertical, horizontal, target, spec, origin, s)
    return metrics.quality(approx, target_s, vertical, horizontal)


def loss_across(vertical: np.ndarray, horizontal: np.ndarray, target: np.ndarray, spec: dict[str, Any] | None,
                origin: tuple[int, int], scales: Sequence[float], weights: dict[str, float]) -> float:
    """The multi-scale fit's loss by the NumPy formulas: the mean over scales of Σ weight·term,
    each scale at its own peak 1 on its own grid (`sepgen.fitting.multiscale`)."""
    total = 0.0
    for s in scales:
        approx, target_s, origin_s = compare_at(vertical, horizontal, target, spec, origin, s)
        total += metrics.weighted_loss(metrics.loss_terms(approx, target_s, origin_s), weights)
    return total / len(scales)
