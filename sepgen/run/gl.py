"""Run an emitted shader folder on an OpenGL driver (moderngl, headless EGL).

The runner reads `manifest.json` (see docs/manifest.md), uploads the image as an
RGBA float texture, runs the standalone passes in manifest order into float
targets and reads `output` back as float32. GLSL files run as written; HLSL
files are cross-compiled (glslangValidator → SPIR-V → spirv-cross → GLSL 450),
so the HLSL code itself executes. Without a GPU the driver is Mesa's llvmpipe.

    runner = GLRunner()                      # one context, reusable
    out = runner.run(load("out_dir"), img)   # H×W or H×W×C float32 → same shape (a folder path works too)

`prepare()` returns a `Pipeline` (programs and textures for one image size)
for callers that run the same passes many times (benchmarks). The runner only
does GL work on a loaded `sepgen.run.program.Program` (folder and scale checks are
there); emitting and running in one call is `sepgen.verify.runfilter.run_filter`.
"""

from __future__ import annotations

import functools
import math
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..common import tools
from ..common.errors import SepgenError
from ..common.images import check_image, to_rgba
from ..plan import passmodel
from ..plan.passmodel import MANIFEST, Pass
from .program import Program, Scale, ScaleInputs, as_program

# name -> (moderngl dtype, GL internal format enum for image bindings); keys are passmodel.TEXTURE_FORMATS
GL_FORMATS = {"rgba32f": ("f4", 0x8814), "rgba16f": ("f2", 0x881A), "r11g11b10f": ("f4", 0x8C3A)}
GL_CHANNELS = {"r11g11b10f": 3}  # formats without alpha (texelFetch and the blender see alpha 1); others 4
MIN_GL = 330
COMPUTE_GL = 430

DISPLAY = "OpenGL"

__all__ = ["GLRunner", "Pipeline", "create_context", "MANIFEST"]


def create_context(backend: str | None = "egl") -> Any:
    """A standalone (headless) OpenGL context, or a one-line SepgenError saying what is missing."""
    try:
        import moderngl
    except ImportError:
        raise SepgenError("moderngl is not installed (pip install moderngl)") from None
    kwargs: dict[str, Any] = {"standalone": True, "require": MIN_GL}
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
    """Shader text of a program's pass files; HLSL is cross-compiled to GLSL first."""

    def __init__(self, program: Program) -> None:
        self.program = program

    def __call__(self, rel: str | None) -> str:
        entry = self.program.file(rel)
        text = self.program.text(rel)
        if entry.lang == "hlsl":
            return _cross_compiled(text, entry.entry or "main", entry.stage, entry.path)
        return text


def _compile(ctx: Any, spec: Pass, source: _Sources) -> Any:
    """The pass's moderngl program; a driver error becomes a one-line CompileError."""
    import moderngl

    try:
        if spec.is_compute:
            if ctx.version_code < COMPUTE_GL:
                raise SepgenError(f"pass {spec.name}: compute shaders need OpenGL 4.3, "
                                  f"the driver has {ctx.version_code}")
            return ctx.compute_shader(source(spec.compute))
        return ctx.program(vertex_shader=source(spec.vertex), fragment_shader=source(spec.fragment))
    except moderngl.Error as exc:
        log = str(exc)
        err = tools.CompileError(f"{spec.files} failed to compile or link on the GL driver: {tools.first_error(log)}")
        err.log = log
        raise err from None


def _set_scale(pipe: Pipeline, extra: ScaleInputs) -> None:
    """Upload a checked scale (`Program.scale_inputs`): the scale map texture, or the uniform."""
    for name, rgba in extra.textures.items():
        pipe.textures[name].write(np.ascontiguousarray(rgba, np.float32).tobytes())
    if extra.uniform is None:
        return
    if pipe._scale_buffer is None:
        pipe._scale_buffer = pipe.ctx.buffer(reserve=len(extra.uniform))
        pipe._objects.append(pipe._scale_buffer)
    pipe._scale_buffer.write(extra.uniform)
    for p in pipe.passes:
        if p.scale_uniform is not None:
            p.scale_uniform.value = extra.value


