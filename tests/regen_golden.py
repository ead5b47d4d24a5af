"""Regenerate the golden shader snapshots under tests/golden (`make golden`).

    python -m tests.regen_golden

Each variant is a folder tests/golden/<variant>/ holding `options.json`, the emit options
it covers (naga-style: the test's input lives beside its expected output). This emits
`tests/data/disk50_rank4.json` with those options into the folder, removing files no
longer emitted. To add a variant, create its folder and options.json, then run this.
Review the diff before committing: every change in it is a change engines would see.

tests/data/disk50_rank4.json is the default fit of the seed's disk, made with
`sepgen optimize --kernel disk --size 50 --name disk50 -o tests/data/disk50_rank4.json`.
It is committed (not refitted here) so the snapshots do not depend on JAX's
floating point on the machine that regenerates them. SPIR-V variants keep their GLSL
sources and manifest; the `.spv` modules are left out (they depend on the glslang version).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FILTER = "tests/data/disk50_rank4.json"
GOLDEN = "tests/golden"
OPTIONS = "options.json"  # the variant's emit options; not an emitted file
# Not snapshotted: SPIR-V modules depend on the glslang version; spirv-val and the Vulkan tests check them.
BINARY_SUFFIXES = (".spv",)


def variants() -> dict[str, dict[str, Any]]:
    """variant name -> emit options, from tests/golden/*/options.json (sorted by name)."""
    root = ROOT / GOLDEN
    return {p.parent.name: json.loads(p.read_text(encoding="utf-8")) for p in sorted(root.glob(f"*/{OPTIONS}"))}


# Covers each language, version, stage and strategy at least once.
VARIANTS = variants()


def expected(variant: str) -> dict[str, str]:
    """The emitted files the golden folder of `variant` must hold (options.json aside)."""
    from sepgen import emit
    from sepgen.filters.filterfile import SeparableFilter

    filt = SeparableFilter.load(ROOT / FILTER)
    opts = VARIANTS[variant]
    command = emit.default_command(FILTER, opts, f"{GOLDEN}/{variant}")
    files = emit.render(filt, opts, command=command)
    return {path: text for path, text in files.items() if not path.endswith(BINARY_SUFFIXES)}


def snapshot(variant: str) -> dict[str, str]:
    """The emitted files the golden folder of `variant` holds now (options.json aside)."""
    folder = ROOT / GOLDEN / variant
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.iterdir()) if p.name != OPTIONS}


def main() -> int:
    from sepgen import emit

    for variant in VARIANTS:
        files = expected(variant)
        folder = ROOT / GOLDEN / variant
        for stale in sorted(set(snapshot(variant)) - set(files)):
            (folder / stale).unlink()
        changed = emit.write(files, folder)
        print(f"{GOLDEN}/{variant}: {len(files)} files, {len(changed)} changed", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
