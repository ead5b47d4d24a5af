"""Scaled shaders: emit with a scale uniform or a per-pixel scale map, run on GL, verify, apply."""

from __future__ import annotations

import json
import re
import subprocess

import numpy as np
import pytest

from sepgen import emit, kernels
from sepgen.filters import scaling
from sepgen.verify import check as verify
from sepgen.cli import main
from sepgen.common.errors import SepgenError
from sepgen.filters.filterfile import SeparableFilter


def scalable(scales=(0.5, 1.0), size: int = 12) -> SeparableFilter:
    """A rank-2 filter of a disk (row/column sums, both signs), recorded as fitted for `scales`."""
    k = kernels.disk(size)
    v = np.stack([k.sum(axis=1), np.linspace(-1, 1, size)]) / k.sum()
    h = np.stack([k.sum(axis=0), np.linspace(1, -1, size) * 0.1])
    return SeparableFilter(f"d{size}", k / k.sum(), v, h, provenance={"kernel": {"kernel": "disk", "size": size, "antialias": False}},
                           scales=scales)


def test_scalable_filters_emit_scaled_taps_with_a_uniform_by_default():
    filt = scalable()
    files = emit.render(filt, {"lang": "glsl"})
    manifest = json.loads(files["manifest.json"])
    assert manifest["scale"] == {"source": "uniform", "uniform": "u_scale", "fitted_scales": [0.5, 1.0]}
    assert manifest["options"]["scale_source"] == "uniform"
    h0 = files["d12_h0.frag.glsl"]
    assert "uniform float u_scale;" in h0 and "-5.0 * scale + 0.5" in h0 and "texelFetch" not in h0
    assert all(i["filter"] == "linear" for p in manifest["passes"] for i in p["inputs"])
    # the same fetches as fixed taps: one per non-zero tap
    assert manifest["fetches_per_pixel"] == emit.fetch_counts(filt, linear_sampling=False)
    fixed = SeparableFilter(filt.name, filt.target, filt.vertical, filt.horizontal, provenance=filt.provenance)
    assert "scale" not in json.loads(emit.render(fixed)["manifest.json"])


def test_texture_scale_source_reads_the_map_at_the_output_pixel():
    files = emit.render(scalable(), {"lang": "hlsl", "scale_source": "texture"})
    manifest = json.loads(files["manifest.json"])
    assert manifest["scale"]["source"] == "texture" and manifest["textures"]["scale"] == {"role": "scale"}
    v0 = next(p for p in manifest["passes"] if p["name"] == "v0")
    assert v0["inputs"][-1] == {"texture": "scale", "uniform": "u_scale_map", "binding": 2, "filter": "nearest",
                                "wrap": "clamp_to_edge"}
    assert "u_scale_map.Load(int3(int2(position.xy), 0)).r" in files["d12_v0.frag.hlsl"]
    glsl450 = emit.render(scalable(), {"glsl_version": "450"})
    assert "uniform d12_Scale { float u_scale; };" in glsl450["d12_h0.frag.glsl"]


@pytest.mark.parametrize("options, message", [({"stage": "compute"}, "scaled taps need fragment passes"),
                                              ({"linear_sampling": True}, "scaled taps are bilinear fetches already")])
def test_scaled_taps_refuse_compute_and_linear_sampling(options, message):
    with pytest.raises(SepgenError, match=re.escape(message)):
        emit.render(scalable(), options)


def test_scaled_shaders_compile(tmp_path, glslang):
    for options in ({"lang": "glsl"}, {"lang": "glsl", "glsl_version": "300es", "scale_source": "texture"},
                    {"lang": "glsl", "glsl_version": "450"}, {"lang": "hlsl"}, {"lang": "hlsl", "scale_source": "texture"}):
        out = tmp_path / "_".join(map(str, options.values()))
        emit.write(emit.render(scalable(), options), out)
        for path in sorted(out.glob("*_[hv]0.frag.*")):
            hlsl = path.suffix == ".hlsl"
            cmd = [glslang, "-S", "frag"] + (["-D", "-e", "ps_main", "-V", "-o", str(tmp_path / "x.spv")] if hlsl else [])
            if options.get("glsl_version") == "450":
                cmd += ["-V", "-o", str(tmp_path / "x.spv")]
            r = subprocess.run(cmd + [str(path)], capture_output=True, text=True)
            assert r.returncode == 0, (path.name, r.stdout[-500:])


@pytest.mark.gpu
@pytest.mark.parametrize("lang", ["glsl", "hlsl"])
def test_gpu_equals_the_numpy_model_at_a_scale_and_with_a_map(gl_runner, cross_tools, lang):
    from sepgen.verify.runfilter import run_filter

    filt = scalable()
    img = verify.default_image(3, (37, 53))
    for scale, source in ((0.5, "uniform"), (0.3, "uniform"), (verify.scale_map(img.shape), "texture")):
        out, _ = run_filter(filt, img, {"lang": lang, "scale_source": source}, gl_runner, scale=scale)
        ref = scaling.apply_scaled(img, filt.vertical, filt.horizontal, filt.origin, scale)
        assert np.abs(out - ref).max() <= 1e-3 * np.abs(ref).max()
        # and it is not the fixed filter
        assert np.abs(ref - scaling.apply_scaled(img, filt.vertical, filt.horizontal, filt.origin, 1.0)).max() > 1e-2


