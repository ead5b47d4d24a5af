"""Issue 20 item 12: shader headers say what produced the filter, and a file's bytes change
only when what it computes changes (the fullscreen vertex shader does not depend on the taps)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sepgen import emit, kernels
from sepgen.filters.filterfile import SeparableFilter
from tests.support import disk_filter, random_filter

LANGS = [{"lang": "glsl"}, {"lang": "glsl", "glsl_version": "300es"}, {"lang": "hlsl"}, {"lang": "wgsl"},
         {"lang": "spirv"}]


def _vertex(files: dict) -> tuple[str, str]:
    (path,) = [p for p in files if "_fullscreen.vert." in p and not p.endswith(".spv")]
    return path, files[path]


@pytest.mark.parametrize("opts", LANGS, ids=lambda o: "-".join(o.values()))
def test_vertex_shader_bytes_do_not_change_on_a_refit(opts: dict) -> None:
    disk = disk_filter()
    refit = random_filter("disk50", 2, disk.shape, positive=0.1, seed=3)  # other taps, rank and metrics
    refit.provenance = {**disk.provenance, "steps": 123}
    before, after = emit.render(disk, opts, command="cmd"), emit.render(refit, opts, command="cmd")
    path, text = _vertex(before)
    assert _vertex(after) == (path, text)
    assert "metrics" not in text and "rank" not in text
    moved = [p for p in before if p != path and p.endswith((".glsl", ".hlsl", ".wgsl"))]
    assert moved and all(before[p] != after[p] for p in moved)  # the files that use the taps do change


def test_header_names_kernel_fit_settings_and_weights() -> None:
    text = emit.render(disk_filter(), {"lang": "glsl"}, command="cmd")["disk50_h0.frag.glsl"]
    header = [line for line in text.splitlines() if line.startswith("//")][:8]
    assert "// kernel: disk, size 50, antialias false" in header
    fit = next(line for line in header if line.startswith("// fit: "))
    for part in ("optimizer gd", "steps 5000", "lr 0.1", "init svd", "seed 0", "prune 0.2", "nonneg=1.5", "zeros=0.3"):
        assert part in fit


def test_header_names_the_search_request_scales_and_image_hash(tmp_path: Path) -> None:
    np.save(tmp_path / "k.npy", kernels.polygon(9, sides=6))
    spec = kernels.with_image_hash({"kernel": f"file:{tmp_path / 'k.npy'}"})
    digest = spec["sha256"]
    f = random_filter("hexa", 2, (9, 9), positive=0.1)
    f.provenance = {"kernel": spec, "optimizer": "adam", "steps": 200, "scales": [0.5, 1.0],
                    "search": {"budget": 24, "chosen": "rank 2 free, pruned at 0.02: 22 fetches, relL2 0.05"}}
    text = emit.render(f, {"lang": "hlsl"}, command="cmd")["hexa_h0.frag.hlsl"]
    assert f"// kernel: file:{tmp_path / 'k.npy'}, channel array, image sha256 {digest[:16]}" in text
    assert "// fit: optimizer adam, steps 200" in text
    assert "// fitted scales: 0.5, 1" in text
    assert "// search: budget 24 fetches per pixel; chose rank 2 free, pruned at 0.02: 22 fetches" in text
    f.provenance = {"search": {"target_error": 0.05, "chosen": "rank 3 shared"}}
    assert "// search: target relative L2 0.05; chose rank 3 shared" in emit.render(f, command="c")["hexa_h0.frag.glsl"]


def test_hand_made_filter_without_provenance_has_no_provenance_lines() -> None:
    f = SeparableFilter("plain", np.ones((3, 3)) / 9, np.ones((1, 3)) / 3, np.ones((1, 3)) / 3)
    text = emit.render(f, command="c")["plain_h0.frag.glsl"]
    assert "// kernel:" not in text and "// fit:" not in text and "// metrics:" in text
