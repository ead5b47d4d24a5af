"""The architecture's one hard rule: JAX belongs to the fitting stage only.

Emitting, applying, verifying and reporting a fitted filter run inside engine
builds and CI jobs; they must not pay for (or depend on) importing JAX.
"""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import sepgen

ROOT = Path(__file__).resolve().parents[1]
FILTER = ROOT / "tests" / "data" / "disk50_rank4.json"
JAX_ALLOWED = ("sepgen.fitting", "sepgen.demo", "sepgen.cli.fit_cmds")


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)


def test_importing_every_module_outside_fitting_leaves_jax_out():
    names = [m.name for m in pkgutil.walk_packages(sepgen.__path__, "sepgen.")
             if not m.name.startswith(JAX_ALLOWED) and m.name != "sepgen.__main__"]
    assert "sepgen.emit" in names and "sepgen.verify" in names and "sepgen.build" in names
    code = "import importlib, sys\n" + "".join(f"importlib.import_module({n!r})\n" for n in names) + \
           "assert 'jax' not in sys.modules, sorted(m for m in sys.modules if m.startswith('jax'))[:3]\n"
    r = _run(code)
    assert r.returncode == 0, r.stderr


def test_apply_with_the_numpy_backend_leaves_jax_out(tmp_path):
    code = (
        "import sys, numpy as np\n"
        "from sepgen.cli import main\n"
        f"np.save({str(tmp_path / 'in.npy')!r}, np.random.default_rng(0).random((20, 30, 3), dtype=np.float32))\n"
        f"rc = main(['apply', {str(FILTER)!r}, '--input', {str(tmp_path / 'in.npy')!r}, '--output', {str(tmp_path / 'out.npy')!r}])\n"
        "assert rc == 0, rc\n"
        "assert 'jax' not in sys.modules, 'apply imported jax'\n"
    )
    r = _run(code)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "out.npy").is_file()


@pytest.mark.gpu
def test_verify_on_the_gl_driver_leaves_jax_out(gl_context):
    code = (
        "import sys\n"
        "from sepgen import SeparableFilter\n"
        "from sepgen.verify import verify, variants\n"
        f"filt = SeparableFilter.load({str(FILTER)!r})\n"
        "results = verify(filt, only=list(variants(('glsl',)))[:2] + list(variants(('hlsl',)))[:1])\n"
        "assert results and all(r.ok for r in results), [(r.name, r.max_rel) for r in results]\n"
        "assert 'jax' not in sys.modules, 'verify imported jax'\n"
    )
    r = _run(code)
    assert r.returncode == 0, r.stderr
