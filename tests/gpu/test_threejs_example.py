"""examples/threejs runs sepgen's GLSL ES 300 passes in three.js 0.187 (npm) in headless Chromium.

The page (examples/threejs/index.html + main.js + sepgen-three.js) is served from a temporary
folder holding a copy of the example, `node_modules/three` from a cache folder (installed once
with npm: `SEPGEN_NPM_CACHE`, else ~/.cache/sepgen-tests/npm), the emitted folders and the image.
Its result is compared with the float64 NumPy reference.

Marked `gpu`: skipped without node/npm, Chromium, or when npm cannot install three (no
network), failed instead with CI=true.
"""

from __future__ import annotations

import base64
import functools
import html
import http.server
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from sepgen import emit
from sepgen.common import browser
from sepgen.common.errors import SepgenError
from sepgen.filters import reference
from sepgen.verify.check import default_image, tolerance_for
from tests.support import disk_filter, hand_filter, unavailable

gpu = pytest.mark.gpu

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "threejs"
THREE_VERSION = "0.187.0"
FILTERS = {"disk50": disk_filter(), "hand": hand_filter(rank=3, shape=(9, 7), origin=(3, 5))}
# id -> (filter, emit options, material); fp32 point sampling is held to 1e-5
CASES = {
    "disk50-mrt-raw": ("disk50", {}, "raw"),
    "disk50-mrt-shadermaterial": ("disk50", {}, "shader"),
    "hand-percomp-additive": ("hand", {"strategy": "per-component"}, "raw"),
    "disk50-linear": ("disk50", {"linear_sampling": True}, "raw"),
    "hand-fp16": ("hand", {"precision": "fp16"}, "raw"),
}


def _npm_cache() -> Path:
    if os.environ.get("SEPGEN_NPM_CACHE"):
        return Path(os.environ["SEPGEN_NPM_CACHE"])
    home = Path.home()
    if home.is_dir():
        return home / ".cache" / "sepgen-tests" / "npm"
    return Path(tempfile.gettempdir()) / "sepgen-tests-npm"


def _installed(prefix: Path) -> bool:
    package = prefix / "node_modules" / "three" / "package.json"
    return package.is_file() and json.loads(package.read_text(encoding="utf-8")).get("version") == THREE_VERSION


@pytest.fixture(scope="module")
def three_modules() -> Path:
    """node_modules holding three@0.187.0, installed with npm once into the cache folder."""
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        unavailable("node and npm are not installed (Debian: nodejs npm)")
    prefix = _npm_cache() / f"three-{THREE_VERSION}"
    if not _installed(prefix):
        prefix.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".three-", dir=prefix.parent))
        cmd = [npm, "install", f"three@{THREE_VERSION}", "--prefix", str(staging), "--no-audit", "--no-fund"]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        if proc.returncode != 0 or not _installed(staging):
            shutil.rmtree(staging, ignore_errors=True)
            why = (proc.stderr.strip().splitlines() or ["no message"])[-1]
            unavailable(f"npm could not install three@{THREE_VERSION}: {why}")
        if not _installed(prefix):  # another run may have finished first
            shutil.rmtree(prefix, ignore_errors=True)
            staging.rename(prefix)
        else:
            shutil.rmtree(staging, ignore_errors=True)
    return prefix / "node_modules"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def site(three_modules: Path) -> Iterator[tuple[str, Path]]:
    """The example served over HTTP from a temporary folder (module scripts and fetch need it)."""
    try:
        browser.find_chromium()
    except SepgenError as exc:
        unavailable(str(exc))
    with tempfile.TemporaryDirectory(prefix="sepgen-threejs-") as tmp:
        root = Path(tmp)
        for name in ("index.html", "main.js", "sepgen-three.js"):
            shutil.copyfile(EXAMPLE / name, root / name)
        (root / "node_modules").symlink_to(three_modules, target_is_directory=True)
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=tmp))
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}/", root
        finally:
            server.shutdown()
            server.server_close()


def run_page(site: tuple[str, Path], case: str, options: dict, filt, img: np.ndarray, material: str) -> np.ndarray:
    url, root = site
    emit.write(emit.render(filt, {"lang": "glsl", "glsl_version": "300es", **options}), root / case)
    rgba = np.ascontiguousarray(img, dtype="<f4")
    (root / f"{case}.f32").write_bytes(rgba.tobytes())
    h, w = rgba.shape[:2]
    query = f"filter={case}/&image={case}.f32&width={w}&height={h}&material={material}"
    dom = browser.dump_dom_url(f"{url}index.html?{query}")
    result = json.loads(_result_text(dom))
    assert "error" not in result, result["error"]
    assert result["three"] == "187"
    return np.frombuffer(base64.b64decode(result["pixels"]), dtype="<f4").reshape(h, w, 4)


def _result_text(dom: str) -> str:
    found = re.search(r'<pre id="result"[^>]*>(.*?)</pre>', dom, re.S)
    assert found is not None, "the page wrote no result"
    return html.unescape(found.group(1))


@gpu
@pytest.mark.parametrize("case", list(CASES))
def test_threejs_example_matches_reference(site, case: str) -> None:
    name, options, material = CASES[case]
    filt = FILTERS[name]
    img = default_image()
    assert img.ndim == 3 and img.shape[2] == 4
    out = run_page(site, case, options, filt, img, material)
    ref = reference.apply_filter(img, filt)
    rel = float(np.max(np.abs(out - ref)) / np.max(np.abs(ref)))
    # SwiftShader interpolates in float32, as verify's probe measures (sepgen.verify.check)
    limit = 1e-5
    if options.keys() & {"linear_sampling", "precision"}:
        limit = tolerance_for(filt, {"lang": "glsl", **options}, img, ref, bilinear=2.0**-17)
    assert rel <= limit, f"{case}: relative error {rel:.3g} > {limit:.3g}"


@gpu
def test_threejs_example_reports_a_wrong_folder(site) -> None:
    """A folder that is not GLSL ES 300 is refused by the page with a message, not a blank result."""
    url, root = site
    emit.write(emit.render(FILTERS["hand"], {"lang": "glsl", "glsl_version": "330"}), root / "glsl330")
    result = json.loads(_result_text(browser.dump_dom_url(f"{url}index.html?filter=glsl330/")))
    assert "--glsl-version 300es" in result["error"]
