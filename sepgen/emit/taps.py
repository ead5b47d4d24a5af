"""The pass plan: which texels each pass reads and with which weights.

Everything here is in float32 (the precision the shaders bake) and in *offsets*:
a horizontal tap j reads the source at x offset `cx − j`, a vertical tap i at
y offset `cy − i` (true convolution, see docs/architecture.md).

A pass reads one or more input textures and accumulates into one or more
output slots. A `Fetch` is one texture read and the (slot, weight) terms that
use it; fetches are what the fetch counts count.

Linear sampling (Rákos): two same-sign taps a, b at offsets d, d+1 of one
component equal one bilinear fetch of weight a+b at d + b/(a+b). In a horizontal
MRT pass a point fetch is shared by every component while a bilinear fetch
serves one component only, so the choice is made per pair of offsets by a
small dynamic programme that minimises the number of fetches, preferring point
fetches on ties (they are exact).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..filterfile import SeparableFilter
from ..passmodel import Fetch, Term
from .literals import float32

MAX_TARGETS = 8  # colour attachments / UAVs every SM5 and GL 3.3 device has


@dataclass(frozen=True)
class PassPlan:
    index: int
    name: str  # "h0", "v0", ...
    direction: str  # "horizontal" | "vertical"
    group: int
    components: tuple[int, ...]
    fetches: tuple[Fetch, ...]

    @property
    def fetch_count(self) -> int:
        return len(self.fetches)

    @property
    def linear(self) -> bool:
        return any(f.linear for f in self.fetches)

    def offset_range(self) -> tuple[int, int]:
        """Lowest and highest integral texel offset read (0, 0 when nothing is read)."""
        lo = [int(np.floor(f.offset)) for f in self.fetches]
        hi = [int(np.ceil(f.offset)) for f in self.fetches]
        return (min(lo, default=0), max(hi, default=0))


def by_offset(taps: np.ndarray, center: int) -> dict[int, np.ndarray]:
    """Float32 weights of every component at each offset `center − j` with a non-zero tap.

    `taps` is n×L (n components); each value is an n-vector.
    """
    taps32 = np.array([[float32(x) for x in row] for row in np.atleast_2d(taps)], dtype=np.float32)
    out: dict[int, np.ndarray] = {}
    for j in range(taps32.shape[1]):
        col = taps32[:, j]
        if np.any(col != 0):
            out[center - j] = col
    return out


def plan_fetches(taps: np.ndarray, center: int, linear: bool, input: int = 0) -> list[Fetch]:
    """Fetches of one input shared by n output slots (rows of `taps`), sorted by offset."""
    n = np.atleast_2d(taps).shape[0]
    weights = by_offset(taps, center)
    if not weights:
        return []
    zero = np.zeros(n, dtype=np.float32)

    def point(d: int, slots: list[int]) -> Fetch | None:
        w = weights.get(d, zero)
        terms = tuple(Term(k, float(w[k])) for k in slots if w[k] != 0)
        return Fetch(input, float(d), False, terms) if terms else None

    def pair(d: int) -> tuple[list[Fetch], list[int], list[int]]:
        """Bilinear fetches for components whose taps at d, d+1 share a sign; the rest's slots."""
        a, b = weights.get(d, zero), weights.get(d + 1, zero)
        merged, rest = [], []
        for k in range(n):
            if a[k] != 0 and b[k] != 0 and (a[k] > 0) == (b[k] > 0):
                total = float(a[k]) + float(b[k])
                frac = float(b[k]) / total
                merged.append(Fetch(input, float(float32(d + frac)), True, (Term(k, float(float32(total))),)))
            else:
                rest.append(k)
        return merged, rest, rest

    lo, hi = min(weights), max(weights)
    span = hi - lo + 1
    # best[i]: (count, fetches) covering offsets lo .. lo+i-1
    best: list[tuple[int, list[Fetch]] | None] = [None] * (span + 1)
    best[0] = (0, [])
    for i in range(span):
        count, fetched = best[i]  # type: ignore[misc]
        d = lo + i
        single = [f for f in [point(d, list(range(n)))] if f]
        cand = (count + len(single), fetched + single)
        if best[i + 1] is None or cand[0] < best[i + 1][0]:  # type: ignore[index]
            best[i + 1] = cand
        if linear and i + 1 < span:
            merged, rest_d, rest_e = pair(d)
            if merged:
                extra = [f for f in (point(d, rest_d), point(d + 1, rest_e)) if f]
                cand2 = (count + len(merged) + len(extra), fetched + merged + extra)
                # strictly fewer only: ties keep the exact point fetches
                if best[i + 2] is None or cand2[0] < best[i + 2][0]:  # type: ignore[index]
                    best[i + 2] = cand2
    fetches = best[span][1]  # type: ignore[index]
    return sorted(fetches, key=lambda f: (f.offset, f.terms[0].slot))


def groups(rank: int, strategy: str) -> list[tuple[int, ...]]:
    """Components handled by each horizontal/vertical pass pair."""
    size = MAX_TARGETS if strategy == "mrt" else 1
    return [tuple(range(s, min(s + size, rank))) for s in range(0, rank, size)]


def plan_passes(filt: SeparableFilter, strategy: str = "mrt", linear: bool = False,
                one_vertical: bool = False) -> list[PassPlan]:
    """Every pass in execution order.

    Default: h0, v0, h1, v1, ... (one vertical pass per group, later ones adding into
    the output). `one_vertical`: h0, h1, ..., then a single v0 that reads every
    component's intermediate and writes the output once, so no pass reads what it
    writes (HLSL cs_5_0 cannot load float4 from a RWTexture2D). The fetches, and so
    the counts, are the same either way.
    """
    cy, cx = filt.origin  # type: ignore[misc]
    passes: list[PassPlan] = []
    comp_groups = groups(filt.rank, strategy)

    def vertical(g: int, comps: tuple[int, ...]) -> PassPlan:
        vfetch: list[Fetch] = []
        for slot, k in enumerate(comps):
            # each component's own intermediate is input `slot`; all add into output slot 0
            for f in plan_fetches(filt.vertical[k], cy, linear, input=slot):
                vfetch.append(Fetch(f.input, f.offset, f.linear, tuple(Term(0, t.weight) for t in f.terms)))
        return PassPlan(len(passes), f"v{g}", "vertical", g, comps, tuple(vfetch))

    for g, comps in enumerate(comp_groups):
        hfetch = plan_fetches(filt.horizontal[list(comps)], cx, linear)
        passes.append(PassPlan(len(passes), f"h{g}", "horizontal", g, comps, tuple(hfetch)))
        if not one_vertical:
            passes.append(vertical(g, comps))
    if one_vertical:
        passes.append(vertical(0, tuple(range(filt.rank))))
    return passes


def counts(passes: list[PassPlan]) -> dict[str, int]:
    h = sum(p.fetch_count for p in passes if p.direction == "horizontal")
    v = sum(p.fetch_count for p in passes if p.direction == "vertical")
    return {"horizontal": h, "vertical": v, "total": h + v}
