"""`--descriptor-set` / `--binding-offset` (build keys `descriptor_set`, `binding_offset`): every
Vulkan / WebGPU binding of HLSL (`vk::binding`), WGSL and SPIR-V moves to the set and is shifted
by the offset, the manifest says so, and the moved shaders still run correctly (raw Vulkan for
SPIR-V and glslang's SPIR-V of the HLSL, WebGPU for WGSL). GLSL refuses the options; at the
defaults nothing changes (the goldens, tests/emit/test_emit.py).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sepgen import emit
from sepgen.common.errors import SepgenError
from sepgen.filters import reference
from sepgen.options import EmitOptions
from sepgen.verify.check import default_image
from tests.support import hand_filter

gpu = pytest.mark.gpu
PLACED = {"descriptor_set": 2, "binding_offset": 8}
VARIANTS = [(lang, stage) for lang in ("hlsl", "wgsl", "spirv") for stage in ("fragment", "compute")]


def _emit(folder: Path, lang: str, stage: str, **extra) -> Path:
    options = {"lang": lang, "stage": stage, **extra}
    if stage == "fragment":
        options["linear_sampling"] = True  # samplers too: every kind of binding moves
    emit.write(emit.render(hand_filter(), options), folder)
    return folder


def _declared(folder: Path) -> set[tuple[int, int]]:
    """(set, binding) of every resource the pass files declare."""
    found: set[tuple[int, int]] = set()
    for path in folder.iterdir():
        text = path.read_text(encoding="utf-8") if path.suffix in (".hlsl", ".wgsl", ".glsl") else ""
        found |= {(int(s), int(b)) for b, s in re.findall(r"vk::binding\((\d+), (\d+)\)", text)}
        found |= {(int(s), int(b)) for s, b in re.findall(r"@group\((\d+)\) @binding\((\d+)\)", text)}
        found |= {(int(s), int(b)) for s, b in re.findall(r"set = (\d+), binding = (\d+)", text)}
    return found


@pytest.mark.parametrize("lang,stage", VARIANTS)
def test_placement_moves_every_binding_and_is_recorded(tmp_path, lang: str, stage: str) -> None:
    plain = _declared(_emit(tmp_path / "plain", lang, stage))
    placed = _declared(_emit(tmp_path / "placed", lang, stage, **PLACED))
    assert plain and {s for s, _ in plain} == {0}
    assert placed == {(2, b + 8) for _, b in plain}
    manifest = json.loads((tmp_path / "placed" / "manifest.json").read_text(encoding="utf-8"))
    assert {k: manifest["options"][k] for k in PLACED} == PLACED
    plain_manifest = json.loads((tmp_path / "plain" / "manifest.json").read_text(encoding="utf-8"))
    assert not PLACED.keys() & plain_manifest["options"].keys()  # defaults: manifests as before
    if lang != "hlsl":  # WGSL / SPIR-V manifests spell out set and binding
        inputs = [i for p in manifest["passes"] for i in p["inputs"]]
        assert {i["set"] for i in inputs} == {2} and min(i["binding"] for i in inputs) == 8


def test_glsl_refuses_placement() -> None:
    with pytest.raises(SepgenError, match="apply to --lang hlsl, wgsl and spirv"):
        EmitOptions.from_dict({"lang": "glsl", "binding_offset": 4})
    with pytest.raises(SepgenError, match="descriptor_set must be <= 3"):
        EmitOptions.from_dict({"lang": "wgsl", "descriptor_set": 4})


def test_cli_flags(tmp_path) -> None:
    filt = hand_filter()
    src = tmp_path / "hand.json"
    filt.save(src)
    cmd = [sys.executable, "-m", "sepgen", "emit", str(src), "--lang", "wgsl", "--descriptor-set", "1",
           "--binding-offset", "16", "-o", str(tmp_path / "out")]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert "--descriptor-set 1 --binding-offset 16" in manifest["command"]
    bad_cmd = [*cmd[:5], "--lang", "wgsl", "--binding-offset", "-1", "-o", str(tmp_path / "bad")]
    bad = subprocess.run(bad_cmd, capture_output=True, text=True)
    assert bad.returncode == 2 and "binding_offset must be >= 0" in bad.stderr and "Traceback" not in bad.stderr
    assert not (tmp_path / "bad").exists()


@gpu
@pytest.mark.parametrize("lang,stage", VARIANTS)
def test_placed_shaders_run(tmp_path, vulkan_runner, webgpu_runner, cross_tools, lang: str, stage: str) -> None:
    folder = _emit(tmp_path / "placed", lang, stage, **PLACED)
    img = default_image()
    runner = webgpu_runner if lang == "wgsl" else vulkan_runner
    out = runner.run(folder, img)
    ref = reference.apply_filter(img, hand_filter())
    rel = float(np.max(np.abs(out - ref)) / np.max(np.abs(ref)))
    assert rel <= 1e-4, f"{lang} {stage}: relative error {rel:.3g}"


def test_build_keys(tmp_path) -> None:
    """`descriptor_set` / `binding_offset` in a build config place WGSL's, HLSL's and SPIR-V's
    bindings; the same filter's GLSL is emitted without them (GLSL binds units)."""
    from sepgen.build.config import load_config

    hand = tmp_path / "hand.json"
    hand_filter().save(hand)
    (tmp_path / "sepgen.toml").write_text(
        '[[filter]]\nname = "hand"\nkernel = "file:hand.json"\nlang = ["glsl", "wgsl"]\n'
        'descriptor_set = 1\nbinding_offset = 4\n', encoding="utf-8")
    (f,) = load_config(tmp_path / "sepgen.toml").filters
    assert f.emit_options("wgsl")["descriptor_set"] == 1 and f.emit_options("wgsl")["binding_offset"] == 4
    assert "binding_offset" not in f.emit_options("glsl")
    bad = '[[filter]]\nname = "hand"\nkernel = "disk"\nsize = 9\nbinding_offset = "4"\n'
    (tmp_path / "bad.toml").write_text(bad, encoding="utf-8")
    with pytest.raises(SepgenError, match="binding_offset must be int"):
        load_config(tmp_path / "bad.toml")


