"""Benchmark: the WebGL2 runner with Chromium's compositor on SwiftShader (before) and in software
(`--disable-gpu-compositing`, now in `sepgen.common.browser.HEADLESS_FLAGS`).

Headless Chromium runs a page's WebGL on SwiftShader through ANGLE; by default its compositor draws
the page's frames through SwiftShader too. The runner only reads the WebGL framebuffer back, so
the compositor's work is waste. Per round and side: a new `WebGLRunner`, two batches of the eight
GLSL ES 300 variants of the committed disk50 rank-4 filter (Mesa is not involved; Chromium's own
shader cache lives in the throw-away profile, so each round compiles), then the browser closed.
Sides alternate within one process; CPU is the whole machine's busy time from /proc/stat over
the round (Chromium's processes are not all this process's children), so run it on a quiet machine.
The outputs of both sides must be equal bit for bit.

Run: PYTHONPATH=. .venv/bin/python benchmarks/bench_webgl.py [--runs N]   (Linux)
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from sepgen import emit
from sepgen.common import browser
from sepgen.filters.rowsfile import load_filter
from sepgen.run.program import Program, load
from sepgen.run.webgl import WebGLRunner
from sepgen.verify.check import default_image

ROOT = Path(__file__).resolve().parents[1]
FLAG = "--disable-gpu-compositing"
NOW = browser.HEADLESS_FLAGS
BEFORE = tuple(f for f in NOW if f != FLAG)


def busy_seconds() -> float:
    """CPU time the whole machine spent busy (all but idle and iowait), in seconds."""
    with open("/proc/stat") as f:
        ticks = [int(x) for x in f.readline().split()[1:]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def programs(folder: Path) -> list[Program]:
    filt = load_filter(ROOT / "tests" / "data" / "disk50_rank4.json")
    out = []
    for i, (strategy, linear, precision) in enumerate(
            (s, lin, p) for s in ("mrt", "per-component") for lin in (False, True) for p in ("fp32", "fp16")):
        options = {"lang": "glsl", "glsl_version": "300es", "strategy": strategy, "linear_sampling": linear,
                   "precision": precision}
        emit.write(emit.render(filt, options), folder / str(i))
        out.append(load(folder / str(i)))
    return out


def one_round(flags: tuple[str, ...], progs: list[Program], img: np.ndarray) -> tuple[float, float, list]:
    browser.HEADLESS_FLAGS = flags
    cpu, wall = busy_seconds(), time.perf_counter()
    runner = WebGLRunner()
    try:
        outs = runner.run_many(progs, img) + runner.run_many(progs, img)
    finally:
        runner.close()
    return time.perf_counter() - wall, busy_seconds() - cpu, outs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    img = default_image()
    with tempfile.TemporaryDirectory() as tmp:
        progs = programs(Path(tmp))
        sides: dict[str, list[tuple[float, float]]] = {"before": [], "now": []}
        for _ in range(args.runs):
            wall_b, cpu_b, before = one_round(BEFORE, progs, img)
            wall_n, cpu_n, now = one_round(NOW, progs, img)
            if not all(isinstance(a, np.ndarray) and np.array_equal(a, b) for a, b in zip(before, now)):
                raise SystemExit("the outputs differ between the two sides")
            sides["before"].append((wall_b, cpu_b))
            sides["now"].append((wall_n, cpu_n))
    print(f"2 x {len(progs)} programs per round, median of {args.runs} rounds")
    print(f"{'side':8} {'wall s':>7} {'CPU s':>7}")
    for name, rows in sides.items():
        print(f"{name:8} {statistics.median(w for w, _ in rows):7.2f} {statistics.median(c for _, c in rows):7.2f}")
    b = statistics.median(c for _, c in sides["before"])
    n = statistics.median(c for _, c in sides["now"])
    print(f"CPU now / before: {n / b:.2f}")


if __name__ == "__main__":
    main()
