"""The WGSL and SPIR-V generators: every WGSL file accepted by naga, every .spv by spirv-val
and by the manifest's own resource list, deterministic, and the limits they refuse.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from sepgen import emit
from sepgen.common import tools as spirv
from sepgen.common.errors import SepgenError
from sepgen.options import EmitOptions
from sepgen.run.vulkan import check_interface, load_program
from sepgen.run.vulkan.reflect import reflect
from tests.support import DISK, disk_filter, hand_filter, sparse_filter, wide_filter

FILTERS = {"disk50": disk_filter(), "zero-taps": hand_filter(), "rank11": wide_filter()}


def combos(lang: str) -> list[dict]:
    return [o.to_dict() for o in EmitOptions.combinations() if o.lang == lang]


@pytest.mark.gpu
@pytest.mark.parametrize("name", FILTERS)
def test_every_wgsl_file_passes_naga(webgpu_runner, name) -> None:
    checked = 0
    for opts in combos("wgsl"):
        for path, text in emit.render(FILTERS[name], opts).items():
            if path.endswith(".wgsl"):
                webgpu_runner.validate_wgsl(text, path)  # the include too: a module with no entry point
                checked += 1
    assert checked >= 12 * 3


@pytest.mark.parametrize("name", ["disk50", "rank11"])
def test_every_spv_passes_spirv_val_and_matches_its_manifest(name, tmp_path, glslang) -> None:
    for i, opts in enumerate(combos("spirv")):
        files = emit.render(FILTERS[name], opts)
        modules = {p: data for p, data in files.items() if p.endswith(".spv")}
        assert modules and all(isinstance(d, bytes) for d in modules.values())
        for path, data in modules.items():
            spirv.validate(data, path)
            assert reflect(data, path).entry_points == {"main": path.split(".")[-2].replace("comp", "compute")
                                                         .replace("frag", "fragment").replace("vert", "vertex")}
        folder = tmp_path / str(i)
        emit.write(files, folder)
        program = load_program(folder)
        for p in program.passes:  # each module's bindings and storage formats are the manifest's
            check_interface(p, {**program.textures, program.source: "rgba32f"})
        man = json.loads(files["manifest.json"])
        sources = [f for f in man["files"] if f["kind"] == "source"]
        assert len(sources) == len(modules) and all(f["lang"] == "glsl" for f in sources)


def test_manifest_lists_set_and_bindings_for_wgsl_and_spirv() -> None:
    man = json.loads(emit.render(hand_filter(), {"lang": "spirv", "stage": "compute"})["manifest.json"])
    h0 = man["passes"][0]
    assert h0["compute"].endswith(".comp.spv")
    assert h0["inputs"][0] | {"set": 0, "binding": 0} == h0["inputs"][0] and "sampler_binding" not in h0["inputs"][0]
    assert [(o["set"], o["binding"]) for o in h0["outputs"]] == [(0, 128 + k) for k in range(3)]
    linear = json.loads(emit.render(hand_filter(), {"lang": "wgsl", "linear_sampling": True})["manifest.json"])
    v0 = linear["passes"][1]
    assert [(i["set"], i["binding"], i.get("sampler_binding")) for i in v0["inputs"]] == \
        [(0, k, 64 + k if i["filter"] == "linear" else None) for k, i in enumerate(v0["inputs"])]
    glsl = json.loads(emit.render(hand_filter(), {"lang": "glsl"})["manifest.json"])
    assert all("set" not in i for p in glsl["passes"] for i in p["inputs"])  # other targets keep their bytes


@pytest.mark.parametrize("lang", ["wgsl", "spirv"])
def test_emission_is_deterministic_and_jax_free(lang) -> None:
    filt = hand_filter()
    for opts in combos(lang)[:4]:
        assert emit.render(filt, opts) == emit.render(filt, opts)
    code = ("import sys\nfrom sepgen import emit\nfrom sepgen.filters.filterfile import SeparableFilter\n"
            f"f = SeparableFilter.load({str(DISK)!r})\n"
            f"emit.render(f, {{'lang': {lang!r}}})\nassert 'jax' not in sys.modules, 'emit imported jax'\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_the_spirv_include_compiles_after_its_preamble(glslang) -> None:
    files = emit.render(hand_filter(), {"lang": "spirv", "linear_sampling": True})
    include = files["hand.glsl"]
    shader = ("#version 450\n#extension GL_EXT_samplerless_texture_functions : require\n" + include +
              "layout(location = 0) out vec4 o;\nvoid main() { o = vec4(hand_RANK); }\n")
    spirv.validate(spirv.compile_glsl(shader, "fragment", "use_include.frag"), "use_include.spv")


def test_wgsl_compute_refuses_more_textures_than_webgpu_guarantees() -> None:
    filt = sparse_filter("wide", 17, (5, 5), seed=2)
    with pytest.raises(SepgenError, match="WGSL compute reads all 17 components in one pass"):
        emit.render(filt, {"lang": "wgsl", "stage": "compute"})
    emit.render(filt, {"lang": "wgsl"})  # fragment passes are fine


WORKGROUP_ARRAY = re.compile(r"var<workgroup>\s+\w+\s*:\s*array<vec4<f32>,\s*(\d+)>")


@pytest.mark.parametrize("size", [50, 150])
def test_wgsl_workgroup_memory_is_within_the_defaults_or_the_manifest_limits(tmp_path, size) -> None:
    """What a browser checks at pipeline creation: the workgroup memory a compute shader declares
    stays within 16384 bytes unless the manifest's `limits` raises it (a rows scan of 512 texels
    holds 3 x 512 vec4: 24576 bytes). Separable compute passes too."""
    from sepgen import kernels
    from sepgen.common.webgpu import WEBGPU_DEFAULT_LIMITS
    from sepgen.filters import rows
    from sepgen.filters.rowsfile import RowsFilter

    k = kernels.disk(size)
    k = k / k.sum()
    for filt in (RowsFilter("bdisk", k, rows.exact_layout(k)), hand_filter()):
        out = tmp_path / f"{filt.name}{size}"
        emit.write(emit.render(filt, {"lang": "wgsl", "stage": "compute"}), out)
        manifest = json.loads((out / "manifest.json").read_text())
        allowed = (manifest.get("limits") or {}).get("maxComputeWorkgroupStorageSize",
                                                      WEBGPU_DEFAULT_LIMITS["maxComputeWorkgroupStorageSize"])
        for p in manifest["passes"]:
            declared = 16 * sum(map(int, WORKGROUP_ARRAY.findall((out / p["compute"]).read_text())))
            assert declared <= allowed, (p["compute"], declared, allowed)
