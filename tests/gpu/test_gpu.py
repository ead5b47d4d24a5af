"""The GL runner, HLSL cross-compilation and every emitted shader variant on a real GL driver.

Marked `gpu`: skipped without a GL context, failed instead with CI=true (see conftest).
Images are small (llvmpipe in CI) but narrower than the kernels, so borders are exercised.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from sepgen import SepgenError
from sepgen.common import tools as crosscompile
from sepgen.filters import reference
from sepgen.verify import check as verifying
from sepgen.verify.runfilter import backend_for
from tests.support import random_filter, svd_filter
from tests.support.handwritten import hlsl_folder, write_folder

gpu = pytest.mark.gpu


def image(shape, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).random(shape).astype(np.float32)


# -- the runner on hand-written shaders (no emit stage involved) ------------------------------

@gpu
@pytest.mark.parametrize("compute", [False, True], ids=["fragment", "compute"])
@pytest.mark.parametrize("shape", [(29, 37), (29, 37, 1), (29, 37, 3), (29, 37, 4)])
def test_runner_matches_reference(gl_runner, tmp_path, compute, shape) -> None:
    filt = random_filter("hand", 2, (6, 9), origin=(1, 6))
    folder = write_folder(tmp_path, filt.vertical, filt.horizontal, filt.origin, compute=compute)
    img = image(shape)
    out = gl_runner.run(folder, img)
    assert out.shape == img.shape and out.dtype == np.float32
    ref = reference.apply_filter(img, filt)
    assert np.max(np.abs(out - ref)) <= 1e-5 * np.max(np.abs(ref))


@gpu
def test_runner_does_not_flip_rows(gl_runner, tmp_path) -> None:
    # A 1-tap shift down by one row: out[y] = in[y − 1] (clamped), for v = [0, 1] with cy = 0.
    folder = write_folder(tmp_path, np.array([[0.0, 1.0]]), np.array([[1.0]]), (0, 0))
    img = np.arange(20, dtype=np.float32).reshape(5, 4)
    out = gl_runner.run(folder, img)
    np.testing.assert_array_equal(out[1:], img[:-1])
    np.testing.assert_array_equal(out[0], img[0])


@gpu
def test_shader_compile_error_is_one_line(gl_runner, tmp_path) -> None:
    folder = write_folder(tmp_path, np.ones((1, 3)), np.ones((1, 3)), (1, 1))
    (folder / "h0.frag.glsl").write_text("#version 330\nvoid main() { undefined_thing(); }\n")
    with pytest.raises(crosscompile.CompileError) as info:
        gl_runner.run(folder, image((4, 4)))
    assert "h0.frag.glsl" in str(info.value) and "\n" not in str(info.value)
    assert info.value.log


@gpu
def test_missing_or_bad_manifest(gl_runner, tmp_path) -> None:
    with pytest.raises(SepgenError, match="does not exist"):
        gl_runner.run(tmp_path, image((4, 4)))
    (tmp_path / "manifest.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(SepgenError, match="not a sepgen-manifest/1"):
        gl_runner.run(tmp_path, image((4, 4)))


@gpu
def test_manifest_cannot_reach_outside_its_folder(gl_runner, tmp_path) -> None:
    folder = write_folder(tmp_path / "f", np.ones((1, 1)), np.ones((1, 1)), (0, 0))
    doc = json.loads((folder / "manifest.json").read_text())
    doc["passes"][0]["fragment"] = "../evil.glsl"
    doc["files"].append({"path": "../evil.glsl", "lang": "glsl", "stage": "fragment", "entry": "main", "pass": 0,
                         "kind": "standalone"})
    (tmp_path / "evil.glsl").write_text("#version 330\nvoid main() {}\n")
    (folder / "manifest.json").write_text(json.dumps(doc))
    with pytest.raises(SepgenError, match="outside the folder"):
        gl_runner.run(folder, image((4, 4)))


# -- HLSL through glslang + spirv-cross -------------------------------------------------------

@gpu
def test_hlsl_runs_through_spirv_cross(gl_runner, cross_tools, tmp_path) -> None:
    folder = hlsl_folder(tmp_path)
    img = image((7, 5, 4))
    pipe = gl_runner.prepare(folder, 5, 7)
    try:
        pipe.upload(img)
        pipe.execute()
        shifted = pipe.read()
        sampled = np.frombuffer(pipe.textures["t0"].read(), dtype=np.float32).reshape(7, 5, 4)
    finally:
        pipe.release()
    # Load: out[y, x] = in[y, min(x + 1, w − 1)]: unit 0 bound through the dummy sampler.
    np.testing.assert_array_equal(shifted[:, :-1], img[:, 1:])
    np.testing.assert_array_equal(shifted[:, -1], img[:, -1])
    # SampleLevel halfway between rows y and y+1 (clamped), linear sampler on unit 1.
    want = img + np.concatenate([img[1:], img[-1:]], axis=0)
    np.testing.assert_allclose(sampled, want, rtol=1e-5, atol=1e-6)


# -- every emitted variant against the reference ----------------------------------------------

from sepgen import kernels  # noqa: E402

FILTERS = {
    # even height, non-default origin, mixed-sign taps: flips and off-by-one origins show
    "asym": lambda: random_filter("asym", 2, (6, 9), origin=(1, 6)),
    "disk": lambda: svd_filter("disk", kernels.disk(12), 4),
    # rank 9 crosses the 8-target MRT split (two pass pairs, the second adds into output)
    "rank9": lambda: random_filter("rank9", 9, (5, 7), seed=2, positive=0.05),
    # even sizes with the default origin (2, 2)
    "rank1": lambda: random_filter("rank1", 1, (4, 4), seed=3, positive=0.05),
}
CHANNELS = (1, 3, 4)


def check_variant(runners, filt, options, img) -> verifying.VariantResult:
    [res] = verifying.verify(filt, image=img, runner=runners, only=[verifying.Variant(dict(options))])
    return check_result(runners, res, options)


def check_result(runners, res: verifying.VariantResult, options) -> verifying.VariantResult:
    assert res.error is None, res.error
    assert res.backend == backend_for(options)  # HLSL runs as SPIR-V on Vulkan, GLSL ES 300 in WebGL2
    if res.backend == "gl":
        assert res.renderer == runners.get("gl").device
    assert res.max_rel <= res.tolerance, f"{res.name}: {res.max_rel:.3g} > {res.tolerance:.3g}"
    return res


def _all_variants() -> list:
    try:
        return verifying.variants(("glsl", "hlsl"))
    except ImportError:  # the emit stage is missing: the test below fails loudly instead
        return []


@pytest.fixture(scope="module")
def matrix(runners, cross_tools) -> dict[str, verifying.VariantResult]:
    """Every GLSL and HLSL variant on the asymmetric kernel, run once: one `verify` call per channel
    count (1, 3, 4: the variant's index mod 3), so the GLSL ES 300 variants of a call share one
    browser start and the HLSL ones the session's Vulkan device. Variant name -> result."""
    todo = _all_variants()
    results: dict[str, verifying.VariantResult] = {}
    for k, channels in enumerate(CHANNELS):
        # 29x37 is narrower than a 64-wide compute workgroup and the 9-wide kernel reaches the borders.
        img = image((29, 37, channels), seed=channels)
        img = img[:, :, 0] if channels == 1 else img
        mine = [v for i, v in enumerate(todo) if i % len(CHANNELS) == k]
        results.update((r.name, r) for r in verifying.verify(FILTERS["asym"](), image=img, runner=runners, only=mine))
    return results


@gpu
@pytest.mark.parametrize("index, variant", list(enumerate(_all_variants())),
                         ids=lambda x: x.name if hasattr(x, "name") else str(x))
def test_every_variant_on_asymmetric_kernel(runners, matrix, index, variant) -> None:
    check_result(runners, matrix[variant.name], variant.options)


SOME_VARIANTS = [
    {"lang": "glsl", "stage": "fragment", "strategy": "mrt"},
    {"lang": "glsl", "stage": "fragment", "strategy": "per-component", "linear_sampling": True},
    {"lang": "glsl", "glsl_version": "450", "stage": "compute", "strategy": "mrt", "precision": "fp16"},
    {"lang": "hlsl", "stage": "fragment", "strategy": "mrt", "linear_sampling": True},
    {"lang": "hlsl", "stage": "compute", "strategy": "per-component"},
]


@gpu
@pytest.mark.parametrize("name", ["disk", "rank9", "rank1"])
@pytest.mark.parametrize("options", SOME_VARIANTS, ids=lambda o: "-".join(str(v) for v in o.values()))
def test_kernels_and_ranks(runners, cross_tools, name, options) -> None:
    img = image((23, 31, 3), seed=len(name))
    check_variant(runners, FILTERS[name](), options, img)


@gpu
@pytest.mark.parametrize("lang", ["glsl", "hlsl"])
def test_default_image_spans_several_workgroups(runners, cross_tools, lang) -> None:
    filt = FILTERS["disk"]()
    for strategy in ("mrt", "per-component"):
        check_variant(runners, filt, {"lang": lang, "stage": "compute", "strategy": strategy},
                      verifying.default_image())


@gpu
@pytest.mark.parametrize("wrong", ["flipped", "shifted"])
def test_verify_catches_a_wrong_shader(runners, monkeypatch, wrong) -> None:
    """Compare correct shaders with a reference of a flipped / origin-shifted kernel: must fail."""
    filt = FILTERS["asym"]()

    def bad_reference(img, f):
        if wrong == "flipped":
            return reference.convolve_separable(img, f.vertical, f.horizontal[:, ::-1], f.origin)
        return reference.convolve_separable(img, f.vertical, f.horizontal, (f.origin[0], f.origin[1] - 1))

    monkeypatch.setattr(verifying.reference, "apply_filter", bad_reference)
    [res] = verifying.verify(filt, image=image((29, 37, 3)), runner=runners,
                             only=[verifying.Variant({"lang": "glsl"})])
    assert res.error is None and not res.ok


@gpu
def test_run_filter_and_progress_lines(runners) -> None:
    from sepgen.verify.runfilter import run_filter

    filt = FILTERS["asym"]()
    img = image((11, 13, 3))
    out, how = run_filter(filt, img, {"lang": "glsl", "strategy": "per-component"}, runner=runners)
    assert how.startswith("GLSL shaders on ") and out.shape == img.shape
    ref = reference.apply_filter(img, filt)
    assert np.max(np.abs(out - ref)) <= 1e-5 * np.max(np.abs(ref))
    lines: list[str] = []
    variants = [verifying.Variant({"lang": "glsl"}), verifying.Variant({"lang": "glsl", "precision": "fp16"})]
    verifying.verify(filt, image=img, runner=runners, only=variants, progress=lines.append)
    # the names spell out what ran: linear sampling is the fragment default
    assert lines == ["[1/2] glsl330 fragment mrt fp32 linear", "[2/2] glsl330 fragment mrt fp16 linear"]
