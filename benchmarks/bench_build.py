"""Benchmark: `sepgen build` no-op and `build --check` as processes, baseline vs this checkout.

Each side gets its own copy of `examples/sepgen.toml` (three filters, 23 files),
built once with its own code (fits included), so a no-op is a real no-op for
both (and this checkout's no-op takes the fast path of sepgen/build/state.py, with its
record in a cache folder of the side's own). Then the whole `sepgen build -q` process and `sepgen build --check -q`
are timed, sides alternating, median of N. Goals (issue 14): no-op <= 0.25 s,
--check <= 0.3 s on a quiet 2-core machine; on a busy one, the ratio to the
baseline shows whether the figures held.

Run: python benchmarks/bench_build.py [--runs N] [--baseline REV]
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from bench_verify import BASELINE_REV, arg, export  # noqa: E402

PY = sys.executable


def timed(code: Path, config: Path, *extra: str) -> float:
    # each side records its builds (the no-op fast path) in its own cache folder, not the user's
    env = dict(os.environ, PYTHONPATH=str(code), XDG_CACHE_HOME=str(config.parent / "xdg"))
    t = time.perf_counter()
    subprocess.run([PY, "-m", "sepgen", "build", str(config), "-q", *extra], env=env, check=True, cwd=config.parent,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def main() -> None:
    runs = int(arg("--runs", "9") or 9)
    rev = arg("--baseline", BASELINE_REV) or BASELINE_REV
    print(f"{len(os.sched_getaffinity(0))} CPU core(s), load average {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="sepgen-bench-") as tmp:
        sides = {}
        for label, code in ((f"baseline ({rev})", None), ("this checkout", ROOT)):
            folder = Path(tmp) / label.split()[0]
            folder.mkdir()
            code = code or export(rev, folder / "code")
            config = folder / "sepgen.toml"
            shutil.copy(ROOT / "examples" / "sepgen.toml", config)
            timed(code, config)  # the first build: fits and writes everything
            sides[label] = (code, config)
        times: dict[tuple[str, str], list[float]] = {}
        for _ in range(runs):
            for label, (code, config) in sides.items():
                for mode, extra in (("no-op", ()), ("--check", ("--check",))):
                    times.setdefault((label, mode), []).append(timed(code, config, *extra))
    print(f"\nwhole process, median of {runs} alternating runs (seconds)")
    for mode, goal in (("no-op", 0.25), ("--check", 0.3)):
        base = statistics.median(times[(next(iter(sides)), mode)])
        for label in sides:
            t = statistics.median(times[(label, mode)])
            print(f"  {mode:8s} {label:28s} {t:6.3f}   this / baseline {t / base:4.2f}   (goal <= {goal} s quiet)")
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
