"""Benchmark: fetch planning with and without the kept reads (`sepgen.plan.taps._reads`).

`plan_fetches` keeps the reads it planned for a component's float32 taps, because the same taps
are planned again and again: `sepgen verify` plans its filter once per variant (44 for GLSL +
HLSL), a budget search counts each candidate for every target it ships to. Both sides below run in
this process, one after the other, per workload:

  before     the code before the cache: float32 rounding one value at a time, then
             `bilinear.plan_axis` for every call (copied here as `fetches_before`)
  cached     `plan_fetches` (its cache cleared before each workload)

Workloads: the committed disk50 rank-4 filter planned for every emit option combination (what
verify and a build of every variant plan), and the same for a rank-11 filter with mixed signs.
The plans must be equal; the figure is the median of `--runs` rounds, before / cached.

Run: PYTHONPATH=. .venv/bin/python benchmarks/bench_plan.py [--runs N]
"""

from __future__ import annotations

import argparse
import functools
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from sepgen.filters.rowsfile import load_filter
from sepgen.options import EmitOptions
from sepgen.plan import bilinear, taps
from sepgen.plan.passmodel import Fetch, Term
from sepgen.targets import float32
from tests.support import wide_filter

ROOT = Path(__file__).resolve().parents[1]


def fetches_before(tap_rows, center: int, linear: bool, input: int = 0) -> list[Fetch]:
    taps32 = np.array([[float32(x) for x in row] for row in np.atleast_2d(tap_rows)], dtype=np.float32)
    weights = {center - j: taps32[:, j] for j in range(taps32.shape[1]) if np.any(taps32[:, j] != 0)}
    reads = bilinear.plan_axis(weights, taps32.shape[0], linear)
    return [Fetch(input, r.offset, r.linear, tuple(Term(k, w) for k, w in r.terms)) for r in reads]


def plan_all(filt, combos: list[EmitOptions]) -> list:
    return [taps.plan_for(filt, o) for o in combos]


def timed(fn: Callable[[], list]) -> tuple[float, list]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    combos = EmitOptions.combinations()
    filters = {"disk50 rank 4": load_filter(ROOT / "tests" / "data" / "disk50_rank4.json"),
               "wide rank 11": wide_filter()}
    cached_fn = taps.plan_fetches
    print(f"{len(combos)} option combinations per workload, median of {args.runs} rounds")
    print(f"{'workload':16} {'before ms':>10} {'cached ms':>10} {'ratio':>6}")
    for name, filt in filters.items():
        before, after = [], []
        for _ in range(args.runs):
            taps.plan_fetches = fetches_before  # type: ignore[assignment]  # the baseline, same process
            t_before, want = timed(functools.partial(plan_all, filt, combos))
            taps.plan_fetches = cached_fn
            taps._reads.cache_clear()
            t_after, got = timed(functools.partial(plan_all, filt, combos))
            if got != want:
                raise SystemExit(f"{name}: the cached plans differ from the code before")
            before.append(t_before)
            after.append(t_after)
        b, a = statistics.median(before), statistics.median(after)
        print(f"{name:16} {b * 1e3:10.1f} {a * 1e3:10.1f} {b / a:6.1f}")


if __name__ == "__main__":
    main()
