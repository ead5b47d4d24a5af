"""The no-op fast path of `sepgen build` (sepgen/build/state.py): a no-op or an up-to-date
`--check` is answered from the last build's record without NumPy or Jinja, and any change
to an input or an output falls back to the normal build with its normal result."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sepgen import kernels
from sepgen.build import build, cache, state
from sepgen.common import cachedirs
from tests.support import edit_config, snapshot, write_project

ROOT = Path(__file__).resolve().parents[2]
PROBE = ("import sys\nfrom sepgen.cli import main\nrc = main(sys.argv[1:])\n"
         "print('MODULES', ','.join(m for m in ('numpy', 'jinja2', 'jax') if m in sys.modules))\nsys.exit(rc)\n")
OVERRIDE = Path("tpl", "glsl", "fullscreen.vert.glsl.j2")


def sepgen(folder: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, bool]:
    """Run the CLI in a fresh process: exit code, stderr, and whether it took the fast path (no NumPy)."""
    proc = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, cwd=folder,
                          timeout=300, env={**os.environ, **(env or {})})
    modules = proc.stdout.strip().splitlines()[-1].removeprefix("MODULES ").split(",")
    return proc.returncode, proc.stderr, "numpy" not in modules and "jinja2" not in modules


@pytest.fixture(scope="module")
def built_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project with a kernel file and a template override, built once (fits included)."""
    folder = tmp_path_factory.mktemp("state")
    write_project(folder)
    (folder / OVERRIDE).parent.mkdir(parents=True)
    shutil.copy(ROOT / "templates" / "glsl" / OVERRIDE.name, folder / OVERRIDE)
    edit_config(folder, 'dir = "out"', 'dir = "out"\ntemplates = "tpl"')
    build(folder / "sepgen.toml")
    return folder


@pytest.fixture
def project(built_template: Path, tmp_path: Path) -> Path:
    """A copy of the built project, built once more by the CLI (the normal path), which records it."""
    dest = tmp_path / "proj"
    shutil.copytree(built_template, dest, copy_function=shutil.copy2)
    rc, err, fast = sepgen(dest, "build", "sepgen.toml", "-q")
    assert rc == 0 and not fast, err
    return dest


def test_noop_and_check_take_the_fast_path_with_the_normal_output(project: Path, tmp_path: Path) -> None:
    before = snapshot(project)
    for i, (args, rc) in enumerate(((["build", "sepgen.toml"], 0), (["build", "sepgen.toml", "--check"], 0),
                                    (["build", "sepgen.toml", "-q"], 0),
                                    (["build", "sepgen.toml", "--check", "-q"], 0))):
        nowhere = {"XDG_CACHE_HOME": str(tmp_path / f"no-record-{i}")}  # no record there: the normal path
        normal = sepgen(project, *args, env=nowhere)
        quick = sepgen(project, *args)
        assert normal[0] == quick[0] == rc and not normal[2] and quick[2], (normal, quick)
        assert quick[1] == normal[1]  # the same lines on stderr
        assert ("bokeh: up to date" in quick[1]) == ("-q" not in args)
    assert snapshot(project) == before  # nothing touched: every mtime kept


def _edit(path: Path, text: str = "// edited by hand\n") -> None:
    path.write_bytes(path.read_bytes() + text.encode())


DAMAGE = {
    "config": (lambda d: edit_config(d, 'lang = ["glsl", "hlsl"]', 'lang = ["glsl", "hlsl"]\nprecision = "fp16"'), 1),
    "kernel file": (lambda d: np.save(d / "kernels" / "k.npy", kernels.box(3)), 1),
    "template": (lambda d: _edit(d / OVERRIDE), 1),
    "new template": (lambda d: (d / "tpl" / "glsl" / "include.glsl.j2").write_text(
        (ROOT / "templates" / "glsl" / "include.glsl.j2").read_text() + "// overridden\n"), 1),
    "output edited": (lambda d: _edit(d / "out" / "bokeh" / "glsl" / "bokeh.glsl"), 1),
    "output deleted": (lambda d: (d / "out" / "custom" / "glsl" / "manifest.json").unlink(), 1),
    "cache entry to prune": (lambda d: (d / "out" / cache.CACHE_DIR / "old-0123456789abcdef.json").write_text("{}"), 0),
}


@pytest.mark.parametrize("what", list(DAMAGE))
def test_any_change_falls_back_to_the_normal_build(project: Path, what: str, tmp_path: Path) -> None:
    damage, check_rc = DAMAGE[what]
    damage(project)
    expected = tmp_path / "expected"  # what the normal path makes of the damaged project
    shutil.copytree(project, expected, copy_function=shutil.copy2)
    rc, err, fast = sepgen(project, "build", "sepgen.toml", "--check")
    assert rc == check_rc and not fast, err
    assert (sepgen(expected, "build", "sepgen.toml", "--check", env={"XDG_CACHE_HOME": str(tmp_path / "x")})[:2]
            == (rc, err.replace(str(project), str(expected))))
    rc, err, fast = sepgen(project, "build", "sepgen.toml", "-q")
    assert rc == 0 and not fast, err
    build(expected / "sepgen.toml")
    assert {k: v[1] for k, v in snapshot(project).items()} == {k: v[1] for k, v in snapshot(expected).items()}
    assert not (project / "out" / cache.CACHE_DIR / "old-0123456789abcdef.json").exists()
    assert sepgen(project, "build", "sepgen.toml", "-q")[::2] == (0, True)  # recorded again
    assert sepgen(project, "build", "sepgen.toml", "--check", "-q")[::2] == (0, True)


def test_stamp_is_touched_and_depfile_kept_and_options_matter(project: Path) -> None:
    args = ["build", "sepgen.toml", "-q", "--depfile", "gen.d", "--stamp", "out/.stamp"]
    assert sepgen(project, *args)[::2] == (0, False)  # other options than the recorded build's
    dep, stamp = (project / "gen.d").stat().st_mtime_ns, (project / "out" / ".stamp").stat().st_mtime_ns
    os.utime(project / "out" / ".stamp", ns=(stamp - 10**9, stamp - 10**9))
    assert sepgen(project, *args)[::2] == (0, True)
    assert (project / "gen.d").stat().st_mtime_ns == dep  # depfile left alone, stamp touched: as a normal no-op
    assert (project / "out" / ".stamp").stat().st_mtime_ns > stamp - 10**9
    (project / "out" / ".stamp").unlink()
    assert sepgen(project, *args)[::2] == (0, False)  # the normal build makes the stamp again
    assert (project / "out" / ".stamp").is_file()
    (project / "gen.d").unlink()
    assert sepgen(project, *args)[::2] == (0, False) and (project / "gen.d").is_file()
    assert sepgen(project, "build", "sepgen.toml", "-q")[::2] == (0, False)  # no --depfile/--stamp: not the record's


def test_another_sepgen_forgets_the_record(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert state.CACHE_DIR == cache.CACHE_DIR  # state.py spells it out to stay free of NumPy
    monkeypatch.chdir(project)
    inv = state.Invocation("sepgen.toml", None, None, None)
    assert state.up_to_date(inv, check=False) == state.UpToDate(["bokeh", "custom"], "out")
    monkeypatch.setattr(cachedirs, "__version__", "99.0")  # the digest of sepgen it records
    assert state.up_to_date(inv, check=False) is None
    assert state.up_to_date(inv, check=True) is None
