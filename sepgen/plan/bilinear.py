"""Which texture reads one axis of a pass needs: point fetches and shared bilinear ones.

Input: the float32 weights of n output slots at each integral offset (`by_offset`).
A point fetch at d serves every slot with a non-zero weight at d. A bilinear fetch at
d + f reads (1 − f)·x[d] + f·x[d+1]; it serves slot k, with weight a+b, exactly when
slot k's taps (a, b) at (d, d+1) have one sign and the split ratio b/(a+b) is f.

Slots whose ratios agree form one *ratio group* and share one bilinear fetch: that is
what makes a shared-ratio fit (`sepgen.fitting.shared_ratio`) cost one fetch per pair
of offsets in the horizontal MRT pass. Float32 rounding makes equal ratios differ in
the last bits, so slot k joins a group anchored at ratio f when
|a+b|·|b/(a+b) − f| ≤ RATIO_TOLERANCE · (largest |a+b| of the pair): the taps it then
gets differ from its own by at most that, less than float32 itself resolves in the
offset d + f (2⁻¹⁹ at |d| ≥ 16) and far below the 1/256 sub-texel step of hardware
filtering. Groups are anchored largest weight first, so the choice is deterministic.

A small dynamic programme picks, along the axis, point fetches or one pair (d, d+1)
at a time so that the count is least; on ties point fetches win (they are exact).
Each location is fetched at most once.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

RATIO_TOLERANCE = 2.0**-20


class Read(NamedTuple):
    """One texture read: offset along the axis (integral for point reads) and its (slot, weight) terms."""

    offset: float
    linear: bool
    terms: tuple[tuple[int, float], ...]


def f32(x: float) -> float:
    return float(np.float32(x))


def ratio_groups(a: np.ndarray, b: np.ndarray) -> tuple[list[tuple[float, list[int]]], list[int]]:
    """Slots whose taps (a, b) one bilinear fetch can serve, grouped by shared ratio.

    Returns ([(ratio, slots)], other slots). Slots with a zero tap or opposite signs are
    'other' (they need point reads); slots with both taps zero appear in neither.
    """
    a64, b64 = np.asarray(a, np.float64), np.asarray(b, np.float64)
    both = (a64 != 0) & (b64 != 0) & ((a64 > 0) == (b64 > 0))
    other = [int(k) for k in np.flatnonzero(((a64 != 0) | (b64 != 0)) & ~both)]
    if not both.any():
        return [], other
    total = a64 + b64
    ratio = np.where(both, b64 / np.where(both, total, 1.0), 0.0)
    scale = float(np.abs(total[both]).max())
    order = sorted(np.flatnonzero(both), key=lambda k: (-abs(total[k]), k))
    groups: list[tuple[float, list[int]]] = []
    for k in order:
        for anchor, members in groups:
            if abs(total[k]) * abs(ratio[k] - anchor) <= RATIO_TOLERANCE * scale:
                members.append(int(k))
                break
        else:
            groups.append((float(ratio[k]), [int(k)]))
    return [(r, sorted(m)) for r, m in groups], other


def point_read(weights: dict[int, np.ndarray], d: int, slots: list[int]) -> list[Read]:
    w = weights.get(d)
    if w is None:
        return []
    terms = tuple((k, float(w[k])) for k in slots if w[k] != 0)
    return [Read(float(d), False, terms)] if terms else []


def pair_reads(weights: dict[int, np.ndarray], d: int, n: int) -> list[Read] | None:
    """Reads covering offsets d and d+1 with one bilinear read per ratio group (None: no group)."""
    zero = np.zeros(n, np.float32)
    a, b = weights.get(d, zero), weights.get(d + 1, zero)
    groups, other = ratio_groups(a, b)
    if not groups:
        return None
    reads = []
    for ratio, slots in groups:
        terms = tuple((k, f32(float(a[k]) + float(b[k]))) for k in slots)
        reads.append(Read(f32(d + ratio), True, terms))
    return reads + point_read(weights, d, other) + point_read(weights, d + 1, other)


def plan_axis(weights: dict[int, np.ndarray], n: int, linear: bool) -> list[Read]:
    """The fewest reads covering every non-zero weight (points on ties), sorted by offset."""
    if not weights:
        return []
    lo, hi = min(weights), max(weights)
    span = hi - lo + 1
    every = list(range(n))
    # best[i]: the cheapest reads covering offsets lo .. lo+i-1
    best: list[list[Read] | None] = [None] * (span + 1)
    best[0] = []
    for i in range(span):
        done = best[i]
        assert done is not None
        d = lo + i
        single = done + point_read(weights, d, every)
        after_one = best[i + 1]
        if after_one is None or _cost(single) < _cost(after_one):
            best[i + 1] = single
        pair = pair_reads(weights, d, n) if linear and i + 1 < span else None
        if pair is not None:
            after_two = best[i + 2]
            if after_two is None or _cost(done + pair) < _cost(after_two):
                best[i + 2] = done + pair
    cover = best[span]
    assert cover is not None  # every step above fills best[i + 1]
    return unique_locations(cover)


def _cost(reads: list[Read]) -> tuple[int, int]:
    """Fewer reads first; on ties fewer bilinear ones (point reads are exact)."""
    return len(reads), sum(r.linear for r in reads)


def unique_locations(reads: list[Read]) -> list[Read]:
    """One read per location: reads at the same offset and filtering (a bilinear read whose
    offset rounds onto a point read's texel reads the same value) share their terms."""
    merged: dict[float, Read] = {}
    for r in reads:
        seen = merged.get(r.offset)
        if seen is None:
            merged[r.offset] = r
            continue
        weights: dict[int, float] = dict(seen.terms)
        for k, w in r.terms:
            weights[k] = f32(weights.get(k, 0.0) + w)
        merged[r.offset] = Read(r.offset, seen.linear and r.linear, tuple(sorted(weights.items())))
    return sorted(merged.values(), key=lambda r: (r.offset, r.terms[0][0]))
