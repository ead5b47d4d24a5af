"""Sanity run of the emitted GLSL on the GL driver (llvmpipe in CI) against SciPy.

A minimal wiring from manifest.json alone, independent of sepgen.run.gl: it checks that
the manifest is enough to run the passes and that the offsets, clamping, blending and
bilinear merges are right. The full verification lives in sepgen.verify, which the
HLSL compute check at the end uses (HLSL needs cross-compiling first).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.ndimage as ndi

from sepgen import emit
from sepgen.filters.filterfile import SeparableFilter
from tests.support import DISK, sparse_filter

pytestmark = pytest.mark.gpu


@pytest.fixture
def ctx(gl_context):
    return gl_context


def run_manifest(ctx, files: dict[str, str], img: np.ndarray) -> np.ndarray:
    import moderngl

    man = json.loads(files["manifest.json"])
    H, W = img.shape[:2]
    tex = {"source": ctx.texture((W, H), 4, img.astype("f4").tobytes(), dtype="f4")}
    for name, t in man["textures"].items():
        if name != "source":
            tex[name] = ctx.texture((W, H), 4, dtype="f2" if t["format"] == "rgba16f" else "f4")
    for t in tex.values():
        t.repeat_x = t.repeat_y = False
    for p in man["passes"]:
        for i in p["inputs"]:
            mode = moderngl.LINEAR if i["filter"] == "linear" else moderngl.NEAREST
            tex[i["texture"]].filter = (mode, mode)
            tex[i["texture"]].use(i["binding"])
        if "compute" in p:
            cs = ctx.compute_shader(files[p["compute"]])
            for o in p["outputs"]:
                tex[o["texture"]].bind_to_image(o["binding"], read=True, write=True)
            gx, gy, _ = p["workgroup_size"]
            cs.run(-(-W // gx), -(-H // gy), 1)
            ctx.memory_barrier()
            cs.release()
            continue
        prog = ctx.program(vertex_shader=files[p["vertex"]], fragment_shader=files[p["fragment"]])
        for i in p["inputs"]:
            if i["uniform"] in prog:
                prog[i["uniform"]].value = i["binding"]
        outs = sorted(p["outputs"], key=lambda o: o["location"])
        fbo = ctx.framebuffer([tex[o["texture"]] for o in outs])
        fbo.use()
        ctx.viewport = (0, 0, W, H)
        if p["blend"] == "additive":
            ctx.enable(moderngl.BLEND)
            ctx.blend_func = (moderngl.ONE, moderngl.ONE)
        else:
            ctx.disable(moderngl.BLEND)
        ctx.vertex_array(prog, []).render(moderngl.TRIANGLES, vertices=3)
        ctx.disable(moderngl.BLEND)
        fbo.release()
        prog.release()
    out = np.frombuffer(tex["output"].read(), dtype="f4").reshape(H, W, 4)
    for t in tex.values():
        t.release()
    return out


def small_filter() -> SeparableFilter:
    return sparse_filter("small", 10, (9, 6), origin=(2, 4), seed=8, zeros=(0.3, 0.2), positive_h=True)


CASES = [
    {}, {"linear_sampling": True}, {"strategy": "per-component"},
    {"strategy": "per-component", "linear_sampling": True, "glsl_version": "450"},
    {"stage": "compute"}, {"stage": "compute", "strategy": "per-component"},
]


@pytest.mark.parametrize("opts", CASES, ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items()) or "default")
@pytest.mark.parametrize("which", ["disk50", "small"])
def test_glsl_passes_match_scipy(ctx, opts, which):
    filt = SeparableFilter.load(DISK) if which == "disk50" else small_filter()
    img = np.random.default_rng(0).random((37, 70, 4)).astype(np.float32)
    cy, cx = filt.origin
    H, W = filt.shape
    kernel = filt.reconstruct()
    ref = np.stack([ndi.convolve(img[..., c].astype(np.float64), kernel, mode="nearest",
                                 origin=(cy - H // 2, cx - W // 2)) for c in range(4)], -1)
    got = run_manifest(ctx, emit.render(filt, opts), img)
    # float32 coefficients and sums; llvmpipe filters bilinear taps in float
    assert np.max(np.abs(got - ref)) <= 2e-5 * max(1.0, np.abs(ref).max())


@pytest.mark.parametrize("strategy", ["mrt", "per-component"])
def test_hlsl_compute_rank10_runs_without_rw_loads(runners, cross_tools, strategy):
    """HLSL compute ends in one vertical pass reading ten SRVs (no typed UAV loads): still right."""
    from sepgen.verify import check as verify

    filt = small_filter()
    img = np.random.default_rng(1).random((37, 70, 4)).astype(np.float32)
    variant = verify.Variant({"lang": "hlsl", "stage": "compute", "strategy": strategy})
    [res] = verify.verify(filt, image=img, runner=runners, only=[variant])
    assert res.error is None, res.error
    assert res.max_rel <= res.tolerance, f"{res.name}: {res.max_rel:.3g} > {res.tolerance:.3g}"
