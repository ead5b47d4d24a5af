"""Hand-written shaders that test the runners without the emit stage: a GLSL 330/430 folder
(per-component passes, additive blending, optional compute), an HLSL pass for spirv-cross, and
small WGSL / Vulkan GLSL neighbour shifts for the WebGPU and raw Vulkan runners."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

VERT = """#version 330
void main() {
    vec2 p = vec2(float((gl_VertexID << 1) & 2), float(gl_VertexID & 2));
    gl_Position = vec4(p * 2.0 - 1.0, 0.0, 1.0);
}
"""

FRAG = """#version 330
uniform sampler2D {uniform};
layout(location = 0) out vec4 o_color;
const int N = {n};
const float TAPS[N] = float[N]({taps});
void main() {{
    ivec2 p = ivec2(gl_FragCoord.xy);
    ivec2 size = textureSize({uniform}, 0);
    vec4 acc = vec4(0.0);
    for (int i = 0; i < N; ++i) {{
        ivec2 q = p + {axis} * ({c} - i);
        acc += TAPS[i] * texelFetch({uniform}, clamp(q, ivec2(0), size - 1), 0);
    }}
    o_color = acc;
}}
"""

COMP = """#version 430
layout(local_size_x = 8, local_size_y = 8, local_size_z = 1) in;
layout(binding = 0) uniform sampler2D {uniform};
layout(binding = 0, rgba32f) uniform image2D u_out;
const int N = {n};
const float TAPS[N] = float[N]({taps});
void main() {{
    ivec2 p = ivec2(gl_GlobalInvocationID.xy);
    ivec2 size = textureSize({uniform}, 0);
    if (p.x >= size.x || p.y >= size.y) return;
    vec4 acc = vec4(0.0);
    for (int i = 0; i < N; ++i) {{
        ivec2 q = p + {axis} * ({c} - i);
        acc += TAPS[i] * texelFetch({uniform}, clamp(q, ivec2(0), size - 1), 0);
    }}
    {store}
}}
"""


def _floats(a: np.ndarray) -> str:
    return ", ".join(repr(float(x)) for x in a)


def write_folder(out: Path, vertical: np.ndarray, horizontal: np.ndarray, origin: tuple[int, int],
                 compute: bool = False) -> Path:
    """Per-component passes h<k>/v<k> for Σ outer(vertical[k], horizontal[k])."""
    out.mkdir(parents=True, exist_ok=True)
    files, passes = [], []
    textures = {"source": {"role": "input"}, "output": {"role": "output", "format": "rgba32f"}}
    if not compute:
        (out / "vert.glsl").write_text(VERT)
        files.append({"path": "vert.glsl", "lang": "glsl", "stage": "vertex", "entry": "main", "pass": None,
                      "kind": "standalone"})
    for k, (v, h) in enumerate(zip(vertical, horizontal)):
        t = f"t{k}"
        textures[t] = {"role": "intermediate", "format": "rgba32f", "component": k}
        for direction, taps, c, axis, src, dst in (
            ("horizontal", h, origin[1], "ivec2(1, 0)", "source", t),
            ("vertical", v, origin[0], "ivec2(0, 1)", t, "output"),
        ):
            name = f"{direction[0]}{k}"
            uniform = f"u_{src}"
            blend = "none" if direction == "horizontal" or k == 0 else ("accumulate" if compute else "additive")
            spec = {"index": len(passes), "name": name, "direction": direction, "components": [k],
                    "inputs": [{"texture": src, "uniform": uniform, "binding": 0, "filter": "nearest",
                                "wrap": "clamp_to_edge"}],
                    "outputs": [{"texture": dst, "location": 0, "binding": 0, "component": None,
                                 "format": "rgba32f", "uniform": "u_out"}],
                    "blend": blend}
            if compute:
                store = ("imageStore(u_out, p, imageLoad(u_out, p) + acc);" if blend == "accumulate"
                         else "imageStore(u_out, p, acc);")
                text = COMP.format(uniform=uniform, n=len(taps), taps=_floats(taps), axis=axis, c=c, store=store)
                fname = f"{name}.comp.glsl"
                spec.update({"compute": fname, "workgroup_size": [8, 8, 1]})
                stage = "compute"
            else:
                text = FRAG.format(uniform=uniform, n=len(taps), taps=_floats(taps), axis=axis, c=c)
                fname = f"{name}.frag.glsl"
                spec.update({"vertex": "vert.glsl", "fragment": fname})
                stage = "fragment"
            (out / fname).write_text(text)
            files.append({"path": fname, "lang": "glsl", "stage": stage, "entry": "main", "pass": spec["index"],
                          "kind": "standalone"})
            passes.append(spec)
    manifest = {"format": "sepgen-manifest/1", "files": files, "textures": textures, "passes": passes}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return out


# -- HLSL through glslang + spirv-cross ---------------------------------------------------------

HLSL_VERT = """
float4 vs_main(uint id : SV_VertexID) : SV_Position {
    float2 p = float2((id << 1) & 2, id & 2);
    return float4(p * 2.0 - 1.0, 0.0, 1.0);
}
"""
# Two textures on units 0 and 1: one read with Load (no sampler: spirv-cross adds a dummy),
# one with SampleLevel through a sampler in s1 (a renamed combined sampler).
HLSL_FRAG = """
Texture2D<float4> u_a : register(t0);
Texture2D<float4> u_b : register(t1);
SamplerState u_b_sampler : register(s1);
struct Out { float4 shifted : SV_Target0; float4 sampled : SV_Target1; };
Out ps_main(float4 pos : SV_Position) {
    uint w, h;
    u_a.GetDimensions(w, h);
    int2 p = int2(pos.xy);
    Out o;
    o.shifted = u_a.Load(int3(clamp(p + int2(1, 0), int2(0, 0), int2(w - 1, h - 1)), 0));
    o.sampled = 2.0 * u_b.SampleLevel(u_b_sampler, (float2(p) + float2(0.5, 1.0)) / float2(w, h), 0);
    return o;
}
"""


def hlsl_folder(tmp_path: Path) -> Path:
    (tmp_path / "v.hlsl").write_text(HLSL_VERT)
    (tmp_path / "f.hlsl").write_text(HLSL_FRAG)
    nearest = {"filter": "nearest", "wrap": "clamp_to_edge"}
    doc = {
        "format": "sepgen-manifest/1",
        "files": [
            {"path": "f.hlsl", "lang": "hlsl", "stage": "fragment", "entry": "ps_main", "pass": 0,
             "kind": "standalone"},
            {"path": "v.hlsl", "lang": "hlsl", "stage": "vertex", "entry": "vs_main", "pass": None,
             "kind": "standalone"},
        ],
        "textures": {"source": {"role": "input"}, "t0": {"role": "intermediate", "format": "rgba32f"},
                     "output": {"role": "output", "format": "rgba32f"}},
        "passes": [{
            "index": 0, "name": "p", "vertex": "v.hlsl", "fragment": "f.hlsl", "blend": "none",
            "inputs": [{"texture": "source", "uniform": "u_a", "binding": 0, **nearest},
                       {"texture": "source", "uniform": "u_b", "binding": 1, "filter": "linear",
                        "wrap": "clamp_to_edge",
                        "sampler": "u_b_sampler"}],
            "outputs": [{"texture": "output", "location": 0, "format": "rgba32f"},
                        {"texture": "t0", "location": 1, "format": "rgba32f"}],
        }],
    }
    (tmp_path / "manifest.json").write_text(json.dumps(doc))
    return tmp_path


# -- WGSL and Vulkan GLSL for the WebGPU and raw Vulkan runners -------------------------------------

SHIFT_X = """
@group(0) @binding(0) var src: texture_2d<f32>;
@group(0) @binding(128) var dst: texture_storage_2d<rgba32float, write>;
@compute @workgroup_size(8, 8, 1)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let last = vec2<i32>(textureDimensions(src)) - 1;
    let p = vec2<i32>(id.xy);
    if (any(p > last)) { return; }
    textureStore(dst, p, 2.0 * textureLoad(src, vec2<i32>(clamp(p.x - 1, 0, last.x), p.y), 0));
}
"""
FULLSCREEN = """@vertex fn main(@builtin(vertex_index) i: u32) -> @builtin(position) vec4<f32> {
    let c = vec2<f32>(f32((i << 1u) & 2u), f32(i & 2u));
    return vec4<f32>(c * 2.0 - 1.0, 0.0, 1.0);
}
"""
SHIFT_Y = """@group(0) @binding(0) var src: texture_2d<f32>;
@fragment fn main(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
    let p = vec2<i32>(pos.xy);
    let last = vec2<i32>(textureDimensions(src)) - 1;
    return 3.0 * textureLoad(src, vec2<i32>(p.x, clamp(p.y - 1, 0, last.y)), 0);
}
"""
SHIFT_X_GLSL = """#version 450
layout(local_size_x = 8, local_size_y = 8) in;
layout(set = 0, binding = 0) uniform texture2D src;
layout(set = 0, binding = 64) uniform sampler smp;
layout(set = 0, binding = 128, rgba32f) uniform writeonly image2D dst;
void main() {
    ivec2 p = ivec2(gl_GlobalInvocationID.xy);
    ivec2 last = textureSize(sampler2D(src, smp), 0) - 1;
    if (any(greaterThan(p, last))) return;
    imageStore(dst, p, 2.0 * texelFetch(sampler2D(src, smp), ivec2(clamp(p.x - 1, 0, last.x), p.y), 0));
}
"""
