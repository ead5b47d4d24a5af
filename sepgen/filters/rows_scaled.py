"""A rows filter at scale s ∈ [0, 1]: its kernel scaled spatially by s about the origin, gain kept.

The model (what the scaled gather computes per pixel, `sepgen.emit.rows_emit`):

* In offset coordinates a box [start, end] of a line is read as F(x + hi + ½) − F(x + lo + ½)
  with hi = ca − start, lo = ca − end (ca the origin along the line, F the running sum,
  `sepgen.filters.rows`). At scale s its ends move to s·hi and s·lo.
* Across lines, output line a (source row y + a; a an integer) samples the original lines at
  u = cl − a/s (cl the origin across), lines −1 and L counting as empty: only the a with
  −1 < u < L, about s·(L + 1) + 1 lines. A fractional u = i + t lies between lines i and i + 1:
  with as many boxes on both, box k of one is morphed into box k of the other (ends and weight
  interpolated, the boxes of a line taken in the order (start, end)); otherwise both lines' boxes
  are read, weighted 1 − t and t (so the first and last lines fade out towards the empty ones:
  the kernel is continuous in s, and a float32 shader that rounds a/s differently from the
  reference differs by that rounding, never by a whole line).
* The weights are renormalised per pixel: every box adds w·s·(hi − lo) (its gain) to g_s, and
  the sum is scaled by G / g_s, G the filter's own gain (Σ w·(end − start); 1 for fitted
  filters). So the DC gain is G at every scale, and at s = 1 the filter is exactly the unscaled one.
* s = 0 (the focal plane) is the limit: the source pixel times G. A box whose two ends fall in
  one texel n is (hi − lo)·s·src(n), one read of the source, not two reads of F (which would
  cancel: a small scale's narrow boxes stay exact).

`reads(layout, s)` lists the reads at one scale, `kernel_at` the 2D kernel they apply (on the
grid of `sepgen.filters.scaling.scaled_axis`, so `scaling.target_at` compares with it), and
`filter_image` is the float64 reference at one scale or a per-pixel H×W scale map.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from . import scaling
from .rows import RowsLayout, coverage


class ScaledRead(NamedTuple):
    """One box at a scale: F(x + upper) − F(x + lower) on the source line `a` lines from the
    pixel's, times `weight` (already renormalised)."""

    a: int
    upper: float
    lower: float
    weight: float


def line_table(layout: RowsLayout) -> tuple[tuple[tuple[float, float, float], ...], ...]:
    """Per line its boxes as (hi, lo, weight) in offset coordinates, ordered by (start, end)."""
    ca = layout.origin[1] if layout.axis == "rows" else layout.origin[0]
    return tuple(tuple((ca - b.start, ca - b.end, b.weight) for b in sorted(line, key=lambda b: (b.start, b.end)))
                 for line in layout.lines)


def gain(layout: RowsLayout) -> float:
    """G: the filter's DC gain, Σ weight·(end − start)."""
    return float(sum(b.weight * (b.end - b.start) for line in layout.lines for b in line))


def across(layout: RowsLayout) -> tuple[int, int]:
    """(L, cl): lines and the origin across them."""
    return len(layout.lines), layout.origin[0] if layout.axis == "rows" else layout.origin[1]


def line_range(count: int, cl: int, s: float) -> range:
    """The output lines a read at scale s > 0: those with −1 ≤ cl − a/s ≤ count (the ends weigh 0)."""
    return range(math.ceil(s * (cl - count)), math.floor(s * (cl + 1)) + 1)


def boxes_at(table: Any, u: float) -> list[tuple[float, float, float]]:
    """The (hi, lo, weight) boxes of the kernel at line position u (between two lines: morphed
    when both have as many boxes, else both, weighted 1 − t and t)."""
    u = min(max(u, -1.0), float(len(table)))
    i0 = math.floor(u)
    t = u - i0
    line0 = table[i0] if 0 <= i0 < len(table) else ()
    line1 = table[i0 + 1] if 0 <= i0 + 1 < len(table) else ()
    if t == 0.0:
        return list(line0)
    if len(line0) == len(line1):
        return [(h0 + t * (h1 - h0), l0 + t * (l1 - l0), w0 + t * (w1 - w0))
                for (h0, l0, w0), (h1, l1, w1) in zip(line0, line1)]
    return [(h, lo, w * (1.0 - t)) for h, lo, w in line0] + [(h, lo, w * t) for h, lo, w in line1]


def reads(layout: RowsLayout, s: float) -> list[ScaledRead]:
    """The reads of the scaled gather at scale s ∈ (0, 1], weights renormalised to gain G."""
    s = scaling.check_scale(s)
    table = line_table(layout)
    count, cl = across(layout)
    raw = [(a, s * hi + 0.5, s * lo + 0.5, w)
           for a in line_range(count, cl, s) for hi, lo, w in boxes_at(table, cl - a / s)]
    g_s = sum(w * (up - low) for _, up, low, w in raw)
    norm = gain(layout) / g_s if g_s else 0.0
    return [ScaledRead(a, up, low, w * norm) for a, up, low, w in raw]


