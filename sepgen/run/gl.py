"""Run an emitted shader folder on an OpenGL driver (moderngl, headless EGL).

The runner reads `manifest.json` (see docs/manifest.md), uploads the image as an
RGBA float texture, runs the standalone passes in manifest order into float
targets and reads `output` back as float32. GLSL files run as written; HLSL
files are cross-compiled (glslangValidator → SPIR-V → spirv-cross → GLSL 450),
so the HLSL code itself executes. Without a GPU the driver is Mesa's llvmpipe.

    runner = GLRunner()                      # one context, reusable
    out = runner.run("out_dir", img)         # H×W or H×W×C float32 → same shape

`prepare()` returns a `Pipeline` (programs and textures for one image size)
for callers that run the same passes many times (benchmarks). The runner only
does GL work on a `passmodel.Manifest` (`passmodel.load` validates the file);
emitting and running in one call is `sepgen.verify.runfilter.run_filter`.
"""

from __future__ import annotations

import functools
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..common import crosscompile
from ..plan import passmodel
from ..common.errors import SepgenError
from ..common.images import check_image, to_rgba
from ..plan.passmodel import MANIFEST, Manifest, Pass

# name -> (moderngl dtype, GL internal format enum for image bindings); keys are passmodel.TEXTURE_FORMATS
GL_FORMATS = {"rgba32f": ("f4", 0x8814), "rgba16f": ("f2", 0x881A)}
MIN_GL = 330
COMPUTE_GL = 430

__all__ = ["GLRunner", "Pipeline", "create_context", "MANIFEST"]


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


@dataclass
class _Pass:
    spec: Pass
    program: Any  # moderngl Program or ComputeShader
    vao: Any = None
    fbo: Any = None
    samplers: tuple = ()
    scale_uniform: Any = None  # scaled passes: the plain `u_scale` uniform, or
    scale_blocks: tuple = ()  # the bindings of the uniform blocks (cbuffers) holding it


class _Sources:
    """Shader text of a folder's pass files; HLSL is cross-compiled to GLSL first."""

    def __init__(self, out_dir: Path, manifest: Manifest) -> None:
        self.out_dir, self.manifest = out_dir, manifest

    def __call__(self, rel: str) -> str:
        entry = self.manifest.file(rel)
        if entry is None:
            raise SepgenError(f"{self.out_dir / MANIFEST}: pass file {rel!r} is not listed in 'files'")
        path = (self.out_dir / rel).resolve()
        if self.out_dir.resolve() not in path.parents:
            raise SepgenError(f"{self.out_dir / MANIFEST}: file {rel!r} is outside the folder")
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise SepgenError(f"cannot read {path}: {exc.strerror or exc}") from None
        if entry.lang == "hlsl":
            return _cross_compiled(text, entry.entry or "main", entry.stage, rel)
        return text


def _compile(ctx: Any, spec: Pass, source: _Sources) -> Any:
    """The pass's moderngl program; a driver error becomes a one-line CompileError."""
    import moderngl

    try:
        if spec.is_compute:
            if ctx.version_code < COMPUTE_GL:
                raise SepgenError(f"pass {spec.name}: compute shaders need OpenGL 4.3, the driver has {ctx.version_code}")
            return ctx.compute_shader(source(spec.compute))
        return ctx.program(vertex_shader=source(spec.vertex), fragment_shader=source(spec.fragment))
    except moderngl.Error as exc:
        log = str(exc)
        err = crosscompile.CompileError(f"{spec.files} failed to compile or link on the GL driver: {_first_error(log)}")
        err.log = log
        raise err from None


