"""The passes of a `rows` filter (`sepgen.filters.rows`): a running-sum (scan) stage along
the line axis, then one gather pass reading two fetches per box. NumPy-free.

The scan. Running sums restart every `tile` texels (precision: a 1e5 highlight must not
streak along its row, see `sepgen.filters.rows`), and are kept for two tilings offset by
half a tile: tiling A restarts at k·T, tiling B at k·T + T/2. Each texel n holds the
*exclusive* prefix of its tile, E(n) = Σ_{tile start ≤ u < n} s(u), in texture A and B.
The continuous prefix F(p) = Σ_u s(u)·clamp(p − u, 0, 1) is then one bilinear read,
(1 − f)·E(n) + f·E(n + 1) for p = n + f, whenever texels n and n + 1 lie in one tile.
The gather pass reads, per output pixel, the tiling whose tile holds the pixel's whole
window (the kernel line plus the two cells each side): a window of `line + 3` texels
fits in a tile of one of the two tilings when the tile is at least twice as long, so
`tile_for` picks the smallest power of two ≥ 2·(line + 3). A box [start, end] of
line i is F(x + cx − start + ½) − F(x + cx − end + ½) on source row y − i + cy (rows axis).

Borders (clamp to edge). Left of the image F(p) = p·s(0) = p·E(1) (every tile starting
at 0 has E(0) = 0): still one read. Right of it F(p) = E(w − 1) + (p − w + 1)·s(w − 1):
a box that crosses the right border reads the source texel too (3 reads); boxes of
pixels farther than the kernel's width from the right border never do. The counts
below are per interior pixel.

Fragment scan: `log2(T)` passes, Hillis–Steele. Pass 0 reads the source at n − 1 and
n − 2 (the shift that makes the scan exclusive, and its first step); pass k (d = 2^k)
reads A and B at n and n − d, adding the second where n − d is in the same tile:
2 + 4·(log2 T − 1) reads per pixel, whatever the image width. Compute scan: one pass,
a workgroup of T invocations per tile loads its texels of both tilings (2 reads per
pixel) and scans them in shared memory.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..common.errors import SepgenError

MAX_TILE = 1024  # shared memory of a compute workgroup: 2 × T vec4 per buffer pair


def tile_for(line_length: int) -> int:
    """The scan's tile: the smallest power of two ≥ 2·(line_length + 3), at least 8."""
    if line_length < 1:
        raise SepgenError(f"rows line length must be positive, got {line_length}")
    tile = max(8, 1 << math.ceil(math.log2(2 * (line_length + 3))))
    if tile > MAX_TILE:
        raise SepgenError(f"a rows filter reaches at most {MAX_TILE // 2 - 3} taps along its lines, "
                          f"this one {line_length}: use the separable structure")
    return tile


@dataclass(frozen=True)
class RowsPass:
    """One pass of a rows filter: a scan step (`step` d; 0 = the pass reading the source)
    or the gather."""

    index: int
    name: str  # "s0", "s1", ..., "g"
    kind: str  # "scan" | "gather"
    step: int  # scan: d (1 for pass s0, which shifts and adds); gather: 0
    fetch_count: int


def scan_passes(tile: int, compute: bool) -> list[RowsPass]:
    """The scan stage: one compute pass, or log2(tile) fragment passes."""
    if compute:
        return [RowsPass(0, "s0", "scan", 0, 2)]
    steps = int(math.log2(tile))
    return [RowsPass(k, f"s{k}", "scan", 1 << k, 2 if k == 0 else 4) for k in range(steps)]


def plan(line_length: int, gather_reads: int, compute: bool) -> list[RowsPass]:
    """Every pass in execution order: the scan, then the gather (`gather_reads` fetches)."""
    scans = scan_passes(tile_for(line_length), compute)
    return scans + [RowsPass(len(scans), "g", "gather", 0, int(gather_reads))]


def counts(passes: list[RowsPass]) -> dict[str, int]:
    """Fetches per (interior) pixel: {"scan", "gather", "total"}."""
    scan = sum(p.fetch_count for p in passes if p.kind == "scan")
    gather = sum(p.fetch_count for p in passes if p.kind == "gather")
    return {"scan": scan, "gather": gather, "total": scan + gather}
