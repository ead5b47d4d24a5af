"""Run GLSL ES 300 passes in a real browser's WebGL2: headless Chromium on SwiftShader.

The folder's fragment passes and the image go into a page (`job.js` beside a copy of
`webgl_runner.js`); Chromium runs it headless and the page prints the output texture as
float32 (EXT_color_buffer_float), read back with `readPixels(RGBA, FLOAT)`. Texture row 0
is image row 0 on upload and readback, as in the GL runner.

    runner = WebGLRunner()
    out = runner.run(load("out_dir"), img)  # H×W(×C) float32 → same shape (a folder path works too)
    outs = runner.run_many([a, b], img)     # several programs, one page of the kept browser
    runner.renderer                         # "ANGLE (Google, Vulkan 1.3.0 (SwiftShader …))" after a run

The extensions the page enables are exactly the manifest's `extensions` (what emit says the
passes need; a pass sampling the RGBA32F source linearly lists `OES_texture_float_linear`), so
a page sees what an engine enabling that list sees.
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
from ..common.devtools import Chromium
from ..common.errors import SepgenError
from ..common.images import check_image, to_rgba
from ..plan.passmodel import Pass
from .program import Program, Scale, as_program

RUNNER_JS = Path(__file__).with_name("webgl_runner.js")
ES_VERSION = "#version 300 es"
PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>sepgen WebGL2 run</title></head>
<body><pre id="result">{"error": "the runner script did not run"}</pre>
<script src="job.js"></script><script src="webgl_runner.js"></script></body></html>
"""

DISPLAY = "WebGL2"

__all__ = ["WebGLRunner", "webgl_job"]


def _source(program: Program, rel: str | None) -> str:
    text = program.text(rel)
    if not text.startswith(ES_VERSION):
        raise SepgenError(f"{rel} is not GLSL ES 300 (WebGL2 runs `--glsl-version 300es` passes)")
    return text


def _pass_job(program: Program, p: Pass) -> dict[str, Any]:
    if p.is_compute:
        raise SepgenError(f"{program.where}: pass {p.name!r} is a compute pass; WebGL2 runs fragment passes only")
    return {
        "name": p.name, "vertex": p.vertex, "fragment": p.fragment,
        "vertex_source": _source(program, p.vertex), "fragment_source": _source(program, p.fragment),
        "inputs": [{"texture": i.texture, "uniform": i.uniform, "binding": i.binding, "filter": i.filter}
                   for i in p.inputs],
        "targets": [o.texture for o in sorted(p.outputs, key=lambda o: o.location)], "blend": p.blend,
        "layers": [o.layer for o in sorted(p.outputs, key=lambda o: o.location)],
    }


def webgl_job(program: Program | str | os.PathLike, img: np.ndarray) -> dict[str, Any]:
    """What the page runs: sizes, texture formats, passes with their sources, the extensions the
    manifest lists, the image as base64 float32."""
    program = as_program(program)
    manifest = program.manifest
    source, output = manifest.texture("input").name, manifest.texture("output").name
    textures = {t.name: ("rgba32f" if t.name == source else t.format or "rgba32f") for t in manifest.textures}
    passes = [_pass_job(program, p) for p in manifest.passes]
    rgba = np.ascontiguousarray(to_rgba(img), dtype="<f4")
    layers = {t.name: t.layers for t in manifest.textures if t.layers}  # array textures (intermediates="array")
    return {"width": int(rgba.shape[1]), "height": int(rgba.shape[0]), "textures": textures, "layers": layers,
            "source": source, "output": output, "passes": passes,
            "extensions": sorted(manifest.extensions), "image": base64.b64encode(rgba.tobytes()).decode("ascii")}


def _result(dom: str) -> dict[str, Any]:
    match = re.search(r'<pre id="result">(.*?)</pre>', dom, re.S)
    if match is None:
        raise SepgenError("chromium printed no result page (is WebGL2 available?)")
    try:
        return json.loads(html.unescape(match.group(1)))
    except json.JSONDecodeError:
        raise SepgenError("the WebGL2 page returned no readable result") from None


