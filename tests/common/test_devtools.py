"""One headless Chromium for many pages (sepgen.common.devtools), as the WebGL2 runner keeps it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sepgen.common.devtools import Chromium
from sepgen.common.errors import SepgenError


def test_one_browser_loads_many_pages_and_ends(tmp_path: Path, chromium) -> None:
    pages = []
    for k in range(3):
        page = tmp_path / f"p{k}.html"
        page.write_text(f'<html><body><pre id="result"></pre><script>'
                        f'document.getElementById("result").textContent = "page {k}";</script></body></html>')
        pages.append(page)
    chrome = Chromium()
    proc = chrome._proc
    try:
        for k, page in enumerate(pages):  # the DOM after the load event, as `chromium --dump-dom` prints it
            assert f'<pre id="result">page {k}</pre>' in chrome.dump_dom(page)
        with pytest.raises(SepgenError, match=r"page .*nope.html does not exist"):
            chrome.dump_dom(tmp_path / "nope.html")
        assert proc.poll() is None and chrome.alive  # one browser for all of them
    finally:
        chrome.close()
    assert proc.poll() is not None and not chrome.alive  # and closing ends it


@pytest.mark.gpu
def test_the_webgl2_runner_replaces_a_browser_that_died(webgl_runner, tmp_path: Path) -> None:
    from sepgen import emit
    from tests.support import hand_filter

    emit.write(emit.render(hand_filter(), {"lang": "glsl", "glsl_version": "300es"}), tmp_path)
    img = np.random.default_rng(3).random((6, 9)).astype(np.float32)
    first = webgl_runner.run(tmp_path, img)
    webgl_runner._chromium._proc.kill()  # as a crash would
    webgl_runner._chromium._proc.wait()
    np.testing.assert_array_equal(webgl_runner.run(tmp_path, img), first)
