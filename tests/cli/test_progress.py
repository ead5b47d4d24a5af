"""Long work shows progress, once (issue 12, item 8).

- `apply` and `report` on big images say what they are doing instead of running silently.
- `optimize` shows one progress display per fit, however often the prune threshold is
  halved, and its result line gives the threshold that was used.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tests.support import cli_process

FILTER = Path(__file__).parents[1] / "data" / "disk50_rank4.json"
PROGRESS_LINES = 10  # a fit's progress display: about ten updates


@pytest.fixture(scope="module")
def big_image(tmp_path_factory) -> Path:
    """A 1280x800 RGB image: big enough that filtering it is worth reporting."""
    path = tmp_path_factory.mktemp("big") / "big.npy"
    rng = np.random.default_rng(0)
    np.save(path, (rng.random((800, 1280, 3)) ** 8).astype(np.float32))
    return path


def sepgen(folder: Path, *args: str) -> subprocess.CompletedProcess:
    proc = cli_process(*args, cwd=folder)
    assert proc.returncode == 0, proc.stderr
    return proc


@pytest.mark.parametrize("backend", ["numpy", pytest.param("gpu", marks=pytest.mark.gpu)])
def test_apply_shows_progress(tmp_path: Path, big_image: Path, backend: str) -> None:
    proc = sepgen(tmp_path, "apply", FILTER, "-i", big_image, "-o", "out.npy", "--backend", backend, "--gamma", "4")
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("sepgen apply: ")]
    assert len(lines) >= 3, proc.stderr  # e.g. loading, filtering step by step, writing
    assert proc.stdout.startswith("wrote out.npy")


def test_report_shows_progress_inside_the_bokeh_comparison(tmp_path: Path, big_image: Path) -> None:
    proc = sepgen(tmp_path, "report", FILTER, "--image", big_image, "-o", "rep")
    lines = proc.stderr.splitlines()
    start = next(i for i, ln in enumerate(lines) if "bokeh comparison" in ln)
    inside = lines[start + 1:]
    for step in ("exact 2D", "SVD", "disk50"):
        assert any(step in ln for ln in inside), f"no progress for {step!r}:\n{proc.stderr}"


def test_optimize_one_progress_display_across_prune_halvings(tmp_path: Path) -> None:
    # prune 0.9 fails the 2% loss tolerance and is halved (0.45, then 0.225 passes).
    proc = sepgen(tmp_path, "optimize", "--kernel", "polygon", "--size", "21", "--steps", "200", "--prune", "0.9",
                  "-o", "hex.json")
    used = json.loads((tmp_path / "hex.json").read_text())["provenance"]["prune_threshold_used"]
    assert used < 0.9  # the threshold was halved at least once
    progress = proc.stderr.strip().splitlines()
    # the fit and the prune refit each get one display, plus a line per threshold tried
    assert len(progress) <= 2 * PROGRESS_LINES + 4, proc.stderr
    assert f"prune threshold {used:g}" in proc.stdout, proc.stdout
