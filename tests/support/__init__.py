"""Helpers shared by the tests (fixtures live in tests/conftest.py, helpers here).

Import them as `from tests.support import ...` (pytest puts the repository root on sys.path:
`pythonpath` in pyproject.toml). Plain functions, so test modules can use them at import time:

- paths: `ROOT`, `DISK` (the goldens' committed filter);
- filters: `random_filter`, `sparse_filter`, `hand_filter`, `disk_filter`, `svd_filter`, `scalable`;
- the CLI: `cli` runs `sepgen ARGS` in this process (click's CliRunner isolation, `sepgen.cli.main`'s
  error handling), `cli_process` in a fresh `python -m sepgen` (exit codes, what a process imports);
- emit → run → compare: `relative_error` (emit, run on the variant's runner, compare with the
  float64 NumPy reference or the scaled-tap model);
- `unavailable`: the CI rule for a missing driver or tool (skip; fail with CI=true).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import pytest

from sepgen.filters.filterfile import SeparableFilter

if TYPE_CHECKING:  # pragma: no cover
    from sepgen.verify.runfilter import Runners

ROOT = Path(__file__).resolve().parents[2]
DISK = ROOT / "tests" / "data" / "disk50_rank4.json"
SEPGEN = [sys.executable, "-m", "sepgen"]


# -- the CI rule --------------------------------------------------------------------------------

def ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


def unavailable(message: str) -> None:
    """Skip the test, or fail it with CI=true: the one rule for missing drivers and tools."""
    if ci():
        pytest.fail(f"CI=true and {message}", pytrace=False)
    pytest.skip(message)


# -- filters ------------------------------------------------------------------------------------

def random_filter(name: str, rank: int, shape: tuple[int, int], origin=None, seed: int = 0,
                  positive: float | None = None) -> SeparableFilter:
    """Dense random components (normal, or uniform + `positive`): asymmetric, so a flipped or
    shifted tap changes the result."""
    rng = np.random.default_rng(seed)
    draw = (lambda s: rng.random(s) + positive) if positive is not None else rng.standard_normal
    v, h = draw((rank, shape[0])), draw((rank, shape[1]))
    return SeparableFilter(name, v.T @ h, v, h, origin=origin)


def sparse_filter(name: str, rank: int, shape: tuple[int, int], origin=None, seed: int = 0,
                  zeros: tuple[float, float] = (0.3, 0.3), positive_h: bool = False) -> SeparableFilter:
    """Normal taps with about `zeros` (vertical, horizontal) of them exactly zero."""
    rng = np.random.default_rng(seed)
    v = rng.normal(size=(rank, shape[0])) * (rng.random((rank, shape[0])) > zeros[0])
    h = rng.normal(size=(rank, shape[1]))
    h = (np.abs(h) if positive_h else h) * (rng.random((rank, shape[1])) > zeros[1])
    return SeparableFilter(name, np.einsum("ki,kj->ij", v, h), v, h, origin=origin)


def hand_filter(rank: int = 3, shape: tuple[int, int] = (9, 7), origin: tuple[int, int] | None = (3, 5),
                seed: int = 1, name: str = "hand") -> SeparableFilter:
    """Random signs and magnitudes, about a third of the taps exactly zero."""
    f = sparse_filter(name, rank, shape, origin, seed, zeros=(0.35, 0.35))
    v, h = f.vertical.copy(), f.horizontal.copy()
    v[:, 0] = 0.0  # whole offsets with no tap in any component
    h[:, -1] = 0.0
    return SeparableFilter(name, np.einsum("ki,kj->ij", v, h), v, h, origin=origin)


def disk_filter() -> SeparableFilter:
    """The committed rank-4 fit of the seed's 50x50 disk (the goldens' filter)."""
    return SeparableFilter.load(DISK)


def wide_filter() -> SeparableFilter:
    """Rank 11 (two MRT groups: later passes add) with about a third of the taps zero. The SPIR-V
    tests share it, so the session compiles its shaders once (`spirv.compile_glsl` is memoised)."""
    return sparse_filter("wide", 11, (7, 9), seed=4)


def svd_filter(name: str, kernel: np.ndarray, rank: int) -> SeparableFilter:
    """The rank-`rank` truncated SVD of `kernel` normalised to sum 1."""
    u, s, vt = np.linalg.svd(kernel / kernel.sum())
    return SeparableFilter(name, kernel / kernel.sum(), (u[:, :rank] * s[:rank]).T, vt[:rank])


def scalable(scales=(0.5, 1.0), size: int = 12) -> SeparableFilter:
    """A rank-2 filter of a disk (row/column sums, both signs), recorded as fitted for `scales`."""
    from sepgen import kernels

    k = kernels.disk(size)
    v = np.stack([k.sum(axis=1), np.linspace(-1, 1, size)]) / k.sum()
    h = np.stack([k.sum(axis=0), np.linspace(1, -1, size) * 0.1])
    return SeparableFilter(f"d{size}", k / k.sum(), v, h,
                           provenance={"kernel": {"kernel": "disk", "size": size, "antialias": False}},
                           scales=scales)


def dc_gain(filt: SeparableFilter) -> float:
    """The filter's own DC gain ΣA (what scale 0, the focal plane, multiplies every pixel by)."""
    return float((filt.vertical.sum(axis=1) * filt.horizontal.sum(axis=1)).sum())


