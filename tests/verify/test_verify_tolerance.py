"""A verify that catches small bugs (issue 19, item 5): linear-sampling tolerances from each
runner's measured bilinear weights (`sepgen.verify.probe`), a ⅛- and a 1/16-texel shift of the
vertical bilinear fetches failing, missing runners reported (the rest still verified), `sepgen
runners`, and the CI example installing what its config needs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sepgen import kernels
from sepgen.cli import main
from sepgen.common import tools
from sepgen.common.errors import SepgenError
from sepgen.filters import reference
from sepgen.filters.filterfile import SeparableFilter
from sepgen.run import registry
from sepgen.verify import check as verifying, probe
from sepgen.verify.runfilter import Runners
from tests.support import ROOT, random_filter

VULKAN_MISSING = "no Vulkan device; install the Debian packages mesa-vulkan-drivers libvulkan1"


def disk31() -> SeparableFilter:
    """The issue's 31 disk, SVD rank 4 (NumPy: no fit, no JAX)."""
    target = kernels.disk(31)
    u, s, vt = np.linalg.svd(target)
    root = np.sqrt(s[:4])
    return SeparableFilter("disk31", target, (u[:, :4] * root).T, vt[:4] * root[:, None])


def run(capsys, *args) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


# -- the probe, without a driver ----------------------------------------------------------------

class ProbeFake:
    """A runner that returns the probe's output as a driver with `bits` fractional weight bits would."""

    name = "gl"
    device = "OpenGL: a fake"

    def __init__(self, bits: int | None, fail: bool = False) -> None:
        self.bits, self.fail, self.calls = bits, fail, 0

    def run(self, program, img, scale=None):
        self.calls += 1
        if self.fail:
            raise SepgenError("cannot create an OpenGL context (a fake)")
        filt = probe.probe_filter()
        h = filt.horizontal.copy()
        if self.bits is not None:
            f = np.round(h[0, 1::3] * 2**self.bits) / 2**self.bits  # the driver's weight for fraction f
            h[0, 0::3], h[0, 1::3] = 1.0 - f, f
        return reference.convolve_separable(img, filt.vertical, h, filt.origin).astype(np.float32)


@pytest.mark.parametrize("bits, expected", [(8, 2.0**-8), (6, None), (None, 2.0**-23)])
def test_probe_derives_the_fraction_bits(bits, expected) -> None:
    """8-bit hardware weights (error ≤ 2^-9) keep the old 2^-8; exact weights give 2^-23 (one bit
    of margin under float32); worse than 8 bits is not believed (fallback 2^-8, with a note)."""
    got = probe.measure(ProbeFake(bits), 131)
    if expected is None:
        assert got.bound == probe.FALLBACK and "implausible" in got.note and got.measured > 2.0**-8
    else:
        assert got.bound == expected and got.measured <= got.bound and got.note == ""
    assert got.size == 131 and f"2^-{got.bits}" in got.describe()


def test_probe_falls_back_when_it_cannot_run_and_is_measured_once_per_runner() -> None:
    failing = ProbeFake(None, fail=True)
    got = probe.measure(failing)
    assert got.bound == probe.FALLBACK and got.measured is None and "not measured" in got.describe()
    fake = ProbeFake(8)
    runners = Runners(fake)
    assert runners.bilinear("gl", 77).bound == 2.0**-8 and runners.bilinear("gl", 77).bound == 2.0**-8
    assert Runners(fake).bilinear("gl", 77).bound == 2.0**-8
    assert fake.calls == 1 and runners.probes()["gl"].size == probe.MIN_SIZE


def test_tolerance_takes_the_measured_bilinear_error() -> None:
    filt = disk31()
    img = verifying.default_image()
    ref = reference.apply_filter(img, filt)
    linear = {"precision": "fp32", "linear_sampling": True}
    point = {"precision": "fp32", "linear_sampling": False}
    assert verifying.tolerance_for(filt, linear, img, ref) > 1e-2  # the 8-bit fallback: what let ⅛ texel pass
    tight = verifying.tolerance_for(filt, linear, img, ref, bilinear=2.0**-17)
    assert verifying.tolerance_for(filt, point, img, ref) < tight <= 1e-4
    same = verifying.tolerance_for(filt, point, img, ref)
    assert verifying.tolerance_for(filt, point, img, ref, bilinear=2.0**-17) == same  # point taps: no bilinear term


