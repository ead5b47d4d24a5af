"""A tiny hand-written shader folder (GLSL 330/430 + manifest) that tests the GL runner
without the emit stage: per-component passes, additive blending, optional compute."""

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


def write_folder(out: Path, vertical: np.ndarray, horizontal: np.ndarray, origin: tuple[int, int], compute: bool = False) -> Path:
    """Per-component passes h<k>/v<k> for Σ outer(vertical[k], horizontal[k])."""
    out.mkdir(parents=True, exist_ok=True)
    files, passes = [], []
    textures = {"source": {"role": "input"}, "output": {"role": "output", "format": "rgba32f"}}
    if not compute:
        (out / "vert.glsl").write_text(VERT)
        files.append({"path": "vert.glsl", "lang": "glsl", "stage": "vertex", "entry": "main", "pass": None, "kind": "standalone"})
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
                    "inputs": [{"texture": src, "uniform": uniform, "binding": 0, "filter": "nearest", "wrap": "clamp_to_edge"}],
                    "outputs": [{"texture": dst, "location": 0, "binding": 0, "component": None, "format": "rgba32f", "uniform": "u_out"}],
                    "blend": blend}
            if compute:
                store = ("imageStore(u_out, p, imageLoad(u_out, p) + acc);" if blend == "accumulate" else "imageStore(u_out, p, acc);")
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
            files.append({"path": fname, "lang": "glsl", "stage": stage, "entry": "main", "pass": spec["index"], "kind": "standalone"})
            passes.append(spec)
    manifest = {"format": "sepgen-manifest/1", "files": files, "textures": textures, "passes": passes}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return out
