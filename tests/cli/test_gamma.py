"""`--gamma` (the seed's bokeh boost) end to end: no dark specks, GPU equal to NumPy after the root.

A fitted filter has tiny negative lobes (negative mass ~3e-5); around a highlight on black
they leave pixels of about −3e-6, which the 1/γ root used to turn into −0.2 (dark X-shaped
lines at the disk's corners). Negatives are clamped to 0 before the root (issue 12, item 7).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sepgen import SeparableFilter
from sepgen.cli import main
from sepgen.filters import reference

FILTER = Path(__file__).parents[1] / "data" / "disk50_rank4.json"  # the recommended fit: it has negative lobes
GAMMA = "8"


def highlights_on_black() -> np.ndarray:
    """Point and small-area lights on black: where the negative lobes would show."""
    img = np.zeros((64, 80, 3), np.float32)
    img[10, 12] = 1.0
    img[40:44, 50:53] = 0.9
    img[30, 70, 1] = 1.0
    img[5:60, 30, 2] = 0.5
    return img


def apply(tmp_path: Path, capsys, backend: str, *extra: str) -> np.ndarray:
    np.save(tmp_path / "in.npy", highlights_on_black())
    out = tmp_path / f"{backend}{len(extra)}.npy"
    code = main(["apply", str(FILTER), "-i", str(tmp_path / "in.npy"), "-o", str(out), "--backend", backend, *extra])
    capsys.readouterr()
    assert code == 0
    return np.load(out)


def test_gamma_leaves_no_negative_pixels(tmp_path, capsys) -> None:
    filt = SeparableFilter.load(FILTER)
    before_root = reference.apply_filter(highlights_on_black() ** float(GAMMA), filt)
    assert before_root.min() < -1e-6  # the lobes are there before the boost's root ...
    boosted = apply(tmp_path, capsys, "numpy", "--gamma", GAMMA)
    assert boosted.min() == 0.0  # ... and gone after it
    np.testing.assert_array_equal(boosted[before_root <= 0], 0.0)
    lit = before_root > 0
    np.testing.assert_allclose(boosted[lit], before_root[lit] ** (1 / float(GAMMA)), rtol=1e-6)


@pytest.mark.gpu
def test_gpu_and_numpy_agree_after_the_root(tmp_path, capsys) -> None:
    ref, gpu = apply(tmp_path, capsys, "numpy"), apply(tmp_path, capsys, "gpu")
    assert np.abs(gpu - ref).max() <= 1e-6  # before the root: float32 precision (input peak 1)
    ref_g, gpu_g = apply(tmp_path, capsys, "numpy", "--gamma", GAMMA), apply(tmp_path, capsys, "gpu", "--gamma", GAMMA)
    assert ref_g.min() >= 0 and gpu_g.min() >= 0
    # x^(1/8) magnifies float noise near 0 (1e-18 -> 0.006), so agreement is at display precision.
    assert np.abs(gpu_g - ref_g).max() <= 2 / 255
    lit = ref_g > 0.25  # boosted above 1.5e-5, where float32's 3e-8 is a small relative error
    assert lit.mean() > 0.2
    np.testing.assert_allclose(gpu_g[lit], ref_g[lit], rtol=1e-3)


@pytest.mark.parametrize("command", ["apply", "report"])
def test_help_says_negatives_are_clamped(command: str, capsys) -> None:
    assert main([command, "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    gamma = text[text.index("--gamma"):]
    assert "negatives become 0 before each power" in gamma, gamma
