"""sepgen.run.webgl without a browser: the job a page runs, and the missing-Chromium message."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sepgen import SeparableFilter, emit
from sepgen.common import browser, tools
from sepgen.common.errors import SepgenError
from sepgen.run.webgl import webgl_job
from tests.support import hand_filter


def asymmetric() -> SeparableFilter:
    return hand_filter(rank=2, shape=(5, 8), origin=(1, 6), name="asym")  # zero taps, off-centre origin


def emitted(filt: SeparableFilter, options: dict, folder: Path) -> Path:
    emit.write(emit.render(filt, {"lang": "glsl", "glsl_version": "300es", **options}), folder)
    return folder


def test_job_asks_only_for_the_extensions_a_pass_needs(tmp_path) -> None:
    filt = asymmetric()
    img = np.zeros((4, 6), dtype=np.float32)
    plain = webgl_job(emitted(filt, {}, tmp_path / "a"), img)
    assert plain["extensions"] == ["EXT_color_buffer_float"]
    assert [p["name"] for p in plain["passes"]] == ["h0", "v0"]
    assert plain["passes"][0]["targets"] == ["asym_t0", "asym_t1"]
    both = webgl_job(emitted(filt, {"strategy": "per-component", "linear_sampling": True}, tmp_path / "b"), img)
    assert "EXT_float_blend" in both["extensions"] and "OES_texture_float_linear" in both["extensions"]


def test_job_refuses_desktop_glsl(tmp_path) -> None:
    folder = tmp_path / "d"
    emit.write(emit.render(asymmetric(), {"lang": "glsl"}), folder)
    with pytest.raises(SepgenError, match="not GLSL ES 300"):
        webgl_job(folder, np.zeros((4, 6), dtype=np.float32))


def test_missing_chromium_names_the_package(monkeypatch) -> None:
    monkeypatch.setattr(tools.shutil, "which", lambda name: None)
    with pytest.raises(SepgenError, match="install the Debian package chromium"):
        browser.find_chromium()
