"""Headless Chromium (Debian's `chromium`), driven through its own command line.

No driver library: `--headless=new` loads a local page, runs its scripts and either prints
the DOM after the load event (`dump_dom`) or saves a screenshot (`screenshot`). WebGL runs
on SwiftShader through ANGLE, so no GPU or display is needed.

    html = dump_dom(Path("page.html"))            # the page's DOM once its scripts ran
    html = dump_dom_url("http://127.0.0.1:8000/") # a served page, once its fetches and modules finished
    screenshot(Path("index.html"), Path("shot.png"), (1280, 900))
    check = inspect_page(Path("index.html"))      # images' natural sizes, failed loads, console errors
"""

from __future__ import annotations

import html
import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from . import tools
from .errors import SepgenError
from .tools import find_chromium

DEBIAN_PACKAGE = tools.PACKAGES["chromium"]
TIMEOUT_S = 120
HEADLESS_FLAGS = (
    "--headless=new",
    "--use-angle=swiftshader",  # WebGL on the CPU, the same everywhere
    "--enable-unsafe-swiftshader",
    # The page's WebGL still runs on SwiftShader; only the compositor, which would draw every frame
    # of the page through it too, draws in software: the WebGL2 runner takes ~38 % less CPU, same
    # outputs bit for bit (benchmarks/bench_webgl.py)
    "--disable-gpu-compositing",
    "--disable-gpu-sandbox",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-extensions",
    "--disable-background-networking",
    "--mute-audio",
    "--hide-scrollbars",
)

__all__ = ["find_chromium", "dump_dom", "dump_dom_url", "screenshot", "inspect_page", "PageCheck", "LoadedImage",
           "DEBIAN_PACKAGE"]


def command(url: str, profile: str, extra: list[str]) -> list[str]:
    """Chromium's command line: headless, SwiftShader, a throw-away profile, `extra`, then `url`."""
    args = [find_chromium(), *HEADLESS_FLAGS, f"--user-data-dir={profile}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--no-sandbox")  # Chromium refuses to start as root with its sandbox
    return [*args, *extra, url]


def _run(page: Path, extra: list[str], timeout: float) -> str:
    if not page.is_file():
        raise SepgenError(f"page {page} does not exist")
    return _run_url(page.resolve().as_uri(), page.name, extra, timeout)


def _run_url(url: str, what: str, extra: list[str], timeout: float) -> str:
    with tempfile.TemporaryDirectory(prefix="sepgen-chromium-") as profile:
        proc = tools.run(command(url, profile, extra), what, timeout, cwd=profile)
    if proc.returncode != 0:
        lines = proc.stderr.splitlines()
        errors = [ln for ln in lines if "ERROR" in ln and "dbus" not in ln] or lines or ["no output"]
        raise SepgenError(f"chromium failed on {what} (exit {proc.returncode}): {errors[-1].strip()}")
    return proc.stdout


def dump_dom(page: Path, timeout: float = TIMEOUT_S) -> str:
    """Load `page` headless and return its serialised DOM after the load event."""
    return _run(page, ["--dump-dom"], timeout)


def dump_dom_url(url: str, timeout: float = TIMEOUT_S, budget_ms: int = 60_000) -> str:
    """Load `url` headless and return its serialised DOM once the page is idle.

    For pages whose work is asynchronous (module scripts, `fetch`): the load event does not wait
    for them, so Chromium runs on virtual time for up to `budget_ms`, which it fast-forwards
    whenever the page only waits (a page that finishes sooner returns sooner)."""
    return _run_url(url, url, ["--dump-dom", f"--virtual-time-budget={int(budget_ms)}"], timeout)


def screenshot(page: Path, png: Path, size: tuple[int, int] = (1280, 900), timeout: float = TIMEOUT_S) -> None:
    """Load `page` headless in a `size` (width, height) window and save what it shows as a PNG."""
    png = Path(png).resolve()
    _run(page, [f"--screenshot={png}", f"--window-size={size[0]},{size[1]}"], timeout)
    if not png.is_file():
        raise SepgenError(f"chromium wrote no screenshot of {page.name}")


# Injected first into <head> of a copy of the page: records failed loads (error events of
# elements, captured on window), uncaught errors and console.error calls, then after the
# load event writes them, each image's natural size and the page height into the DOM.
_PROBE_ID = "sepgen-page-check"
_PROBE = """<script>
(function () {
  var r = {failed: [], errors: []};
  window.addEventListener("error", function (e) {
    var t = e.target;
    if (t && t !== window && (t.src || t.href)) { r.failed.push(t.src || t.href); }
    else { r.errors.push(String(e.message)); }
  }, true);
  window.addEventListener("unhandledrejection", function (e) { r.errors.push(String(e.reason)); });
  var consoleError = console.error;
  console.error = function () {
    r.errors.push(Array.prototype.join.call(arguments, " "));
    consoleError.apply(console, arguments);
  };
  window.addEventListener("load", function () {
    r.images = Array.prototype.map.call(document.images, function (img) {
      return {src: img.getAttribute("src"), complete: img.complete, width: img.naturalWidth, height: img.naturalHeight};
    });
    r.height = Math.ceil(document.documentElement.scrollHeight);
    var out = document.createElement("pre");
    out.id = "%s";
    out.textContent = JSON.stringify(r);
    document.body.appendChild(out);
  });
})();
</script>
""" % _PROBE_ID  # noqa: UP031 - the script's braces would need doubling for str.format


@dataclass(frozen=True)
class LoadedImage:
    """An <img> after the load event: its src as written and its natural size (0 if it failed)."""

    src: str
    width: int
    height: int


@dataclass(frozen=True)
class PageCheck:
    """What a headless browser saw loading a page."""

    images: tuple[LoadedImage, ...]
    failed: tuple[str, ...]  # URLs of images, stylesheets or scripts that did not load
    errors: tuple[str, ...]  # uncaught errors and console.error messages
    height: int  # document height in CSS pixels


def inspect_page(page: Path, timeout: float = TIMEOUT_S) -> PageCheck:
    """Load `page` headless with a probe script and report its images, failed loads and errors.

    The probe runs in a temporary copy beside `page` (so relative URLs resolve the same),
    removed afterwards."""
    page = Path(page)
    try:
        text = page.read_text(encoding="utf-8")
    except OSError as exc:
        raise SepgenError(f"cannot read page {page}: {exc.strerror or exc}") from None
    probed = re.sub(r"<head[^>]*>", lambda m: m.group(0) + _PROBE, text, count=1, flags=re.IGNORECASE)
    if probed == text:
        probed = _PROBE + text
    fd, name = tempfile.mkstemp(prefix=f".{page.stem}.", suffix=".probe.html", dir=page.parent)
    copy = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(probed)
        dom = dump_dom(copy, timeout)
    finally:
        copy.unlink(missing_ok=True)
    return _parse_probe(dom, page)


def _parse_probe(dom: str, page: Path) -> PageCheck:
    found = re.search(rf'<pre id="{_PROBE_ID}">(.*?)</pre>', dom, flags=re.DOTALL)
    if found is None:
        raise SepgenError(f"chromium never finished loading {page.name} (no load event)")
    r = json.loads(html.unescape(found.group(1)))
    images = tuple(LoadedImage(i["src"] or "", int(i["width"]), int(i["height"])) for i in r["images"])
    return PageCheck(images, tuple(r["failed"]), tuple(r["errors"]), int(r["height"]))
