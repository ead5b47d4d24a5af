"""Run an emitted shader folder on an OpenGL driver (moderngl, headless EGL).

The runner reads `manifest.json` (see docs/manifest.md), uploads the image as an
RGBA float texture, runs the standalone passes in manifest order into float
targets and reads `output` back as float32. GLSL files run as written; HLSL
files are cross-compiled (glslangValidator → SPIR-V → spirv-cross → GLSL 450),
so the HLSL code itself executes. Without a GPU the driver is Mesa's llvmpipe.

    runner = GLRunner()                      # one context, reusable
    out = runner.run("out_dir", img)         # H×W or H×W×C float32 → same shape

`run_filter(filt, img, emit_options)` emits into a temporary folder and runs it in one call.
`prepare()` returns a `Pipeline` (programs and textures for one image size)
for callers that run the same passes many times (benchmarks).
"""

from __future__ import annotations

import functools
import json
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from . import crosscompile
from .errors import SepgenError
from .images import check_image, to_rgba

if TYPE_CHECKING:  # pragma: no cover
    from .filterfile import SeparableFilter

MANIFEST = "manifest.json"
MANIFEST_FORMAT = "sepgen-manifest/1"
# name -> (moderngl dtype, GL internal format enum for image bindings)
TEXTURE_FORMATS = {"rgba32f": ("f4", 0x8814), "rgba16f": ("f2", 0x881A)}
MIN_GL = 330
COMPUTE_GL = 430

__all__ = ["GLRunner", "Pipeline", "create_context", "read_manifest", "run_filter", "MANIFEST"]


def create_context(backend: str | None = "egl") -> Any:
    """A standalone (headless) OpenGL context, or a one-line SepgenError saying what is missing."""
    try:
        import moderngl
    except ImportError:
        raise SepgenError("moderngl is not installed (pip install moderngl)") from None
    kwargs = {"standalone": True, "require": MIN_GL}
    if backend:
        kwargs["backend"] = backend
    try:
        return moderngl.create_context(**kwargs)
    except Exception as exc:  # moderngl/glcontext raise plain Exceptions for missing libraries
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SepgenError(
            f"cannot create an OpenGL {MIN_GL // 100}.{MIN_GL // 10 % 10} context with {backend or 'the default'} "
            f"backend ({first}); install a GL driver with EGL (Debian: libegl1 libegl-mesa0 libgl1-mesa-dri)"
        ) from None


def renderer_name(ctx: Any) -> str:
    info = ctx.info
    return f"{info.get('GL_RENDERER', '?')} (OpenGL {info.get('GL_VERSION', '?')})"


