"""Emitted HLSL in Vulkan toolchains besides glslang: Slang (and, by the same attributes, DXC).

Every resource has `[[vk::binding(N, 0)]]` beside its `register()` (docs/targets.md's scheme),
so Slang puts no two resources on one binding (its E39001 "explicit binding overlap") and
needs no register shifts (E39029); entry points carry `[shader("...")]`, so Slang's library
compilation (no `-entry`) finds them by name. The fragment and compute passes Slang compiles,
as emitted, run on sepgen's raw Vulkan runner against the NumPy reference.

Slang is PyPI `slangpy` (the `test` extra): these tests skip without it, and fail under CI=true.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from sepgen import emit
from sepgen.common import tools
from sepgen.filters import reference
from sepgen.run.vulkan.reflect import reflect
from sepgen.verify.check import default_image, tolerance_for
from tests.support import disk_filter, hand_filter, slang_compiler, sparse_filter, unavailable

gpu = pytest.mark.gpu
HLSL_VARIANTS = [o for o in emit.option_combinations() if o["lang"] == "hlsl"]
SCALED = [{"lang": "hlsl", "scale_source": "uniform"}, {"lang": "hlsl", "scale_source": "texture"}]
IDS = ["-".join(str(v) for k, v in o.items() if k not in ("lang", "glsl_version")) for o in HLSL_VARIANTS]
SPIRV_PROFILE = ("-profile", "spirv_1_0")  # the raw Vulkan runner's device is Vulkan 1.0
FILTERS = [pytest.param(disk_filter(), id="disk50"),
           pytest.param(sparse_filter("wide", 11, (7, 9), seed=4), id="rank11")]  # two MRT groups, 11 registers each


@pytest.fixture(scope="module")
def slang() -> None:
    if not slang_compiler.available():
        unavailable("Slang is not installed (pip install slangpy, or the test extra)")


def emitted(filt, options: dict, folder: Path) -> dict:
    emit.write(emit.render(filt, options), folder)
    return json.loads((folder / "manifest.json").read_text())


def slang_spirv(path: Path, profile: tuple[str, ...] = SPIRV_PROFILE) -> tuple[bytes, str]:
    """Slang's library compilation of one emitted file (no -entry, no shifts), E39001 an error."""
    code, log = slang_compiler.compile_file(str(path), *profile, "-warnings-as-errors", "39001,39029")
    return slang_compiler.without_source_language(code), log


@pytest.mark.parametrize("filt", FILTERS)
@pytest.mark.parametrize("options", HLSL_VARIANTS + SCALED, ids=IDS + ["scaled-uniform", "scaled-texture"])
def test_slang_compiles_every_emitted_hlsl_file_as_emitted(slang, tmp_path, filt, options) -> None:
    doc = emitted(filt, options, tmp_path)
    for f in doc["files"]:
        if f["lang"] != "hlsl" or f["kind"] != "standalone":
            continue
        code, log = slang_spirv(tmp_path / f["path"])
        assert "E39001" not in log and "E39029" not in log, log
        info = reflect(code, f["path"])
        assert info.entry_points == {f["entry"]: f["stage"]}, f["path"]  # found by name, in library compilation
        for (group, binding), (kind, _) in info.resources.items():
            assert group == 0 and binding - BASES[kind] in _registers(doc, f["path"], kind), (f["path"], kind, binding)


BASES = {"texture": tools.TEXTURE_BASE, "sampler": tools.SAMPLER_BASE, "storage": tools.STORAGE_BASE,
         "uniform": tools.UNIFORM_BASE}  # docs/targets.md: binding = base + register


def _registers(doc: dict, path: str, kind: str) -> list[int]:
    """The registers of `kind` the manifest gives the pass of file `path`."""
    p = next(p for p in doc["passes"] if path in (p.get("vertex"), p.get("fragment"), p.get("compute")))
    return {"texture": [i["binding"] for i in p["inputs"]],
            "sampler": [i["binding"] for i in p["inputs"] if i["filter"] == "linear"],
            "storage": [o.get("binding") for o in p["outputs"]], "uniform": [doc.get("scale", {}).get("binding")]}[kind]