# -- on the drivers -------------------------------------------------------------------------------

@pytest.fixture
def all_runners(gl_runner, webgl_runner, vulkan_runner, webgpu_runner, cross_tools) -> Runners:
    return Runners(gl_runner, webgl_runner, vulkan_runner, webgpu_runner)


@pytest.mark.gpu
def test_every_runner_is_measured_far_below_8_bits(all_runners) -> None:
    for name in registry.RUNNERS:
        got = all_runners.bilinear(name, 131)
        assert got.measured is not None and 0 < got.measured <= got.bound, (name, got)
        if "llvmpipe" in all_runners.device(name) or "SwiftShader" in all_runners.device(name):
            assert got.bound <= 2.0**-14, (name, got)  # float32 coordinates, not 8-bit weights


SHIFTED = 'else (f.offset + 0.5)|lit }}'  # the vertical coordinate of a bilinear fetch, in every language


def shifted_templates(folder: Path, shift: float) -> Path:
    """Template overrides that move every vertical bilinear fetch by `shift` texels."""
    for lang in ("glsl", "hlsl", "wgsl"):  # SPIR-V renders the GLSL templates
        source = next((ROOT / "templates" / lang).glob("functions.*.j2"))
        text = source.read_text()
        assert text.count(SHIFTED) == 1, source  # the templates changed: update SHIFTED
        (folder / lang).mkdir(parents=True)
        (folder / lang / source.name).write_text(text.replace(SHIFTED, f"else (f.offset + 0.5 + {shift})|lit }}}}"))
    return folder


@pytest.mark.gpu
def test_a_small_shift_of_the_vertical_bilinear_fetches_fails(tmp_path, all_runners) -> None:
    """On every runner: the unmodified templates pass with a linear tolerance ≤ 1e-4; shifting
    every vertical bilinear fetch by ⅛ or 1/16 texel fails (it passed the 8-bit tolerance)."""
    filt = disk31()
    only = verifying.select([f"{lang} fragment mrt fp32 linear" for lang in ("glsl330", "glsl300es", "spirv", "wgsl")])
    good = verifying.verify(filt, only=only, runner=all_runners)
    assert [r.backend for r in good] == ["gl", "webgl", "vulkan", "webgpu"]
    for r in good:
        assert r.ok and r.tolerance <= 1e-4, verifying.format_table(good)
    for shift in (0.125, 0.0625):
        bad = verifying.verify(filt, only=only, runner=all_runners,
                               templates_dir=shifted_templates(tmp_path / str(shift), shift))
        for r in bad:
            assert r.error is None and not r.ok, verifying.format_table(bad)
            assert r.max_rel > 10 * r.tolerance
    img = verifying.default_image()
    old = verifying.tolerance_for(filt, only[0].options, img, reference.apply_filter(img, filt))  # 8 bits
    assert bad[0].max_rel < old  # the ⅛-texel shift passed the 8-bit tolerance


# -- a runner missing -------------------------------------------------------------------------------

@pytest.fixture
def no_vulkan(monkeypatch):
    """The Vulkan runner's factory raises what a machine without a Vulkan driver raises."""
    def missing():
        raise SepgenError(VULKAN_MISSING)

    monkeypatch.setitem(registry._FACTORIES, "vulkan", missing)


@pytest.mark.gpu
def test_verify_runs_the_rest_without_a_runner(tmp_path, capsys, no_vulkan) -> None:
    path = tmp_path / "f.json"
    random_filter("part", 2, (5, 6), origin=(1, 4), seed=3, positive=0.1).save(path)
    names = ["glsl330 fragment mrt fp32 linear", "spirv fragment mrt fp32 point", "hlsl fragment mrt fp32 linear"]
    code, out, err = run(capsys, "verify", path, *[a for n in names for a in ("--variant", n)], "-j", "1", "-q")
    assert code == 1, out + err
    assert re.search(r"glsl330 fragment mrt fp32 linear\s+gl .* ok", out)
    assert re.search(r"spirv fragment mrt fp32 point\s+vulkan .* NOT RUN: no Vulkan device", out)
    assert "1 of 3 variants within tolerance" in out
    assert "not run: 2 variant(s) on vulkan" in out
    assert "to run them: apt-get install libvulkan1 mesa-vulkan-drivers" in out
    assert "2 of 3 variants not run (vulkan)" in err and "exceed" not in err
    results = verifying.verify(SeparableFilter.load(path), only=verifying.select(names))
    assert [r.ok for r in results] == [True, False, False]
    assert results[1].not_run == VULKAN_MISSING and results[1].error.startswith("not run:")


