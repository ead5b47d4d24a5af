"""The rows gather's interior path: each box's reads specialised at emit time (no branch, clamp or
loop per read), one test per pixel choosing it, its fetches the manifest's gather count."""

from __future__ import annotations

import json
import re

import pytest

from sepgen import emit
from tests.gpu.test_rows_gpu import aa_disk_rows, binary_disk, odd_columns

# (options, fetch calls of the language)
TARGETS = [
    ({}, r"texelFetch|textureLod"),
    ({"linear_sampling": True}, r"texelFetch|textureLod"),
    ({"stage": "compute"}, r"texelFetch|textureLod"),
    ({"lang": "glsl", "glsl_version": "300es"}, r"texelFetch|textureLod"),
    ({"lang": "spirv"}, r"texelFetch|textureLod"),
    ({"lang": "spirv", "stage": "compute"}, r"texelFetch|textureLod"),
    ({"lang": "hlsl"}, r"\.Load\(|\.SampleLevel\("),
    ({"lang": "hlsl", "linear_sampling": False}, r"\.Load\(|\.SampleLevel\("),
    ({"lang": "hlsl", "stage": "compute"}, r"\.Load\(|\.SampleLevel\("),
    ({"lang": "wgsl", "linear_sampling": False}, r"textureLoad|textureSampleLevel"),
    ({"lang": "wgsl", "linear_sampling": True}, r"textureLoad|textureSampleLevel"),
    ({"lang": "wgsl", "stage": "compute"}, r"textureLoad|textureSampleLevel"),
]


def function_body(text: str, name: str) -> str:
    """The text of function `name` from its signature to its closing brace (at column 0)."""
    start = re.search(rf"^(vec4|float4|fn) {name}\(", text, re.M)
    assert start, f"no function {name}"
    end = text.index("\n}", start.start())
    return text[start.start():end + 2]


@pytest.mark.parametrize("options, fetch", TARGETS, ids=[
    "-".join(f"{k}={v}" for k, v in options.items()) or "default" for options, _ in TARGETS])
@pytest.mark.parametrize("make", [binary_disk, aa_disk_rows, odd_columns], ids=["binary", "aa", "columns"])
def test_interior_reads_do_not_branch(make, options, fetch) -> None:
    filt = make()
    files = emit.render(filt, options)
    gather = next(p for p in json.loads(files["manifest.json"])["passes"] if p["name"] == "g")
    path = gather.get("compute") or gather["fragment"]
    text = str(files[path.removesuffix("spv") + "glsl" if path.endswith(".spv") else path])  # SPIR-V: its GLSL
    body = function_body(text, f"{filt.name}_in")
    assert not re.search(r"\b(if|for|while|clamp|select)\b|\?", body), body
    # one fetch call per counted fetch: the manifest's count is the interior pixel's
    assert len(re.findall(fetch, body)) == gather["fetches_per_pixel"]
    assert len(re.findall(rf"\b{filt.name}_in\(", text)) == 3  # defined once, called per tiling
    # the border path: straight-line clamped reads where lavapipe compiles them faster than a loop over
    # a table (SPIR-V from glslang: Vulkan GLSL, HLSL), the loop elsewhere (GL, WGSL)
    border = function_body(text, f"{filt.name}_border")
    straight = options.get("lang") in ("spirv", "hlsl")
    assert bool(re.search(r"\b(if|for|while)\b", border)) != straight, border
    assert (f"{filt.name}_BOX[" in text) != straight
    assert len(re.findall(rf"\b{filt.name}_border\(", text)) == 3  # defined once, called per tiling
