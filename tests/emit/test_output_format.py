"""`--output-format` (issue 19, engine controls): the output texture's format, rgba32f (the
default, what every existing manifest says), rgba16f or r11g11b10f; the runners honour it and
verify compares at a tolerance derived from the format (sepgen.verify.check)."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from sepgen import emit
from sepgen.common.errors import SepgenError
from sepgen.options import EmitOptions
from sepgen.run.vulkan.program import decode_texels
from sepgen.verify import check
from tests.support import hand_filter

gpu = pytest.mark.gpu


def _manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))


def _emit(folder: Path, **options) -> Path:
    emit.write(emit.render(hand_filter(), options), folder)
    return folder


@pytest.mark.parametrize("fmt", ["rgba16f", "r11g11b10f"])
def test_manifest_and_shaders_name_the_format(tmp_path, fmt: str) -> None:
    frag = _manifest(_emit(tmp_path / "frag", output_format=fmt))
    assert frag["options"]["output_format"] == fmt
    assert frag["textures"]["output"]["format"] == fmt
    assert {o["format"] for p in frag["passes"] for o in p["outputs"] if o["texture"] == "output"} == {fmt}
    assert {t["format"] for n, t in frag["textures"].items() if t["role"] == "intermediate"} == {"rgba32f"}
    comp = _emit(tmp_path / "comp", stage="compute", output_format=fmt)
    qualifier = {"rgba16f": "rgba16f", "r11g11b10f": "r11f_g11f_b10f"}[fmt]
    assert f"layout(binding = 0, {qualifier}) uniform writeonly image2D u_output;" in \
        (comp / "hand_v0.comp.glsl").read_text(encoding="utf-8")
    hlsl = _emit(tmp_path / "hlsl", lang="hlsl", stage="compute", output_format=fmt)
    assert f'[[vk::image_format("{fmt}")]] RWTexture2D<float4> u_output' in \
        (hlsl / "hand_v0.comp.hlsl").read_text(encoding="utf-8")


def test_default_is_unchanged_and_not_enumerated(tmp_path) -> None:
    plain = _manifest(_emit(tmp_path / "plain"))
    assert "output_format" not in plain["options"] and plain["textures"]["output"]["format"] == "rgba32f"
    assert all(c.output_format == "rgba32f" for c in EmitOptions.combinations())  # verify's matrix stays as it was
    assert "rgba16f" not in check.Variant({}).name
    assert check.Variant({"output_format": "r11g11b10f"}).name == "glsl330 fragment mrt fp32 linear r11g11b10f"


def test_extensions_and_features(tmp_path) -> None:
    es = _manifest(_emit(tmp_path / "es", glsl_version="300es", output_format="r11g11b10f", strategy="mrt"))
    assert es["extensions"] == ["EXT_color_buffer_float"]
    half = _manifest(_emit(tmp_path / "half", glsl_version="300es", output_format="rgba16f"))
    assert "EXT_color_buffer_half_float" in half["extensions"]
    wgsl = _manifest(_emit(tmp_path / "wgsl", lang="wgsl", output_format="r11g11b10f"))
    assert "rg11b10ufloat-renderable" in wgsl["extensions"]


def test_refusals() -> None:
    with pytest.raises(SepgenError, match="WebGPU has no rg11b10ufloat storage textures"):
        EmitOptions.from_dict({"lang": "wgsl", "stage": "compute", "output_format": "r11g11b10f"})
    with pytest.raises(SepgenError, match="holds no negative values, and passes v1, v2 add partial sums"):
        emit.render(hand_filter(), {"strategy": "per-component", "output_format": "r11g11b10f"})
    # HLSL compute writes the output once (one vertical pass): per-component is fine there
    emit.render(hand_filter(), {"lang": "hlsl", "stage": "compute", "strategy": "per-component",
                                "output_format": "r11g11b10f"})


def _pack(r: int, g: int, b: int) -> bytes:
    return struct.pack("<I", r | g << 11 | b << 22)


def test_decode_r11g11b10f() -> None:
    one6, one5 = 15 << 6, 15 << 5  # 1.0: exponent 15 (bias 15), mantissa 0
    data = _pack(one6, one6 | 32, one5) + _pack(0, 1, 31 << 5)  # 1, 1.5, 1 | 0, the smallest subnormal, inf
    got = decode_texels(data, "r11g11b10f", 1, 2)
    assert got[0, 0].tolist() == [1.0, 1.5, 1.0, 1.0]
    assert got[0, 1, :2].tolist() == [0.0, 2.0**-20] and np.isinf(got[0, 1, 2]) and got[0, 1, 3] == 1.0


def test_stored_reference_and_tolerance() -> None:
    ref = np.array([[[-0.5, 0.25, 1.0, 0.3]]])
    assert check.stored_reference(ref, {"output_format": "r11g11b10f"}).tolist() == [[[0.0, 0.25, 1.0, 1.0]]]
    assert check.stored_reference(ref, {"output_format": "rgba16f"}) is ref
    filt, img = hand_filter(), check.default_image()
    ref = check.reference.apply_filter(img, filt)
    base = check.tolerance_for(filt, {"strategy": "mrt"}, img, ref)
    half = check.tolerance_for(filt, {"strategy": "mrt", "output_format": "rgba16f"}, img, ref)
    per = check.tolerance_for(filt, {"strategy": "per-component", "output_format": "rgba16f"}, img, ref)
    assert half > base and per - base == pytest.approx(3 * (half - base))  # rank 3: three roundings


# One variant per runner and format, not the whole matrix (the suite's time): GL fragment and
# compute, Vulkan (SPIR-V and HLSL), WebGPU, and WebGL2 (GLSL ES) in the same browser start.
TARGETED = [
    {"output_format": "r11g11b10f"},
    {"stage": "compute", "strategy": "per-component", "output_format": "rgba16f"},
    {"lang": "spirv", "strategy": "per-component", "output_format": "rgba16f"},
    {"lang": "spirv", "stage": "compute", "output_format": "r11g11b10f"},
    {"lang": "hlsl", "output_format": "r11g11b10f"},
    {"lang": "wgsl", "output_format": "r11g11b10f"},
    {"lang": "wgsl", "stage": "compute", "output_format": "rgba16f"},
    {"glsl_version": "300es", "output_format": "r11g11b10f"},
    {"glsl_version": "300es", "strategy": "per-component", "output_format": "rgba16f"},
]


@gpu
def test_runners_honour_the_format(runners) -> None:
    """Each variant against the NumPy reference as the format stores it, at the format's tolerance;
    r11g11b10f on the hand filter's negative lobes shows the clamp (and a wrong decode would fail)."""
    filt = hand_filter()
    results = check.verify(filt, only=[check.Variant(o) for o in TARGETED], runner=runners)
    failed = [f"{r.name}: {r.error or r.max_rel}" for r in results if not r.ok]
    assert not failed, failed
    assert {r.backend for r in results} == {"gl", "vulkan", "webgpu", "webgl"}
    # every output was rounded to its format: above what a point-sampled rgba32f output may differ
    img = check.default_image()
    exact = check.tolerance_for(filt, {"linear_sampling": False}, img, check.reference.apply_filter(img, filt))
    assert all(r.max_rel > 10 * exact for r in results), [(r.name, r.max_rel, exact) for r in results]


