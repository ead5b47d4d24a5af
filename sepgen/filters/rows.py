"""Row sums: a kernel as, per row (or per column), a sum of weighted boxes with fractional ends.

With P the running (inclusive prefix) sum of the source along the row axis,
P(n) = Σ_{u ≤ n} s[u], a box is two reads, P(x − a') − P(x − b'), whatever its width.

Coordinates. A line is a kernel row (axis "rows") or a kernel column (axis "columns");
along a line, tap j covers the unit cell [j − ½, j + ½]. A box (start, end, weight),
−½ ≤ start ≤ end ≤ n − ½, gives tap j the weight

    weight · |[j − ½, j + ½] ∩ [start, end]|          (its pixel-coverage)

so a box with integer-and-a-half ends covers whole taps, and a fractional end is an
anti-aliased edge. This is exactly what a linear read of P computes: with the
project's convention out[y,x] = Σ_i Σ_j K[i,j]·in[clamp(y−i+cy), clamp(x−j+cx)],
line i's box is

    P̃(x + cx − start − ½) − P̃(x + cx − end − ½),   P̃(n + f) = (1 − f)·P(n) + f·P(n + 1)

over source row clamp(y − i + cy): P̃(p) weights source u by clamp(p − u + 1, 0, 1),
which at u = x + cx − j is clamp(j + ½ − start, 0, 1), the coverage of [start, ∞) in
tap j's cell; the difference of the two reads is the coverage of [start, end].
(Hardware linear filtering rounds f to 8 bits on most GPUs; a target that needs f
exactly reads P twice and mixes — what `reconstruct` gives.)

Two adjacent lines i, i+1 with a box of the same ends and weights w0, w1 of one sign
can share its reads: one linear read at line i + t, t = w1/(w0 + w1), between the
two rows of the P texture, times w0 + w1, sums both (`gather_plan`, `reads`).

Clamp-to-edge along the row: the shader reads P beyond the image as the linear
extension P(n) = P(0) + n·s[0] (n < 0), P(w−1) + (n−w+1)·s[w−1] (n ≥ w); the
reference below pads by edge replication, which is the same arithmetic.

`filter_image` is the float64 reference of the running-sum formulation;
`filter_image_tiled` simulates it in float32 with running sums that restart every
`tile` pixels (a box crossing one restart is read as suffix + prefix: still two
reads), to measure the cancellation error of HDR inputs (`hdr_ratio`).

Precision (benchmarks/bench_rows.py: a 1920×24 frame of 0.01 with a 1e5 and a 1e4
highlight, disk 50 at unit gain, worst of 32 highlight placements; 1 = the allowance
1e-3·|ref| + 1e-7·max|ref|): with 64 px tiles a tree scan (Hillis–Steele, what a
shared-memory or fragment scan computes) stays at 0.30 of it for the binary disk and
0.58 for the fitted AA disk, a compensated (Kahan) sequential scan at 0.36 / 0.55;
128 and 256 px tiles reach 0.46 / 0.73 (tree). A sequential float32 scan misses by
3.7–4.1× whatever the tile (the error piles up inside the highlight's own tile, one
rounding of the 1e5 sum per pixel), and one running sum per whole row misses by
1.7–2.1× with a tree or compensated scan, 4.2–4.5× sequential (the stored sums right
of the highlight round at 1e5).
Boxes wider than a tile cross more than one restart and need a read per whole tile
in between (`_box_tiled` counts them in); kernels up to the tile width need none.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from ..common.errors import SepgenError

AXES = ("rows", "columns")
MAX_SIZE = 1025


class Box(NamedTuple):
    start: float
    end: float
    weight: float


class Read(NamedTuple):
    """One gather read pair: the box [start, end] on line position `line` (fractional when
    two adjacent lines share it), times `weight`."""

    line: float
    start: float
    end: float
    weight: float


def coverage(start: float, end: float, n: int) -> np.ndarray:
    """Per-tap weight of the unit box [start, end] over taps 0..n−1 (pixel coverage)."""
    c = np.arange(n, dtype=np.float64) + 0.5
    return np.clip(c - start, 0.0, 1.0) - np.clip(c - end, 0.0, 1.0)


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise SepgenError(f"{what} must be a number, got {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise SepgenError(f"{what} must be finite, got {v}")
    return v


def _pair(value: Any, what: str) -> tuple[int, int]:
    if not isinstance(value, (list, tuple)) or len(value) != 2 or not all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value):
        raise SepgenError(f"{what} must be two integers, got {value!r}")
    return int(value[0]), int(value[1])


def _check_box(box: Any, n: int, where: str) -> Box:
    if not isinstance(box, (list, tuple)) or len(box) != 3:
        raise SepgenError(f"{where} must be [start, end, weight], got {box!r}")
    start, end, weight = (_number(v, f"{where} {k}") for v, k in zip(box, ("start", "end", "weight")))
    if not -0.5 <= start <= end <= n - 0.5:
        raise SepgenError(f"{where} [{start}, {end}] is not an interval inside -0.5..{n - 0.5}")
    return Box(start, end, weight)


@dataclass(frozen=True)
class RowsLayout:
    """A rows-structure filter: `lines[i]` are the boxes of kernel row i (axis "rows")
    or kernel column i (axis "columns"); `shape` (H, W) and `origin` (cy, cx) are the kernel's."""

    axis: str
    shape: tuple[int, int]
    origin: tuple[int, int]
    lines: tuple[tuple[Box, ...], ...]

    def __post_init__(self) -> None:
        if self.axis not in AXES:
            raise SepgenError(f"rows axis must be one of {', '.join(AXES)}, got {self.axis!r}")
        h, w = _pair(self.shape, "rows shape")
        if not (1 <= h <= MAX_SIZE and 1 <= w <= MAX_SIZE):
            raise SepgenError(f"rows shape {h}x{w} is outside 1..{MAX_SIZE}")
        cy, cx = _pair(self.origin, "rows origin")
        if not (0 <= cy < h and 0 <= cx < w):
            raise SepgenError(f"rows origin {[cy, cx]} is outside the {h}x{w} kernel")
        count, n = (h, w) if self.axis == "rows" else (w, h)
        if not isinstance(self.lines, (list, tuple)) or len(self.lines) != count:
            raise SepgenError(f"rows filter needs {count} lines (one per {self.axis[:-1]}), got "
                              f"{len(self.lines) if isinstance(self.lines, (list, tuple)) else self.lines!r}")
        lines = []
        for i, line in enumerate(self.lines):
            if not isinstance(line, (list, tuple)):
                raise SepgenError(f"rows line {i} must be a list of boxes, got {line!r}")
            lines.append(tuple(_check_box(b, n, f"rows line {i} box {k}") for k, b in enumerate(line)))
        for name, value in (("shape", (h, w)), ("origin", (cy, cx)), ("lines", tuple(lines))):
            object.__setattr__(self, name, value)

    @property
    def line_length(self) -> int:
        """Taps along a line (kernel width for rows, height for columns)."""
        return self.shape[1] if self.axis == "rows" else self.shape[0]

    @property
    def boxes(self) -> int:
        return sum(len(line) for line in self.lines)

    def line_matrix(self) -> np.ndarray:
        """The kernel in line coordinates: line i is row i of the result (lines × line_length)."""
        n = self.line_length
        out = np.zeros((len(self.lines), n))
        for i, line in enumerate(self.lines):
            for b in line:
                out[i] += b.weight * coverage(b.start, b.end, n)
        return out

    def reconstruct(self) -> np.ndarray:
        """The exact H×W kernel that the running-sum filter applies."""
        m = self.line_matrix()
        return m if self.axis == "rows" else np.ascontiguousarray(m.T)

    def gather_plan(self, share: bool = True) -> tuple[Read, ...]:
        """The gather pass's reads, two fetches each, in line order; with `share`, boxes
        of the same ends and same-sign weights on adjacent lines are paired into one."""
        partner = shared_pairs(self.lines) if share else {}
        second = set(partner.values())
        reads = []
        for i, line in enumerate(self.lines):
            for k, b in enumerate(line):
                if (i, k) in second:
                    continue  # read together with its partner on line i − 1
                mate = partner.get((i, k))
                if mate is None:
                    reads.append(Read(float(i), b.start, b.end, b.weight))
                else:
                    w1 = self.lines[mate[0]][mate[1]].weight
                    total = b.weight + w1
                    reads.append(Read(i + w1 / total, b.start, b.end, total))
        return tuple(reads)

    def reads(self, share: bool = True) -> int:
        """Fetches per pixel of the gather pass: 2 per box; with `share`, 2 per shared pair."""
        return 2 * (len(self.gather_plan(share)) if share else self.boxes)

    def to_json(self) -> dict[str, Any]:
        return {
            "axis": self.axis,
            "shape": [self.shape[0], self.shape[1]],
            "origin": [self.origin[0], self.origin[1]],
            "lines": [[[b.start, b.end, b.weight] for b in line] for line in self.lines],
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> RowsLayout:
        if not isinstance(doc, Mapping):
            raise SepgenError(f"rows filter must be a JSON object, got {type(doc).__name__}")
        missing = [k for k in ("axis", "shape", "origin", "lines") if k not in doc]
        if missing:
            raise SepgenError(f"rows filter lacks {', '.join(missing)}")
        return cls(doc["axis"], doc["shape"], doc["origin"], doc["lines"])


def shared_pairs(lines: Sequence[Sequence[Box]]) -> dict[tuple[int, int], tuple[int, int]]:
    """First box → second box of each shared read: along each run of consecutive lines
    holding a box of the same (start, end, sign), pair lines (1st, 2nd), (3rd, 4th), …"""
    def keys(line: Sequence[Box]) -> dict[tuple, int]:
        seen: dict[tuple, int] = {}
        out = {}
        for k, b in enumerate(line):
            if b.weight == 0:
                continue
            base = (b.start, b.end, b.weight > 0)
            seen[base] = seen.get(base, 0) + 1
            out[base + (seen[base],)] = k
        return out

    per_line = [keys(line) for line in lines]
    partner: dict[tuple[int, int], tuple[int, int]] = {}
    taken: set[tuple[int, int]] = set()
    for i in range(len(lines) - 1):
        for key, k in per_line[i].items():
            k1 = per_line[i + 1].get(key)
            if k1 is not None and (i, k) not in taken:
                partner[(i, k)] = (i + 1, k1)
                taken.add((i + 1, k1))
    return partner


def plan_kernel(layout: RowsLayout, plan: Iterable[Read]) -> np.ndarray:
    """The H×W kernel that a gather plan applies (a read at line i + t weights lines i and
    i + 1 by 1 − t and t: a linear read between two rows of P)."""
    n = layout.line_length
    out = np.zeros((len(layout.lines) + 1, n))
    for r in plan:
        i = math.floor(r.line)
        t = r.line - i
        row = r.weight * coverage(r.start, r.end, n)
        out[i] += (1.0 - t) * row
        if t:
            out[i + 1] += t * row
    m = out[:-1]
    return m if layout.axis == "rows" else np.ascontiguousarray(m.T)


# --- exact decomposition --------------------------------------------------------------------


def line_runs(line: np.ndarray) -> tuple[Box, ...]:
    """One box per maximal run of equal non-zero taps: exact for any line, one box per
    run of a binary (0/c) line."""
    line = np.asarray(line, np.float64)
    boxes = []
    j, n = 0, len(line)
    while j < n:
        if line[j] == 0:
            j += 1
            continue
        k = j
        while k + 1 < n and line[k + 1] == line[j]:
            k += 1
        boxes.append(Box(j - 0.5, k + 0.5, float(line[j])))
        j = k + 1
    return tuple(boxes)


def is_binary(kernel: np.ndarray) -> bool:
    """All non-zero taps equal (a 0/c kernel)."""
    nz = np.asarray(kernel)[np.asarray(kernel) != 0]
    return nz.size > 0 and bool(np.all(nz == nz[0]))


def _check_kernel(kernel: Any) -> np.ndarray:
    k = np.asarray(kernel, np.float64)
    if k.ndim != 2 or k.size == 0 or max(k.shape) > MAX_SIZE:
        raise SepgenError(f"rows kernel must be a non-empty 2D array up to {MAX_SIZE}, got shape {k.shape}")
    if not np.all(np.isfinite(k)):
        raise SepgenError("rows kernel contains NaN or infinite values")
    return k


def exact_layout(kernel: Any, axis: str = "auto", origin: tuple[int, int] | None = None) -> RowsLayout:
    """The run-length decomposition of `kernel` along `axis` ("auto": the axis of fewer
    boxes, rows on a tie); reconstruct() equals the kernel exactly."""
    k = _check_kernel(kernel)
    org = (k.shape[0] // 2, k.shape[1] // 2) if origin is None else origin
    if axis == "auto":
        axis = choose_axis(k)
    if axis not in AXES:
        raise SepgenError(f"rows axis must be auto, rows or columns, got {axis!r}")
    m = k if axis == "rows" else k.T
    return RowsLayout(axis, k.shape, org, tuple(line_runs(line) for line in m))


def choose_axis(kernel: Any) -> str:
    """The axis whose run-length decomposition has fewer boxes (then fewer shared reads; rows on a tie)."""
    k = _check_kernel(kernel)
    costs = {}
    for axis, m in (("rows", k), ("columns", k.T)):
        lay = RowsLayout(axis, k.shape, (0, 0), tuple(line_runs(line) for line in m))
        costs[axis] = (lay.boxes, lay.reads(share=True))
    return "columns" if costs["columns"] < costs["rows"] else "rows"


# --- running-sum filtering ------------------------------------------------------------------


def _as_hwc(img: Any) -> tuple[np.ndarray, bool]:
    from .reference import _as_hwc as as_hwc

    return as_hwc(img)


def _line_frame(arr: np.ndarray, layout: RowsLayout) -> tuple[np.ndarray, tuple[int, int], tuple[int, int]]:
    """The image, line count × line length and origin with the lines along axis 1."""
    (h, w), (cy, cx) = layout.shape, layout.origin
    if layout.axis == "rows":
        return arr, (h, w), (cy, cx)
    return arr.transpose(1, 0, 2), (w, h), (cx, cy)


def _padded(arr: np.ndarray, size: tuple[int, int], origin: tuple[int, int]) -> tuple[np.ndarray, int]:
    """Edge-replicated image: line i of output row y reads padded row y + L − 1 − i; along the
    line, one spare column each side beyond the taps. Returns it and the left pad."""
    (nl, n), (cl, ca) = size, origin
    left = n - ca
    return np.pad(arr, ((nl - 1 - cl, cl), (left, ca + 2), (0, 0)), mode="edge"), left


def _read_base(start: float, ca: int, left: int) -> tuple[int, float]:
    """Integer and fractional part of the P read at `start`: P̃(x + base + frac)."""
    c = ca + left - start - 0.5
    n0 = math.floor(c)
    return n0, c - n0


def filter_image(img: Any, layout: RowsLayout) -> np.ndarray:
    """The running-sum filter in float64: per line and box, P̃(upper) − P̃(lower) on the
    prefix sum of the clamped source line; equals convolving with `layout.reconstruct()`."""
    arr, flat = _as_hwc(img)
    src, size, (cl, ca) = _line_frame(arr, layout)
    h, w = src.shape[:2]
    padded, left = _padded(src, size, (cl, ca))
    pz = np.concatenate([np.zeros_like(padded[:, :1]), np.cumsum(padded, axis=1)], axis=1)  # pz[m] = P(m − 1)
    out = np.zeros_like(src)
    for i, line in enumerate(layout.lines):
        rows = pz[size[0] - 1 - i : size[0] - 1 - i + h]
        for b in line:
            acc = np.zeros_like(out)
            for end, sign in ((b.start, 1.0), (b.end, -1.0)):
                n0, f = _read_base(end, ca, left)
                acc += sign * ((1.0 - f) * rows[:, n0 + 1 : n0 + 1 + w] + f * rows[:, n0 + 2 : n0 + 2 + w])
            out += b.weight * acc
    if layout.axis == "columns":
        out = out.transpose(1, 0, 2)
    return out[:, :, 0] if flat else np.ascontiguousarray(out)


class _Tiles(NamedTuple):
    """Tile-local running sums of padded lines (axis 1), in the simulated precision."""

    tile: np.ndarray  # tile id of each column
    q: np.ndarray  # inclusive prefix within the tile
    qc: np.ndarray  # q continued one column to the right (what a linear read between n and n+1 sees)
    r: np.ndarray  # exclusive suffix within the tile: Σ s[n+1 .. tile end]
    rc: np.ndarray  # r continued one column to the right
    totals: np.ndarray  # per tile: its sum (what a third read would fetch)


SCANS = ("tree", "sequential", "compensated")


def _scan(seg: np.ndarray, dtype: Any, scan: str) -> np.ndarray:
    """Inclusive running sum along axis 1 in `dtype`: "sequential" (one thread adding in
    order), "compensated" (the same with Kahan's correction term), or "tree" (Hillis–Steele:
    log2(n) passes x[n] += x[n − d], what a shared-memory scan or the fragment passes
    compute; far fewer roundings of large sums than "sequential")."""
    if scan == "sequential":
        return np.cumsum(seg, axis=1, dtype=dtype)
    if scan == "compensated":
        out = np.empty(seg.shape, dtype)
        total, carry = np.zeros_like(out[:, 0]), np.zeros_like(out[:, 0])
        for n in range(seg.shape[1]):
            y = (seg[:, n].astype(dtype) - carry).astype(dtype)
            t = (total + y).astype(dtype)
            carry = ((t - total).astype(dtype) - y).astype(dtype)
            total = out[:, n] = t
        return out
    x = seg.astype(dtype)
    d = 1
    while d < x.shape[1]:
        x = np.concatenate([x[:, :d], (x[:, d:] + x[:, :-d]).astype(dtype)], axis=1)
        d *= 2
    return x


def _tile_sums(padded: np.ndarray, left: int, tile: int | None, dtype: Any, scan: str) -> _Tiles:
    s = padded.astype(dtype)
    cols = np.arange(s.shape[1])
    tid = np.zeros_like(cols) if tile is None else (cols - left) // tile
    tid = tid - tid.min()
    q, r = np.empty_like(s), np.empty_like(s)
    totals = np.zeros((s.shape[0], int(tid.max()) + 1) + s.shape[2:], dtype)
    for k in range(int(tid.max()) + 1):
        cut = np.flatnonzero(tid == k)
        seg = s[:, cut[0] : cut[-1] + 1]
        q[:, cut[0] : cut[-1] + 1] = _scan(seg, dtype, scan)
        suffix = _scan(seg[:, ::-1], dtype, scan)[:, ::-1]
        r[:, cut[0] : cut[-1] + 1] = np.concatenate([suffix[:, 1:], np.zeros_like(suffix[:, :1])], axis=1)
        totals[:, k] = q[:, cut[-1]]
    nxt = np.concatenate([s[:, 1:], s[:, -1:]], axis=1)
    same = np.append(tid[1:] == tid[:-1], False)[None, :, None]
    qc = np.where(same, np.concatenate([q[:, 1:], q[:, -1:]], axis=1), (q + nxt).astype(dtype))
    rc = np.where(same, np.concatenate([r[:, 1:], r[:, -1:]], axis=1), (-nxt).astype(dtype))
    return _Tiles(tid, q, qc, r, rc, totals)


def _lerp(a: np.ndarray, b: np.ndarray, idx: np.ndarray, f: float, dtype: Any) -> np.ndarray:
    return (dtype(1.0 - f) * a[:, idx] + dtype(f) * b[:, idx]).astype(dtype)


def _rows_of(t: _Tiles, first: int, h: int, frac: float, dtype: Any) -> _Tiles:
    """The sums that output rows 0..h−1 read on padded rows first − y: a linear read
    between two rows (a shared read at fraction `frac`) mixes that row and the one above."""
    def mix(a: np.ndarray) -> np.ndarray:
        row = a[first : first + h]
        if not frac:
            return row
        return (dtype(1.0 - frac) * row + dtype(frac) * a[first - 1 : first - 1 + h]).astype(dtype)

    return t._replace(q=mix(t.q), qc=mix(t.qc), r=mix(t.r), rc=mix(t.rc), totals=mix(t.totals))


def _box_tiled(t: _Tiles, upper: tuple[np.ndarray, float], lower: tuple[np.ndarray, float], dtype: Any) -> np.ndarray:
    """One box over every output pixel: Q̃(upper) − Q̃(lower) inside a tile, suffix + prefix
    R̃(lower) + Q̃(upper) across one restart, plus the whole tiles in between (extra reads)."""
    (nu, fu), (nlo, flo) = upper, lower
    q, qc, r, rc = t.q, t.qc, t.r, t.rc
    ku, kl = t.tile[nu], t.tile[nlo]
    top = _lerp(q, qc, nu, fu, dtype)
    inside = top - _lerp(q, qc, nlo, flo, dtype)
    across = _lerp(r, rc, nlo, flo, dtype) + top
    for k in range(int(ku.max() - kl.min()) + 1):  # tiles strictly between the two ends
        mid = (kl + 1 + k < ku)[None, :, None]
        col = np.clip(kl + 1 + k, 0, t.totals.shape[1] - 1)
        across = across + np.where(mid, t.totals[:, col], dtype(0))
    return np.where((ku == kl)[None, :, None], inside, across).astype(dtype)


def filter_image_tiled(img: Any, layout: RowsLayout, tile: int | None, dtype: Any = np.float32,
                       scan: str = "tree", share: bool = True) -> np.ndarray:
    """The running-sum filter simulated in `dtype`: running sums (`scan`, see `_scan`) that
    restart every `tile` pixels along the line (None: one per whole padded line), the reads
    of `layout.gather_plan(share)` linear along the line and, for a shared read, across two
    lines, accumulated in `dtype`. Returns float64 of the result."""
    if scan not in SCANS:
        raise SepgenError(f"scan must be one of {', '.join(SCANS)}, got {scan!r}")
    if tile is not None and (isinstance(tile, bool) or not isinstance(tile, (int, np.integer)) or tile < 1):
        raise SepgenError(f"tile must be a positive integer or None, got {tile!r}")
    dtype = np.dtype(dtype).type
    arr, flat = _as_hwc(img)
    src, size, (cl, ca) = _line_frame(arr, layout)
    h, w = src.shape[:2]
    padded, left = _padded(src, size, (cl, ca))
    t = _tile_sums(padded, left, tile, dtype, scan)
    out = np.zeros(src.shape, dtype)
    x = np.arange(w)
    for read in layout.gather_plan(share):
        i = math.floor(read.line)
        sums = _rows_of(t, size[0] - 1 - i, h, read.line - i, dtype)
        (nu, fu), (nlo, flo) = _read_base(read.start, ca, left), _read_base(read.end, ca, left)
        box = _box_tiled(sums, (nu + x, fu), (nlo + x, flo), dtype)
        out = (out + dtype(read.weight) * box).astype(dtype)
    res = out.astype(np.float64)
    if layout.axis == "columns":
        res = res.transpose(1, 0, 2)
    return res[:, :, 0] if flat else np.ascontiguousarray(res)


def hdr_ratio(result: np.ndarray, reference: np.ndarray, rel: float = 1e-3, abs_of_max: float = 1e-7) -> float:
    """max |result − ref| / (rel·|ref| + abs_of_max·max|ref|): ≤ 1 meets the HDR goal."""
    ref = np.asarray(reference, np.float64)
    allowance = rel * np.abs(ref) + abs_of_max * np.abs(ref).max()
    return float(np.max(np.abs(np.asarray(result, np.float64) - ref) / allowance))


def scan_reads(stage: str, tile: int | None = 64) -> int:
    """Fetches per pixel of the running-sum pass (a design estimate until it is emitted):
    compute, one load into shared memory; fragment, Hillis–Steele passes over the tile,
    each reading n, n − d and n + d (prefix and suffix in two channels)."""
    if stage == "compute":
        return 1
    if stage == "fragment":
        if tile is None:
            raise SepgenError("a fragment running sum needs a tile (its reads would grow with the image width)")
        return 3 * max(1, math.ceil(math.log2(tile)))
    raise SepgenError(f"stage must be compute or fragment, got {stage!r}")
