"""A rows filter run on OpenGL from its include file alone: wrapper shaders (an engine's own entry
points and textures) call the include's scan steps and gather; the result is the float64
reference's (`sepgen.filters.rows.filter_image`, `rows_scaled.filter_image`)."""

from __future__ import annotations

import numpy as np
import pytest

from sepgen import emit
from sepgen.filters import rows, rows_scaled
from sepgen.filters.rowsfile import RowsFilter
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


# -- the compute form: the include's scan and gather called from an engine's own compute shaders ------

def odd_rows() -> RowsFilter:
    """odd_columns' lines along x (a rows filter with the same tile): both scans share one workgroup size."""
    col = odd_columns().layout
    lay = rows.RowsLayout("rows", col.shape[::-1], col.origin[::-1], col.lines)
    return RowsFilter("wide", lay.reconstruct(), lay)


def compute_wrappers(includes: dict[str, str]) -> tuple[str, str]:
    """One compute shader scanning with every include (a workgroup of <name>_SCAN_TILE invocations, the
    stores the engine's), and one gathering with every include into its own output image."""
    head = "#version 430 core\n" + "\n".join(includes.values())
    names = list(includes)
    ids = "int(gl_LocalInvocationID.x), int(gl_WorkGroupID.x), int(gl_WorkGroupID.y)"
    scan = [f"layout(local_size_x = {names[0]}_SCAN_TILE) in;\nlayout(binding = 0) uniform sampler2D my_source;"]
    body, gather, gbody = [], [], []
    for k, n in enumerate(names):
        scan.append(f"layout(binding = {2 * k}, rgba32f) uniform writeonly image2D my_{n}_a;\n"
                    f"layout(binding = {2 * k + 1}, rgba32f) uniform writeonly image2D my_{n}_b;")
        body.append(f"    {n}_scan_result r_{n} = {n}_scan(my_source, {ids});\n"
                    f"    if (r_{n}.store_a) imageStore(my_{n}_a, r_{n}.pa, r_{n}.a);\n"
                    f"    if (r_{n}.store_b) imageStore(my_{n}_b, r_{n}.pb, r_{n}.b);\n"
                    f"    if (r_{n}.store_b2) imageStore(my_{n}_b, r_{n}.pb2, r_{n}.b2);")
        gather.append(f"layout(binding = {3 * k}) uniform sampler2D my_{n}_ta;\n"
                      f"layout(binding = {3 * k + 1}) uniform sampler2D my_{n}_tb;\n"
                      f"layout(binding = {3 * k + 2}) uniform sampler2D my_{n}_src;\n"
                      f"layout(binding = {k}, rgba32f) uniform writeonly image2D my_{n}_out;")
        gbody.append(f"    imageStore(my_{n}_out, p, {n}_g(my_{n}_ta, my_{n}_tb, my_{n}_src, p));")
    scan_src = f"{head}\n" + "\n".join(scan) + "\nvoid main()\n{\n" + "\n".join(body) + "\n}\n"
    gather_src = (f"{head}\nlayout(local_size_x = 8, local_size_y = 8) in;\n" + "\n".join(gather) +
                  "\nvoid main()\n{\n    ivec2 p = ivec2(gl_GlobalInvocationID.xy);\n"
                  f"    if (any(greaterThanEqual(p, textureSize(my_{names[0]}_src, 0))))\n        return;\n" +
                  "\n".join(gbody) + "\n}\n")
    return scan_src, gather_src


def test_a_compute_wrapper_of_the_include_scans_and_gathers(gl_context) -> None:
    """Two filters (lines along y and along x) scanned by one engine compute shader calling both
    includes' `<name>_scan` (one dispatch sized for both: the surplus workgroups store nothing), then
    gathered by another calling `<name>_g`: each matches the float64 reference."""
    import moderngl

    ctx = gl_context
    filters = [odd_columns(), odd_rows()]
    files = [emit.render(f, {"stage": "compute"}) for f in filters]
    includes = {f.manifest.filter: str(f[f"{f.manifest.filter}.glsl"]) for f in files}
    assert all(f"#define {n}_SCAN_TILE 32\n" in text for n, text in includes.items())  # one workgroup size
    scan_src, gather_src = compute_wrappers(includes)
    img = default_image(4, (37, 90))
    h, w = img.shape[:2]
    new = [ctx.texture((w, h), 4, dtype="f4") for _ in range(5)]
    src, targets = new[0], new[1:]
    src.write(img.astype("f4").tobytes())
    outs = [ctx.texture((w, h), 4, dtype="f4") for _ in filters]
    programs = [ctx.compute_shader(scan_src), ctx.compute_shader(gather_src)]
    try:
        for t in (src, *targets):
            t.repeat_x = t.repeat_y = False
            t.filter = (moderngl.LINEAR, moderngl.LINEAR)  # the gather reads bilinearly; the scan by texelFetch
        src.use(0)
        for unit, t in enumerate(targets):
            t.bind_to_image(unit, read=False, write=True)
        programs[0].run(-(-max(h, w) // 32), max(h, w), 1)  # ceil(line / 32) tiles x lines, for both filters
        ctx.memory_barrier()
        for k in range(len(filters)):
            for unit, t in enumerate((targets[2 * k], targets[2 * k + 1], src)):
                t.use(3 * k + unit)
            outs[k].bind_to_image(k, read=False, write=True)
        programs[1].run(-(-w // 8), -(-h // 8), 1)
        ctx.memory_barrier()
        for filt, out in zip(filters, outs):
            got = np.frombuffer(out.read(), dtype="f4").reshape(h, w, 4)
            ref = rows.filter_image(img.astype(np.float64), filt.layout)
            assert np.abs(got - ref).max() <= 2e-5 * np.abs(ref).max(), filt.name
    finally:
        for obj in (*new, *outs, *programs):
            obj.release()
