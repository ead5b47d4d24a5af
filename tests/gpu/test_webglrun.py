"""GLSL ES 300 passes in headless Chromium's WebGL2, and the headless-Chromium helpers.

Marked `gpu`: skipped without Chromium, failed instead with CI=true.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest

from sepgen import SeparableFilter, emit
from sepgen.common import browser
from sepgen.common.errors import SepgenError
from sepgen.filters import reference
from sepgen.verify.check import default_image, tolerance_for
from tests.support import disk_filter, hand_filter

gpu = pytest.mark.gpu


def asymmetric() -> SeparableFilter:
    return hand_filter(rank=2, shape=(5, 8), origin=(1, 6), name="asym")  # zero taps, off-centre origin


def emitted(filt: SeparableFilter, options: dict, folder: Path) -> Path:
    emit.write(emit.render(filt, {"lang": "glsl", "glsl_version": "300es", **options}), folder)
    return folder


ES300_FILTERS = {"disk50": disk_filter(), "asymmetric": asymmetric()}
ES300_OPTIONS = {"mrt": {}, "percomp-linear": {"strategy": "per-component", "linear_sampling": True},
                 "fp16": {"precision": "fp16"}}


@pytest.fixture(scope="module")
def es300_outputs(webgl_runner) -> dict[tuple[str, str], np.ndarray]:
    """Every (filter, options) case below emitted and run on the default image in one browser start."""
    img = default_image()
    cases = [(f, o) for f in ES300_FILTERS for o in ES300_OPTIONS]
    with tempfile.TemporaryDirectory() as tmp:
        folders = [emitted(ES300_FILTERS[f], ES300_OPTIONS[o], Path(tmp) / f"{f}-{o}") for f, o in cases]
        outs = webgl_runner.run_many(folders, img)
    return dict(zip(cases, outs))


@gpu
@pytest.mark.parametrize("name", list(ES300_FILTERS))
@pytest.mark.parametrize("option_id", list(ES300_OPTIONS))
def test_es300_passes_run_in_webgl2(webgl_runner, es300_outputs, name, option_id) -> None:
    filt, options = ES300_FILTERS[name], ES300_OPTIONS[option_id]
    img = default_image()
    ref = reference.apply_filter(img, filt)
    out = es300_outputs[name, option_id]
    assert isinstance(out, np.ndarray), out
    rel = np.max(np.abs(out - ref)) / np.max(np.abs(ref))
    assert rel <= tolerance_for(filt, {"lang": "glsl", **options}, img, ref)
    if not options:
        assert rel <= 1e-4
    assert "WebGL2 on" in webgl_runner.renderer


@gpu
def test_a_shader_error_is_one_line(webgl_runner, tmp_path) -> None:
    folder = emitted(asymmetric(), {}, tmp_path)
    frag = folder / "asym_h0.frag.glsl"
    frag.write_text(frag.read_text().replace("texelFetch(", "texelFetchX(", 1))
    with pytest.raises(SepgenError) as info:
        webgl_runner.run(folder, np.zeros((4, 6), dtype=np.float32))
    assert "asym_h0.frag.glsl failed to compile in WebGL2" in str(info.value) and "\n" not in str(info.value)


@gpu
def test_screenshot_of_a_page(webgl_runner, tmp_path) -> None:
    page = tmp_path / "p.html"
    page.write_text("<!doctype html><body style='background:#ff0000;margin:0'></body>")
    png = tmp_path / "shot.png"
    browser.screenshot(page, png, (64, 48))
    import imageio.v3 as iio

    pixels = iio.imread(png)
    assert pixels.shape[:2] == (48, 64) and tuple(pixels[10, 10, :3]) == (255, 0, 0)


@gpu
def test_many_folders_in_one_start_keep_their_own_errors(webgl_runner, tmp_path) -> None:
    filt = asymmetric()
    good = emitted(filt, {"precision": "fp16"}, tmp_path / "good")
    bad = emitted(filt, {}, tmp_path / "bad")
    (bad / "asym_v0.frag.glsl").write_text((bad / "asym_v0.frag.glsl").read_text().replace("texelFetch(", "nope(", 1))
    img = default_image(channels=3)
    out, err = webgl_runner.run_many([good, bad], img)
    ref = reference.apply_filter(img, filt)
    assert out.shape == img.shape
    assert np.max(np.abs(out - ref)) <= tolerance_for(filt, {"precision": "fp16"}, img, ref) * np.max(np.abs(ref))
    assert isinstance(err, SepgenError) and "asym_v0.frag.glsl failed to compile" in str(err)