def _scale_slots(prog: Any, uniform: str) -> tuple[Any, tuple[int, ...]]:
    """Where a scaled pass's program takes its scale: a plain uniform, or uniform blocks
    (GLSL 450 blocks and HLSL cbuffers, whatever name cross-compiling gave them)."""
    import moderngl

    plain = prog[uniform] if uniform in prog and isinstance(prog[uniform], moderngl.Uniform) else None
    blocks = tuple(prog[n].binding for n in prog if isinstance(prog[n], moderngl.UniformBlock))
    return plain, blocks


def _set_unit(prog: Any, uniform: str | None, unit: int) -> None:
    # GLSL 330/300es bind by name; 450 and cross-compiled HLSL carry layout(binding).
    if uniform and uniform in prog:
        prog[uniform].value = unit


class Pipeline:
    """Compiled passes and their textures for one image size; run as often as needed."""

    def __init__(self, ctx: Any, program: Program | str | os.PathLike, width: int, height: int) -> None:
        self.ctx, self.width, self.height = ctx, int(width), int(height)
        self.program = as_program(program)
        self.out_dir, self.manifest = self.program.folder, self.program.manifest
        self._objects: list[Any] = []
        self._scale_buffer: Any = None
        self.textures: dict[str, Any] = {}
        try:
            for tex in self.manifest.textures:
                self.textures[tex.name] = self._texture(tex)
            self.source = self.textures[self.manifest.texture("input").name]
            self.output = self.textures[self.manifest.texture("output").name]
            source = _Sources(self.program)
            self.passes = [self._build(p, source) for p in self.manifest.passes]
        except BaseException:
            self.release()  # a pass that does not compile must not leak the others' GL objects
            raise

    # -- building -------------------------------------------------------------------------
    def _texture(self, tex: passmodel.Texture) -> Any:
        import moderngl

        # The source is always uploaded as rgba32f, whatever format an engine would use.
        fmt = "rgba32f" if tex.role == "input" else tex.format or "rgba32f"
        dtype, internal = GL_FORMATS[fmt]
        if tex.layers:  # intermediates="array": one 2D array texture
            t = self.ctx.texture_array((self.width, self.height, tex.layers), 4, dtype=dtype)  # rgba32f / rgba16f
        else:
            t = self.ctx.texture((self.width, self.height), GL_CHANNELS.get(fmt, 4), dtype=dtype,
                                 internal_format=internal)
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
            s = self.ctx.sampler(repeat_x=False, repeat_y=False, filter=(mode, mode),
                                 texture=self.textures[inp.texture])
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
        p.fbo = self._framebuffer(spec)
        p.vao = self.ctx.vertex_array(prog, [])
        self._objects += [p.fbo, p.vao]
        return p

    def _framebuffer(self, spec: Pass) -> Any:
        """The pass's colour attachments at their locations; an output with a `layer` attaches that
        layer of its array texture (moderngl attaches whole textures only: glFramebufferTextureLayer)."""
        outs = sorted(spec.outputs, key=lambda o: o.location)
        if all(o.layer is None for o in outs):
            return self.ctx.framebuffer(color_attachments=[self.textures[o.texture] for o in outs])
        stand_ins = [self.ctx.texture((self.width, self.height), 4, dtype="f4") for _ in outs]
        self._objects += stand_ins
        fbo = self.ctx.framebuffer(color_attachments=stand_ins)
        fbo.use()
        _ = self.ctx.error  # reading clears a stale flag: the check below is about the attachments only
        for o in outs:
            target = self.textures[o.texture]
            _attach_layer(o.location, target.glo, o.layer or 0)
        err = self.ctx.error
        if err != "GL_NO_ERROR":
            raise SepgenError(f"pass {spec.name!r}: cannot attach the layers of its array output ({err})")
        return fbo

    # -- running --------------------------------------------------------------------------
    def set_scale(self, scale: Scale) -> None:
        """The scale of a scaled program: one value (uniform source) or an H×W map (texture source,
        red channel; a single value fills the map). Values must lie in [0, 1] (0: no blur)."""
        _set_scale(self, self.program.scale_inputs(scale, self.height, self.width))

    def upload(self, img: np.ndarray) -> None:
        """Write an H×W(×C) image into the source texture (row 0 → texture row 0)."""
        rgba = to_rgba(img)
        if rgba.shape[:2] != (self.height, self.width):
            raise SepgenError(f"image is {rgba.shape[1]}x{rgba.shape[0]}, "
                              f"the pipeline was built for {self.width}x{self.height}")
        self.source.write(np.ascontiguousarray(rgba).tobytes())
        # The first pass that writes `output` overwrites it; zeros keep a stray "additive" first pass honest.
        out = self.output
        out.write(bytes(out.width * out.height * out.components * np.dtype(out.dtype).itemsize))

    def execute(self) -> None:
        """Run every pass in manifest order; raise on the first GL error."""
        ctx = self.ctx
        _ = ctx.error  # reading it clears a stale error flag so the first check blames the right pass
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
        """The output texture as float32 H×W×4 (or its first `channels` channels); a format
        without alpha (r11g11b10f) reads alpha 1, as a shader sampling it would."""
        comps = self.output.components
        data = np.frombuffer(self.output.read(), dtype=self.output.dtype).reshape(self.height, self.width, comps)
        data = data.astype(np.float32)
        if comps < 4:
            data = np.concatenate([data, np.ones((self.height, self.width, 4 - comps), np.float32)], axis=2)
        return data if channels is None else data[:, :, :channels].copy()

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


