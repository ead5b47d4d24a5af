"""Every emitted shader compiles with the reference compiler (glslangValidator).

GLSL: stage from the file suffix; 450 files also as Vulkan SPIR-V (-V). HLSL: `-D -V`
(glslang's HLSL front end always generates SPIR-V, which is also how the GPU runner
cross-compiles HLSL through spirv-cross). Include files are compiled inside a small
wrapper shader. Without glslangValidator these tests skip, or fail with CI=true (conftest's one rule).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from sepgen import emit
from sepgen.filters.filterfile import SeparableFilter
from tests.support import disk_filter, sparse_filter

ROOT = Path(__file__).resolve().parents[2]
GLSLANG = shutil.which("glslangValidator")
STAGE = {"vertex": "vert", "fragment": "frag", "compute": "comp"}


@pytest.fixture(autouse=True)
def need_glslang(glslang):
    """Every test here runs glslangValidator (skipped without it, failed with CI=true)."""


def filters() -> dict[str, SeparableFilter]:
    # odd: rank 10 (two MRT groups), zero taps, off-centre origin, odd sizes
    return {"disk50": disk_filter(), "odd": sparse_filter("odd", 10, (7, 5), origin=(1, 4), seed=4)}


FILTERS = filters()


def compile_file(path: Path, lang: str, stage: str, entry: str | None, vulkan: bool = False) -> None:
    if lang == "glsl":
        cmd = [GLSLANG, "-S", STAGE[stage]] + (["-V", "-o", os.devnull] if vulkan else []) + [str(path)]
    else:
        cmd = [GLSLANG, "-D", "-V", "-e", entry, "-S", STAGE[stage], "-o", os.devnull, str(path)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, f"{' '.join(cmd)}\n{r.stdout}{r.stderr}"


def include_wrapper(text: str, lang: str, version: str, stage: str) -> str:
    if lang == "hlsl":
        return text + "\nfloat4 ps_main(float4 p : SV_Position) : SV_Target0 { return p; }\n"
    head = {"330": "#version 330 core", "300es": "#version 300 es\nprecision highp float;\nprecision highp int;",
            "450": "#version 450 core"}[version]
    if stage == "compute":
        head = "#version 430 core" if version == "330" else head
        return head + "\n" + text + "\nlayout(local_size_x = 1) in;\nvoid main() {}\n"
    return head + "\n" + text + "\nlayout(location = 0) out vec4 o;\nvoid main() { o = vec4(0.0); }\n"


def combos() -> list[tuple[str, dict]]:
    # fp16 changes only the image format qualifiers: the small filter skips it to keep the suite quick.
    # WGSL is checked by naga and SPIR-V by glslang + spirv-val at emit time (test_emit_wgsl_spirv.py).
    return [(name, opts) for name in FILTERS for opts in emit.option_combinations()
            if (name == "disk50" or opts["precision"] == "fp32") and opts["lang"] in ("glsl", "hlsl")]


def combo_id(c: tuple[str, dict]) -> str:
    name, o = c
    lang = o["lang"] + (o["glsl_version"] if o["lang"] == "glsl" else "")
    return (f"{name}-{lang}-{o['stage']}-{o['strategy']}-"
            f"{'linear' if o['linear_sampling'] else 'point'}-{o['precision']}")


@pytest.mark.parametrize("case", combos(), ids=combo_id)
def test_every_emitted_file_compiles(case, tmp_path):
    name, opts = case
    files = emit.render(FILTERS[name], opts)
    emit.write(files, tmp_path)

    man = json.loads(files["manifest.json"])
    assert man["files"]
    jobs = []  # compile_file arguments: one glslangValidator process each
    for f in man["files"]:
        path = tmp_path / f["path"]
        if f["kind"] == "include":
            wrapped = tmp_path / ("wrap_" + f["path"] + (".hlsl" if f["lang"] == "hlsl" else ".glsl"))
            wrapped.write_text(include_wrapper(path.read_text(), f["lang"], opts["glsl_version"], opts["stage"]))
            jobs.append((wrapped, f["lang"],
                         "compute" if opts["stage"] == "compute" and f["lang"] == "glsl" else "fragment",
                         "ps_main"))
            continue
        jobs.append((path, f["lang"], f["stage"], f["entry"]))
        if f["lang"] == "glsl" and opts["glsl_version"] == "450" and opts["precision"] == "fp32":
            jobs.append((path, "glsl", f["stage"], None, True))
    # GLSL checked without SPIR-V: one glslangValidator process for all of them (each file its own
    # compilation unit, its stage from its suffix): its start-up (~50 ms) is most of a small file's cost
    batch = [job[0] for job in jobs if job[1] == "glsl" and len(job) == 4 and job[0].name.endswith(
        f".{STAGE[job[2]]}.glsl")]
    if batch:
        r = subprocess.run([GLSLANG, *map(str, batch)], capture_output=True, text=True, cwd=tmp_path)
        assert r.returncode == 0, f"glslangValidator {' '.join(p.name for p in batch)}\n{r.stdout}{r.stderr}"
    rest = [job for job in jobs if job[0] not in batch]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:  # the processes are independent
        list(pool.map(lambda job: compile_file(*job), rest))  # re-raises the first failed assertion