@pytest.mark.gpu
def test_verify_runs_scaled_variants(gl_runner):
    filt = scalable()
    todo = [v for v in verify.scaled_variants(("glsl",)) if v.options["glsl_version"] == "330"
            and v.options["strategy"] == "mrt" and v.options["precision"] == "fp32"]
    assert [v.name for v in todo] == [f"glsl330 fragment mrt fp32 scale {s}" for s in ("0.3", "0.5", "1", "map")]
    results = verify.verify(filt, runner=gl_runner, only=todo)
    assert all(r.ok for r in results) and max(r.max_rel for r in results) < 1e-4
    assert len(verify.scaled_variants(("glsl", "hlsl"))) == 64
    assert len(verify.scaled_variants(("wgsl", "spirv"))) == 32  # tests/test_vk_scaled.py runs them


@pytest.fixture
def files(tmp_path):
    filt = scalable()
    filt.save(tmp_path / "s.json")
    np.save(tmp_path / "img.npy", verify.default_image(3, (20, 30)))
    np.save(tmp_path / "map.npy", np.full((20, 30), 0.5, np.float32))
    np.save(tmp_path / "map_small.npy", np.full((20, 29), 0.5, np.float32))
    return tmp_path


def test_apply_scale_numpy_equals_model_and_map(files, capsys):
    assert main(["apply", str(files / "s.json"), "-i", str(files / "img.npy"), "-o", str(files / "a.npy"), "--scale", "0.5"]) == 0
    assert main(["apply", str(files / "s.json"), "-i", str(files / "img.npy"), "-o", str(files / "b.npy"),
                 "--scale-map", str(files / "map.npy")]) == 0
    filt = SeparableFilter.load(files / "s.json")
    ref = scaling.apply_scaled(np.load(files / "img.npy"), filt.vertical, filt.horizontal, filt.origin, 0.5)
    np.testing.assert_allclose(np.load(files / "a.npy"), ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.load(files / "b.npy"), ref, rtol=1e-5, atol=1e-6)
    assert "warning" not in capsys.readouterr().err


@pytest.mark.parametrize("extra, message", [
    (["--scale", "0"], "--scale 0.0 is outside (0, 1]"),
    (["--scale", "1.5"], "is outside (0, 1]"),
    (["--scale-map", "map_small.npy"], "is 29x20, the image is 30x20"),
    (["--scale", "0.5", "--scale-map", "map.npy"], "not both"),
    (["--scale", "0.5", "--backend", "gpu", "--linear-sampling"], "scaled taps are bilinear fetches already"),
])
def test_apply_bad_scales_exit_2_and_write_nothing(files, capsys, extra, message):
    extra = [str(files / e) if e.endswith(".npy") else e for e in extra]
    code = main(["apply", str(files / "s.json"), "-i", str(files / "img.npy"), "-o", str(files / "out.npy"), *extra])
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("sepgen: error")]
    assert code == 2 and len(errors) == 1 and message in errors[0]
    assert not (files / "out.npy").exists()


def test_apply_scale_on_an_unscaled_filter_warns(files, capsys):
    filt = scalable()
    SeparableFilter(filt.name, filt.target, filt.vertical, filt.horizontal, provenance=filt.provenance).save(files / "u.json")
    assert main(["apply", str(files / "u.json"), "-i", str(files / "img.npy"), "-o", str(files / "u.npy"), "--scale", "0.5"]) == 0
    assert "was fitted without scales" in capsys.readouterr().err
    assert (files / "u.npy").exists()


@pytest.mark.gpu
def test_runner_refuses_scales_it_cannot_take(gl_runner, tmp_path):
    filt = scalable()
    img = verify.default_image(3, (10, 14))
    fixed = SeparableFilter(filt.name, filt.target, filt.vertical, filt.horizontal)
    for name, f, options, scale, message in (
        ("fixed", fixed, {}, 0.5, "has fixed taps: it takes no scale"),
        ("uniform", filt, {}, np.full((10, 14), 0.5), "give one value, not a map"),
        ("texture", filt, {"scale_source": "texture"}, np.full((10, 13), 0.5), "scale map is 13x10, the image is 14x10"),
        ("range", filt, {}, 0.0, "scale values must lie in (0, 1]"),
    ):
        emit.write(emit.render(f, options), tmp_path / name)
        with pytest.raises(SepgenError, match=re.escape(message)):
            gl_runner.run(tmp_path / name, img, scale)


def test_a_scalable_build_is_verified_at_scales():
    emitted = [verify.Variant({"lang": "glsl"}), verify.Variant({"lang": "hlsl", "scale_source": "texture"})]
    todo = verify.scaled_targets(emitted)
    assert [v.name for v in todo] == ["glsl330 fragment mrt fp32 scale 0.3", "glsl330 fragment mrt fp32 scale 0.5",
                                      "glsl330 fragment mrt fp32 scale 1", "hlsl fragment mrt fp32 scale map"]
    assert all(not v.options["linear_sampling"] and v.options["scale_source"] != "auto" for v in todo)
    assert verify.variants_for(scalable(), ("glsl",)) == verify.scaled_variants(("glsl",))
    assert verify.select(["hlsl fragment mrt fp32 scale map"], ("hlsl",), scaled=True)[0].scale == "map"
