"""Regenerate the golden shader snapshots under tests/golden (`make golden`).

    python -m tests.regen_golden

Emits `tests/data/disk50_rank4.json` for each variant in VARIANTS into
tests/golden/<variant>/, removing files no longer emitted. Review the diff
before committing: every change in it is a change engines would see.

tests/data/disk50_rank4.json is the default fit of the seed's disk, made with
`sepgen optimize --kernel disk --size 50 --name disk50 -o tests/data/disk50_rank4.json`.
It is committed (not refitted here) so the snapshots do not depend on JAX's
floating point on the machine that regenerates them.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FILTER = "tests/data/disk50_rank4.json"
GOLDEN = "tests/golden"

# name -> emit options; covers each language, version, stage and strategy at least once.
VARIANTS: dict[str, dict[str, Any]] = {
    "glsl330_mrt": {},
    "glsl330_mrt_linear": {"linear_sampling": True},
    "glsl300es_per_component_linear_fp16": {"glsl_version": "300es", "strategy": "per-component",
                                            "linear_sampling": True, "precision": "fp16"},
    "glsl450_compute_mrt": {"glsl_version": "450", "stage": "compute"},
    "hlsl_mrt_linear": {"lang": "hlsl", "linear_sampling": True},
    "hlsl_compute_per_component": {"lang": "hlsl", "stage": "compute", "strategy": "per-component"},
}


def expected(variant: str) -> dict[str, str]:
    """The files the golden folder of `variant` must hold."""
    from sepgen import emit
    from sepgen.filterfile import SeparableFilter

    filt = SeparableFilter.load(ROOT / FILTER)
    opts = VARIANTS[variant]
    command = emit.default_command(FILTER, opts, f"{GOLDEN}/{variant}")
    return emit.render(filt, opts, command=command)


def main() -> int:
    from sepgen import emit

    root = ROOT / GOLDEN
    for stale in sorted(p for p in root.iterdir() if p.is_dir() and p.name not in VARIANTS) if root.is_dir() else []:
        shutil.rmtree(stale)
    for variant in VARIANTS:
        files = expected(variant)
        folder = root / variant
        for old in sorted(folder.glob("*")) if folder.is_dir() else []:
            if old.name not in files:
                old.unlink()
        changed = emit.write(files, folder)
        print(f"{GOLDEN}/{variant}: {len(files)} files, {len(changed)} changed", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
