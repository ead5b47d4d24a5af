"""Benchmark: row sums (issue 18), first version — numerical core only, no shaders yet.

Quality and reads of the rows structure (`sepgen.filters.rows`, fitted by
`sepgen.fitting.rows`) for disk 50 (anti-aliased and binary), hexagon 51 (AA), octagon 51
(AA), a five-pointed star aperture made as an image (AA) and a Gaussian, beside today's
separable budget search (`sepgen.fit(kernel, budget=N)`, fetches by `sepgen.emit.fetch_counts`)
for a few of them. Then the HDR precision of the running sum, simulated in float32.

Columns: boxes; reads of the gather pass (2 per box, a box sharing its reads with the
adjacent line's counted once: `RowsLayout.reads()`); fetches per pixel with the scan
counted (`rows.scan_reads`: compute 1, fragment 18 for 64 px tiles; a design estimate
until the passes are emitted); `sepgen.filters.metrics.quality` of the exact kernel the
filter applies (`RowsLayout.reconstruct`); fit seconds (the machine may be shared).

Goals checked (issue 18): AA disk 50 relL2 ≤ 0.03, negative mass ≤ 1e-4, leak ≤ 1e-3 at
≤ 100 gather reads; binary disk 50 relL2 ≤ 1e-4 in ≤ 104 reads; AA hexagon 51 relL2 ≤ 0.012
within 120 fetches; HDR: a 1920×24 frame of 0.01 with highlights 1e4 and 1e5, every pixel
within 1e-3·|ref| + 1e-7·max|ref| of float64 (ratio ≤ 1), tiles of 64/128/256 px and a
whole-row sum, for a tree scan (what a shared-memory or fragment scan computes) and a
sequential one, worst over highlight placements.

Run: PYTHONPATH=. .venv/bin/python benchmarks/bench_rows.py [--quick]
(--quick skips the separable fits, ~20 s each on a loaded machine.)
"""

from __future__ import annotations

import sys
import time
from typing import Any

import numpy as np

from sepgen import kernels
from sepgen.filters import metrics, reference, rows
from sepgen.fitting import rows as fit_rows

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
SEPARABLE = [("disk 50 AA", 120), ("hexagon 51 AA", 120), ("gaussian 31", 40)]


def rows_row(name: str, kernel: np.ndarray, budget: int) -> dict[str, Any]:
    t = time.time()
    fit = fit_rows.fit_rows(kernel, budget=budget)
    lay = fit.layout
    q = metrics.quality(lay.reconstruct(), fit.target, [], [])
    gather = lay.reads()
    return {"kernel": name, "structure": f"rows ({lay.axis})", "budget": budget, "boxes": lay.boxes, "gather": gather,
            "compute": gather + rows.scan_reads("compute"),
            "fragment": gather + rows.scan_reads("fragment", 64), **q, "seconds": time.time() - t, "layout": lay}


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


def main(argv: list[str]) -> int:
    table = []
    for name, make, budgets in CASES:
        for budget in budgets:
            table.append(rows_row(name, make(), budget))
    if "--quick" not in argv:
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
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