@functools.lru_cache(maxsize=1)
def _layer_function() -> Any:
    """glFramebufferTextureLayer from the GL dispatch library (glvnd's libOpenGL, else libGL)."""
    import ctypes

    for name in ("libOpenGL.so.0", "libGL.so.1"):
        try:
            fn = ctypes.CDLL(name).glFramebufferTextureLayer
        except (OSError, AttributeError):
            continue
        fn.argtypes = [ctypes.c_uint, ctypes.c_uint, ctypes.c_uint, ctypes.c_int, ctypes.c_int]
        fn.restype = None
        return fn
    raise SepgenError("glFramebufferTextureLayer not found (libOpenGL.so.0 / libGL.so.1): "
                      "array intermediates cannot be rendered to")


def _attach_layer(location: int, texture: int, layer: int) -> None:
    """Attach `layer` of array texture `texture` at colour attachment `location` of the bound framebuffer."""
    GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0 = 0x8D40, 0x8CE0
    _layer_function()(GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0 + location, texture, 0, layer)


@functools.lru_cache(maxsize=256)
def _cross_compiled(text: str, entry: str, stage: str, name: str) -> str:
    """HLSL → GLSL, memoised on the source text: passes share a vertex shader, variants share files."""
    return tools.hlsl_to_glsl(text, entry, stage, name)


class GLRunner:
    """One GL context that runs emitted programs on images (a `sepgen.run.registry.Runner`)."""

    name = "gl"  # its key in sepgen.run.registry.RUNNERS

    def __init__(self, ctx: Any | None = None, backend: str | None = "egl") -> None:
        self.ctx = ctx if ctx is not None else create_context(backend)

    @property
    def renderer(self) -> str:
        return renderer_name(self.ctx)

    @property
    def device(self) -> str:
        return f"{DISPLAY}: {self.renderer}"

    def prepare(self, program: Program | str | os.PathLike, width: int, height: int) -> Pipeline:
        return Pipeline(self.ctx, program, width, height)

    def run(self, program: Program | str | os.PathLike, img: np.ndarray, scale: Scale = None) -> np.ndarray:
        """Filter `img` (H×W or H×W×C, C ≤ 4) with the program (or the folder's); same shape, float32.
        A scaled program needs `scale`: one value, or an H×W map for a texture scale source."""
        arr = check_image(img)
        program = as_program(program)
        extra = program.scale_inputs(scale, arr.shape[0], arr.shape[1])  # before any GL work
        pipe = self.prepare(program, arr.shape[1], arr.shape[0])
        try:
            _set_scale(pipe, extra)
            pipe.upload(arr)
            pipe.execute()
            out = pipe.read(1 if arr.ndim == 2 else arr.shape[2])
        finally:
            pipe.release()
        return out[:, :, 0] if arr.ndim == 2 else out
