"""Benchmark: row sums (issue 18): quality and fetches per structure, HDR precision, frame times.

Quality and reads of the rows structure (`sepgen.filters.rows`, fitted by
`sepgen.fitting.rows`) for disk 50 (anti-aliased and binary), hexagon 51 (AA), octagon 51
(AA), a five-pointed star aperture made as an image (AA) and a Gaussian, beside today's
separable budget search (`sepgen.fit(kernel, budget=N)`, fetches by `sepgen.emit.fetch_counts`)
for each of them. Then the HDR precision of the running sum, simulated in float32, and frame times.

Columns: boxes; reads of the gather pass (2 per box, a box sharing its reads with the
adjacent line's counted once: `RowsLayout.reads()`); fetches per pixel of the emitted passes,
scan included (`Rows.fetch_counts`: compute, and the default fragment passes, which read an
integer box end exactly with point reads); `sepgen.filters.metrics.quality` of the exact kernel the
filter applies (`RowsLayout.reconstruct`); fit seconds (the machine may be shared).

Goals checked (issue 18): AA disk 50 relL2 ≤ 0.03, negative mass ≤ 1e-4, leak ≤ 1e-3 at
≤ 100 gather reads; binary disk 50 relL2 ≤ 1e-4 in ≤ 104 reads; AA hexagon 51 relL2 ≤ 0.012
within 120 fetches; HDR: a 1920×24 frame of 0.01 with highlights 1e4 and 1e5, every pixel
within 1e-3·|ref| + 1e-7·max|ref| of float64 (ratio ≤ 1), tiles of 64/128/256 px and a
whole-row sum, for a tree scan (what a shared-memory or fragment scan computes) and a
sequential one, worst over highlight placements.

Frame times (OpenGL through `sepgen.run.gl`, llvmpipe here): the emitted rows passes (`sepgen emit`'s
default fragment passes: scan + gather) against separable pairs of the same kernel, at equal
quality (the lowest SVD rank whose relative L2 is at most the rows filter's: frame time depends
only on the tap counts, which an optimised fit of that rank shares or lowers by pruning) and at
equal fetches (the highest SVD rank within the rows filter's fetches), and a Gaussian, where one
separable pair is exact and the rows fit is poor. Every variant is prepared (compiled, warmed up
once) first, then the frames are timed round-robin, one frame of each variant per round, so load
from other processes on the machine falls on all of them alike; the wall clock until glFinish
(llvmpipe's timer queries are unreliable) is reported as the median over the rounds, and ratios
are rows / pairs (< 1: rows faster). `--rows-templates DIR` adds each rows filter emitted from
another templates folder (an older checkout's `templates/`) to the same rounds: before / after.

Run: PYTHONPATH=. .venv/bin/python benchmarks/bench_rows.py [--quick] [--no-frames | --frames-only]
     [--width 960 --height 540 --rounds 7] [--rows-templates OLD/templates]
(--quick skips the separable fits, ~20 s each on a loaded machine.)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sepgen import emit, kernels
from sepgen.filters import metrics, reference, rows
from sepgen.filters.filterfile import SeparableFilter
from sepgen.filters.rowsfile import RowsFilter
from sepgen.filters.rowsfilter import Rows
from sepgen.fitting import lowrank, rows as fit_rows, rowsfit
from sepgen.options import EmitOptions

TILES = (64, 128, 256, None)


def star(size: int, points: int = 5, inner: float = 0.45, sub: int = 16) -> np.ndarray:
    """A star aperture drawn as an image would be: supersampled coverage of a star polygon."""
    angles = np.pi / 2 + np.arange(2 * points) * np.pi / points
    radius = np.where(np.arange(2 * points) % 2 == 0, size / 2, inner * size / 2)
    verts = np.stack([radius * np.cos(angles), radius * np.sin(angles)], axis=1)
    offs = (np.arange(size * sub) + 0.5) / sub - size / 2
    y, x = np.meshgrid(offs, offs, indexing="ij")
    inside = np.zeros_like(x, bool)
    for (x0, y0), (x1, y1) in zip(verts, np.roll(verts, -1, axis=0)):  # even-odd rule
        cross = ((y0 > -y) != (y1 > -y)) & (x < (x1 - x0) * (-y - y0) / (y1 - y0 + 1e-300) + x0)
        inside ^= cross
    return inside.reshape(size, sub, size, sub).mean(axis=(1, 3))


CASES: list[tuple[str, Any, list[int]]] = [
    ("disk 50 AA", lambda: kernels.disk(50, antialias=True), [100, 120, 160]),
    ("disk 50 binary", lambda: kernels.disk(50), [100]),
    ("hexagon 51 AA", lambda: kernels.polygon(51, antialias=True), [90, 120]),
    ("octagon 51 AA", lambda: kernels.polygon(51, sides=8, antialias=True), [102, 120]),
    ("star 51 image", lambda: star(51), [120, 160]),
    ("gaussian 31", lambda: kernels.gaussian(31), [62, 124]),
]
SEPARABLE = [("disk 50 AA", 120), ("disk 50 binary", 126), ("hexagon 51 AA", 120), ("octagon 51 AA", 120),
             ("star 51 image", 146), ("gaussian 31", 40)]  # pairs within about the rows filters' fetches


def rows_row(name: str, kernel: np.ndarray, budget: int) -> dict[str, Any]:
    t = time.time()
    fit = fit_rows.fit_rows(kernel, budget=budget)
    lay = fit.layout
    q = metrics.quality(lay.reconstruct(), fit.target, [], [])
    gather = lay.reads()
    return {"kernel": name, "structure": f"rows ({lay.axis})", "budget": budget, "boxes": lay.boxes, "gather": gather,
            "compute": Rows(lay).fetch_counts(EmitOptions(stage="compute"))["total"],
            "fragment": Rows(lay).fetch_counts()["total"], **q, "seconds": time.time() - t, "layout": lay}


def separable_row(name: str, kernel: np.ndarray, budget: int) -> dict[str, Any]:
    import sepgen
    from sepgen.emit import fetch_counts

    t = time.time()
    filt = sepgen.fit(kernel, budget=budget)
    q = metrics.quality(filt.reconstruct(), filt.target, filt.vertical, filt.horizontal)
    fetches = fetch_counts(filt)["total"]
    return {"kernel": name, "structure": f"pairs (rank {filt.rank})", "budget": budget, "boxes": 0, "gather": fetches,
            "compute": fetches, "fragment": fetches, **q, "seconds": time.time() - t}


def print_table(table: list[dict[str, Any]]) -> None:
    head = f"{'kernel':16} {'structure':16} {'budget':>6} {'boxes':>5} {'reads':>6} {'comp.':>5} {'frag.':>5} " \
           f"{'relL2':>8} {'neg mass':>8} {'leak':>8} {'max err':>8} {'dc':>8} {'s':>5}"
    print(head)
    for r in table:
        print(f"{r['kernel']:16} {r['structure']:16} {r['budget']:6d} {r['boxes']:5d} {r['gather']:6d} "
              f"{r['compute']:5d} {r['fragment']:5d} {r['relative_l2']:8.5f} {r['negative_mass']:8.1e} "
              f"{r['leak']:8.1e} {r['max_error']:8.4f} {r['dc_gain']:8.6f} {r['seconds']:5.1f}")


def hdr_frame(col: int, row: int) -> np.ndarray:
    img = np.full((24, 1920), 0.01)
    img[row, col] = 1e5
    img[23 - row, (col + 640) % 1920] = 1e4
    return img


def hdr(layout: rows.RowsLayout, placements: list[tuple[int, int]]) -> dict[tuple[str, Any], float]:
    """Worst HDR ratio over `placements` of the 1e5 highlight, per (scan, tile)."""
    k = layout.reconstruct()
    worst: dict[tuple[str, Any], float] = {}
    for col, row in placements:
        img = hdr_frame(col, row)
        ref = reference.convolve2d(img, k, layout.origin)
        for scan in rows.SCANS:
            for tile in TILES:
                r = rows.hdr_ratio(rows.filter_image_tiled(img, layout, tile, np.float32, scan), ref)
                worst[(scan, tile)] = max(worst.get((scan, tile), 0.0), r)
    return worst


def goals(table: list[dict[str, Any]], hdr_binary: dict, hdr_aa: dict) -> None:
    def find(kernel: str, budget: int) -> dict[str, Any]:
        return next(r for r in table
                    if r["kernel"] == kernel and r["budget"] == budget and r["structure"].startswith("rows"))

    d, b = find("disk 50 AA", 100), find("disk 50 binary", 100)
    hexes = [r for r in table
             if r["kernel"] == "hexagon 51 AA" and r["structure"].startswith("rows") and r["fragment"] <= 120]
    h = min(hexes, key=lambda r: r["relative_l2"])
    checks = [
        ("AA disk 50: relL2 ≤ 0.03, neg ≤ 1e-4, leak ≤ 1e-3 at ≤ 100 gather reads",
         d["relative_l2"] <= 0.03 and d["negative_mass"] <= 1e-4 and d["leak"] <= 1e-3 and d["gather"] <= 100,
         f"relL2 {d['relative_l2']:.4f}, neg {d['negative_mass']:.1e}, leak {d['leak']:.1e}, {d['gather']} reads"),
        ("AA disk 50: ≤ 104 fetches with a compute scan, ≤ 128 with a fragment scan",
         d["compute"] <= 104 and d["fragment"] <= 128, f"{d['compute']} and {d['fragment']} fetches"),
        ("binary disk 50: relL2 ≤ 1e-4 in ≤ 104 reads", b["relative_l2"] <= 1e-4 and b["gather"] <= 104,
         f"relL2 {b['relative_l2']:.1e}, {b['gather']} reads ({2 * b['boxes']} without shared reads)"),
        ("AA hexagon 51: relL2 ≤ 0.012 within 120 fetches (fragment, scan included)",
         h["relative_l2"] <= 0.012, f"relL2 {h['relative_l2']:.4f}, {h['fragment']} fetches"),
        ("HDR, binary disk 50, 64 px tiles, tree scan: ratio ≤ 1", hdr_binary[("tree", 64)] <= 1,
         f"ratio {hdr_binary[('tree', 64)]:.3f}"),
        ("HDR, AA disk 50 (100 reads), 64 px tiles, tree scan: ratio ≤ 1", hdr_aa[("tree", 64)] <= 1,
         f"ratio {hdr_aa[('tree', 64)]:.3f}"),
    ]
    for text, ok, figures in checks:
        print(f"  [{'met' if ok else 'MISSED'}] {text}: {figures}")


# --- frame times ------------------------------------------------------------------------------

# kernel, how its rows filter is fitted (fit_rows_filter's budget; None: exact runs of a binary kernel)
FRAME_CASES: list[tuple[str, Any, int | None]] = [
    ("disk 50 AA", lambda: kernels.disk(50, antialias=True), 128),
    ("disk 50 binary", lambda: kernels.disk(50), None),
    ("hexagon 51 AA", lambda: kernels.polygon(51, antialias=True), 120),
    ("gaussian 31", lambda: kernels.gaussian(31), 124),
]
MAX_SVD_RANK = 32


def svd_ladder(target: np.ndarray) -> list[tuple[SeparableFilter, int, float]]:
    """(filter, fetches, relative L2) of the SVD truncation at ranks 1.. until it is exact."""
    out = []
    for r in range(1, min(MAX_SVD_RANK, *target.shape) + 1):
        v, h = lowrank.svd_components(target, r)
        f = SeparableFilter(f"svd{r}", target, v, h)
        rel = float(np.linalg.norm(f.reconstruct() - target) / np.linalg.norm(target))
        out.append((f, int(emit.fetch_counts(f)["total"]), rel))
        if rel < 1e-6:
            break
    return out


def frame_variants(name: str, kernel: np.ndarray, budget: int | None) -> list[dict[str, Any]]:
    """The rows filter, pairs at equal quality and pairs at equal fetches (SVD), or for a kernel that
    one pair holds exactly (the Gaussian) that pair."""
    filt = rowsfit.fit_rows_filter(kernel, budget=budget, name="rows")
    fetches = int(filt.structure.fetch_counts()["total"])
    rel = float(filt.metrics()["relative_l2"])
    out = [{"kernel": name, "variant": f"rows ({filt.layout.boxes} boxes)", "filter": filt, "fetches": fetches,
            "relative_l2": rel}]
    ladder = svd_ladder(filt.target)
    equal_quality = next(((f, n, e) for f, n, e in ladder if e <= max(rel, 1e-6)), None)
    within = [(f, n, e) for f, n, e in ladder if n <= fetches]
    named = [("equal quality", equal_quality), ("equal fetches", within[-1] if within else None)]
    by_rank: dict[int, tuple[tuple[SeparableFilter, int, float], list[str]]] = {}
    for label, pick in named:
        if pick is not None:
            by_rank.setdefault(pick[0].rank, (pick, []))[1].append(label)  # one rank can be both
    for (f, n, e), labels in by_rank.values():
        out.append({"kernel": name, "variant": f"pairs, {' and '.join(labels)}: SVD rank {f.rank}", "filter": f,
                    "fetches": n, "relative_l2": e})
    return out


def time_round_robin(variants: list[dict[str, Any]], img: np.ndarray, rounds: int) -> None:
    """Emit each variant (GLSL, `sepgen emit` defaults), prepare and warm it up, then time one frame
    of each per round; stores the wall-clock milliseconds in `variant["ms"]`."""
    from sepgen.run.gl import GLRunner

    runner = GLRunner()
    print(f"renderer: {runner.renderer}; frame {img.shape[1]}x{img.shape[0]} RGBA float32, {rounds} rounds")
    with tempfile.TemporaryDirectory(prefix="sepgen-bench-rows-") as tmp:
        pipes = []
        for i, v in enumerate(variants):
            folder = Path(tmp) / str(i)
            emit.write(emit.render(v["filter"], {"lang": "glsl"}, templates_dir=v.get("templates")), folder)
            pipe = runner.prepare(folder, img.shape[1], img.shape[0])
            pipe.upload(img)
            pipe.time_gpu(repeats=1, warmup=1)  # compile and first touch
            pipes.append(pipe)
            v["ms"] = []
        try:
            for _ in range(rounds):
                for v, pipe in zip(variants, pipes):
                    v["ms"].append(pipe.time_gpu(repeats=1, warmup=0)[0][1])
        finally:
            for pipe in pipes:
                pipe.release()


def print_frames(variants: list[dict[str, Any]]) -> None:
    print(f"{'kernel':16} {'variant':52} {'fetches':>7} {'relL2':>8} {'ms (median)':>11} {'min':>7} {'max':>7} "
          f"{'rows / this':>11}")
    for v in variants:
        rows_ms = next(statistics.median(r["ms"]) for r in variants
                       if r["kernel"] == v["kernel"] and isinstance(r["filter"], RowsFilter) and "templates" not in r)
        med = statistics.median(v["ms"])
        ratio = "" if v is next(r for r in variants if r["kernel"] == v["kernel"]) else f"{rows_ms / med:11.2f}"
        print(f"{v['kernel']:16} {v['variant']:52} {v['fetches']:7d} {v['relative_l2']:8.5f} {med:11.1f} "
              f"{min(v['ms']):7.1f} {max(v['ms']):7.1f} {ratio:>11}")


def frames(width: int, height: int, rounds: int, rows_templates: str | None = None) -> None:
    variants = []
    for name, make, budget in FRAME_CASES:
        for v in frame_variants(name, make(), budget):
            variants.append(v)
            if rows_templates and isinstance(v["filter"], RowsFilter):  # the same filter from other templates
                variants.append(dict(v, variant=f"{v['variant']}, {rows_templates}", templates=rows_templates))
    img = np.random.default_rng(0).random((height, width, 4)).astype(np.float32)
    time_round_robin(variants, img, rounds)
    print_frames(variants)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="skip the separable budget fits")
    ap.add_argument("--no-frames", action="store_true", help="skip the frame times")
    ap.add_argument("--frames-only", action="store_true", help="only the frame times")
    ap.add_argument("--width", type=int, default=960)
    ap.add_argument("--height", type=int, default=540)
    ap.add_argument("--rounds", type=int, default=7, help="timed frames per variant (round-robin)")
    ap.add_argument("--rows-templates", help="also time each rows filter emitted from this templates folder")
    args = ap.parse_args(argv)
    if not args.frames_only:
        quality(args.quick)
    if not args.no_frames:
        print("\nFrame times (OpenGL; on a shared machine: compare the ratios, not the milliseconds)")
        frames(args.width, args.height, args.rounds, args.rows_templates)
    return 0


def quality(quick: bool) -> None:
    table = []
    for name, make, budgets in CASES:
        for budget in budgets:
            table.append(rows_row(name, make(), budget))
    if not quick:
        makers = {name: make for name, make, _ in CASES}
        for name, budget in SEPARABLE:
            table.append(separable_row(name, makers[name](), budget))
    print_table(table)
    # every 8th phase of a 64 px tile, at the row's start (a whole-row sum's worst) and in its middle
    placements = [(c, r) for c in (*range(0, 64, 8), *range(576, 640, 8)) for r in (12, 3)]
    results = {}
    for name in ("disk 50 binary", "disk 50 AA"):
        lay = next(r["layout"] for r in table if r["kernel"] == name and r["budget"] == 100)
        results[name] = hdr(lay, placements)
        print(f"\nHDR ratio ({name}, 100 reads; worst of {len(placements)} placements; ≤ 1 meets the goal)")
        print(f"{'scan':12}" + "".join(f"{('row' if t is None else t):>10}" for t in TILES))
        for scan in rows.SCANS:
            print(f"{scan:12}" + "".join(f"{results[name][(scan, t)]:10.3f}" for t in TILES))
    print("\nGoals")
    goals(table, results["disk 50 binary"], results["disk 50 AA"])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