def in_focus_map(shape: Sequence[int]) -> np.ndarray:
    """A CoC-like scale map whose left third is the focal plane (scale 0)."""
    from sepgen.verify import check

    smap = check.scale_map(tuple(shape)).copy()
    smap[:, : shape[1] // 3] = 0.0
    return smap


def check_in_focus(runner: Any, lang: str, cases: Sequence[tuple[Any, str]]) -> None:
    """The scalable disk at each (scale, scale source) of `cases` on `runner`: within 1e-3 of the
    float64 scaled reference, and exactly the input times the DC gain where the scale is 0."""
    from sepgen.filters import scaling
    from sepgen.verify import check
    from sepgen.verify.runfilter import run_filter

    filt = scalable()
    img = check.default_image(3, (37, 53))
    for scale, source in cases:
        scale = in_focus_map(img.shape[:2]) if isinstance(scale, str) and scale == "map" else scale
        out, _ = run_filter(filt, img, {"lang": lang, "scale_source": source}, runner, scale=scale)
        ref = scaling.apply_scaled(img, filt.vertical, filt.horizontal, filt.origin, scale)
        assert np.abs(out - ref).max() <= 1e-3 * np.abs(ref).max()
        sharp = np.broadcast_to(np.asarray(scale) == 0, img.shape[:2])
        np.testing.assert_allclose(ref[sharp], (img * dc_gain(filt))[sharp], rtol=1e-6)


# -- the command line ---------------------------------------------------------------------------

class CliResult(NamedTuple):
    """What `sepgen ARGS` did: `code, out, err = cli(...)`."""

    code: int
    out: str
    err: str

    # the names of subprocess.CompletedProcess, so a check reads the same for both
    @property
    def returncode(self) -> int:
        return self.code

    @property
    def stdout(self) -> str:
        return self.out

    @property
    def stderr(self) -> str:
        return self.err


def cli(*args: Any, cwd: str | os.PathLike | None = None, env: dict[str, str] | None = None) -> CliResult:
    """`sepgen ARGS` in this process: click's CliRunner isolation (stdout, stderr, environment)
    around `sepgen.cli.main`, so errors go through the real one-line handler and exit code."""
    from click.testing import CliRunner

    from sepgen.cli import main

    old = os.getcwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        with CliRunner().isolation(env=env) as (out, err, _):
            code = main([str(a) for a in args])
            sys.stdout.flush()
            sys.stderr.flush()
            got = out.getvalue().decode(), err.getvalue().decode(errors="backslashreplace")
    finally:
        os.chdir(old)
    return CliResult(code, *got)


def cli_process(*args: Any, cwd: str | os.PathLike | None = None, env: dict[str, str] | None = None,
                timeout: float = 600, command: Sequence[str] = SEPGEN) -> subprocess.CompletedProcess:
    """`sepgen ARGS` in a fresh process (`python -m sepgen` unless `command` says otherwise):
    for exit codes, stderr as a user sees it, and what a cold process imports."""
    return subprocess.run([*command, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


# -- emit → run → compare -----------------------------------------------------------------------

def relative_error(filt: SeparableFilter, options: dict[str, Any], img: np.ndarray, runners: Runners,
                   scale: float | np.ndarray | None = None) -> tuple[float, float, str]:
    """Emit `filt` with `options`, run it on the runner its target uses and compare with the float64
    NumPy reference (at `scale`: the scaled-tap model). Returns (max|out − ref| / max|ref|, the
    variant's derived tolerance, what ran it, e.g. "SPIRV shaders on Vulkan: llvmpipe …")."""
    from sepgen.filters import reference, scaling
    from sepgen.verify.check import tolerance_for
    from sepgen.verify.runfilter import run_filter

    out, where = run_filter(filt, img, options, runners, scale=scale)
    assert out.shape == img.shape and out.dtype == np.float32
    if scale is None:
        ref = reference.apply_filter(img, filt)
    else:
        ref = scaling.apply_scaled(img, filt.vertical, filt.horizontal, filt.origin, scale)
    rel = float(np.max(np.abs(out - ref)) / np.max(np.abs(ref)))
    return rel, tolerance_for(filt, options, img, ref), where


# -- build projects -----------------------------------------------------------------------------

# Two tiny filters, one from a kernel file, so every build path is exercised quickly.
BUILD_CONFIG = """\
[output]
dir = "out"

[[filter]]
name = "bokeh"
kernel = "disk"
size = 9
rank = 2
steps = 40
lang = ["glsl", "hlsl"]

[[filter]]
name = "custom"
kernel = "file:kernels/k.npy"
rank = 2
steps = 40
"""


def write_project(folder: Path, config: str = BUILD_CONFIG) -> Path:
    """A `sepgen build` project in `folder`: sepgen.toml (`config`) and the kernel file it names."""
    from sepgen import kernels

    (folder / "kernels").mkdir(parents=True, exist_ok=True)
    np.save(folder / "kernels" / "k.npy", kernels.polygon(11, sides=5))
    cfg = folder / "sepgen.toml"
    cfg.write_text(config)
    return cfg


def snapshot(folder: Path) -> dict[str, tuple[int, bytes]]:
    """Every file under `folder` with its mtime and bytes."""
    return {
        str(p.relative_to(folder)): (p.stat().st_mtime_ns, p.read_bytes())
        for p in sorted(folder.rglob("*")) if p.is_file()
    }


def edit_config(folder: Path, old: str, new: str) -> None:
    cfg = folder / "sepgen.toml"
    text = cfg.read_text()
    assert old in text
    cfg.write_text(text.replace(old, new, 1))
