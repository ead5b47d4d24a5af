"""`--intermediates array` (issue 19, engine controls): the intermediates are one 2D array texture
(layer k = component k), so the include's functions take the same parameters at every rank and
an engine's code around them survives a refit that changes the rank."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from sepgen import emit
from sepgen.common.errors import SepgenError
from sepgen.options import EmitOptions
from sepgen.verify import check
from tests.support import hand_filter

gpu = pytest.mark.gpu
INCLUDES = {"glsl": "hand.glsl", "hlsl": "hand.hlsli", "wgsl": "hand.wgsl", "spirv": "hand.glsl"}
SIGNATURE = re.compile(r"^(?:void|vec4|float4|fn) hand_[hv]\d+\(.*$", re.M)


def _signatures(lang: str, rank: int, intermediates: str) -> list[str]:
    files = emit.render(hand_filter(rank=rank), {"lang": lang, "intermediates": intermediates})
    return SIGNATURE.findall(files[INCLUDES[lang]])


@pytest.mark.parametrize("lang", list(INCLUDES))
def test_include_signatures_do_not_depend_on_the_rank(lang: str) -> None:
    array = [_signatures(lang, rank, "array") for rank in (2, 3, 7)]
    assert len(array[0]) == 2 and array[0] == array[1] == array[2], array
    textures = [_signatures(lang, rank, "textures") for rank in (2, 3)]
    assert textures[0] != textures[1]  # one parameter per component: what the option removes


def test_manifest_describes_the_array() -> None:
    m = emit.render(hand_filter(rank=3), {"intermediates": "array"}).manifest.to_dict()
    assert m["textures"]["hand_t"] == {"role": "intermediate", "format": "rgba32f", "layers": 3}
    h, v = m["passes"]
    assert [(o["texture"], o["location"], o["layer"]) for o in h["outputs"]] == [("hand_t", k, k) for k in range(3)]
    assert [i["texture"] for i in v["inputs"]] == ["hand_t"]
    assert m["options"]["intermediates"] == "array"
    plain = emit.render(hand_filter(rank=3), {}).manifest.to_dict()
    assert "intermediates" not in plain["options"] and "layer" not in plain["passes"][0]["outputs"][0]


def test_refusals() -> None:
    for bad in ({"stage": "compute"}, {"strategy": "per-component"}, {"channels": "rgb"},
                {"scale_source": "texture"}):
        with pytest.raises(SepgenError, match="--intermediates array is implemented for fragment MRT passes"):
            EmitOptions.from_dict({"intermediates": "array", **bad})


# What examples/cmake/main.c puts around the include: the same text for every rank.
H_MAIN = ("uniform sampler2D u_source;\nlayout(location = 0) out vec4 o_t[hand_h0_LAYERS];\n"
          "void main() { hand_h0(u_source, ivec2(gl_FragCoord.xy), o_t); }\n")
V_MAIN = ("uniform sampler2DArray u_t;\nlayout(location = 0) out vec4 o_color;\n"
          "void main() { o_color = hand_v0(u_t, ivec2(gl_FragCoord.xy)); }\n")


@pytest.mark.skipif(shutil.which("glslangValidator") is None, reason="glslangValidator is not installed")
@pytest.mark.parametrize("rank", [2, 5])
def test_engine_code_compiles_at_any_rank(tmp_path: Path, rank: int) -> None:
    include = emit.render(hand_filter(rank=rank), {"intermediates": "array"})["hand.glsl"]
    for name, main in (("h.frag", H_MAIN), ("v.frag", V_MAIN)):
        (tmp_path / name).write_text("#version 330\n" + str(include) + main, encoding="utf-8")
        proc = subprocess.run(["glslangValidator", str(tmp_path / name)], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout


# Every runner, point and linear sampling, fp16; rank 10: two MRT groups writing layers 0-7 and 8-9.
TARGETED = [{"linear_sampling": False}, {"precision": "fp16"}, {"glsl_version": "450"}, {"lang": "spirv"},
            {"lang": "hlsl"}, {"lang": "wgsl", "linear_sampling": True}, {"glsl_version": "300es"}]


@gpu
def test_runners(runners) -> None:
    items = [(hand_filter(rank=3), [check.Variant({"intermediates": "array", **o}) for o in TARGETED]),
             (hand_filter(rank=10), [check.Variant({"intermediates": "array", **o}) for o in TARGETED[3:]])]
    results = check.verify_set(items, runner=runners)  # one browser start for both filters
    failed = [f"{f.rank} {r.name}: {r.error or r.max_rel}"
              for (f, _), rs in zip(items, results) for r in rs if not r.ok]
    assert not failed, failed
    assert {r.backend for rs in results for r in rs} == {"gl", "vulkan", "webgpu", "webgl"}