@gpu
@pytest.mark.parametrize("lang", ["wgsl", "spirv"])
@pytest.mark.parametrize("source", ["uniform", "texture"])
def test_placed_scaled_shaders_run(tmp_path, vulkan_runner, webgpu_runner, lang: str, source: str) -> None:
    """The scale's uniform buffer (offset + 192) and scale map (the next texture) move too."""
    from sepgen.filters import scaling
    from tests.support import scalable

    filt = scalable()
    folder = tmp_path / "placed"
    emit.write(emit.render(filt, {"lang": lang, "scale_source": source, **PLACED}), folder)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    if source == "uniform":
        assert (manifest["scale"]["set"], manifest["scale"]["binding"]) == (2, 200)
    img = default_image(4, (37, 53))
    scale = 0.5 if source == "uniform" else np.linspace(0.0, 1.0, 37 * 53).reshape(37, 53)
    runner = webgpu_runner if lang == "wgsl" else vulkan_runner
    out = runner.run(folder, img, scale)
    ref = scaling.apply_scaled(img, filt.vertical, filt.horizontal, filt.origin, scale)
    assert np.abs(out - ref).max() <= 1e-3 * np.abs(ref).max()


@gpu
@pytest.mark.parametrize("stage", ["fragment", "compute"])
def test_slang_places_the_hlsl_too(tmp_path, vulkan_runner, stage: str) -> None:
    """Slang's SPIR-V of the placed HLSL (its own reading of `vk::binding`) runs where the manifest says."""
    from tests.gpu.test_hlsl_toolchains import slang_folder
    from tests.support import slang_compiler, unavailable

    if not slang_compiler.available() or shutil.which("spirv-val") is None:
        unavailable("Slang (pip install slangpy) or spirv-val (apt-get install spirv-tools) is not installed")
    _emit(tmp_path / "hlsl", "hlsl", stage, **PLACED)
    slang_folder(tmp_path / "hlsl", tmp_path / "slang")
    img = default_image()
    out = vulkan_runner.run(tmp_path / "slang", img)
    ref = reference.apply_filter(img, hand_filter())
    assert float(np.max(np.abs(out - ref)) / np.max(np.abs(ref))) <= 1e-4
