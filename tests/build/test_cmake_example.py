"""The CMake example (examples/cmake) configures, builds, uses the generated include and
reruns sepgen exactly when its inputs change. Skipped where cmake is not installed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "cmake"
SEPGEN_SCRIPT = Path(sys.executable).parent / "sepgen"

GENERATORS = [g for g, tool in (("Ninja", "ninja"), ("Unix Makefiles", "make")) if shutil.which(tool)]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("cmake") is None, reason="cmake is not installed"),
    pytest.mark.skipif(shutil.which("cc") is None and shutil.which("gcc") is None, reason="no C compiler"),
    pytest.mark.skipif(not SEPGEN_SCRIPT.is_file(), reason="the sepgen script is not installed beside this Python"),
]


def cmake(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(["cmake", *args], capture_output=True, text=True, cwd=cwd, timeout=600, env=env)
    assert proc.returncode == 0, f"cmake {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout + proc.stderr


def mtime(path: Path) -> int:
    return path.stat().st_mtime_ns


def later_than(path: Path, reference: Path) -> None:
    """Give `path` an mtime clearly after `reference`'s (no reliance on clock resolution)."""
    t = mtime(reference) + 2_000_000_000
    os.utime(path, ns=(t, t))


@pytest.mark.parametrize("generator", GENERATORS or [pytest.param("none", marks=pytest.mark.skip("no make or ninja"))])
def test_cmake_example_builds_and_tracks_dependencies(tmp_path: Path, generator: str) -> None:
    src = tmp_path / "src"
    shutil.copytree(EXAMPLE, src)  # the test edits the config and the kernel image
    bld = tmp_path / "build"
    cmake("-S", str(src), "-B", str(bld), "-G", generator, f"-DSEPGEN_EXECUTABLE={SEPGEN_SCRIPT}")
    cmake("--build", str(bld))

    shaders = bld / "shaders"
    stamp = shaders / ".sepgen-stamp"
    include = shaders / "bokeh" / "glsl" / "bokeh.glsl"
    header = bld / "bokeh_glsl.h"
    exe = bld / "blur_demo"
    for path in (stamp, include, header, exe, shaders / "hexagon" / "glsl" / "hexagon.glsl",
                 shaders / "bokeh" / "hlsl" / "manifest.json"):
        assert path.is_file(), path
    depfile = (bld / "blur_shaders.sepgen.d").read_text()
    assert str(src / "sepgen.toml") in depfile and str(src / "kernels" / "hexagon.png") in depfile
    assert str(ROOT / "sepgen" / "_version.py") in depfile  # sepgen itself (issue 19)

    # The program really uses the include: it assembles both passes around it.
    out = tmp_path / "assembled"
    out.mkdir()
    run = subprocess.run([str(exe), str(out)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    h_pass = (out / "bokeh_h.frag").read_text()
    assert h_pass.startswith("#version 330\n") and include.read_text() in h_pass
    if shutil.which("glslangValidator"):
        for name in ("bokeh_h.frag", "bokeh_v.frag"):
            check = subprocess.run(["glslangValidator", str(out / name)], capture_output=True, text=True)
            assert check.returncode == 0, check.stdout + check.stderr

    # Nothing changed: sepgen does not run again.
    before = {p: mtime(p) for p in (stamp, include, header, exe)}
    cmake("--build", str(bld))
    assert {p: mtime(p) for p in before} == before

    # A touched config with the same content reruns sepgen, which rewrites nothing, so
    # nothing downstream is rebuilt.
    later_than(src / "sepgen.toml", stamp)
    cmake("--build", str(bld))
    assert mtime(stamp) > before[stamp]
    assert mtime(include) == before[include] and mtime(header) == before[header] and mtime(exe) == before[exe]

    # The kernel image is known only through the depfile: changing it reruns sepgen.
    import imageio.v3 as iio

    png = src / "kernels" / "hexagon.png"
    hexagon = shaders / "hexagon" / "glsl" / "hexagon.glsl"
    old_hexagon = hexagon.read_text()
    img = iio.imread(png)
    iio.imwrite(png, np.flipud(np.roll(img, 2, axis=1)))
    later_than(png, stamp)
    stamp_before = mtime(stamp)
    cmake("--build", str(bld))
    assert mtime(stamp) > stamp_before and hexagon.read_text() != old_hexagon
    assert mtime(header) == before[header]  # bokeh did not change

    # A changed bokeh kernel flows into the program.
    config = (src / "sepgen.toml").read_text()
    (src / "sepgen.toml").write_text(config.replace("size = 15", "size = 13", 1))
    later_than(src / "sepgen.toml", stamp)
    cmake("--build", str(bld))
    assert mtime(header) > before[header] and mtime(exe) > before[exe]


def install_copy(site: Path, version: str) -> None:
    """sepgen's package and templates under `site`, as an installed copy of `version` would be."""
    if not (site / "sepgen").is_dir():
        shutil.copytree(ROOT / "sepgen", site / "sepgen", ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copytree(ROOT / "templates", site / "templates")
    (site / "sepgen" / "_version.py").write_text(f'__version__ = "{version}"\n')


def test_cmake_example_regenerates_when_sepgen_is_upgraded(tmp_path: Path) -> None:
    """sepgen is a dependency of the generation step: an upgrade reruns it, and `--check`
    beforehand blames sepgen, not the config (issue 19)."""
    if not GENERATORS:
        pytest.skip("no make or ninja")
    site, src, bld = tmp_path / "site", tmp_path / "src", tmp_path / "build"
    install_copy(site, "1.0.0")
    env = {**os.environ, "PYTHONPATH": str(site)}  # the copy, not the checkout, is "installed"
    shutil.copytree(EXAMPLE, src)
    cmake("-S", str(src), "-B", str(bld), "-G", GENERATORS[0], f"-DSEPGEN_EXECUTABLE={SEPGEN_SCRIPT}", env=env)
    cmake("--build", str(bld), env=env)
    shaders, stamp = bld / "shaders", bld / "shaders" / ".sepgen-stamp"
    manifest = shaders / "bokeh" / "glsl" / "manifest.json"
    assert '"sepgen": "1.0.0"' in manifest.read_text()
    assert str(site / "sepgen" / "_version.py") in (bld / "blur_shaders.sepgen.d").read_text()
    before = mtime(stamp)
    cmake("--build", str(bld), env=env)
    assert mtime(stamp) == before  # nothing changed: no rerun

    install_copy(site, "1.1.0")  # the upgrade
    later_than(site / "sepgen" / "_version.py", stamp)
    check = subprocess.run([str(SEPGEN_SCRIPT), "build", str(src / "sepgen.toml"), "--out-dir", str(shaders),
                            "--check"], capture_output=True, text=True, env=env, timeout=600)
    assert check.returncode == 1, check.stderr
    assert "sepgen changed" in check.stderr and "made by sepgen 1.0.0" in check.stderr, check.stderr
    assert "config or kernel changed" not in check.stderr
    cmake("--build", str(bld), env=env)
    assert mtime(stamp) > before and '"sepgen": "1.1.0"' in manifest.read_text()
