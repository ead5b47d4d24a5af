"""Cold start: a command imports what it uses and nothing else (each in a fresh process).

JAX (and optax) only for commands that fit; moderngl only for commands that run
shaders; matplotlib only for reports; Jinja only for commands that emit.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FILTER = ROOT / "tests" / "data" / "disk50_rank4.json"
HEAVY = ("jax", "optax", "moderngl", "matplotlib", "jinja2", "scipy", "skimage")
CONFIG = """
[[filter]]
name = "tiny"
kernel = "box"
size = 5
rank = 1
steps = 0
lang = "glsl"
"""


def imported_by(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> set[str]:
    code = ("import sys\nfrom sepgen.cli import main\n"
            f"rc = main({[str(a) for a in args]!r})\n"
            f"print(rc, sorted(m for m in {HEAVY!r} if m in sys.modules))\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd, timeout=300,
                         env={**os.environ, **(env or {})})
    assert res.returncode == 0, res.stderr[-2000:]
    rc, mods = res.stdout.strip().splitlines()[-1].split(" ", 1)
    assert rc == "0", res.stdout + res.stderr
    return set(ast.literal_eval(mods))  # the list printed above


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("cold")
    (folder / "sepgen.toml").write_text(CONFIG)
    assert {"jax", "jinja2"} <= imported_by(["build", "sepgen.toml", "-q"], folder)  # the first build fits
    return folder


def test_optimize_imports_only_the_fit(tmp_path):
    mods = imported_by(["optimize", "--kernel", "box", "--size", "5", "--rank", "1", "--steps", "3", "-o", "f.json"],
                       tmp_path)
    assert {"jax", "optax"} <= mods and not mods & {"moderngl", "matplotlib", "jinja2", "scipy", "skimage"}


def test_emit_imports_only_jinja(tmp_path):
    assert imported_by(["emit", str(FILTER), "--lang", "hlsl", "-o", "out"], tmp_path) == {"jinja2"}


@pytest.mark.parametrize("extra", [[], ["--check"]], ids=["no-op", "check"])
def test_build_without_refit_imports_no_jax_and_no_gl(project, extra, tmp_path):
    # without the last build's record (another cache folder) the build renders: Jinja, no JAX, no GL
    assert imported_by(["build", "sepgen.toml", "-q", *extra], project, {"XDG_CACHE_HOME": str(tmp_path)}) == {"jinja2"}
    # with it, the no-op is answered from the record (tests/build/test_build_state.py): nothing heavy at all
    assert imported_by(["build", "sepgen.toml", "-q", *extra], project) == set()


@pytest.mark.gpu
def test_verify_config_runs_shaders_without_jax(project):
    assert imported_by(["verify", "--config", "sepgen.toml", "-q", "-j", "1"], project) == {"jinja2", "moderngl"}


def test_a_fitting_process_exits_with_its_output_flushed_and_its_code(tmp_path):
    """`sepgen` skips JAX's interpreter teardown after a fit: output, files and exit code stay intact."""
    def sepgen(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "sepgen", *args], capture_output=True, text=True, cwd=tmp_path,
                              timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})

    ok = sepgen("optimize", "--kernel", "box", "--size", "5", "--rank", "1", "--steps", "3", "-o", "f.json")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("wrote f.json") and ok.stdout.endswith("\n")
    assert "fit box5:" in ok.stderr
    from sepgen.filters.filterfile import SeparableFilter

    assert SeparableFilter.load(tmp_path / "f.json").rank == 1
    bad = sepgen("optimize", "--kernel", "box", "--size", "5", "--rank", "9", "-o", "g.json")
    assert bad.returncode == 2 and "rank 9" in bad.stderr and not (tmp_path / "g.json").exists()
