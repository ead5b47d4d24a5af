"""A rows filter run on OpenGL from its include file alone: wrapper shaders (an engine's own entry
points and textures) call the include's scan steps and gather; the result is the float64
reference's (`sepgen.filters.rows.filter_image`, `rows_scaled.filter_image`)."""

from __future__ import annotations

import numpy as np
import pytest

from sepgen import emit
from sepgen.filters import rows, rows_scaled
from sepgen.plan.passmodel import Pass
from sepgen.verify.check import default_image
from tests.gpu.test_rows_gpu import aa_disk_rows, odd_columns

pytestmark = pytest.mark.gpu

HEAD = "#version 330 core\n"


def wrapper(include: str, p: Pass, name: str, scale: float | None) -> str:
    """The engine's fragment shader for pass `p`: its own samplers, outputs and main, the include's function."""
    samplers = "".join(f"uniform sampler2D my_{i.texture};\n" for i in p.inputs)
    args = ", ".join(f"my_{i.texture}" for i in p.inputs)
    if p.name.startswith("s"):
        return (f"{HEAD}{include}\n{samplers}layout(location = 0) out vec4 out_a;\n"
                f"layout(location = 1) out vec4 out_b;\n"
                f"void main() {{ {p.function}({args}, ivec2(gl_FragCoord.xy), out_a, out_b); }}\n")
    call = (f"{name}_gs({args}, ivec2(gl_FragCoord.xy), my_scale)" if scale is not None else
            f"{p.function}({args}, ivec2(gl_FragCoord.xy))")
    return (f"{HEAD}{include}\n{samplers}uniform float my_scale;\nlayout(location = 0) out vec4 color;\n"
            f"void main() {{ color = {call}; }}\n")


def run_include(ctx, files: emit.Rendered, img: np.ndarray, scale: float | None) -> np.ndarray:
    """Wire the passes as an engine would (textures, linear or nearest filtering, MRT) with the wrappers."""
    import moderngl

    man = files.manifest
    include = str(files[f"{man.filter}.glsl"])
    h, w = img.shape[:2]
    tex = {t.name: ctx.texture((w, h), 4, img.astype("f4").tobytes() if t.name == "source" else None, dtype="f4")
           for t in man.textures}
    for t in tex.values():
        t.repeat_x = t.repeat_y = False
    try:
        for p in man.passes:
            prog = ctx.program(vertex_shader=str(files[str(p.vertex)]), fragment_shader=wrapper(include, p, man.filter,
                                                                                               scale))
            for unit, i in enumerate(p.inputs):
                mode = moderngl.LINEAR if i.filter == "linear" else moderngl.NEAREST
                tex[i.texture].filter = (mode, mode)
                tex[i.texture].use(unit)
                if f"my_{i.texture}" in prog:
                    prog[f"my_{i.texture}"].value = unit
            if scale is not None and "my_scale" in prog:
                prog["my_scale"].value = scale
            fbo = ctx.framebuffer([tex[o.texture] for o in sorted(p.outputs, key=lambda o: o.location)])
            fbo.use()
            ctx.viewport = (0, 0, w, h)
            ctx.vertex_array(prog, []).render(moderngl.TRIANGLES, vertices=3)
            fbo.release()
            prog.release()
        return np.frombuffer(tex["output"].read(), dtype="f4").reshape(h, w, 4)
    finally:
        for t in tex.values():
            t.release()


@pytest.mark.parametrize("make, options, scale", [
    (odd_columns, {}, None), (aa_disk_rows, {"linear_sampling": False}, None), (odd_columns, {}, 0.6),
], ids=["columns-bilinear", "aa-point", "columns-scaled"])
def test_a_wrapper_of_the_include_runs_the_rows_filter(gl_context, make, options, scale) -> None:
    filt = make()
    img = default_image(4, (37, 90))
    files = emit.render(filt.with_scales((0.5, 1.0)) if scale is not None else filt, options)
    out = run_include(gl_context, files, img, scale)
    ref = (rows.filter_image(img.astype(np.float64), filt.layout) if scale is None else
           rows_scaled.filter_image(img.astype(np.float64), filt.layout, scale))
    assert np.abs(out - ref).max() <= 2e-5 * np.abs(ref).max()
