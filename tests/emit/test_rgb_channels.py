"""`--channels rgb` (issue 19, engine controls): an RGB-only filter's MRT passes pack the
components' RGB into ceil(3n/4) intermediates per group of n (rank 4: 3 targets, not 4); the
vertical pass unpacks them and writes alpha 1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sepgen import emit
from sepgen.common.errors import SepgenError
from sepgen.fitting.searched import memory_rank
from sepgen.options import EmitOptions
from sepgen.plan.passmodel import intermediate_texels, packed_layout
from sepgen.verify import check
from tests.support import disk_filter, hand_filter

gpu = pytest.mark.gpu


def _manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))


def test_layout() -> None:
    assert packed_layout(4) == [((0, 0), (0, 1), (0, 2), (1, 0)), ((1, 1), (1, 2), (2, 0), (2, 1)),
                                ((2, 2), (3, 0), (3, 1), (3, 2))]
    assert packed_layout(1) == [((0, 0), (0, 1), (0, 2), None)]
    assert [intermediate_texels(r, "rgb") for r in (1, 2, 3, 4, 5, 8, 9, 10, 16)] == [1, 2, 3, 3, 4, 6, 7, 8, 12]
    assert intermediate_texels(10, "rgba") == 10


@pytest.mark.parametrize("lang", ["glsl", "hlsl", "wgsl", "spirv"])
def test_rank4_writes_three_targets(tmp_path, lang: str) -> None:
    emit.write(emit.render(disk_filter(), {"lang": lang, "channels": "rgb"}), tmp_path)
    m = _manifest(tmp_path)
    inter = {n: t for n, t in m["textures"].items() if t["role"] == "intermediate"}
    assert list(inter) == ["disk50_p0", "disk50_p1", "disk50_p2"]
    assert inter["disk50_p1"]["channels"] == [[1, "g"], [1, "b"], [2, "r"], [2, "g"]]
    h, v = m["passes"]
    assert [o["texture"] for o in h["outputs"]] == list(inter) == [i["texture"] for i in v["inputs"]]
    assert m["intermediate_bytes_per_pixel"]["written"] == 48  # 3 RGBA32F texels, not 4
    assert m["options"]["channels"] == "rgb"


def test_counts_are_what_the_shaders_read() -> None:
    filt = disk_filter()
    point = {"linear_sampling": False}
    rgba = filt.structure.fetch_counts(EmitOptions(**point))
    rgb = filt.structure.fetch_counts(EmitOptions(channels="rgb", **point))
    assert rgb["horizontal"] == rgba["horizontal"] and rgb["vertical"] < rgba["vertical"]  # 142 < 170: shared reads
    m = emit.render(filt, {"channels": "rgb", **point}).manifest
    assert m.fetches_per_pixel == rgb
    assert m.intermediate_bytes_per_pixel == {"written": 48, "read": 16 * rgb["vertical"]}


def test_refusals_and_default() -> None:
    for bad in ({"stage": "compute"}, {"strategy": "per-component"}):
        with pytest.raises(SepgenError, match="--channels rgb packs the targets of fragment MRT passes"):
            EmitOptions.from_dict({"channels": "rgb", **bad})
    with pytest.raises(SepgenError, match="does not pack scaled taps"):
        EmitOptions.from_dict({"channels": "rgb", "scale_source": "uniform"})
    assert "channels" not in emit.render(hand_filter(), {}).manifest.options
    assert all(c.channels == "rgba" for c in EmitOptions.combinations())


def test_memory_cap_counts_packed_intermediates() -> None:
    rgb, rgba = EmitOptions(channels="rgb"), EmitOptions()
    assert memory_rank([rgba], 48) == 3 and memory_rank([rgb], 48) == 4  # rank 4 RGB: 3 targets
    assert memory_rank([rgb], 96) == 8 and memory_rank([rgb, rgba], 48) == 3  # the dearest target rules


def test_include_unpacks() -> None:
    files = emit.render(hand_filter(rank=2), {"channels": "rgb", "linear_sampling": False})
    include = files["hand.glsl"]
    assert "t0 = vec4(c0.r, c0.g, c0.b, c1.r);" in include and "t1 = vec4(c1.g, c1.b, 0.0, 0.0);" in include
    assert "acc.a = 1.0;" in include


# Fragment MRT on every runner: rank 3 (one group, straddling components) and rank 10 (two
# groups: v1 adds into the output, alpha 0), point and linear sampling, fp16 intermediates.
TARGETED = [
    (3, {"linear_sampling": False}), (10, {}), (3, {"precision": "fp16"}),
    (3, {"lang": "spirv"}), (10, {"lang": "hlsl"}), (3, {"lang": "wgsl", "linear_sampling": True}),
    (10, {"lang": "wgsl"}),
    (3, {"glsl_version": "300es", "linear_sampling": True, "precision": "fp16"}),
]


@gpu
def test_runners(runners) -> None:
    items = [(hand_filter(rank=rank), [check.Variant({"channels": "rgb", **o}) for r, o in TARGETED if r == rank])
             for rank in (3, 10)]
    results = check.verify_set(items, runner=runners)  # one browser start for both filters
    failed = [f"{f.rank} {r.name}: {r.error or r.max_rel}"
              for (f, _), rs in zip(items, results) for r in rs if not r.ok]
    assert not failed, failed
    assert {r.backend for rs in results for r in rs} == {"gl", "vulkan", "webgpu", "webgl"}