def test_verify_runs_the_rest_without_a_tool(monkeypatch, gl_runner) -> None:
    monkeypatch.setitem(registry._FACTORIES, "vulkan", lambda: FoundFake("vulkan"))
    which = tools.shutil.which
    monkeypatch.setattr(tools.shutil, "which", lambda name: None if name == "glslangValidator" else which(name))
    only = verifying.select(["glsl330 fragment mrt fp32 point", "hlsl fragment mrt fp32 point"])
    results = verifying.verify(random_filter("tool", 1, (3, 3), seed=1), only=only, runner=gl_runner)
    assert results[0].ok and not results[1].ok
    assert results[1].not_run == "glslangValidator not found on PATH (install the Debian package glslang-tools)"


CONFIG = """
[output]
dir = "out"

[[filter]]
name = "box"
kernel = "box"
size = 5
rank = 1
steps = 0
lang = ["glsl", "spirv"]
"""


@pytest.mark.gpu
def test_verify_config_runs_the_rest_without_a_runner(tmp_path, capsys, glslang, no_vulkan) -> None:
    """`verify --config` with one runner missing used to exit 2 having verified nothing."""
    config = tmp_path / "sepgen.toml"
    config.write_text(CONFIG)
    code, out, err = run(capsys, "build", config, "-q")
    assert code == 0, out + err
    code, out, err = run(capsys, "verify", "--config", config, "-q", "-j", "1")
    assert code == 1, out + err
    assert re.search(r"glsl330 fragment mrt fp32 linear\s+gl .* ok", out)
    assert re.search(r"spirv fragment mrt fp32 \w+\s+vulkan .* NOT RUN: no Vulkan device", out), out
    assert "1 of 2 variants within tolerance" in out
    assert "to run them: apt-get install libvulkan1 mesa-vulkan-drivers" in out


# -- sepgen runners and the CI example ----------------------------------------------------------------

def test_runners_lists_what_is_found_and_the_packages_for_the_rest(capsys, no_vulkan, monkeypatch) -> None:
    for name in ("gl", "webgl", "webgpu"):
        monkeypatch.setitem(registry._FACTORIES, name, lambda n=name: FoundFake(n))
    which = tools.shutil.which
    monkeypatch.setattr(tools.shutil, "which",
                        lambda name: None if name == "spirv-val" else which(name) or f"/bin/{name}")
    code, out, _ = run(capsys, "runners")
    assert code == 0
    assert re.search(r"^gl\s+found: OpenGL: fake gl$", out, re.M)
    debian = r"\(Debian: libvulkan1 mesa-vulkan-drivers, Python package vulkan\)$"
    assert re.search(r"^vulkan\s+missing: no Vulkan device.*" + debian, out, re.M)
    assert re.search(r"^spirv-val\s+missing \(Debian: spirv-tools\)$", out, re.M)
    assert out.splitlines()[-1] == "install the rest: apt-get install libvulkan1 mesa-vulkan-drivers spirv-tools"
    code, out, _ = run(capsys, "runners", "--packages")
    assert code == 0 and out == "libvulkan1 mesa-vulkan-drivers spirv-tools\n"


class FoundFake:
    def __init__(self, name: str) -> None:
        self.name, self.device = name, f"{registry.RUNNERS[name]}: fake {name}"

    def run(self, program, img, scale=None):
        return img


