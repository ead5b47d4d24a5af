"""Include files of rows filters: the scan steps and the gather as functions an engine calls with its
own textures (`templates/<lang>/rows_include.*.j2`, `sepgen.emit.rows_emit.render_include`).
Each compiles inside a small wrapper that calls its functions (glslangValidator; WGSL through naga),
two filters' includes together too (with `--stage compute` a compute wrapper calling both filters'
`<name>_scan` and gather); tests/gpu/test_rows_include_gpu.py runs one on OpenGL."""

from __future__ import annotations

import json
import os
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from sepgen import emit
from sepgen.filters import rows
from sepgen.filters.rowsfile import RowsFilter
from sepgen.plan.passmodel import Pass

INCLUDE = {"glsl": "glsl", "spirv": "glsl", "hlsl": "hlsli", "wgsl": "wgsl"}


def hand_rows(name: str = "odd", axis: str = "columns") -> RowsFilter:
    """Shared reads at integer and fractional ends, a negative weight, an off-centre origin."""
    line = (rows.Box(1.25, 6.5, 0.5), rows.Box(7.5, 8.5, -0.05), rows.Box(2.5, 4.0, 0.3))
    lay = rows.RowsLayout(axis, (10, 13) if axis == "columns" else (13, 10), (3, 9) if axis == "columns" else (9, 3),
                          tuple(line for _ in range(13)))
    return RowsFilter(name, lay.reconstruct(), lay)


# (options, scaled): every language, both stages where the language has them, point and bilinear, scaled
CASES = [({"glsl_version": v, "linear_sampling": lin}, False) for v in ("330", "300es") for lin in (False, True)] + [
    ({"stage": "compute"}, False), ({}, True), ({"glsl_version": "300es", "scale_source": "texture"}, True),
    ({"lang": "spirv"}, False), ({"lang": "spirv", "linear_sampling": True}, False),
    ({"lang": "spirv", "stage": "compute"}, False), ({"lang": "spirv"}, True),
    ({"lang": "hlsl"}, False), ({"lang": "hlsl", "linear_sampling": False}, False),
    ({"lang": "hlsl", "stage": "compute"}, False), ({"lang": "hlsl"}, True),
    ({"lang": "wgsl"}, False), ({"lang": "wgsl", "linear_sampling": True}, False),
    ({"lang": "wgsl", "stage": "compute"}, False), ({"lang": "wgsl"}, True)]


def case_id(case: tuple[dict, bool]) -> str:
    opts, scaled = case
    return "-".join([*(str(v) for v in opts.values()), "scaled" if scaled else ""]).strip("-") or "default"


def rendered(opts: dict, scaled: bool, name: str = "odd", axis: str = "columns") -> emit.Rendered:
    filt = hand_rows(name, axis)
    return emit.render(filt.with_scales((0.5, 1.0)) if scaled else filt, opts)


def include_of(files: emit.Rendered) -> tuple[dict, str]:
    entries = [f for f in json.loads(files["manifest.json"])["files"] if f["kind"] == "include"]
    assert len(entries) == 1
    return entries[0], str(files[entries[0]["path"]])


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_the_include_is_listed_and_binds_nothing(case) -> None:
    opts, scaled = case
    files = rendered(opts, scaled)
    entry, text = include_of(files)
    lang = opts.get("lang", "glsl")
    assert entry == {"path": f"odd.{INCLUDE[lang]}", "lang": lang, "stage": "fragment", "entry": None, "pass": None,
                     "kind": "include"}
    assert not re.search(r"\b(uniform|register|binding|@group|main|fs_main|cs_main|#version)\b", code(text))
    scans = [p for p in files.manifest.passes if p.name.startswith("s")]
    compute = files.manifest.options["stage"] == "compute"
    for p in scans if not compute else ():
        assert re.search(rf"\b{p.function}\(", code(text))  # one function per scan pass, named as the pass
    if compute:  # the compute scan as one function, its workgroup size a constant, its shared memory the filter's
        assert re.search(r"\bodd_scan\(", code(text)) and re.search(r"\bodd_SCAN_TILE\b.*\b32u?\b", code(text))
        assert re.search(r"^(shared|groupshared|var<workgroup>) .*\bodd_sums\b", code(text), re.M)
    assert re.search(r"\bodd_gs?\(", code(text))
    assert all(f"odd_{k}" in code(text) for k in ("SIZE_Y", "SIZE_X", "ORIGIN_Y", "ORIGIN_X", "FETCHES_PER_PIXEL"))
    # the shared macros' file-scope names are the filter's: an engine's TILE or a second include does not clash
    assert not re.search(r"\b(TILE|HALF|LINE|ORIGIN|BOXES|AT|TEX|LIN|u_linear|sums|shifted)\b", code(text))