def test_sm5_and_glslang_still_compile_the_attributed_hlsl(tmp_path) -> None:
    """glslang's HLSL front end (SM5 semantics, the GL path) ignores the Vulkan attributes, and its
    Vulkan path agrees with them."""
    doc = emitted(hand_filter(), {"lang": "hlsl", "stage": "compute", "precision": "fp16"}, tmp_path)
    try:
        for f in doc["files"]:
            if f["kind"] == "standalone":
                text = (tmp_path / f["path"]).read_text()
                assert "[[vk::binding(" in text and '[shader("compute")]' in text
                code = tools.compile_hlsl(text, f["entry"], f["stage"], f["path"])
                tools.validate(code, f["path"])
                assert {b for _, b in reflect(code, f["path"]).resources} >= {0, 128}
                glsl = tools.hlsl_to_glsl(text, f["entry"], f["stage"], f["path"])
                assert not re.search(r"binding = (6[4-9]|1[0-9][0-9])", glsl), glsl  # GL units are the registers
    except tools.SepgenError as exc:
        pytest.skip(str(exc))


def slang_folder(src: Path, dst: Path) -> None:
    """`src`'s HLSL passes compiled by Slang, as a SPIR-V folder the raw Vulkan runner loads: the same
    manifest, each .hlsl file replaced by Slang's module (registers map as the manifest says)."""
    dst.mkdir()
    doc = json.loads((src / "manifest.json").read_text())
    for f in doc["files"]:
        if f["lang"] == "hlsl" and f["kind"] == "standalone":
            code, _ = slang_spirv(src / f["path"])
            if f["stage"] == "vertex":
                # Slang reads SV_VertexID as VertexIndex - BaseVertex (D3D's meaning), which needs
                # DrawParameters (Vulkan 1.1); the raw runner's device is 1.0: glslang's module
                _spirv_val(slang_spirv(src / f["path"], ())[0], f["path"], "vulkan1.2")
                code = tools.compile_hlsl((src / f["path"]).read_text(), f["entry"], f["stage"], f["path"])
            tools.validate(code, f["path"])
            (dst / (f["path"] + ".spv")).write_bytes(code)
            f.update(path=f["path"] + ".spv", lang="spirv")
    for p in doc["passes"]:
        for key in ("vertex", "fragment", "compute"):
            if p.get(key):
                p[key] += ".spv"
    (dst / "manifest.json").write_text(json.dumps(doc))


def _spirv_val(code: bytes, name: str, env: str) -> None:
    path = Path(tools.tempfile.mkdtemp(prefix="sepgen-slang-")) / "m.spv"
    path.write_bytes(code)
    r = subprocess.run(["spirv-val", "--target-env", env, str(path)], capture_output=True, text=True)
    shutil.rmtree(path.parent)
    assert r.returncode == 0, f"{name}: {r.stdout}{r.stderr}"


@gpu
@pytest.mark.parametrize("options", HLSL_VARIANTS, ids=IDS)
def test_slangs_spirv_of_the_emitted_passes_runs(slang, vulkan_runner, tmp_path, options) -> None:
    if shutil.which("spirv-val") is None:
        unavailable("spirv-val is not installed (apt-get install spirv-tools)")
    filt = disk_filter()
    emitted(filt, options, tmp_path / "hlsl")
    slang_folder(tmp_path / "hlsl", tmp_path / "slang")
    img = default_image(channels=4)
    ref = reference.apply_filter(img, filt)
    out = vulkan_runner.run(tmp_path / "slang", img)
    rel = float(np.max(np.abs(out - ref)) / np.max(np.abs(ref)))
    assert rel <= tolerance_for(filt, options, img, ref), rel
