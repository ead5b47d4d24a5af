"""Benchmark: `sepgen optimize` as a process against the seed's method as a process.

What a user waits for is the whole process: Python start-up, imports, XLA
compilation and the fit. Both sides fit the 50x50 disk at rank 4:

  seed     benchmarks/seed_process.py: the post's loop (5000 jitted gd steps called
           from Python, weights l2 = nonneg = zeros = 1), writes the result as JSON.
  sepgen   `sepgen optimize --kernel disk --size 50 --rank 4 -o F`: the recommended
           settings (5000 gd steps, then a prune and 5000 refit steps), progress on
           stderr, a filter file written.
  sepgen, cache off   the same with SEPGEN_JAX_CACHE=off: every process compiles.

Runs alternate (seed, sepgen, sepgen cache off, seed, …) so a change in the
machine's load hits all alike; the figure is the median per side. The sepgen
cache lives in a temporary folder, filled by one warm-up run first, so the timed
runs are "the second run of the same problem". A last run with other weights and
steps (same kernel shape and rank) reports how many new cache entries it wrote:
0 means it compiled nothing.

Then where the time goes, measured in child processes: Python start-up, `import
jax`, `import sepgen.cli`, and inside one `sepgen optimize` the JAX phases (trace,
lowering to MLIR, XLA compile or cache load) from JAX's own monitoring events.

Run: python benchmarks/bench_process.py [--runs N]   (N alternating rounds, default 7)
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PY = sys.executable
OPTIMIZE = ["-m", "sepgen", "optimize", "--kernel", "disk", "--size", "50", "--rank", "4"]
OTHER = ["--nonneg", "0.7", "--zeros", "0.2", "--l2", "2", "--steps", "3000", "--lr", "0.05", "--prune", "0.3"]


def env(cache: str | None) -> dict[str, str]:
    e = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    e["SEPGEN_JAX_CACHE"] = cache if cache else "off"
    return e


def timed_run(args: list[str], environ: dict[str, str]) -> float:
    t = time.perf_counter()
    subprocess.run([PY, *args], env=environ, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    return time.perf_counter() - t


def entries(cache: Path) -> int:
    """JAX's compiled entries plus sepgen's stored executables."""
    return sum(1 for _ in cache.glob("*-cache")) + sum(1 for _ in cache.glob("executables/*"))


def whole_process(runs: int, tmp: Path) -> None:
    cache = tmp / "jax-cache"
    out = str(tmp / "out.json")
    sides = {
        "seed script": ([str(HERE / "seed_process.py"), out], env(None)),
        "sepgen optimize": ([*OPTIMIZE, "-o", out], env(str(cache))),
        "sepgen optimize, cache off": ([*OPTIMIZE, "-o", out], env(None)),
    }
    timed_run(*sides["sepgen optimize"])  # fills the cache: the timed runs are second runs
    filled = entries(cache)
    times: dict[str, list[float]] = {k: [] for k in sides}
    for _ in range(runs):
        for name, (args, environ) in sides.items():
            times[name].append(timed_run(args, environ))
    med = {k: statistics.median(v) for k, v in times.items()}
    seed = med["seed script"]
    print(f"\nwhole process, median of {runs} alternating runs (seconds; min-max)")
    for name, t in med.items():
        spread = f"{min(times[name]):.2f}-{max(times[name]):.2f}"
        print(f"  {name:28s} {t:6.3f}  ({spread})   seed / this = {seed / t:4.2f}x")
    print("  goal: sepgen optimize (second run) >= 1.6x faster than the seed script")
    t = timed_run([*OPTIMIZE, *OTHER, "-o", out], env(str(cache)))
    print(f"\nother weights/steps/lr/prune, same shape and rank ({' '.join(OTHER)}): {t:.3f} s, "
          f"new cache entries {entries(cache) - filled} (0 = nothing compiled; {filled} after the first run)")


BREAKDOWN = r"""
import json, sys, time, io, contextlib
t0 = time.perf_counter()
import jax
t1 = time.perf_counter()
from collections import defaultdict
from jax._src import monitoring
dur = defaultdict(float)
monitoring.register_event_duration_secs_listener(lambda ev, secs, **kw: dur.__setitem__(ev, dur[ev] + secs))
import sepgen.cli
t2 = time.perf_counter()
with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
    sepgen.cli.main(sys.argv[1:])
t3 = time.perf_counter()
json.dump({"import jax": t1 - t0, "import sepgen.cli": t2 - t1, "command": t3 - t2, **dur}, sys.stdout)
"""


def breakdown(tmp: Path) -> None:
    cache = tmp / "jax-cache"
    out = str(tmp / "out.json")
    start = statistics.median(timed_run(["-c", "pass"], env(None)) for _ in range(5))
    print(f"\nwhere the time goes (one child process each; seconds)\n  python start-up             {start:.3f}")
    for label, c in (("cache off", None), ("cache warm", str(cache))):
        res = subprocess.run([PY, "-c", BREAKDOWN, *OPTIMIZE[2:], "-o", out], env=env(c), check=True,
                             capture_output=True, text=True, cwd=ROOT)
        d = json.loads(res.stdout)
        jax_t = {k.rsplit("/", 1)[-1]: v for k, v in d.items() if k.startswith("/jax/")}
        print(f"  {label}: import jax {d['import jax']:.3f}, import sepgen.cli {d['import sepgen.cli']:.3f}, "
              f"command {d['command']:.3f} of which trace {jax_t.get('jaxpr_trace_duration', 0):.3f}, "
              f"lower {jax_t.get('jaxpr_to_mlir_module_duration', 0):.3f}, "
              f"XLA compile or cache load {jax_t.get('backend_compile_duration', 0):.3f}")


def main() -> None:
    runs = int(sys.argv[sys.argv.index("--runs") + 1]) if "--runs" in sys.argv else 7
    print(f"python {sys.version.split()[0]}, {len(os.sched_getaffinity(0))} CPU core(s), "
          f"load average {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="sepgen-bench-") as tmp:
        whole_process(runs, Path(tmp))
        breakdown(Path(tmp))
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
