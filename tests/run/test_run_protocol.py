"""sepgen.run: one program loader, one Runner interface, one registry; sepgen.apply; verify's Variants."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sepgen import emit
from sepgen.common import tools
from sepgen.common.errors import SepgenError
from sepgen.filters import reference
from sepgen.plan.passmodel import ScaleEntry
from sepgen.run import program, registry
from sepgen.run.webgl import webgl_job
from sepgen.verify import check as verify
from sepgen.verify.runfilter import Runners
from tests.support import DISK, ROOT, hand_filter, scalable

gpu = pytest.mark.gpu
# the runner of each language, and the options its scaled folder needs
LANG_RUNNER = {"glsl": ("gl_runner", {"lang": "glsl"}), "spirv": ("vulkan_runner", {"lang": "spirv"}),
               "wgsl": ("webgpu_runner", {"lang": "wgsl"}),
               "glsl300es": ("webgl_runner", {"lang": "glsl", "glsl_version": "300es"})}


def _message(runner, folder: Path, img: np.ndarray, scale) -> str:
    with pytest.raises(SepgenError) as info:
        runner.run(program.load(folder), img, scale)
    return str(info.value)


# -- the loader ---------------------------------------------------------------------------------

def test_load_reads_every_pass_file_once_after_the_path_checks(tmp_path) -> None:
    emit.write(emit.render(hand_filter(), {"lang": "hlsl"}), tmp_path / "ok")
    prog = program.load(tmp_path / "ok")
    used = {f for p in prog.manifest.passes for f in (p.vertex, p.fragment, p.compute) if f}
    assert set(prog.sources) == used and prog.text(sorted(used)[0]).strip()
    doc = json.loads((tmp_path / "ok" / "manifest.json").read_text())
    doc["passes"][0]["fragment"] = "../evil.hlsl"
    doc["files"].append({"path": "../evil.hlsl", "lang": "hlsl", "stage": "fragment", "entry": "main"})
    (tmp_path / "ok" / "manifest.json").write_text(json.dumps(doc))
    with pytest.raises(SepgenError, match="file '../evil.hlsl' is outside the folder"):
        program.load(tmp_path / "ok")  # before any runner or driver


def test_scale_inputs_are_checked_alike_for_every_runner() -> None:
    where = "out/manifest.json"
    uniform = ScaleEntry("uniform", "u_scale")
    texture = ScaleEntry("texture", "u_scale_map", texture="scale", channel="r")
    cases = [(None, 0.5, "out/manifest.json has fixed taps: it takes no scale"),
             (uniform, None, "out/manifest.json has scaled taps: give a scale"),
             (uniform, np.full((2, 3), 0.5), "reads the scale from a uniform: give one value, not a map"),
             (uniform, 1.5, "scale values must lie in [0, 1]: 1.5 is outside"),
             (texture, np.full((2, 4), 0.5), "scale map is 4x2, the image is 3x2")]
    for entry, scale, message in cases:
        with pytest.raises(SepgenError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
            program.scale_inputs(entry, scale, 2, 3, where)
    got = program.scale_inputs(texture, 0.25, 2, 3, where)
    assert got.textures["scale"].shape == (2, 3, 4) and np.all(got.textures["scale"][:, :, 0] == 0.25)
    assert program.scale_inputs(uniform, 0.5, 2, 3, where).uniform == np.array([0.5, 0, 0, 0], np.float32).tobytes()


def test_the_webgl_page_enables_the_extensions_the_manifest_lists(tmp_path) -> None:
    emit.write(emit.render(hand_filter(), {"lang": "glsl", "glsl_version": "300es"}), tmp_path)
    doc = json.loads((tmp_path / "manifest.json").read_text())
    doc["extensions"] = [*doc["extensions"], "WEBGL_listed_by_the_manifest"]
    (tmp_path / "manifest.json").write_text(json.dumps(doc))
    job = webgl_job(program.load(tmp_path), np.zeros((4, 6), np.float32))
    assert "WEBGL_listed_by_the_manifest" in job["extensions"] and "EXT_color_buffer_float" in job["extensions"]


# -- the registry and Runners -------------------------------------------------------------------

def test_registry_names_and_runners_injection() -> None:
    assert list(registry.RUNNERS) == ["gl", "webgl", "vulkan", "webgpu"]
    with pytest.raises(SepgenError, match="unknown runner 'metal'"):
        registry.make("metal")

    class Fake:
        name = "gl"
        device = "OpenGL: a fake"

        def run(self, prog, img, scale=None):
            return img

    fake = Fake()
    assert isinstance(fake, registry.Runner) and not isinstance(fake, registry.BatchRunner)
    runners = Runners(fake)
    assert runners.get("gl") is fake and runners.devices() == ["OpenGL: a fake"]
    runners.put(fake, "webgpu")
    assert runners.get("webgpu") is fake and runners.made() == {"gl": "OpenGL: a fake", "webgpu": "OpenGL: a fake"}
    with pytest.raises(SepgenError, match="unknown runner"):
        runners.put(fake, "cuda")


def test_one_tool_module_names_every_package(monkeypatch) -> None:
    monkeypatch.setattr(tools.shutil, "which", lambda name: None)
    for tool, package in (("glslangValidator", "glslang-tools"), ("spirv-cross", "spirv-cross"),
                          ("spirv-val", "spirv-tools")):
        with pytest.raises(SepgenError, match=f"{tool} not found on PATH \\(install the Debian package {package}\\)"):
            tools.require_tool(tool)
    with pytest.raises(SepgenError, match="install the Debian package chromium"):
        tools.find_chromium()
    with pytest.raises(SepgenError, match="unknown shader stage 'geometry'"):
        tools.compile_hlsl("", "main", "geometry", "x.hlsl")


@gpu
def test_every_runner_follows_the_protocol(gl_runner, vulkan_runner, webgpu_runner, webgl_runner) -> None:
    for runner in (gl_runner, vulkan_runner, webgpu_runner, webgl_runner):
        assert isinstance(runner, registry.Runner)
        assert runner.device.startswith(registry.RUNNERS[runner.name] + ": ")
    assert isinstance(webgl_runner, registry.BatchRunner) and not isinstance(gl_runner, registry.BatchRunner)


@gpu
@pytest.mark.parametrize("lang", list(LANG_RUNNER))
def test_every_runner_refuses_a_missing_or_unwanted_scale_with_one_message(request, tmp_path, lang) -> None:
    fixture, options = LANG_RUNNER[lang]
    runner = request.getfixturevalue(fixture)
    img = verify.default_image(3, (8, 10))
    filt = scalable()
    fixed = type(filt)(filt.name, filt.target, filt.vertical, filt.horizontal)
    emit.write(emit.render(fixed, options), tmp_path / "fixed")
    emit.write(emit.render(filt, {**options, "scale_source": "uniform"}), tmp_path / "scaled")
    assert (_message(runner, tmp_path / "fixed", img, 0.5)
            == f"{tmp_path / 'fixed' / 'manifest.json'} has fixed taps: it takes no scale")
    # the GL runner used to run a scaled folder at scale 1 when given none
    assert (_message(runner, tmp_path / "scaled", img, None)
            == f"{tmp_path / 'scaled' / 'manifest.json'} has scaled taps: give a scale")


# -- verify: Variants, one execution path ---------------------------------------------------------

@gpu
def test_scaled_variants_run_in_workers_at_their_scale(gl_runner) -> None:
    todo = [v for v in verify.scaled_variants(("glsl",)) if v.options["glsl_version"] == "330"
            and v.options["strategy"] == "mrt" and v.options["precision"] == "fp32"]
    assert [v.scale for v in todo] == [0.3, 0.5, 1.0, "map"]
    lines: list[str] = []
    results = verify.verify(scalable(), runner=gl_runner, only=todo, jobs=2, progress=lines.append)
    assert all(r.ok for r in results), [(r.name, r.error, r.max_rel) for r in results]
    # every scaled variant ran in a worker (before, they ran here, unannounced)
    assert [line.split("] ", 1)[0] for line in lines] == ["[1/4", "[2/4", "[3/4", "[4/4"]
    assert sorted(line.split("] ", 1)[1] for line in lines) == sorted(f"{v.name} done" for v in todo)


# -- sepgen.apply ----------------------------------------------------------------------------------

def test_apply_is_a_library_call_the_cli_shares(tmp_path) -> None:
    import sepgen
    from sepgen.cli import main

    img = np.random.default_rng(0).random((12, 15, 3)).astype(np.float32)
    np.save(tmp_path / "in.npy", img)
    assert main(["apply", str(DISK), "-i", str(tmp_path / "in.npy"), "-o", str(tmp_path / "out.npy"), "-q"]) == 0
    out = sepgen.apply(str(DISK), img)
    assert out.dtype == np.float32 and out.shape == img.shape
    np.testing.assert_array_equal(out, np.load(tmp_path / "out.npy"))
    filt = sepgen.SeparableFilter.load(DISK)
    np.testing.assert_allclose(out, reference.apply_filter(img, filt), rtol=1e-6, atol=1e-6)
    with pytest.raises(SepgenError, match="backend must be one of numpy, gpu"):
        sepgen.apply(filt, img, backend="cuda")
    with pytest.raises(SepgenError, match="apply only to the gpu backend"):
        sepgen.apply(filt, img, options={"lang": "hlsl"})


def test_apply_as_a_library_leaves_jax_out(tmp_path) -> None:
    code = ("import sys, numpy as np, sepgen\n"
            f"out = sepgen.apply({str(DISK)!r}, np.ones((6, 7), np.float32), scale=None)\n"
            "assert out.shape == (6, 7)\n"
            "assert 'jax' not in sys.modules, 'apply imported jax'\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr


@gpu
def test_apply_on_the_gpu_matches_numpy(gl_runner) -> None:
    import sepgen

    filt = sepgen.SeparableFilter.load(DISK)
    img = verify.default_image(3, (20, 24))
    out = sepgen.apply(filt, img, "gpu", {"lang": "glsl", "linear_sampling": False}, runner=gl_runner)
    ref = sepgen.apply(filt, img)
    assert np.max(np.abs(out - ref)) <= 1e-4 * np.max(np.abs(ref))
    scaled = sepgen.apply(scalable(), img, "gpu", scale=0.5, runner=gl_runner)
    assert np.max(np.abs(scaled - sepgen.apply(scalable(), img, scale=0.5))) <= 1e-3
