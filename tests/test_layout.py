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
JAX_ALLOWED = ("sepgen.fitting", "sepgen.report.demo", "sepgen.cli.fit_cmds")


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
        "from sepgen.verify.check import verify, variants\n"
        f"filt = SeparableFilter.load({str(FILTER)!r})\n"
        "results = verify(filt, only=list(variants(('glsl',)))[:2] + list(variants(('hlsl',)))[:1])\n"
        "assert results and all(r.ok for r in results), [(r.name, r.max_rel) for r in results]\n"
        "assert 'jax' not in sys.modules, 'verify imported jax'\n"
    )
    r = _run(code)
    assert r.returncode == 0, r.stderr


# -- the import graph: nothing imports upward ---------------------------------------------------
# Each top-level module or package of sepgen sits on one layer (docs/architecture.md). A module
# may import its own package and lower layers only, lazily or not; modules on one layer are
# independent (emit and the runners never import one another; fitting sits above emit). Imports under
# `if TYPE_CHECKING` (annotations only) are skipped.
LAYERS = [
    ("_version",),
    ("common",),  # errors, atomic writes, identifiers, JSON, images, external tools
    ("targets",),  # one descriptor per shader language: options, emit, run and verify read them
    ("options",),
    ("kernels",),  # kernel files are read as images
    ("filters",),  # the filter file (fit → emit), metrics, the NumPy reference and scaled-tap model
    ("plan",),  # the pass model (manifest.json: emit → run)
    ("emit", "run"),  # emitting and running are independent
    ("fitting",),  # above emit: budget fitting counts fetches with the emitter's own planner
    ("sepgen",),  # the package's __init__: the public façade (fit, sweep, kernels, SeparableFilter)
    ("verify",),  # emit + run + compare (runfilter, worker processes, the variant table)
    ("build", "report"),
    ("cli",),
    ("__main__",),
]
LAYER = {unit: i for i, units in enumerate(LAYERS) for unit in units}
PACKAGE = ROOT / "sepgen"


def _unit(module: str) -> str | None:
    """`sepgen.emit.taps` → "emit", `sepgen` → "sepgen"; None outside sepgen."""
    parts = module.split(".")
    if parts[0] != "sepgen":
        return None
    return parts[1] if len(parts) > 1 else "sepgen"


def _imports(path: Path) -> set[str]:
    """Absolute names of the sepgen modules `path` imports (at any depth, outside TYPE_CHECKING)."""
    import ast

    package_parts = list(path.relative_to(ROOT).parts[:-1])  # the package a relative import starts from
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
               for n in ast.walk(node)}
    names: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package_parts[: len(package_parts) - node.level + 1]) if node.level else ""
            mod = ".".join(p for p in (base, node.module or "") if p)
            names |= ({mod} if node.module else set()) | {f"{mod}.{a.name}" for a in node.names}
    return {n for n in names if n == "sepgen" or n.startswith("sepgen.")}


def _edges() -> set[tuple[str, str]]:
    edges = set()
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        src = _unit(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
        assert src is not None
        for name in _imports(path):
            dst = _unit(name)
            if dst is not None and dst != src:
                edges.add((src, dst))
    return edges


def test_every_module_has_a_layer():
    units = {p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    units |= {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()} | {"sepgen"}
    assert units - set(LAYER) == set(), "give new modules a layer in LAYERS and docs/architecture.md"
    assert {b for _, b in _edges()} <= set(LAYER)


def test_nothing_imports_upward_or_sideways():
    edges = _edges()
    assert ("emit", "filters") in edges and ("run", "plan") in edges  # the walk sees imports
    bad = sorted((a, b) for a, b in edges if LAYER[b] >= LAYER[a])
    assert bad == [], f"imports that go up or sideways (layers in tests/test_layout.py): {bad}"
