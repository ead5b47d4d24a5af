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
        f"rc = main(['apply', {str(FILTER)!r}, '--input', {str(tmp_path / 'in.npy')!r}, "
        f"'--output', {str(tmp_path / 'out.npy')!r}])\n"
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
# may import its own package and lower layers only, lazily or not, and under `if TYPE_CHECKING`
# too (an annotation is a dependency); modules on one layer are independent (fitting, emit and
# the runners never import one another: fitting counts fetches with the pass plan both share).
LAYERS = [
    ("_version",),
    ("common",),  # errors, atomic writes, identifiers, JSON, images, external tools
    ("targets",),  # one descriptor per shader language: options, emit, run and verify read them
    ("options",),
    ("kernels",),  # kernel files are read as images
    ("plan",),  # fetch planning (taps, bilinear reads), the planner and the pass model (manifest.json: emit → run)
    ("filters",),  # the filter file (fit → emit), its structures (planned with plan/), metrics, reference, scaling
    ("fitting", "emit", "run"),  # siblings: fitting counts fetches with plan/, as emit plans its shaders
    ("verify",),  # emit + run + compare (runfilter, worker processes, the variant table, apply)
    ("sepgen",),  # the package's __init__: the public façade (fit, sweep, kernels, SeparableFilter, apply)
    ("build", "report"),
    ("cli",),
    ("__main__",),
]
LAYER = {unit: i for i, units in enumerate(LAYERS) for unit in units}
PACKAGE = ROOT / "sepgen"


def _unit(module: str) -> str | None:
    """`sepgen.emit.generator` → "emit", `sepgen` → "sepgen"; None outside sepgen."""
    parts = module.split(".")
    if parts[0] != "sepgen":
        return None
    return parts[1] if len(parts) > 1 else "sepgen"


def _module_name(path: Path) -> str:
    """sepgen/plan/taps.py → "sepgen.plan.taps", sepgen/plan/__init__.py → "sepgen.plan"."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(path: Path) -> set[str]:
    """The sepgen modules the module at `path` imports (see `_imports_of`)."""
    name = _module_name(path)
    return _imports_of(name, path.read_text(encoding="utf-8"), path.name == "__init__.py")


def _imports_of(name: str, source: str, is_package: bool) -> set[str]:
    """The sepgen modules module `name` imports, at any depth: lazy and `TYPE_CHECKING` imports included.

    `from pkg import name` names the module `pkg.name` where that is one, else `pkg` itself;
    `import a.b` names the deepest module of a.b. A relative import starts from the
    importing module's package.
    """
    import ast

    package = name.split(".") if is_package else name.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                mod = alias.name
                while mod and mod not in MODULES:
                    mod = mod.rpartition(".")[0]
                found |= {mod} if mod else set()
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            mod = ".".join([*base, node.module] if node.module else base)
            for alias in node.names:
                sub = f"{mod}.{alias.name}"
                found |= {sub} if sub in MODULES else ({mod} if mod in MODULES else set())
    return found - {name}


def _module_graph() -> dict[str, set[str]]:
    """Module → the sepgen modules it imports (every import, see `_imports`)."""
    return {name: _imports(path) for name, path in MODULES.items()}


def _edges() -> set[tuple[str, str]]:
    """(unit, unit) for every import between two top-level units of sepgen."""
    edges = set()
    for src, targets in _module_graph().items():
        for dst in targets:
            a, b = _unit(src), _unit(dst)
            assert a is not None and b is not None
            if a != b:
                edges.add((a, b))
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


# -- no import cycles, module by module ------------------------------------------------------------


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_cycle_finder_finds_cycles():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert _cycles(graph) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_imports_see_lazy_and_type_checking_imports():
    source = ("from typing import TYPE_CHECKING\n"
              "import numpy\n"
              "from . import taps, planner as p\n"
              "from .passmodel import Pass\n"
              "if TYPE_CHECKING:\n    from ..filters.filterfile import SeparableFilter\n"
              "def f():\n    import sepgen.common.errors\n    from .. import kernels\n")
    assert _imports_of("sepgen.plan.x", source, is_package=False) == {
        "sepgen.plan.taps", "sepgen.plan.planner", "sepgen.plan.passmodel", "sepgen.filters.filterfile",
        "sepgen.common.errors", "sepgen.kernels"}
    assert _imports_of("sepgen.plan", "from . import taps\n", is_package=True) == {"sepgen.plan.taps"}
    assert "sepgen.emit.manifest" in _module_graph()["sepgen.emit"]  # the real tree: `from . import manifest`


def test_no_import_cycles():
    graph = _module_graph()
    cycles = _cycles(graph)
    detail = [[f"{a} -> {b}" for a in c for b in sorted(graph[a]) if b in c] for c in cycles]
    assert cycles == [], f"import cycles (every import counted, lazy and TYPE_CHECKING too): {detail}"


def test_no_merge_conflict_markers_in_tracked_text():
    """A merge left `<<<<<<< HEAD` … `>>>>>>> branch` in three docs pages once: never again."""
    root = Path(__file__).resolve().parents[1]
    names = subprocess.run(["git", "ls-files"], cwd=root, capture_output=True, text=True).stdout.split()
    if not names:
        pytest.skip("not a git checkout")
    marker = ("<<<<<<< ", ">>>>>>> ")
    found = [f"{name}:{i}" for name in names if Path(name).suffix in {".md", ".py", ".j2", ".toml", ".txt", ".json"}
             for i, line in enumerate((root / name).read_text(encoding="utf-8", errors="replace").splitlines(), 1)
             if line.startswith(marker) or line == "======="]
    assert found == []


def test_readme_stays_an_overview():
    """Issue 17: the README is at most 12,000 characters; reference material goes to docs/."""
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    assert len(text) <= 12_000, f"README.md has {len(text)} characters: move detail into docs/"
