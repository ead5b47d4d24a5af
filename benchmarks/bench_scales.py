"""Benchmark: one filter for every blur radius (issue 13).

The 50x50 disk at rank 4 with the recommended settings (the CLI defaults), three ways,
each fetched at offset·s with bilinear filtering (`sepgen.filters.scaling`) for s = 0.2 … 1:

  multi-scale  `fit_scales(disk 50, 4, scales=(0.25, 0.5, 1))`: one set of components
               fitted for the three scales
  single       `fit(disk 50, 4)`: the ordinary fit, simply scaled
  complex      the 2-component complex-Gaussian disc filter (Niemitalo; Garcia,
               Frostbite), real rank 4 (`sepgen.filters.complex_gaussian`), scaled the same way

Each is measured at s against the disk rendered at 50·s (`scaling.target_at`) on the
effective kernel's grid, i.e. its impulse response away from the image border:
relative L2 error, negative mass (ringing) and leak (energy outside the disk).
Goals: at s = 0.5 relL2 ≤ 1.3× a dedicated rank-4 fit of the 25-pixel disk and negative
mass ≤ 1e-3; at s = 1 relL2 ≤ 1.1× the dedicated 50-pixel fit.

Run: .venv/bin/python benchmarks/bench_scales.py   (about 20 s on 2 cores)
"""

from __future__ import annotations

import time

import numpy as np

from sepgen import kernels
from sepgen.filters import complex_gaussian, scaling
from sepgen.fitting.core import recommended
from sepgen.fitting.facade import fit
from sepgen.fitting.multiscale import fit_scales_with
from sepgen.options import FitSettings

SIZE, RANK = 50, 4
FIT_SCALES = (0.25, 0.5, 1.0)
TABLE_SCALES = (0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
SPEC = kernels.canonical_spec({"kernel": "disk", "size": SIZE})


def settings() -> dict:
    out = recommended()
    out.pop("rank")
    return out


def dedicated_rel_l2(size: int) -> float:
    f = fit({"kernel": "disk", "size": size}, RANK, **settings())
    return float(f.metrics()["relative_l2"])


def quality(vertical: np.ndarray, horizontal: np.ndarray, s: float) -> dict:
    target = kernels.disk(SIZE)
    return scaling.quality_at(vertical, horizontal, target / target.sum(), SPEC, (SIZE // 2, SIZE // 2), s)


def main() -> None:
    t0 = time.perf_counter()
    multi = fit_scales_with(SPEC, RANK, FIT_SCALES, FitSettings())  # the recommended settings
    t_multi = time.perf_counter() - t0
    single = fit(SPEC, RANK, **settings())
    methods = {
        "multi-scale": (multi.vertical, multi.horizontal),
        "single": (single.vertical, single.horizontal),
        "complex": complex_gaussian.components(SIZE),
    }
    rows = {name: {s: quality(v, h, s) for s in TABLE_SCALES} for name, (v, h) in methods.items()}
    d25, d50 = dedicated_rel_l2(25), dedicated_rel_l2(50)
    print(f"multi-scale fit over {FIT_SCALES}: {t_multi:.1f} s (incl. compile)\n")
    print("| scale | " + " | ".join(f"{n} relL2 | {n} neg. mass | {n} leak" for n in methods) + " |")
    print("|---" * (1 + 3 * len(methods)) + "|")
    for s in TABLE_SCALES:
        cells = [f"{rows[n][s]['relative_l2']:.3f} | {rows[n][s]['negative_mass']:.1e} | {rows[n][s]['leak']:.3f}"
                 for n in methods]
        print(f"| {s:g} | " + " | ".join(cells) + " |")
    half, one = rows["multi-scale"][0.5], rows["multi-scale"][1.0]
    print(f"\ndedicated rank-{RANK} fits: disk 25 relL2 {d25:.4f}, disk 50 relL2 {d50:.4f}")
    print(f"goal s=0.5: relL2 {half['relative_l2']:.4f} = {half['relative_l2'] / d25:.3f}x disk-25 fit (<= 1.3x), "
          f"negative mass {half['negative_mass']:.1e} (<= 1e-3)")
    print(f"goal s=1:   relL2 {one['relative_l2']:.4f} = {one['relative_l2'] / d50:.3f}x disk-50 fit (<= 1.1x)")
    gains = [r["dc_gain"] for r in rows["multi-scale"].values()]
    print(f"DC gain of the multi-scale fit at every scale: {min(gains):.9f} … {max(gains):.9f}")


if __name__ == "__main__":
    main()
