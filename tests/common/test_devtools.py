"""One headless Chromium for many pages (sepgen.common.devtools), as the WebGL2 runner keeps it."""

from __future__ import annotations

from pathlib import Path

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
        assert proc.poll() is None  # one browser for all of them
    finally:
        chrome.close()
    assert proc.poll() is not None  # and closing ends it