def test_runners_packages_for_a_config(tmp_path, capsys, no_vulkan, monkeypatch) -> None:
    """Only what the config's variants need: GLSL 330 and HLSL need GL, Vulkan and the HLSL tools;
    GLSL ES 300 needs Chromium."""
    for name in ("gl", "webgl", "webgpu"):
        monkeypatch.setitem(registry._FACTORIES, name, lambda n=name: FoundFake(n))
    monkeypatch.setattr(tools.shutil, "which", lambda name: None)
    config = tmp_path / "sepgen.toml"
    config.write_text(CONFIG.replace('["glsl", "spirv"]', '["glsl"]'))
    code, out, _ = run(capsys, "runners", "--packages", "--config", config)
    assert code == 0 and out == "\n"  # GL found, nothing else needed
    config.write_text(CONFIG.replace('["glsl", "spirv"]', '["glsl", "hlsl"]'))
    code, out, _ = run(capsys, "runners", "--packages", "--config", config)
    assert out.split() == ["glslang-tools", "libvulkan1", "mesa-vulkan-drivers", "spirv-cross"]
    code, out, _ = run(capsys, "runners", "--config", config)
    assert "webgl" not in out and "webgpu" not in out and re.search(r"^gl\s+found", out, re.M)


def test_ci_example_installs_what_its_config_needs(tmp_path) -> None:
    """The install step asks `sepgen runners --packages --config "$CONFIG"` and installs its answer
    (with Mesa's EGL for the GL runner always)."""
    workflow = (ROOT / "examples" / "ci" / "sepgen.yml").read_text()
    lines = workflow.splitlines()
    start = next(i for i, line in enumerate(lines) if "Install the drivers and tools" in line)
    begin = next(i for i in range(start, len(lines)) if lines[i].strip() == "run: |") + 1
    end = next(i for i in range(begin, len(lines)) if lines[i].strip() and not lines[i].startswith(" " * 10))
    script = "\n".join(line[10:] for line in lines[begin:end])
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    log = tmp_path / "calls.txt"
    answer = '[ "$2" = "--packages" ] && echo "chromium mesa-vulkan-drivers"'
    (fake_bin / "sepgen").write_text(f'#!/bin/sh\necho "sepgen $@" >> {log}\n{answer}\nexit 0\n')
    (fake_bin / "sudo").write_text(f'#!/bin/sh\necho "sudo $@" >> {log}\n')
    for tool in ("sepgen", "sudo"):
        (fake_bin / tool).chmod(0o755)
    env = {**os.environ, "PATH": f"{fake_bin}:{os.environ['PATH']}", "CONFIG": "my.toml"}
    proc = subprocess.run(["bash", "-ec", script], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    calls = log.read_text().splitlines()
    assert "sepgen runners --packages --config my.toml" in calls and calls[-1] == "sepgen runners --config my.toml"
    install = next(c for c in calls if c.startswith("sudo apt-get install"))
    assert set(install.split()) >= {"libegl1", "libegl-mesa0", "libgl1-mesa-dri", "chromium", "mesa-vulkan-drivers"}


def test_verify_without_a_gl_driver_runs_webgl_and_names_the_packages(tmp_path, chromium) -> None:
    """A real missing driver (glvnd finds no EGL vendor): the GLSL ES 300 variants still run in
    WebGL2, the GL ones are listed as not run with Mesa's EGL packages, exit 1."""
    path = tmp_path / "f.json"
    random_filter("nogl", 1, (3, 4), seed=2, positive=0.1).save(path)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "__EGL_VENDOR_LIBRARY_FILENAMES": "/nonexistent/egl_vendor.json"}
    names = ["glsl330 fragment mrt fp32 point", "glsl300es fragment mrt fp32 linear"]
    proc = subprocess.run([sys.executable, "-m", "sepgen", "verify", str(path), "-q", "-j", "1",
                           *[a for n in names for a in ("--variant", n)]],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert re.search(r"glsl300es fragment mrt fp32 linear\s+webgl .* ok", proc.stdout)
    assert re.search(r"glsl330 fragment mrt fp32 point\s+gl .* NOT RUN: cannot create an OpenGL", proc.stdout)
    assert "to run them: apt-get install libegl-mesa0 libegl1 libgl1-mesa-dri" in proc.stdout
    assert proc.stderr.strip() == "sepgen: error: 1 of 2 variants not run (gl)"