def read_manifest(out_dir: str | os.PathLike) -> dict[str, Any]:
    """Parse and sanity-check `out_dir/manifest.json`."""
    path = Path(out_dir) / MANIFEST
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SepgenError(f"{path} does not exist (run `sepgen emit` first)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SepgenError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    except json.JSONDecodeError as exc:
        raise SepgenError(f"{path} is not valid JSON: {exc.msg} at line {exc.lineno}") from None
    if not isinstance(doc, dict) or doc.get("format") != MANIFEST_FORMAT:
        raise SepgenError(f"{path} is not a {MANIFEST_FORMAT} manifest")
    for key in ("files", "textures", "passes"):
        if not isinstance(doc.get(key), (list, dict)) or not doc[key]:
            raise SepgenError(f"{path}: {key!r} is missing or empty")
    if not isinstance(doc["textures"], dict) or not all(isinstance(t, dict) for t in doc["textures"].values()):
        raise SepgenError(f"{path}: 'textures' must map names to objects")
    if not all(isinstance(f, dict) and isinstance(f.get("path"), str) for f in doc["files"]):
        raise SepgenError(f"{path}: every entry of 'files' needs a 'path'")
    if not isinstance(doc["passes"], list) or not all(isinstance(p, dict) for p in doc["passes"]):
        raise SepgenError(f"{path}: 'passes' must be a list of objects")
    for tex in doc["textures"].values():
        fmt = tex.get("format")
        if tex.get("role") != "input" and fmt not in TEXTURE_FORMATS:
            raise SepgenError(f"{path}: texture format {fmt!r} is not one of {', '.join(TEXTURE_FORMATS)}")
    return doc


@dataclass
class _Pass:
    spec: dict[str, Any]
    program: Any  # moderngl Program or ComputeShader
    vao: Any = None
    fbo: Any = None
    samplers: tuple = ()


class Pipeline:
    """Compiled passes and their textures for one image size; run as often as needed."""

    def __init__(self, ctx: Any, out_dir: str | os.PathLike, width: int, height: int) -> None:
        import moderngl

        self.ctx, self.width, self.height = ctx, int(width), int(height)
        self.out_dir = Path(out_dir)
        self.manifest = read_manifest(out_dir)
        self.files = {f["path"]: f for f in self.manifest["files"]}
        self._objects: list[Any] = []
        self.textures: dict[str, Any] = {}
        roles = {t.get("role"): n for n, t in self.manifest["textures"].items()}
        for role in ("input", "output"):
            if role not in roles:
                raise SepgenError(f"{self.out_dir / MANIFEST}: no texture with role {role!r}")
        try:
            for name, tex in self.manifest["textures"].items():
                # The source is always uploaded as rgba32f, whatever format an engine would use.
                fmt = "rgba32f" if tex.get("role") == "input" else tex.get("format") or "rgba32f"
                dtype = TEXTURE_FORMATS[fmt][0]
                t = ctx.texture((self.width, self.height), 4, dtype=dtype)
                self._objects.append(t)
                t.filter = (moderngl.NEAREST, moderngl.NEAREST)
                t.repeat_x = t.repeat_y = False  # clamp to edge
                self.textures[name] = t
            self.source, self.output = self.textures[roles["input"]], self.textures[roles["output"]]
            self.passes = [self._build(p) for p in self.manifest["passes"]]
        except BaseException:
            self.release()  # a pass that does not compile must not leak the others' GL objects
            raise

    # -- building -------------------------------------------------------------------------
    def _source(self, rel: str) -> str:
        """GLSL text of a pass file; HLSL is cross-compiled first."""
        if rel not in self.files:
            raise SepgenError(f"{self.out_dir / MANIFEST}: pass file {rel!r} is not listed in 'files'")
        path = (self.out_dir / rel).resolve()
        if self.out_dir.resolve() not in path.parents:
            raise SepgenError(f"{self.out_dir / MANIFEST}: file {rel!r} is outside the folder")
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise SepgenError(f"cannot read {path}: {exc.strerror or exc}") from None
        entry = self.files[rel]
        if entry.get("lang") == "hlsl":
            return _cross_compiled(text, entry.get("entry") or "main", entry["stage"], rel)
        return text

    def _compile(self, spec: dict[str, Any]) -> Any:
        import moderngl

        try:
            if "compute" in spec:
                if self.ctx.version_code < COMPUTE_GL:
                    raise SepgenError(f"pass {spec.get('name')}: compute shaders need OpenGL 4.3, the driver has {self.ctx.version_code}")
                return self.ctx.compute_shader(self._source(spec["compute"]))
            return self.ctx.program(vertex_shader=self._source(spec["vertex"]), fragment_shader=self._source(spec["fragment"]))
        except moderngl.Error as exc:
            log = str(exc)
            files = spec.get("compute") or f"{spec.get('vertex')} + {spec.get('fragment')}"
            err = crosscompile.CompileError(f"{files} failed to compile or link on the GL driver: {_first_error(log)}")
            err.log = log
            raise err from None

    def _build(self, spec: dict[str, Any]) -> _Pass:
        import moderngl

        for key in ("inputs", "outputs"):
            if not isinstance(spec.get(key), list) or not spec[key]:
                raise SepgenError(f"{self.out_dir / MANIFEST}: pass {spec.get('name')!r} has no {key}")
        where = f"{self.out_dir / MANIFEST}: pass {spec.get('name')!r}"
        if "compute" in spec:
            wg = spec.get("workgroup_size")
            if not (isinstance(wg, list) and len(wg) >= 2 and all(isinstance(n, int) and n > 0 for n in wg)):
                raise SepgenError(f"{where} needs a positive 'workgroup_size'")
        elif not (isinstance(spec.get("vertex"), str) and isinstance(spec.get("fragment"), str)):
            raise SepgenError(f"{where} needs 'vertex' and 'fragment' files (or 'compute')")
        for io in spec["inputs"]:
            if not isinstance(io, dict) or not isinstance(io.get("binding"), int):
                raise SepgenError(f"{where}: every input needs an integer 'binding'")
        for io in spec["outputs"]:
            if not isinstance(io, dict) or not isinstance(io.get("binding", io.get("location")), int):
                raise SepgenError(f"{where}: every output needs an integer 'location' or 'binding'")
        for io in spec["inputs"] + spec["outputs"]:
            if io.get("texture") not in self.textures:
                raise SepgenError(f"{self.out_dir / MANIFEST}: pass {spec.get('name')!r} uses unknown texture {io.get('texture')!r}")
        prog = self._compile(spec)
        self._objects.append(prog)
        samplers = []
        for inp in spec["inputs"]:
            filt = moderngl.LINEAR if inp.get("filter") == "linear" else moderngl.NEAREST
            s = self.ctx.sampler(repeat_x=False, repeat_y=False, filter=(filt, filt), texture=self.textures[inp["texture"]])
            samplers.append((int(inp["binding"]), s))
            self._objects.append(s)
            # GLSL 330/300es bind by name; 450 and cross-compiled HLSL carry layout(binding).
            name = inp.get("uniform")
            if name and name in prog:
                prog[name].value = int(inp["binding"])
        p = _Pass(spec, prog, samplers=tuple(samplers))
        if "compute" in spec:
            for out in spec["outputs"]:
                name = out.get("uniform")
                if name and name in prog:
                    prog[name].value = int(out.get("binding", out.get("location")))
            return p
        if not all(isinstance(o.get("location"), int) for o in spec["outputs"]):
            raise SepgenError(f"{where}: every output of a fragment pass needs an integer 'location'")
        locations = sorted(int(o["location"]) for o in spec["outputs"])
        if locations != list(range(len(locations))):
            raise SepgenError(f"{self.out_dir / MANIFEST}: pass {spec.get('name')!r} output locations {locations} are not 0..n-1")
        by_loc = {int(o["location"]): self.textures[o["texture"]] for o in spec["outputs"]}
        p.fbo = self.ctx.framebuffer(color_attachments=[by_loc[i] for i in locations])
        p.vao = self.ctx.vertex_array(prog, [])
        self._objects += [p.fbo, p.vao]
        return p

    # -- running --------------------------------------------------------------------------
    def upload(self, img: np.ndarray) -> None:
        """Write an H×W(×C) image into the source texture (row 0 → texture row 0)."""
        rgba = to_rgba(img)
        if rgba.shape[:2] != (self.height, self.width):
            raise SepgenError(f"image is {rgba.shape[1]}x{rgba.shape[0]}, the pipeline was built for {self.width}x{self.height}")
        self.source.write(np.ascontiguousarray(rgba).tobytes())
        # The first pass that writes `output` overwrites it; zeros keep a stray "additive" first pass honest.
        self.output.write(np.zeros((self.height, self.width, 4), dtype=np.float32).tobytes())

    def execute(self) -> None:
        """Run every pass in manifest order; raise on the first GL error."""
        import moderngl

        ctx = self.ctx
        ctx.error  # clear a stale error flag so the first check blames the right pass
        for p in self.passes:
            for unit, s in p.samplers:
                s.use(location=unit)
            blend = p.spec.get("blend", "none")
            if p.fbo is not None:
                if blend == "additive":
                    ctx.enable(moderngl.BLEND)
                    ctx.blend_func = moderngl.ONE, moderngl.ONE
                    ctx.blend_equation = moderngl.FUNC_ADD
                elif blend == "none":
                    ctx.disable(moderngl.BLEND)
                else:
                    raise SepgenError(f"pass {p.spec.get('name')!r}: blend {blend!r} is not valid for a fragment pass")
                p.fbo.use()
                p.fbo.viewport = (0, 0, self.width, self.height)
                p.vao.render(mode=moderngl.TRIANGLES, vertices=3)
                ctx.disable(moderngl.BLEND)
            else:
                if blend not in ("none", "accumulate"):
                    raise SepgenError(f"pass {p.spec.get('name')!r}: blend {blend!r} is not valid for a compute pass")
                for out in p.spec["outputs"]:
                    fmt = TEXTURE_FORMATS[out.get("format") or "rgba32f"][1]
                    unit = int(out.get("binding", out.get("location")))
                    self.textures[out["texture"]].bind_to_image(unit, read=blend == "accumulate", write=True, format=fmt)
                gx, gy = (int(n) for n in p.spec["workgroup_size"][:2])
                p.program.run(math.ceil(self.width / gx), math.ceil(self.height / gy), 1)
                ctx.memory_barrier()  # image writes visible to the next pass's fetches/loads
            err = ctx.error
            if err != "GL_NO_ERROR":
                raise SepgenError(f"{err} after pass {p.spec.get('name')!r} ({p.spec.get('fragment') or p.spec.get('compute')})")

    def read(self, channels: int | None = None) -> np.ndarray:
        """The output texture as float32 H×W×4 (or its first `channels` channels)."""
        data = np.frombuffer(self.output.read(), dtype=np.float32).reshape(self.height, self.width, 4)
        return data.copy() if channels is None else data[:, :, :channels].copy()

    def time_gpu(self, repeats: int = 10, warmup: int = 1) -> list[tuple[float, float]]:
        """(GL timer-query ms, wall-clock ms until glFinish) of `execute()` per repetition.

        Timer queries are the GPU's own clock; on llvmpipe they report 0 for compute
        dispatches and under-report long draws, so the wall-clock figure (the CPU waits
        for glFinish) is the one to trust there.
        """
        import time

        for _ in range(warmup):
            self.execute()
        self.ctx.finish()
        times = []
        query = self.ctx.query(time=True)
        for _ in range(repeats):
            start = time.perf_counter()
            with query:
                self.execute()
            self.ctx.finish()
            wall = (time.perf_counter() - start) * 1e3
            times.append((query.elapsed / 1e6, wall))
        return times

    def release(self) -> None:
        for obj in reversed(self._objects):
            obj.release()
        self._objects.clear()


@functools.lru_cache(maxsize=256)
def _cross_compiled(text: str, entry: str, stage: str, name: str) -> str:
    """HLSL → GLSL, memoised on the source text: passes share a vertex shader, variants share files."""
    return crosscompile.hlsl_to_glsl(text, entry, stage, name)


def _first_error(log: str) -> str:
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    for line in lines:
        if "error" in line.lower() and not line.lower().startswith(("glsl compiler failed", "compilation failed")):
            return line
    return lines[-1] if lines else "no log"


class GLRunner:
    """One GL context that runs emitted shader folders on images."""

    def __init__(self, ctx: Any | None = None, backend: str | None = "egl") -> None:
        self.ctx = ctx if ctx is not None else create_context(backend)

    @property
    def renderer(self) -> str:
        return renderer_name(self.ctx)

    def prepare(self, out_dir: str | os.PathLike, width: int, height: int) -> Pipeline:
        return Pipeline(self.ctx, out_dir, width, height)

    def run(self, out_dir: str | os.PathLike, img: np.ndarray) -> np.ndarray:
        """Filter `img` (H×W or H×W×C, C ≤ 4) with the passes in `out_dir`; same shape, float32."""
        arr = check_image(img)
        pipe = self.prepare(out_dir, arr.shape[1], arr.shape[0])
        try:
            pipe.upload(arr)
            pipe.execute()
            out = pipe.read(1 if arr.ndim == 2 else arr.shape[2])
        finally:
            pipe.release()
        return out[:, :, 0] if arr.ndim == 2 else out


def run_filter(filt: "SeparableFilter", img: np.ndarray, options: dict[str, Any] | None = None,
               runner: GLRunner | None = None) -> tuple[np.ndarray, str]:
    """Emit `filt` with these emit options into a temporary folder and run it on `img`.

    Returns the float32 result (img's shape) and what computed it, e.g.
    "GLSL shaders on llvmpipe (…)". Raises SepgenError without a GL driver.
    """
    from . import emit

    runner = runner or GLRunner()
    opts = emit.resolve_options(options)
    with tempfile.TemporaryDirectory(prefix="sepgen-run-") as tmp:
        emit.write(emit.render(filt, opts), tmp)
        out = runner.run(tmp, img)
    return out, f"{opts['lang'].upper()} shaders on {runner.renderer}"