class WebGLRunner:
    """Runs emitted GLSL ES 300 programs in headless Chromium's WebGL2: one browser, started on the
    first run and kept (a page per call; `run_many` runs a batch in one page) until `close()` or
    the process ends. A `sepgen.run.registry.Runner`."""

    name = "webgl"  # its key in sepgen.run.registry.RUNNERS

    def __init__(self) -> None:
        browser.find_chromium()  # fail early, with the package to install
        self.renderer = "WebGL2 (headless Chromium)"
        self._chromium: Chromium | None = None

    def close(self) -> None:
        """End the browser (a later run starts another)."""
        if self._chromium is not None:
            self._chromium.close()
            self._chromium = None

    @property
    def device(self) -> str:
        return f"{DISPLAY}: {self.renderer}"

    def run(self, program: Program | str | os.PathLike, img: np.ndarray, scale: Scale = None) -> np.ndarray:
        """Filter `img` (H×W or H×W×C) with the program (or the folder's); same shape, float32."""
        result = self.run_many([program], img, [scale])[0]
        if isinstance(result, SepgenError):
            raise result
        return result

    def run_many(self, programs: list[Program | str | os.PathLike], img: np.ndarray,
                 scales: list[Scale] | None = None) -> list[np.ndarray | SepgenError]:
        """Each program on `img`, in one page: a result array, or the error that program raised."""
        arr = check_image(img)
        jobs: list[dict[str, Any] | SepgenError] = []
        for program, scale in zip(programs, scales or [None] * len(programs)):
            try:
                jobs.append(_job(as_program(program), arr, scale))
            except SepgenError as exc:
                jobs.append(exc)
        ran = iter(self._page([j for j in jobs if isinstance(j, dict)], arr))
        return [next(ran) if isinstance(j, dict) else j for j in jobs]

    def _page(self, jobs: list[dict[str, Any]], arr: np.ndarray) -> list[np.ndarray | SepgenError]:
        if not jobs:
            return []
        with tempfile.TemporaryDirectory(prefix="sepgen-webgl-") as tmp:
            page = Path(tmp) / "run.html"
            page.write_text(PAGE, encoding="utf-8")
            (Path(tmp) / "job.js").write_text(f"var SEPGEN_JOBS = {json.dumps(jobs)};\n", encoding="utf-8")
            shutil.copyfile(RUNNER_JS, Path(tmp) / RUNNER_JS.name)
            if self._chromium is None or not self._chromium.alive:  # first run, or the browser died
                self._chromium = Chromium()
            res = _result(self._chromium.dump_dom(page))
        if "error" in res:
            raise SepgenError(f"WebGL2: {res['error']}")
        self.renderer = f"WebGL2 on {res['renderer']}"
        return [_pixels(r, arr) for r in res["results"]]


def _job(program: Program, arr: np.ndarray, scale: Scale) -> dict[str, Any]:
    """The page's job for one program; the scale checks every runner makes (scaled GLSL ES runs on GL)."""
    extra = program.scale_inputs(scale, arr.shape[0], arr.shape[1])
    if extra.uniform is not None or extra.textures:
        raise SepgenError(f"the {DISPLAY} runner does not run scaled shaders")
    return webgl_job(program, arr)


def _pixels(res: dict[str, Any], arr: np.ndarray) -> np.ndarray | SepgenError:
    if "error" in res:
        return SepgenError(f"WebGL2: {res['error']}")
    h, w = arr.shape[:2]
    out = np.frombuffer(base64.b64decode(res["pixels"]), dtype="<f4").reshape(h, w, 4).astype(np.float32)
    return out[:, :, 0] if arr.ndim == 2 else out[:, :, : arr.shape[2]].copy()
