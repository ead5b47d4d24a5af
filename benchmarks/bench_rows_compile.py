"""Benchmark: how long Mesa takes to compile a rows filter's shaders, per target, before / after.

The rows gather reads border pixels through `<name>_border`. On GL it loops over a constant table
of the reads; on the targets that run through SPIR-V (Vulkan GLSL, HLSL, WGSL) it is straight-line
code, because lavapipe compiles a table indexed at run time as a ladder of compares. This times
the first run of each filter (compile-dominated: a 300x40 image) with Mesa's shader cache off, for
the binary and the anti-aliased disk 50 of `tests/gpu/test_rows_gpu.py`, every target and read
mode, on llvmpipe (GL) and lavapipe (Vulkan, and wgpu-py on it for WGSL).

`--baseline-templates DIR` times the same filters emitted from another templates folder too (an
older checkout's `templates/`, e.g. `git archive <rev> templates | tar -x -C /tmp/old`), in the
same process, one after the other per filter, and prints after / before.

Run: PYTHONPATH=. .venv/bin/python benchmarks/bench_rows_compile.py [--baseline-templates OLD/templates]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ["MESA_SHADER_CACHE_DISABLE"] = "true"  # each run compiles: the cache would hide it
os.environ.setdefault("XDG_RUNTIME_DIR", tempfile.mkdtemp(prefix="bench-xdg-"))  # wgpu-py headless
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from sepgen import emit
from sepgen.run import registry
from sepgen.run.program import load
from sepgen.verify.check import default_image
from tests.gpu.test_rows_gpu import aa_disk_rows, binary_disk

TARGETS = {  # name: (options, runner)
    "glsl330 point": ({"linear_sampling": False}, "gl"),
    "glsl330 linear": ({"linear_sampling": True}, "gl"),
    "glsl430 compute": ({"stage": "compute"}, "gl"),
    "spirv point": ({"lang": "spirv"}, "vulkan"),
    "spirv linear": ({"lang": "spirv", "linear_sampling": True}, "vulkan"),
    "hlsl point": ({"lang": "hlsl", "linear_sampling": False}, "vulkan"),
    "hlsl linear": ({"lang": "hlsl"}, "vulkan"),
    "wgsl point": ({"lang": "wgsl", "linear_sampling": False}, "webgpu"),
    "wgsl linear": ({"lang": "wgsl", "linear_sampling": True}, "webgpu"),
}


def first_run(runner, filt, options: dict, templates: str | None, img: np.ndarray) -> tuple[float, np.ndarray]:
    with tempfile.TemporaryDirectory() as tmp:
        emit.write(emit.render(filt, options, templates_dir=templates), tmp)
        program = load(tmp)
        t = time.perf_counter()
        out = runner.run(program, img)
        return time.perf_counter() - t, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline-templates", help="another templates folder, timed beside this one")
    args = ap.parse_args()
    img = default_image(4, (40, 300))
    runners: dict[str, registry.Runner] = {}
    baseline = f" {'before':>7s} {'ratio':>6s}" if args.baseline_templates else ""
    print(f"{'filter':8s} {'target':16s} {'after':>7s}{baseline}")
    for label, make in (("binary", binary_disk), ("aa", aa_disk_rows)):
        filt = make()
        for target, (options, kind) in TARGETS.items():
            runner = runners.setdefault(kind, registry.make(kind))
            after, out = first_run(runner, filt, options, None, img)
            line = f"{label:8s} {target:16s} {after:6.2f}s"
            if args.baseline_templates:
                before, ref = first_run(runner, filt, options, args.baseline_templates, img)
                same = np.abs(out - ref).max() <= 1e-5 * np.abs(ref).max()
                line += f" {before:6.2f}s {after / before:6.2f}" + ("" if same else "  OUTPUTS DIFFER")
            print(line, flush=True)


if __name__ == "__main__":
    main()