@gpu
def test_r11g11b10f_clamps_negatives_and_reads_alpha_one(tmp_path, gl_runner) -> None:
    filt, img = hand_filter(), check.default_image()
    ref = check.reference.apply_filter(img, filt)
    peak = float(np.abs(ref).max())
    assert ref[..., :3].min() < -0.05 * peak  # the hand filter's negative lobes: the clamp matters
    out = gl_runner.run(_emit(tmp_path / "r11", output_format="r11g11b10f", linear_sampling=False), img)
    assert out[..., :3].min() >= 0.0 and (out[..., 3] == 1.0).all()
    stored = check.stored_reference(ref, {"output_format": "r11g11b10f"})
    assert np.abs(out - stored).max() <= 2.0**-5 * np.abs(stored).max() * 2  # a few 10-bit ulps


def test_build_key(tmp_path) -> None:
    """`output_format` in a build config reaches every language's emit options; refusals name the file."""
    from sepgen.build.config import load_config

    table = '[[filter]]\nname = "d"\nkernel = "disk"\nsize = 9\nrank = 1\nsteps = 0\nlang = ["glsl", "wgsl"]\n'
    (tmp_path / "ok.toml").write_text(table + 'output_format = "rgba16f"\n', encoding="utf-8")
    (f,) = load_config(tmp_path / "ok.toml").filters
    assert f.emit_options("wgsl")["output_format"] == f.emit_options("glsl")["output_format"] == "rgba16f"
    (tmp_path / "bad.toml").write_text(table + 'stage = "compute"\noutput_format = "r11g11b10f"\n', encoding="utf-8")
    with pytest.raises(SepgenError, match="bad.toml: filter 'd': WebGPU has no rg11b10ufloat storage"):
        load_config(tmp_path / "bad.toml")


@pytest.mark.parametrize("option", [{"output_format": "rgba16f"}, {"channels": "rgb"}, {"intermediates": "array"}])
def test_rows_filters_refuse_the_engine_options(option: dict) -> None:
    """The rows structure (issue 18) has its own passes: the options would be silently ignored there."""
    from sepgen import kernels
    from sepgen.filters import rows
    from sepgen.filters.rowsfile import RowsFilter

    k = kernels.disk(9)
    filt = RowsFilter("bdisk", k / k.sum(), rows.exact_layout(k))
    flag = "--" + next(iter(option)).replace("_", "-")
    with pytest.raises(SepgenError, match=f"{flag} applies to separable filters"):
        emit.render(filt, option)
