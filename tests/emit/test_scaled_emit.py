"""Scaled taps at emit time: the scale uniform or map in every language, refused options,
compiled and byte-identical output."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from sepgen import emit
from sepgen.common import tools as spirv
from sepgen.common.errors import SepgenError
from sepgen.filters.filterfile import SeparableFilter
from sepgen.run.vulkan.reflect import reflect
from sepgen.verify.runfilter import backend_for
from tests.support import scalable

LANGS = ("wgsl", "spirv")


@pytest.mark.parametrize("lang", LANGS)
def test_manifest_puts_the_scale_uniform_buffer_in_set_0(lang):
    manifest = json.loads(emit.render(scalable(), {"lang": lang})["manifest.json"])
    assert manifest["scale"] == {"source": "uniform", "uniform": "u_scale", "block": "d12_Scale", "set": 0,
                                 "binding": spirv.UNIFORM_BASE, "fitted_scales": [0.5, 1.0]}
    taken = {(i["set"], b) for p in manifest["passes"] for i in p["inputs"]
             for b in (i["binding"], i.get("sampler_binding")) if b is not None}
    assert (0, spirv.UNIFORM_BASE) not in taken
    texture = json.loads(emit.render(scalable(), {"lang": lang, "scale_source": "texture"})["manifest.json"])
    v0 = next(p for p in texture["passes"] if p["name"] == "v0")
    assert v0["inputs"][-1] == {"texture": "scale", "uniform": "u_scale_map", "binding": 2, "filter": "nearest",
                                "wrap": "clamp_to_edge", "set": 0}
    assert backend_for({"lang": lang, "scale_source": "uniform"}) == ("webgpu" if lang == "wgsl" else "vulkan")


def test_spirv_modules_declare_the_uniform_block_where_the_manifest_says(tmp_path):
    files = emit.render(scalable(), {"lang": "spirv"})  # each .spv passed spirv-val while rendering
    for name in ("d12_h0.frag.spv", "d12_v0.frag.spv"):
        spirv.validate(files[name], name)
        assert reflect(files[name], name).resources[(0, spirv.UNIFORM_BASE)] == ("uniform", None)
    assert "layout(std140, set = 0, binding = 192) uniform d12_Scale { float u_scale; };" in files["d12_h0.frag.glsl"]
    mapped = emit.render(scalable(), {"lang": "spirv", "scale_source": "texture"})
    assert "texelFetch(u_scale_map, ivec2(gl_FragCoord.xy), 0).r" in mapped["d12_v0.frag.glsl"]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("source", ["uniform", "texture"])
def test_scaled_emit_is_byte_identical_on_re_emit(lang, source):
    options = {"lang": lang, "scale_source": source}
    assert emit.render(scalable(), options) == emit.render(scalable(), options)


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
                    {"lang": "glsl", "glsl_version": "450"}, {"lang": "hlsl"},
                    {"lang": "hlsl", "scale_source": "texture"}):
        out = tmp_path / "_".join(map(str, options.values()))
        emit.write(emit.render(scalable(), options), out)
        for path in sorted(out.glob("*_[hv]0.frag.*")):
            hlsl = path.suffix == ".hlsl"
            cmd = [glslang, "-S", "frag"] + (["-D", "-e", "ps_main", "-V", "-o", str(tmp_path / "x.spv")]
                                             if hlsl else [])
            if options.get("glsl_version") == "450":
                cmd += ["-V", "-o", str(tmp_path / "x.spv")]
            r = subprocess.run(cmd + [str(path)], capture_output=True, text=True)
            assert r.returncode == 0, (path.name, r.stdout[-500:])