def code(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//"))


# -- compiled inside a wrapper that calls every function ------------------------------------------------

def calls(passes: list[Pass], lang: str, compute: bool, scaled: bool, name: str) -> str:
    """Statements calling the include's functions with the wrapper's textures (a, b, s) at pixel p."""
    out = []
    for p in passes:
        if p.name.startswith("s") and compute:
            out.append(scan_call(lang, name))
            continue
        if p.name == "s0":
            args = "tex_s, p"
        elif p.name.startswith("s"):
            args = "tex_a, tex_b, p"
        else:
            args = "tex_a, tex_b, tex_s, p" + (", 0.5" if scaled else "")
        fn = f"{name}_gs" if scaled and p.name == "g" else p.function
        if lang == "wgsl":
            out.append(f"    acc += {fn}({args})" + (";" if p.name == "g" else ".a;"))
        elif p.name.startswith("s"):
            out.append(f"    {fn}({args}, x, y); acc += x + y;")
        else:
            out.append(f"    acc += {fn}({args});")
    return "\n".join(out)


def scan_call(lang: str, name: str) -> str:
    """The compute scan called at the wrapper's (lane, tile, line_no), its three sums stored into image o."""
    r = f"r_{name}"
    store = {"wgsl": "{{ textureStore(o, {r}.p{s}, {r}.{s}); }}", "hlsl": "o[{r}.p{s}] = {r}.{s};"}.get(
        lang, "imageStore(o, {r}.p{s}, {r}.{s});")
    call = ((f"let {r} = " if lang == "wgsl" else f"{name}_scan_result {r} = ") +
            f"{name}_scan(tex_s, lane, tile, line_no);")
    return "\n".join([f"    {call}", *(f"    if ({r}.store_{s}) " + store.format(r=r, s=s) for s in ("a", "b", "b2"))])


def wrapper(lang: str, opts: dict, includes: list[tuple[str, str, str]], sampled: bool) -> str:
    """A shader with the includes (name, text, call statements) and an entry point calling them."""
    if opts.get("stage") == "compute":
        return compute_wrapper(lang, includes, sampled)
    version = opts.get("glsl_version", "330")
    body = "\n".join(c for _, _, c in includes)
    text = "\n".join(t for _, t, _ in includes)
    if lang == "hlsl":
        return (_declarations(lang, includes, sampled)
                + "float4 ps_main(float4 pos : SV_Position) : SV_Target0\n{\n    int2 p = int2(pos.xy);\n"
                f"    float4 acc = 0.0f;\n    float4 x, y;\n{body}\n    return acc;\n}}\n")
    if lang == "wgsl":
        return (_declarations(lang, includes, sampled)
                + "@fragment\nfn fs_main(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {\n"
                f"    let p = vec2<i32>(pos.xy);\n    var acc = vec4<f32>(0.0);\n{body}\n    return acc;\n}}\n")
    vulkan = lang == "spirv"
    head = ("#version 450\n#extension GL_EXT_samplerless_texture_functions : require\n" if vulkan else
            {"330": "#version 330 core\n",
             "300es": "#version 300 es\nprecision highp float;\nprecision highp int;\n"}[version])
    samplers = "".join(f"layout(set = 0, binding = {10 + i}) uniform sampler {n}_linear;\n"
                       for i, (n, _, _) in enumerate(includes)) if vulkan and sampled else ""
    tex = "layout(set = 0, binding = {}) uniform texture2D {};\n" if vulkan else "uniform sampler2D {1};\n"
    decls = "".join(tex.format(i, f"tex_{t}") for i, t in enumerate("abs"))
    entry = "layout(location = 0) out vec4 o;\nvoid main()\n{\n    ivec2 p = ivec2(gl_FragCoord.xy);\n"
    return (f"{head}{samplers}{text}\n{decls}{entry}    vec4 acc = vec4(0.0);\n    vec4 x, y;\n{body}\n"
            "    o = acc;\n}\n")


def _declarations(lang: str, includes: list[tuple[str, str, str]], sampled: bool) -> str:
    """HLSL or WGSL: the includes' text, their linear samplers (`sampled`) and the wrapper's three textures."""
    text = "\n".join(t for _, t, _ in includes)
    if lang == "hlsl":
        samplers = "".join(f"SamplerState {n}_linear : register(s{i});\n" for i, (n, _, _) in enumerate(includes))
        return (f"{samplers if sampled else ''}{text}\nTexture2D<float4> tex_a : register(t0);\n"
                "Texture2D<float4> tex_b : register(t1);\nTexture2D<float4> tex_s : register(t2);\n")
    samplers = "".join(f"@group(0) @binding({10 + i}) var {n}_linear: sampler;\n" for i, (n, _, _) in
                       enumerate(includes))
    return (f"{text}\n{samplers if sampled else ''}@group(0) @binding(0) var tex_a: texture_2d<f32>;\n"
            "@group(0) @binding(1) var tex_b: texture_2d<f32>;\n@group(0) @binding(2) var tex_s: texture_2d<f32>;\n")


def compute_wrapper(lang: str, includes: list[tuple[str, str, str]], sampled: bool) -> str:
    """A compute shader of the first filter's scan workgroup size calling every include's scan and gather."""
    body = "\n".join(c for _, _, c in includes)
    text = "\n".join(t for _, t, _ in includes)
    first = includes[0][0]
    if lang == "hlsl":
        return (_declarations(lang, includes, sampled)
                + f"RWTexture2D<float4> o : register(u0);\n[numthreads({first}_SCAN_TILE, 1, 1)]\n"
                "void cs_main(uint3 lid : SV_GroupThreadID, uint3 gid : SV_GroupID,\n"
                "             uint3 id : SV_DispatchThreadID)\n{\n"
                "    int lane = int(lid.x), tile = int(gid.x), line_no = int(gid.y);\n    int2 p = int2(id.xy);\n"
                f"    float4 acc = 0.0f;\n{body}\n    o[p] = acc;\n}}\n")
    if lang == "wgsl":
        return (_declarations(lang, includes, sampled)
                + "@group(0) @binding(5) var o: texture_storage_2d<rgba32float, write>;\n"
                f"@compute @workgroup_size({first}_SCAN_TILE)\n"
                "fn cs_main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) gid: vec3<u32>,\n"
                "        @builtin(global_invocation_id) id: vec3<u32>) {\n"
                "    let lane = i32(lid.x);\n    let tile = i32(gid.x);\n    let line_no = i32(gid.y);\n"
                f"    let p = vec2<i32>(id.xy);\n    var acc = vec4<f32>(0.0);\n{body}\n"
                "    textureStore(o, p, acc);\n}\n")
    vulkan = lang == "spirv"
    head = ("#version 450\n#extension GL_EXT_samplerless_texture_functions : require\n" if vulkan else
            "#version 430 core\n")
    samplers = "".join(f"layout(set = 0, binding = {10 + i}) uniform sampler {n}_linear;\n"
                       for i, (n, _, _) in enumerate(includes)) if vulkan and sampled else ""
    tex = ("layout(set = 0, binding = {}) uniform texture2D {};\n" if vulkan else
           "layout(binding = {}) uniform sampler2D {};\n")
    decls = "".join(tex.format(i, f"tex_{t}") for i, t in enumerate("abs"))
    return (f"{head}{samplers}{text}\n{decls}layout(local_size_x = {first}_SCAN_TILE) in;\n"
            f"layout({'set = 0, ' if vulkan else ''}binding = 5, rgba32f) uniform writeonly image2D o;\n"
            "void main()\n{\n    int lane = int(gl_LocalInvocationID.x), tile = int(gl_WorkGroupID.x);\n"
            "    int line_no = int(gl_WorkGroupID.y);\n"
            "    ivec2 p = ivec2(gl_GlobalInvocationID.xy);\n"
            f"    vec4 acc = vec4(0.0);\n    vec4 x, y;\n{body}\n    imageStore(o, p, acc);\n}}\n")


def compile_wrapped(glslang: str, lang: str, opts: dict, text: str, path: Path) -> None:
    path.write_text(text)
    stage = "comp" if opts.get("stage") == "compute" else "frag"
    entry = "cs_main" if stage == "comp" else "ps_main"
    cmd = ([glslang, "-D", "-V", "-e", entry, "-S", stage, "-o", os.devnull, str(path)] if lang == "hlsl" else
           [glslang, "-S", stage] + (["-V", "-o", os.devnull] if lang == "spirv" else []) + [str(path)])
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, f"{' '.join(cmd)}\n{r.stdout}{r.stderr}\n{text}"


def two_includes(opts: dict, scaled: bool) -> tuple[list[tuple[str, str, str]], bool]:
    """The includes of two filters (other names, other axes) and their calls."""
    out, sampled = [], False
    lang = opts.get("lang", "glsl")
    for name, axis in (("odd", "columns"), ("wide", "rows")):
        files = rendered(opts, scaled, name, axis)
        _, text = include_of(files)
        sampled = sampled or f"{name}_linear" in code(text)
        out.append((name, text, calls(list(files.manifest.passes), lang, opts.get("stage") == "compute", scaled, name)))
    return out, sampled


def test_every_include_compiles_in_a_wrapper(glslang, tmp_path) -> None:
    """GLSL 330 / 300 es / 430 compute, Vulkan GLSL (SPIR-V) and HLSL: two filters' includes in one shader."""
    jobs = []
    for k, (opts, scaled) in enumerate(CASES):
        lang = str(opts.get("lang", "glsl"))
        if lang == "wgsl":
            continue
        includes, sampled = two_includes(opts, scaled)
        suffix = {"glsl": ".glsl", "spirv": ".glsl", "hlsl": ".hlsl"}[lang]
        jobs.append((glslang, lang, opts, wrapper(lang, opts, includes, sampled), tmp_path / f"wrap{k}{suffix}"))
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        list(pool.map(lambda job: compile_wrapped(*job), jobs))


def test_every_wgsl_include_passes_naga_in_a_wrapper(webgpu_runner) -> None:
    for opts, scaled in CASES:
        if opts.get("lang") == "wgsl":
            includes, sampled = two_includes(opts, scaled)
            webgpu_runner.validate_wgsl(wrapper("wgsl", opts, includes, sampled), case_id((opts, scaled)))


def test_the_standalone_scan_passes_call_the_include_functions() -> None:
    """The scan passes' files contain the very functions of the include (as separable passes do),
    up to the include's prefixed constants."""
    files = rendered({}, False)
    _, text = include_of(files)

    def function(src: str, p: Pass) -> str:
        found = re.search(rf"void {p.function}\(.*?\n}}\n", src, re.S)
        assert found is not None, p.function
        return re.sub(r"\bodd_", "", found.group(0))

    for p in files.manifest.passes:
        if p.name.startswith("s"):
            standalone = str(files[str(p.fragment)])
            assert function(text, p) == function(standalone, p)
            assert f"{p.function}(" in standalone.split("void main()")[1]