def kernel_at(layout: RowsLayout, s: float) -> tuple[np.ndarray, tuple[int, int]]:
    """The H_s×W_s kernel the scaled filter applies at s (and its origin), on the grid of
    `scaling.scaled_axis` in the kernel's own orientation; s = 0 is the single tap G."""
    s = scaling.check_scale(s, allow_zero=True)
    count, cl = across(layout)
    n, ca = layout.line_length, (layout.origin[1] if layout.axis == "rows" else layout.origin[0])
    if s == 0.0:
        m, (nl, ol), (na, oa) = np.array([[gain(layout)]]), (1, 0), (1, 0)
    else:
        (nl, ol), (na, oa) = scaling.scaled_axis(count, cl, s), scaling.scaled_axis(n, ca, s)
        m = np.zeros((nl, na))
        for r in reads(layout, s):
            if not 0 <= ol - r.a < nl:
                continue  # a line of weight 0 (u = −1 or L at s = 1)
            # source offset o has the weight of [lower, upper] on its cell [o, o + 1]; tap j = oa − o,
            # so the box is [oa + ½ − upper, oa + ½ − lower] in tap coordinates.
            m[ol - r.a] += r.weight * coverage(oa + 0.5 - r.upper, oa + 0.5 - r.lower, na)
    if layout.axis == "rows":
        return m, (ol, oa)
    return np.ascontiguousarray(m.T), (oa, ol)


def _frame(arr: np.ndarray, smap: np.ndarray, axis: str) -> tuple[np.ndarray, np.ndarray]:
    """Image and scale map with the lines along axis 1."""
    return (arr, smap) if axis == "rows" else (arr.transpose(1, 0, 2), smap.T)


def filter_image(img: Any, layout: RowsLayout, scale: float | np.ndarray) -> np.ndarray:
    """The scaled rows filter in float64 at one scale or a per-pixel H×W map (values in [0, 1]):
    what the scaled gather computes per pixel (the module's model), clamp to edge."""
    from .reference import _as_hwc

    arr, flat = _as_hwc(img)
    smap = (np.full(arr.shape[:2], scaling.check_scale(scale, allow_zero=True)) if np.ndim(scale) == 0
            else scaling.check_scale_map(scale, arr.shape))
    src, sm = _frame(arr, smap, layout.axis)
    h, w = src.shape[:2]
    n = layout.line_length
    pad = n + 2
    padded = np.pad(src, ((0, 0), (pad, pad), (0, 0)), mode="edge")
    excl = np.concatenate([np.zeros_like(padded[:, :1]), np.cumsum(padded, axis=1)], axis=1)  # Σ_{u<m}
    acc, g_s = np.zeros_like(src), np.zeros((h, w))
    table, (count, cl) = line_table(layout), across(layout)
    ys, xs = np.mgrid[0:h, 0:w]
    smax = float(sm.max())
    for a in (line_range(count, cl, smax) if smax > 0 else ()):
        rows = np.clip(ys + a, 0, h - 1)
        live = (sm > 0) & (a >= np.ceil(sm * (cl - count))) & (a <= np.floor(sm * (cl + 1)))
        for (hi, lo, wt), mask in _pixel_boxes(table, cl, a, sm, live):
            up, low = sm * hi + 0.5, sm * lo + 0.5
            box = _span(excl, padded, rows, xs + pad, up, low)
            wt = np.where(mask, wt, 0.0)
            acc += wt[:, :, None] * box
            g_s += wt * (up - low)
    g = gain(layout)
    safe = np.where(g_s != 0, g_s, 1.0)
    out = np.where((g_s != 0)[:, :, None], acc * (g / safe)[:, :, None], g * src)
    if layout.axis == "columns":
        out = out.transpose(1, 0, 2)
    return out[:, :, 0] if flat else np.ascontiguousarray(out)


def _pixel_boxes(table: Any, cl: int, a: int, sm: np.ndarray, live: np.ndarray) -> list[tuple[tuple, np.ndarray]]:
    """Per-pixel `boxes_at` for line a: ((hi, lo, weight) arrays, mask) per box slot."""
    size = len(table)
    with np.errstate(divide="ignore", invalid="ignore"):
        u = np.clip(np.where(live, cl - a / np.where(sm > 0, sm, 1.0), 0.0), -1.0, size)
    i0 = np.floor(u).astype(int)
    t = u - i0
    counts = np.array([0] + [len(line) for line in table] + [0, 0])  # index i + 1: lines −1 .. L + 1 (empty ends)
    k = max(counts.max(), 1)
    arrs = np.zeros((size + 3, k, 3))
    for i, line in enumerate(table):
        if line:
            arrs[i + 1, : len(line)] = line
    i0, i1 = i0 + 1, i0 + 2
    n0, n1 = counts[i0], counts[i1]
    morph = (t > 0) & (n0 == n1)
    second = (t > 0) & ~morph
    out = []
    for j in range(k):
        b0, b1 = arrs[i0, j], arrs[i1, j]
        faded = b0 * np.array([1.0, 1.0, 0.0]) + np.zeros_like(b0)
        faded[:, :, 2] = b0[:, :, 2] * (1.0 - t)
        first = np.where(morph[:, :, None], b0 + t[:, :, None] * (b1 - b0), faded)
        out.append(((first[:, :, 0], first[:, :, 1], first[:, :, 2]), live & (j < n0)))
        out.append(((b1[:, :, 0], b1[:, :, 1], b1[:, :, 2] * t), live & second & (j < n1)))
    return out


def _span(excl: np.ndarray, padded: np.ndarray, rows: np.ndarray, x: np.ndarray, up: np.ndarray,
          low: np.ndarray) -> np.ndarray:
    """F(x + up) − F(x + low) per pixel on source rows `rows`, F(q) = Σ_{u<⌊q⌋} s(u) + frac(q)·s(⌊q⌋);
    both ends in one texel: (up − low)·s(texel)."""
    def read(pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        q = x + pos
        n0 = np.floor(q).astype(int)
        f = (q - n0)[:, :, None]
        return excl[rows, n0] + f * padded[rows, n0], n0

    (fu, nu), (fl, nl) = read(up), read(low)
    same = (nu == nl)[:, :, None]
    return np.where(same, (up - low)[:, :, None] * padded[rows, nl], fu - fl)