def _set_scale(pipe: "Pipeline", scale: float | np.ndarray) -> None:
    entry = pipe.manifest.scale
    if entry is None:
        raise SepgenError(f"{pipe.out_dir / MANIFEST} has fixed taps: it takes no scale")
    if entry.source == "texture":
        smap = np.broadcast_to(np.asarray(scale, np.float32), (pipe.height, pipe.width)) if np.ndim(scale) == 0 else scale
        rgba = np.zeros((pipe.height, pipe.width, 4), np.float32)
        rgba[:, :, 0] = _check_scale_map(smap, pipe.height, pipe.width)
        pipe.textures[entry.texture].write(rgba.tobytes())
        return
    if np.ndim(scale) != 0:
        raise SepgenError(f"{pipe.out_dir / MANIFEST} reads the scale from a uniform: give one value, not a map")
    value = float(_check_scale_map(np.asarray([[scale]], np.float32), 1, 1)[0, 0])
    if pipe._scale_buffer is None:
        pipe._scale_buffer = pipe.ctx.buffer(reserve=16)
        pipe._objects.append(pipe._scale_buffer)
    pipe._scale_buffer.write(np.array([value, 0, 0, 0], np.float32).tobytes())
    for p in pipe.passes:
        if p.scale_uniform is not None:
            p.scale_uniform.value = value


def _scale_slots(prog: Any, uniform: str) -> tuple[Any, tuple[int, ...]]:
    """Where a scaled pass's program takes its scale: a plain uniform, or uniform blocks
    (GLSL 450 blocks and HLSL cbuffers, whatever name cross-compiling gave them)."""
    import moderngl

    plain = prog[uniform] if uniform in prog and isinstance(prog[uniform], moderngl.Uniform) else None
    blocks = tuple(prog[n].binding for n in prog if isinstance(prog[n], moderngl.UniformBlock))
    return plain, blocks


def _check_scale_map(smap: Any, height: int, width: int) -> np.ndarray:
    arr = np.asarray(smap, np.float32)
    if arr.shape != (height, width):
        raise SepgenError(f"scale map is {'x'.join(map(str, arr.shape[::-1]))}, the image is {width}x{height}")
    if not np.all(np.isfinite(arr) & (arr > 0) & (arr <= 1)):
        raise SepgenError("scale values must lie in (0, 1]")
    return arr


def _set_unit(prog: Any, uniform: str | None, unit: int) -> None:
    # GLSL 330/300es bind by name; 450 and cross-compiled HLSL carry layout(binding).
    if uniform and uniform in prog:
        prog[uniform].value = unit


