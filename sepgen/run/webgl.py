"""Run GLSL ES 300 passes in a real browser's WebGL2: headless Chromium on SwiftShader.

The folder's fragment passes and the image go into a page (`job.js` beside a copy of
`webgl_runner.js`); Chromium runs it headless and the page prints the output texture as
float32 (EXT_color_buffer_float), read back with `readPixels(RGBA, FLOAT)`. Texture row 0
is image row 0 on upload and readback, as in the GL runner.

    runner = WebGLRunner()
    out = runner.run("out_dir", img)      # H×W(×C) float32 → same shape
    outs = runner.run_many([a, b], img)   # several folders, one browser start
    runner.renderer                       # "ANGLE (Google, Vulkan 1.3.0 (SwiftShader …))" after a run
"""

from __future__ import annotations

import base64
import html
import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from ..common import browser
from ..plan import passmodel
from ..common.errors import SepgenError
from ..common.images import check_image, to_rgba
from ..plan.passmodel import MANIFEST, Manifest, Pass

RUNNER_JS = Path(__file__).with_name("webgl_runner.js")
ES_VERSION = "#version 300 es"
PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>sepgen WebGL2 run</title></head>
<body><pre id="result">{"error": "the runner script did not run"}</pre>
<script src="job.js"></script><script src="webgl_runner.js"></script></body></html>
"""

__all__ = ["WebGLRunner", "webgl_job"]


def _source(root: Path, manifest: Manifest, rel: str | None) -> str:
    entry = manifest.file(rel) if rel else None
    if entry is None:
        raise SepgenError(f"{root / MANIFEST}: pass file {rel!r} is not listed in 'files'")
    path = (root / entry.path).resolve()
    if root.resolve() not in path.parents:
        raise SepgenError(f"{root / MANIFEST}: file {rel!r} is outside the folder")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SepgenError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not text.startswith(ES_VERSION):
        raise SepgenError(f"{rel} is not GLSL ES 300 (WebGL2 runs `--glsl-version 300es` passes)")
    return text


def _extensions(textures: dict[str, str], passes: list[dict[str, Any]]) -> list[str]:
    """EXT_color_buffer_float always; float32 filtering and blending only where a pass needs them."""
    out = ["EXT_color_buffer_float"]
    if any(i["filter"] == "linear" and textures[i["texture"]] == "rgba32f" for p in passes for i in p["inputs"]):
        out.append("OES_texture_float_linear")
    if any(p["blend"] == "additive" and any(textures[t] == "rgba32f" for t in p["targets"]) for p in passes):
        out.append("EXT_float_blend")
    return out


def _pass_job(root: Path, manifest: Manifest, p: Pass) -> dict[str, Any]:
    if p.is_compute:
        raise SepgenError(f"{root / MANIFEST}: pass {p.name!r} is a compute pass; WebGL2 runs fragment passes only")
    return {
        "name": p.name, "vertex": p.vertex, "fragment": p.fragment,
        "vertex_source": _source(root, manifest, p.vertex), "fragment_source": _source(root, manifest, p.fragment),
        "inputs": [{"texture": i.texture, "uniform": i.uniform, "binding": i.binding, "filter": i.filter} for i in p.inputs],
        "targets": [o.texture for o in sorted(p.outputs, key=lambda o: o.location)], "blend": p.blend,
    }


def webgl_job(out_dir: str | os.PathLike, img: np.ndarray) -> dict[str, Any]:
    """What the page runs: sizes, texture formats, passes with their sources, the image as base64 float32."""
    root = Path(out_dir)
    manifest = passmodel.load(root)
    source, output = manifest.texture("input").name, manifest.texture("output").name
    textures = {t.name: ("rgba32f" if t.name == source else t.format or "rgba32f") for t in manifest.textures}
    passes = [_pass_job(root, manifest, p) for p in manifest.passes]
    rgba = np.ascontiguousarray(to_rgba(img), dtype="<f4")
    return {"width": int(rgba.shape[1]), "height": int(rgba.shape[0]), "textures": textures,
            "source": source, "output": output, "passes": passes,
            "extensions": _extensions(textures, passes), "image": base64.b64encode(rgba.tobytes()).decode("ascii")}


def _result(dom: str) -> dict[str, Any]:
    match = re.search(r'<pre id="result">(.*?)</pre>', dom, re.S)
    if match is None:
        raise SepgenError("chromium printed no result page (is WebGL2 available?)")
    try:
        return json.loads(html.unescape(match.group(1)))
    except json.JSONDecodeError:
        raise SepgenError("the WebGL2 page returned no readable result") from None


class WebGLRunner:
    """Runs emitted GLSL ES 300 folders in headless Chromium's WebGL2 (one browser start per call)."""

    def __init__(self) -> None:
        browser.find_chromium()  # fail early, with the package to install
        self.renderer = "WebGL2 (headless Chromium)"

    def run(self, out_dir: str | os.PathLike, img: np.ndarray) -> np.ndarray:
        """Filter `img` (H×W or H×W×C) with the passes in `out_dir`; same shape, float32."""
        result = self.run_many([out_dir], img)[0]
        if isinstance(result, SepgenError):
            raise result
        return result

    def run_many(self, out_dirs: list[str | os.PathLike], img: np.ndarray) -> list[np.ndarray | SepgenError]:
        """Each folder on `img`, in one page: a result array, or the error that folder raised."""
        arr = check_image(img)
        jobs = [webgl_job(d, arr) for d in out_dirs]
        if not jobs:
            return []
        with tempfile.TemporaryDirectory(prefix="sepgen-webgl-") as tmp:
            page = Path(tmp) / "run.html"
            page.write_text(PAGE, encoding="utf-8")
            (Path(tmp) / "job.js").write_text(f"var SEPGEN_JOBS = {json.dumps(jobs)};\n", encoding="utf-8")
            shutil.copyfile(RUNNER_JS, Path(tmp) / RUNNER_JS.name)
            res = _result(browser.dump_dom(page))
        if "error" in res:
            raise SepgenError(f"WebGL2: {res['error']}")
        self.renderer = f"WebGL2 on {res['renderer']}"
        return [_pixels(r, arr) for r in res["results"]]


def _pixels(res: dict[str, Any], arr: np.ndarray) -> np.ndarray | SepgenError:
    if "error" in res:
        return SepgenError(f"WebGL2: {res['error']}")
    h, w = arr.shape[:2]
    out = np.frombuffer(base64.b64decode(res["pixels"]), dtype="<f4").reshape(h, w, 4).astype(np.float32)
    return out[:, :, 0] if arr.ndim == 2 else out[:, :, : arr.shape[2]].copy()
