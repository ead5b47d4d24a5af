"""issue 18: rows filters emitted (GLSL 330 fragment, GLSL 430 compute) and run on OpenGL,
against the float64 running-sum reference; the HDR goal; the manifest's fetch counts."""

from __future__ import annotations

import json
import math
import tempfile

import numpy as np
import pytest

from sepgen import emit, kernels
from sepgen.common.errors import SepgenError
from sepgen.filters import rows, rows_scaled
from sepgen.filters.rowsfile import RowsFilter
from sepgen.plan import rowsplan
from sepgen.run.program import load
from sepgen.verify import check
from sepgen.verify.check import default_image

STAGES = ("fragment", "compute", "point")  # point: fragment passes with --point-sampling


def binary_disk() -> RowsFilter:
    k = kernels.disk(50)
    k = k / k.sum()
    return RowsFilter("bdisk", k, rows.exact_layout(k))


def aa_disk_rows(size: int = 50) -> RowsFilter:
    """The row model of an anti-aliased disk: one box per row, its ends where the circle crosses
    the row, on 1/256 (fractional ends: bilinear reads), unit gain."""
    r, c = size / 2, (size - 1) / 2
    lines = []
    for i in range(size):
        dy = i - c
        half = math.sqrt(max(r * r - dy * dy, 0.0))
        lo, hi = round((c - half) * 256) / 256, round((c + half) * 256) / 256
        lines.append((rows.Box(max(lo, -0.5), min(hi, size - 0.5), 1.0),) if hi > lo else ())
    lay = rows.RowsLayout("rows", (size, size), (size // 2, size // 2), tuple(lines))
    total = lay.reconstruct().sum()
    lay = rows.RowsLayout("rows", lay.shape, lay.origin,
                          tuple(tuple(b._replace(weight=1 / total) for b in line) for line in lay.lines))
    return RowsFilter("aadisk", kernels.disk(size, antialias=True) / kernels.disk(size, antialias=True).sum(), lay)


def odd_columns() -> RowsFilter:
    """Columns axis, an off-centre origin, shared reads (adjacent lines with the same ends) at
    integer and fractional ends, a negative weight: every read path of the gather."""
    lines = []
    for j in range(13):
        lines.append((rows.Box(1.25, 6.5, 0.5 + 0.1 * (j % 3)), rows.Box(7.5, 8.5, -0.05), rows.Box(2.5, 4.0, 0.3)))
    lay = rows.RowsLayout("columns", (10, 13), (3, 9), tuple(lines))
    return RowsFilter("odd", lay.reconstruct(), lay)


def run(gl_runner, filt: RowsFilter, img: np.ndarray, stage: str) -> np.ndarray:
    with tempfile.TemporaryDirectory() as tmp:
        options = {"linear_sampling": False} if stage == "point" else {"stage": stage}
        emit.write(emit.render(filt, options), tmp)
        return gl_runner.run(load(tmp), img)


def test_manifest_counts_every_pass_and_says_its_structure() -> None:
    filt = binary_disk()
    for stage, scans in (("fragment", 7), ("compute", 1)):
        doc = json.loads(emit.render(filt, {"stage": stage})["manifest.json"])
        assert doc["structure"] == "rows"
        passes = doc["passes"]
        assert [p["name"] for p in passes] == [f"s{k}" for k in range(scans)] + ["g"]
        counts = doc["fetches_per_pixel"]
        assert counts == filt.structure.fetch_counts(emit.EmitOptions.from_dict({"stage": stage}))
        assert counts["total"] == sum(p["fetches_per_pixel"] for p in passes)
        assert counts["scan"] == (2 + 4 * 6 if stage == "fragment" else 2)
    assert emit.render(filt, {}) == emit.render(filt, {})  # deterministic


def test_unsupported_targets_are_one_line_errors() -> None:
    with pytest.raises(SepgenError, match=r"not GLSL 450 \(for Vulkan GLSL use --lang spirv"):
        emit.render(binary_disk(), {"glsl_version": "450"})
    with pytest.raises(SepgenError, match="need --precision fp32"):
        emit.render(binary_disk(), {"precision": "fp16"})


@pytest.mark.gpu
@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("make", [binary_disk, aa_disk_rows, odd_columns], ids=["binary", "aa", "columns"])
def test_rows_match_the_float64_reference(gl_runner, make, stage) -> None:
    filt = make()
    for size in ((77, 131), (19, 300), (40, 23)):  # widths across, below and over several tiles
        img = default_image(4, size)
        ref = rows.filter_image(img.astype(np.float64), filt.layout)
        np.testing.assert_allclose(ref, check.reference.convolve_direct(img.astype(np.float64), filt.reconstruct(),
                                                                        filt.origin), atol=1e-12)
        out = run(gl_runner, filt, img, stage)
        # llvmpipe rounds the normalised coordinates of bilinear reads (~1e-4 texel): 1e-5 of the peak
        # holds it; verify's tolerance (8-bit fractions) is 25x wider
        assert np.abs(out - ref).max() <= 1e-5 * np.abs(ref).max(), (size, np.abs(out - ref).max())


def test_fragment_scan_reads_do_not_depend_on_width() -> None:
    for n in (5, 50, 61):
        tile = rowsplan.tile_for(n)
        assert tile >= 2 * (n + 3)
        passes = rowsplan.scan_passes(tile, compute=False)
        assert len(passes) == int(math.log2(tile)) and max(p.fetch_count for p in passes) == 4


BILINEAR_HDR = pytest.mark.xfail(strict=True, reason=(
    "bilinear reads at fractional ends: llvmpipe rounds their normalised coordinates (~1e-4 texel), "
    "1.33x the allowance for a 1e5 highlight at (17, 1000); --point-sampling reads them exactly"))


@pytest.mark.gpu
@pytest.mark.parametrize("make, stage", [
    (binary_disk, "fragment"), (binary_disk, "compute"), (binary_disk, "point"), (aa_disk_rows, "point"),
    pytest.param(aa_disk_rows, "fragment", marks=BILINEAR_HDR),
    pytest.param(aa_disk_rows, "compute", marks=BILINEAR_HDR),
], ids=["binary-fragment", "binary-compute", "binary-point", "aa-point", "aa-fragment", "aa-compute"])
def test_hdr_goal(gl_runner, make, stage) -> None:
    """1920x24 of 0.01 with a 1e5 and a 1e4 highlight (a placement per channel, including tile
    edges): every pixel within 1e-3·|ref| + 1e-7·max|ref| of float64."""
    filt = make()
    # (row, x) of the 1e5 and the 1e4 highlight; (3, 969) and (1, 493) caught linear reads at integer ends
    xs = [((3, 969), (20, 994)), ((1, 493), (7, 1455)), ((5, 0), (9, 1919)), ((12, 63), (13, 64)),
          ((0, 127), (23, 128)), ((11, 1855), (4, 1856)), ((17, 1000), (18, 1003)), ((8, 191), (2, 192))]
    for k in range(0, len(xs), 4):
        img = np.full((24, 1920, 4), 0.01, np.float32)
        for c, ((y1, x1), (y2, x2)) in enumerate(xs[k:k + 4]):
            img[y1, x1, c], img[y2, x2, c] = 1e5, 1e4
        ref = rows.filter_image(img.astype(np.float64), filt.layout)
        out = run(gl_runner, filt, img, stage)
        ratios = [rows.hdr_ratio(out[..., c], ref[..., c]) for c in range(4)]
        assert max(ratios) <= 1.0, (xs[k:k + 4], ratios)


def test_verify_runs_every_rows_variant(gl_runner, webgl_runner) -> None:
    """`sepgen verify` of a rows filter: GLSL 330 fragment (bilinear and point), compute, and
    GLSL ES 300 in WebGL2, all within tolerance of the float64 reference."""
    from sepgen.verify.runfilter import Runners

    results = check.verify(odd_columns(), runner=Runners(gl_runner, webgl_runner))
    assert sorted(r.name for r in results) == sorted([
        "glsl330 fragment mrt fp32 point", "glsl330 fragment mrt fp32 linear", "glsl330 compute mrt fp32 point",
        "glsl300es fragment mrt fp32 point", "glsl300es fragment mrt fp32 linear"])
    assert all(r.ok for r in results), check.format_table(results)
    assert max(r.max_rel for r in results) < 1e-5


SPIRV = [{"lang": "spirv"}, {"lang": "spirv", "linear_sampling": True}, {"lang": "spirv", "stage": "compute"}]
HLSL = [{"lang": "hlsl", "linear_sampling": False}, {"lang": "hlsl"}, {"lang": "hlsl", "stage": "compute"}]
WGSL = [{"lang": "wgsl", "linear_sampling": False}, {"lang": "wgsl", "linear_sampling": True},
        {"lang": "wgsl", "stage": "compute"}]


def run_vk(vulkan_runner, filt: RowsFilter, img: np.ndarray, options: dict) -> np.ndarray:
    with tempfile.TemporaryDirectory() as tmp:
        emit.write(emit.render(filt, options), tmp)
        return vulkan_runner.run(load(tmp), img)


@pytest.mark.parametrize("options", SPIRV + HLSL, ids=[f"{lang}-{k}" for lang in ("spirv", "hlsl")
                                                      for k in ("point", "linear", "compute")])
@pytest.mark.parametrize("make", [binary_disk, aa_disk_rows, odd_columns], ids=["binary", "aa", "columns"])
def test_spirv_and_hlsl_on_vulkan_match_the_reference(vulkan_runner, make, options) -> None:
    filt = make()
    img = default_image(4, (40, 300))
    ref = rows.filter_image(img.astype(np.float64), filt.layout)
    out = run_vk(vulkan_runner, filt, img, options)
    assert np.abs(out - ref).max() <= 1e-5 * np.abs(ref).max()


@pytest.mark.parametrize("make, options", [
    (binary_disk, SPIRV[0]), (binary_disk, SPIRV[2]), (aa_disk_rows, SPIRV[0]),
    (binary_disk, HLSL[1]), (binary_disk, HLSL[2]), (aa_disk_rows, HLSL[0]),
], ids=["spirv-binary-point", "spirv-binary-compute", "spirv-aa-point", "hlsl-binary-linear", "hlsl-binary-compute",
        "hlsl-aa-point"])
def test_hdr_goal_on_vulkan(vulkan_runner, make, options) -> None:
    """The HDR goal on Vulkan: the SPIR-V modules (Vulkan GLSL of the same templates) and the HLSL."""
    filt = make()
    img = np.full((24, 1920, 4), 0.01, np.float32)
    for c, ((y1, x1), (y2, x2)) in enumerate([((3, 969), (20, 994)), ((1, 493), (7, 1455)), ((17, 1000), (18, 1003)),
                                              ((0, 127), (23, 128))]):
        img[y1, x1, c], img[y2, x2, c] = 1e5, 1e4
    ref = rows.filter_image(img.astype(np.float64), filt.layout)
    out = run_vk(vulkan_runner, filt, img, options)
    assert max(rows.hdr_ratio(out[..., c], ref[..., c]) for c in range(4)) <= 1.0


@pytest.mark.parametrize("options", WGSL, ids=["point", "linear", "compute"])
@pytest.mark.parametrize("make", [binary_disk, aa_disk_rows, odd_columns], ids=["binary", "aa", "columns"])
def test_wgsl_on_webgpu_matches_the_reference(webgpu_runner, make, options) -> None:
    filt = make()
    img = default_image(4, (40, 300))
    ref = rows.filter_image(img.astype(np.float64), filt.layout)
    out = run_vk(webgpu_runner, filt, img, options)
    assert np.abs(out - ref).max() <= 1e-5 * np.abs(ref).max()


@pytest.mark.parametrize("make, options", [(binary_disk, WGSL[1]), (binary_disk, WGSL[2]), (aa_disk_rows, WGSL[0])],
                         ids=["binary-linear", "binary-compute", "aa-point"])
def test_hdr_goal_on_webgpu(webgpu_runner, make, options) -> None:
    """The HDR goal with the WGSL on WebGPU."""
    test_hdr_goal_on_vulkan(webgpu_runner, make, options)


def hdr_interior_frame() -> np.ndarray:
    """1920x64 of 0.01 with the highlight pairs of test_hdr_goal 20 rows lower, two per channel
    (at least 64 texels apart along the rows): a disk 50's window lies inside the image for rows 24
    to 39, so there the gather takes its interior path (the 24-row frames above are all border)."""
    xs = [((3, 969), (20, 994)), ((1, 493), (7, 1455)), ((5, 0), (9, 1919)), ((12, 63), (13, 64)),
          ((0, 127), (23, 128)), ((11, 1855), (4, 1856)), ((17, 1000), (18, 1003)), ((8, 191), (2, 192))]
    img = np.full((64, 1920, 4), 0.01, np.float32)
    for k, ((y1, x1), (y2, x2)) in enumerate(xs):
        img[y1 + 20, x1, k % 4], img[y2 + 20, x2, k % 4] = 1e5, 1e4
    return img


def check_hdr_interior(run_one, filt: RowsFilter) -> None:
    img = hdr_interior_frame()
    ref = rows.filter_image(img.astype(np.float64), filt.layout)
    out = run_one(img)
    assert max(rows.hdr_ratio(out[..., c], ref[..., c]) for c in range(4)) <= 1.0
    inner = out[24:40], ref[24:40]  # the interior rows alone, against their own peak
    assert max(rows.hdr_ratio(inner[0][..., c], inner[1][..., c]) for c in range(4)) <= 1.0


@pytest.mark.gpu
@pytest.mark.parametrize("make, stage", [(binary_disk, "fragment"), (binary_disk, "compute"), (aa_disk_rows, "point")],
                         ids=["binary-fragment", "binary-compute", "aa-point"])
def test_hdr_goal_in_the_interior(gl_runner, make, stage) -> None:
    filt = make()
    check_hdr_interior(lambda img: run(gl_runner, filt, img, stage), filt)


@pytest.mark.parametrize("make, options", [(binary_disk, SPIRV[0]), (aa_disk_rows, HLSL[0])],
                         ids=["spirv-binary-point", "hlsl-aa-point"])
def test_hdr_goal_in_the_interior_on_vulkan(vulkan_runner, make, options) -> None:
    filt = make()
    check_hdr_interior(lambda img: run_vk(vulkan_runner, filt, img, options), filt)


@pytest.mark.parametrize("make, options", [(binary_disk, WGSL[1]), (aa_disk_rows, WGSL[0])],
                         ids=["binary-linear", "aa-point"])
def test_hdr_goal_in_the_interior_on_webgpu(webgpu_runner, make, options) -> None:
    filt = make()
    check_hdr_interior(lambda img: run_vk(webgpu_runner, filt, img, options), filt)


# --- scaled rows filters (issue 18 item 4: the kernel scaled by s, `sepgen.filters.rows_scaled`) ---

SCALED_MAP_SEED = 5


def scale_map(shape: tuple[int, ...]) -> np.ndarray:
    """Scales on 1/64 (exact in float32) from 0 to 1: every pixel its own line count."""
    rng = np.random.default_rng(SCALED_MAP_SEED)
    return rng.integers(0, 65, shape[:2]) / 64.0


def run_scaled(runner, filt: RowsFilter, img: np.ndarray, options: dict, scales: list) -> list[np.ndarray]:
    with tempfile.TemporaryDirectory() as tmp:
        emit.write(emit.render(filt.with_scales((0.5, 1.0)), options), tmp)
        program = load(tmp)
        return [runner.run(program, img, s) for s in scales]


def check_scaled(runner, make, options: dict, scales: list) -> None:
    filt = make()
    img = default_image(4, (37, 90))
    outs = run_scaled(runner, filt, img, options, scales)
    for s, out in zip(scales, outs):
        ref = rows.filter_image(img.astype(np.float64), filt.layout) if np.ndim(s) == 0 and s == 1 else None
        ref = rows_scaled.filter_image(img.astype(np.float64), filt.layout, s) if ref is None else ref
        assert np.abs(out - ref).max() <= 2e-5 * np.abs(ref).max(), f"scale {s if np.ndim(s) == 0 else 'map'}"


@pytest.mark.parametrize("make", [aa_disk_rows, odd_columns], ids=["aa", "columns"])
def test_scaled_rows_match_the_reference_on_gl(gl_runner, make) -> None:
    """GLSL 330: the scale uniform at 0.25, 0.6 and 1 (the unscaled filter), 0 (the source times
    the gain); the scale map, every pixel at its own scale."""
    check_scaled(gl_runner, make, {}, [0.25, 0.6, 1.0, 0.0])
    check_scaled(gl_runner, make, {"scale_source": "texture"}, [scale_map((37, 90)), 0.5])


def test_scaled_rows_spirv_on_vulkan(vulkan_runner) -> None:
    """SPIR-V with the scale map (its extra texture binding); one program: lavapipe compiles the
    scaled gather in seconds (the uniform's binding 192 runs on WebGPU below and in `verify --lang all`)."""
    check_scaled(vulkan_runner, odd_columns, {"lang": "spirv", "scale_source": "texture"}, [scale_map((37, 90)), 0.3])


@pytest.mark.parametrize("options", [{"lang": "wgsl"}, {"lang": "wgsl", "scale_source": "texture"}],
                         ids=["uniform", "map"])
def test_scaled_rows_wgsl_on_webgpu(webgpu_runner, options) -> None:
    check_scaled(webgpu_runner, odd_columns, options, [0.3, scale_map((37, 90))][: 1 + ("scale_source" in options)])


def test_scaled_rows_hlsl_on_gl(gl_runner) -> None:
    """HLSL scaled passes run cross-compiled on GL (as the separable ones: the cbuffer has no Vulkan set)."""
    check_scaled(gl_runner, odd_columns, {"lang": "hlsl"}, [0.3])
    check_scaled(gl_runner, odd_columns, {"lang": "hlsl", "scale_source": "texture"}, [scale_map((37, 90))])


def test_verify_runs_a_scalable_rows_filter_at_its_scales(gl_runner) -> None:
    """`sepgen verify` of a scalable rows file: the scale uniform at VERIFY_SCALES and the map."""
    results = check.verify(odd_columns().with_scales((0.5, 1.0)), runner=gl_runner)
    assert {r.name for r in results} == {f"{v} fragment mrt fp32 scale {s}" for v in ("glsl330", "glsl300es")
                                         for s in ("0.3", "0.5", "1", "map")}
    assert all(r.ok for r in results), check.format_table(results)
