"""sepgen.common.browser.inspect_page: what headless Chromium sees when it loads a page.

Skipped without Chromium (Debian package `chromium`), failed instead with CI=true (the
`chromium` fixture in conftest).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sepgen.common import browser


def write_page(folder: Path, body: str) -> Path:
    import imageio.v3 as iio

    iio.imwrite(folder / "ok.png", np.zeros((30, 50, 3), np.uint8))
    page = folder / "index.html"
    page.write_text(f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>t</title></head>"
                    f"<body>{body}</body></html>\n")
    return page


def test_a_good_page(tmp_path: Path, chromium: str) -> None:
    page = write_page(tmp_path, '<img src="ok.png" alt="ok">')
    check = browser.inspect_page(page)
    assert check.images == (browser.LoadedImage("ok.png", 50, 30),)
    assert check.failed == () and check.errors == ()
    assert check.height > 30
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index.html", "ok.png"]  # the probe copy is gone


def test_missing_files_and_errors_are_reported(tmp_path: Path, chromium: str) -> None:
    page = write_page(tmp_path, '<img src="ok.png"><img src="missing.png"><link rel="stylesheet" href="gone.css">'
                                '<script>console.error("broken", 42); undefinedFunction();</script>')
    check = browser.inspect_page(page)
    assert browser.LoadedImage("missing.png", 0, 0) in check.images
    assert sorted(Path(url).name for url in check.failed) == ["gone.css", "missing.png"]
    assert "broken 42" in check.errors
    assert any("undefinedFunction" in e for e in check.errors)


def test_screenshot_shows_the_whole_page(tmp_path: Path, chromium: str) -> None:
    import imageio.v3 as iio

    page = write_page(tmp_path, '<div style="height:2000px;background:#f00"></div>')
    check = browser.inspect_page(page)
    browser.screenshot(page, tmp_path / "page.png", (400, check.height))
    shot = iio.imread(tmp_path / "page.png")
    assert shot.shape[:2] == (check.height, 400)
    assert tuple(shot[1000, 200, :3]) == (255, 0, 0)