class Pipeline:
    """Compiled passes and their textures for one image size; run as often as needed."""

    def __init__(self, ctx: Any, out_dir: str | os.PathLike, width: int, height: int) -> None:
        self.ctx, self.width, self.height = ctx, int(width), int(height)
        self.out_dir = Path(out_dir)
        self.manifest = passmodel.load(out_dir)
        self._objects: list[Any] = []
        self._scale_buffer: Any = None
        self.textures: dict[str, Any] = {}
        try:
            for tex in self.manifest.textures:
                self.textures[tex.name] = self._texture(tex)
            self.source = self.textures[self.manifest.texture("input").name]
            self.output = self.textures[self.manifest.texture("output").name]
            source = _Sources(self.out_dir, self.manifest)
            self.passes = [self._build(p, source) for p in self.manifest.passes]
        except BaseException:
            self.release()  # a pass that does not compile must not leak the others' GL objects
            raise

    # -- building -------------------------------------------------------------------------
    def _texture(self, tex: passmodel.Texture) -> Any:
        import moderngl

        # The source is always uploaded as rgba32f, whatever format an engine would use.
        fmt = "rgba32f" if tex.role == "input" else tex.format or "rgba32f"
        t = self.ctx.texture((self.width, self.height), 4, dtype=GL_FORMATS[fmt][0])
        self._objects.append(t)
        t.filter = (moderngl.NEAREST, moderngl.NEAREST)
        t.repeat_x = t.repeat_y = False  # clamp to edge
        return t

    def _build(self, spec: Pass, source: _Sources) -> _Pass:
        import moderngl

        prog = _compile(self.ctx, spec, source)
        self._objects.append(prog)
        samplers = []
        for inp in spec.inputs:
            mode = moderngl.LINEAR if inp.filter == "linear" else moderngl.NEAREST
            s = self.ctx.sampler(repeat_x=False, repeat_y=False, filter=(mode, mode), texture=self.textures[inp.texture])
            samplers.append((inp.binding, s))
            self._objects.append(s)
            _set_unit(prog, inp.uniform, inp.binding)
        p = _Pass(spec, prog, samplers=tuple(samplers))
        if self.manifest.scale is not None and self.manifest.scale.source == "uniform":
            p.scale_uniform, p.scale_blocks = _scale_slots(prog, self.manifest.scale.uniform)
        if spec.is_compute:
            for out in spec.outputs:
                _set_unit(prog, out.uniform, out.unit)
            return p
        by_loc = {o.location: self.textures[o.texture] for o in spec.outputs}
        p.fbo = self.ctx.framebuffer(color_attachments=[by_loc[i] for i in sorted(by_loc)])
        p.vao = self.ctx.vertex_array(prog, [])
        self._objects += [p.fbo, p.vao]
        return p

    # -- running --------------------------------------------------------------------------
    def set_scale(self, scale: float | np.ndarray) -> None:
        """The scale of a scaled folder: one value (uniform source) or an H×W map (texture source,
        red channel; a single value fills the map). Values must lie in (0, 1]."""
        _set_scale(self, scale)

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
        ctx = self.ctx
        ctx.error  # clear a stale error flag so the first check blames the right pass
        for p in self.passes:
            for unit, s in p.samplers:
                s.use(location=unit)
            if p.scale_blocks and self._scale_buffer is None:
                raise SepgenError(f"pass {p.spec.name!r} is scaled: call set_scale() before execute()")
            for binding in p.scale_blocks:
                self._scale_buffer.bind_to_uniform_block(binding)
            if p.fbo is not None:
                self._draw(p)
            else:
                self._dispatch(p)
            err = ctx.error
            if err != "GL_NO_ERROR":
                raise SepgenError(f"{err} after pass {p.spec.name!r} ({p.spec.fragment or p.spec.compute})")

    def _draw(self, p: _Pass) -> None:
        import moderngl

        ctx = self.ctx
        if p.spec.blend == "additive":
            ctx.enable(moderngl.BLEND)
            ctx.blend_func = moderngl.ONE, moderngl.ONE
            ctx.blend_equation = moderngl.FUNC_ADD
        else:
            ctx.disable(moderngl.BLEND)
        p.fbo.use()
        p.fbo.viewport = (0, 0, self.width, self.height)
        p.vao.render(mode=moderngl.TRIANGLES, vertices=3)
        ctx.disable(moderngl.BLEND)

    def _dispatch(self, p: _Pass) -> None:
        for out in p.spec.outputs:
            fmt = GL_FORMATS[out.format][1]
            self.textures[out.texture].bind_to_image(out.unit, read=p.spec.accumulate, write=True, format=fmt)
        gx, gy = (int(n) for n in (p.spec.workgroup_size or (1, 1))[:2])
        p.program.run(math.ceil(self.width / gx), math.ceil(self.height / gy), 1)
        self.ctx.memory_barrier()  # image writes visible to the next pass's fetches/loads

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
            times.append((query.elapsed / 1e6, (time.perf_counter() - start) * 1e3))
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

    def run(self, out_dir: str | os.PathLike, img: np.ndarray, scale: float | np.ndarray | None = None) -> np.ndarray:
        """Filter `img` (H×W or H×W×C, C ≤ 4) with the passes in `out_dir`; same shape, float32.
        A scaled folder needs `scale`: one value, or an H×W map for a texture scale source."""
        arr = check_image(img)
        pipe = self.prepare(out_dir, arr.shape[1], arr.shape[0])
        try:
            if pipe.manifest.scale is not None or scale is not None:
                pipe.set_scale(1.0 if scale is None else scale)
            pipe.upload(arr)
            pipe.execute()
            out = pipe.read(1 if arr.ndim == 2 else arr.shape[2])
        finally:
            pipe.release()
        return out[:, :, 0] if arr.ndim == 2 else out

