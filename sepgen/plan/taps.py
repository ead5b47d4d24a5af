"""The pass plan of a sum of separable pairs: which texels each pass reads and with which weights.

Everything here is in float32 (the precision the shaders bake) and in *offsets*:
a horizontal tap j reads the source at x offset `cx − j`, a vertical tap i at
y offset `cy − i` (true convolution, see docs/architecture.md).

A pass reads one or more input textures and accumulates into one or more
output slots. A `Fetch` is one texture read and the (slot, weight) terms that
use it; fetches are what the fetch counts count.

Linear sampling (Rákos): two same-sign taps a, b at offsets d, d+1 of one
component equal one bilinear fetch of weight a+b at d + b/(a+b). One bilinear
fetch serves every component whose taps there split in the same ratio; a point
fetch serves every component. `bilinear.plan_axis` chooses per pair of offsets,
with the fewest fetches, point fetches on ties (they are exact), and never reads
one location twice.

The plan reads only the taps (`Pairs`: vertical, horizontal, origin), never a filter
file: fitting counts a candidate's fetches here as emit plans its shaders, and neither
imports the other (docs/architecture.md).
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..options import EmitOptions
from ..targets import float32  # float32 taps as the shaders bake them (the literals' rounding)
from . import bilinear
from .passmodel import RGB, Fetch, Term, intermediate_bytes, intermediate_texels, packed_layout

MAX_TARGETS = 8  # colour attachments / UAVs every SM5 and GL 3.3 device has


class Pairs(Protocol):
    """Taps of Σ_k outer(vertical[k], horizontal[k]): a `SeparableFilter` or its structure."""

    @property
    def vertical(self) -> np.ndarray: ...  # rank×H

    @property
    def horizontal(self) -> np.ndarray: ...  # rank×W

    @property
    def origin(self) -> tuple[int, int]: ...  # (cy, cx): the tap that lands on the output pixel


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


def float32_rows(taps: np.ndarray) -> np.ndarray:
    """`taps` as an n×L float32 array, rounded as the shaders bake them (`targets.float32`: a value
    float32 cannot hold is the same one-line error, naming the first such value)."""
    rows = np.atleast_2d(np.asarray(taps, dtype=np.float64))
    with np.errstate(over="ignore", invalid="ignore"):
        out = rows.astype(np.float32)
    bad = ~np.isfinite(out)
    if bad.any():
        float32(rows[bad][0])  # raises
    return out


def by_offset(taps: np.ndarray, center: int) -> dict[int, np.ndarray]:
    """Float32 weights of every component at each offset `center − j` with a non-zero tap.

    `taps` is n×L (n components); each value is an n-vector.
    """
    return _columns(float32_rows(taps), center)


def _columns(taps32: np.ndarray, center: int) -> dict[int, np.ndarray]:
    return {center - int(j): taps32[:, j] for j in np.flatnonzero(np.any(taps32 != 0, axis=0))}


def plan_fetches(taps: np.ndarray, center: int, linear: bool, input: int = 0) -> list[Fetch]:
    """Fetches of one input shared by n output slots (rows of `taps`), sorted by offset."""
    taps32 = float32_rows(taps)
    reads = _reads(taps32.tobytes(), taps32.shape, center, linear)
    return [Fetch(input, r.offset, r.linear, tuple(Term(k, w) for k, w in r.terms)) for r in reads]


# The same taps are planned again and again: every variant a verify or build emits plans its filter's
# components with the same (center, linear), and a budget search counts each candidate for every
# target. The reads depend only on the float32 taps, so they are kept (benchmarks/bench_plan.py).
@functools.lru_cache(maxsize=4096)
def _reads(data: bytes, shape: tuple[int, ...], center: int, linear: bool) -> tuple[bilinear.Read, ...]:
    taps32 = np.frombuffer(data, dtype=np.float32).reshape(shape)
    return tuple(bilinear.plan_axis(_columns(taps32, center), shape[0], linear))  # already float32


def groups(rank: int, strategy: str) -> list[tuple[int, ...]]:
    """Components handled by each horizontal/vertical pass pair."""
    size = MAX_TARGETS if strategy == "mrt" else 1
    return [tuple(range(s, min(s + size, rank))) for s in range(0, rank, size)]


def plan_passes(filt: Pairs, strategy: str = "mrt", linear: bool = False,
                one_vertical: bool = False) -> list[PassPlan]:
    """Every pass in execution order.

    Default: h0, v0, h1, v1, ... (one vertical pass per group, later ones adding into
    the output). `one_vertical`: h0, h1, ..., then a single v0 that reads every
    component's intermediate and writes the output once, so no pass reads what it
    writes (HLSL cs_5_0 cannot load float4 from a RWTexture2D). The fetches, and so
    the counts, are the same either way.
    """
    cy, cx = filt.origin
    rank = len(filt.vertical)
    passes: list[PassPlan] = []
    comp_groups = groups(rank, strategy)

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
        passes.append(vertical(0, tuple(range(rank))))
    return passes


def pack_rgb(passes: list[PassPlan]) -> list[PassPlan]:
    """channels="rgb": vertical passes read the packed textures (`passmodel.packed_layout`).

    Each fetch of component slot s's texture becomes a fetch of every packed texture holding one
    of its channels (one or two), its term `Term(s, w)`; fetches of one texture at the same
    offset (and so the same bilinear fraction) merge, serving every component they hold. The
    counts are what the shaders read: fewer than one per component where components share
    offsets, up to two where a straddling component reads alone (linear sampling, sparse taps)."""
    out = []
    for p in passes:
        if p.direction != "vertical":
            out.append(p)
            continue
        holders = [{c[0] for c in chans if c is not None} for chans in packed_layout(len(p.components))]
        merged: dict[tuple[int, float, bool], list[Term]] = {}
        for f in p.fetches:
            for j, slots in enumerate(holders):
                if f.input in slots:
                    merged.setdefault((j, f.offset, f.linear), []).append(Term(f.input, f.terms[0].weight))
        fetches = tuple(Fetch(j, off, lin, tuple(terms)) for (j, off, lin), terms in sorted(merged.items()))
        out.append(dataclasses.replace(p, fetches=fetches))
    return out


def plan_for(filt: Pairs, options: EmitOptions, one_vertical: bool = False) -> list[PassPlan]:
    """`plan_passes` for these emit options, packed when `options.channels` is "rgb"."""
    plan = plan_passes(filt, options.strategy, bool(options.linear_sampling), one_vertical)
    return pack_rgb(plan) if options.channels == RGB else plan


def counts(passes: list[PassPlan]) -> dict[str, int]:
    """Fetches per output pixel: {"horizontal", "vertical", "total"}."""
    h = sum(p.fetch_count for p in passes if p.direction == "horizontal")
    v = sum(p.fetch_count for p in passes if p.direction == "vertical")
    return {"horizontal": h, "vertical": v, "total": h + v}


def fetch_counts(filt: Pairs, linear_sampling: bool | None = None, strategy: str = "mrt") -> dict[str, int]:
    """Texture fetches per output pixel: {"horizontal", "vertical", "total"}.

    The same for every language and stage: a plan with one vertical pass reads the same taps.
    `linear_sampling` None: `sepgen emit`'s default (fragment passes sample bilinearly).
    Re-exported as `sepgen.emit.fetch_counts`.
    """
    opts = EmitOptions(linear_sampling=linear_sampling, strategy=strategy)
    return counts(plan_passes(filt, opts.strategy, bool(opts.linear_sampling)))


def intermediate_cost(passes: list[PassPlan], options: EmitOptions) -> dict[str, int]:
    """{"written", "read"}: intermediate bytes per output pixel of these passes (the manifest's
    `intermediate_bytes_per_pixel`): one texel per component (channels="rgb": per packed texture)
    written, one per vertical fetch read."""
    written = sum(intermediate_texels(len(p.components), options.channels, len(p.components))
                  for p in passes if p.direction == "horizontal")
    fetched = sum(p.fetch_count for p in passes if p.direction == "vertical")
    return intermediate_bytes(options.intermediate_format, written, fetched)


def target_cost(filt: Pairs, targets: list[EmitOptions]) -> dict[str, int]:
    """Fetch counts ({"horizontal", "vertical", "total"}) of the dearest of `targets`: the one
    that reads the most per output pixel. A budget holds for every target a filter ships to."""
    costs = [counts(plan_for(filt, o)) for o in targets]
    return max(costs, key=lambda c: c["total"])
