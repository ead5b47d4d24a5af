"""sepgen.emit: render, manifest, determinism, CLI, templates, wheel (plan: test_emit_taps.py)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile

import pytest

from sepgen import emit
from sepgen.common.errors import SepgenError
from sepgen.filters.filterfile import SeparableFilter
from tests.support import DISK, ROOT, cli, hand_filter

# --- rendered files -------------------------------------------------------------------------

def rw_texture_reads(text: str) -> list[str]:
    """Every use of a RWTexture2D that is not its declaration or a plain store `name[...] = ...`."""
    code = re.sub(r"//[^\n]*", "", text)
    names = re.findall(r"\bRWTexture2D\s*<[^>]*>\s*(\w+)", code)
    reads = []
    for name in names:
        for m in re.finditer(rf"\b{name}\b", code):
            before = code[max(0, m.start() - 80):m.start()]
            if re.search(r"RWTexture2D\s*<[^>]*>\s*$", before):
                continue  # the declaration
            after = code[m.end():]
            if re.match(r"\s*\[[^\]]*\]\s*=(?!=)", after):
                continue  # a store; `+=` and any other use reads the texture
            reads.append(f"{name}: {code[m.start():m.start() + 60].splitlines()[0]}")
    return reads


def test_rw_texture_read_detector_can_fail():
    assert rw_texture_reads("RWTexture2D<float4> u_o : register(u0);\nvoid f() { u_o[p] = acc; }") == []
    for bad in ("acc += u_o[p];", "u_o[p] = u_o[p] + acc;", "float4 a = u_o.Load(int3(p, 0));", "u_o[p] += acc;"):
        assert rw_texture_reads("RWTexture2D<float4> u_o : register(u0);\nvoid f() { " + bad + " }"), bad


@pytest.mark.parametrize("rank", [4, 10])
@pytest.mark.parametrize("strategy", ["mrt", "per-component"])
@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_hlsl_compute_never_loads_from_a_rw_texture(rank, strategy, precision):
    # cs_5_0 (D3D11.0) has no typed UAV loads of float4 formats and at most 8 UAVs per shader
    filt = hand_filter(rank=rank, seed=rank) if rank != 4 else SeparableFilter.load(DISK)
    files = emit.render(filt, {"lang": "hlsl", "stage": "compute", "strategy": strategy, "precision": precision})
    man = json.loads(files["manifest.json"])
    for path, text in files.items():
        if path.endswith(".hlsl") or path.endswith(".hlsli"):
            assert rw_texture_reads(text) == [], path
            assert len(re.findall(r"\bRWTexture2D\b", re.sub(r"//[^\n]*", "", text))) <= 8, path
    written = [p for p in man["passes"] if any(o["texture"] == "output" for o in p["outputs"])]
    assert len(written) == 1 and written[0]["blend"] == "none" and written[0] is man["passes"][-1]
    assert {i["texture"] for i in written[0]["inputs"]} == {f"{filt.name}_t{k}" for k in range(rank)}
    assert all(p["blend"] == "none" and len(p["outputs"]) <= 8 for p in man["passes"])
    horizontal = [p for p in man["passes"] if p["direction"] == "horizontal"]
    assert len(horizontal) == (-(-rank // 8) if strategy == "mrt" else rank)
    # every component has its own intermediate, written by exactly one pass
    outs = [o["texture"] for p in horizontal for o in p["outputs"]]
    assert sorted(outs) == sorted(f"{filt.name}_t{k}" for k in range(rank))
    # compute passes read shared memory: point taps, whatever emit's fragment default is
    assert man["fetches_per_pixel"] == emit.fetch_counts(filt, linear_sampling=False, strategy=strategy)
    assert sum(p["fetches_per_pixel"] for p in man["passes"]) == man["fetches_per_pixel"]["total"]


def test_glsl_compute_keeps_a_vertical_pass_per_group():
    filt = hand_filter(rank=10, seed=10)
    man = json.loads(emit.render(filt, {"stage": "compute"})["manifest.json"])
    assert [(p["name"], p["blend"]) for p in man["passes"]] == [("h0", "none"), ("v0", "none"),
                                                                ("h1", "none"), ("v1", "accumulate")]

def test_disk_fetches_per_pixel():
    filt = SeparableFilter.load(DISK)
    plain = emit.fetch_counts(filt, linear_sampling=False)
    lin = emit.fetch_counts(filt, linear_sampling=True)
    naive = 2 * 50 * filt.rank
    assert plain["total"] < naive
    assert lin["total"] <= 160  # the goal


@pytest.mark.parametrize("lang", ["glsl", "hlsl"])
@pytest.mark.parametrize("linear", [False, True])
def test_shader_reads_match_the_manifest_counts(lang, linear):
    filt = hand_filter(rank=3, seed=7)
    files = emit.render(filt, {"lang": lang, "linear_sampling": linear})
    man = json.loads(files["manifest.json"])
    point = r"texelFetch\(" if lang == "glsl" else r"\.Load\("
    lin = r"textureLod\(" if lang == "glsl" else r"\.SampleLevel\("
    for p in man["passes"]:
        text = files[p["fragment"]]
        reads = len(re.findall(point, text)) + len(re.findall(lin, text))
        assert reads == p["fetches_per_pixel"]
    assert sum(p["fetches_per_pixel"] for p in man["passes"]) == man["fetches_per_pixel"]["total"]
    assert man["fetches_per_pixel"] == emit.fetch_counts(filt, linear)


def test_zero_taps_never_reach_the_shader():
    filt = hand_filter(seed=2)
    for text in emit.render(filt, {"strategy": "per-component"}).values():
        assert not re.search(r"[+-]?\b0\.0 \* ", text)
        assert not re.search(r"\+= -?0\.0 \*", text)


def test_manifest_follows_the_contract():
    filt = SeparableFilter.load(DISK)
    for opts in emit.option_combinations():
        files = emit.render(filt, opts)
        man = json.loads(files["manifest.json"])
        assert man["format"] == "sepgen-manifest/1"
        assert man["filter"] == "disk50" and man["rank"] == 4 and man["kernel_size"] == [50, 50]
        assert man["options"] == opts
        assert sorted(f["path"] for f in man["files"]) == sorted(p for p in files if p != "manifest.json")
        for f in man["files"]:
            assert f["kind"] in ("standalone", "include", "source") and f["stage"] in ("vertex", "fragment", "compute")
        assert set(man["textures"]) == {"source", "output"} | {f"disk50_t{k}" for k in range(4)}
        for p in man["passes"]:
            shaders = [p["compute"]] if opts["stage"] == "compute" else [p["vertex"], p["fragment"]]
            assert all(s in files for s in shaders)
            for i in p["inputs"]:
                assert i["texture"] in man["textures"] and i["wrap"] == "clamp_to_edge"
                # linear only where the pass really has bilinear fetches
                assert i["filter"] == "nearest" or opts["linear_sampling"]
            fmt = "rgba16f" if opts["precision"] == "fp16" else "rgba32f"
            for o in p["outputs"]:
                assert o["format"] == (fmt if o["texture"] != "output" else "rgba32f")
            if opts["stage"] == "compute":
                assert len(p["workgroup_size"]) == 3


def test_every_file_starts_with_the_provenance_header():
    filt = SeparableFilter.load(DISK)
    files = emit.render(filt, {"linear_sampling": True}, command="sepgen emit disk.json --linear-sampling -o out")
    counts = emit.fetch_counts(filt, True)
    for path, text in files.items():
        if path == "manifest.json":
            man = json.loads(text)
            assert "do not edit" in man["generated"] and man["command"].startswith("sepgen emit disk.json")
            continue
        lines = text.splitlines()
        if lines[0].startswith("#version"):
            lines = lines[1:]
        head = "\n".join(lines[:11])  # issue 20: the header also names the kernel and the fit settings
        assert lines[0] == f"// {path}"
        tapless = "_fullscreen.vert." in path  # issue 20: no line a refit changes (see test_provenance_header)
        for needle in ("sepgen 0.1.0", "do not edit", "filter: disk50, rank 4", "relative_l2=",
                       f"= {counts['total']}", "regenerate: sepgen emit disk.json --linear-sampling -o out"):
            if tapless and needle in ("filter: disk50, rank 4", "relative_l2=", f"= {counts['total']}"):
                needle = "filter: disk50 (this file does not depend on its taps)" if needle.startswith("filter") else ""
            assert needle in head, (path, needle)


def test_include_files_have_guards_and_no_version():
    filt = SeparableFilter.load(DISK)
    for lang, ext in (("glsl", "glsl"), ("hlsl", "hlsli")):
        text = emit.render(filt, {"lang": lang})[f"disk50.{ext}"]
        assert not re.search(r"^\s*#version", text, re.M)
        assert f"#ifndef SEPGEN_disk50_{ext.upper()}" in text and text.rstrip().endswith(f"SEPGEN_disk50_{ext.upper()}")


def test_rendering_is_deterministic_and_write_skips_unchanged(tmp_path):
    filt = SeparableFilter.load(DISK)
    a = emit.render(filt, {"lang": "hlsl", "linear_sampling": True})
    b = emit.render(SeparableFilter.load(DISK), {"lang": "hlsl", "linear_sampling": True})
    assert a == b
    assert emit.write(a, tmp_path) == sorted(a)
    assert emit.write(b, tmp_path) == []
    assert {p.name for p in tmp_path.iterdir()} == set(a)
    assert all(not t.endswith("\n\n") and t.endswith("\n") and "\r" not in t for t in a.values())


def test_write_refuses_paths_outside_the_folder(tmp_path):
    with pytest.raises(SepgenError):
        emit.write({"../escape.glsl": "x"}, tmp_path)


def test_golden_snapshots_match():
    if str(ROOT) not in sys.path:  # `pytest` run without `python -m`
        sys.path.insert(0, str(ROOT))
    from tests import regen_golden

    assert len(regen_golden.VARIANTS) >= 6  # the options.json files were found
    for variant in regen_golden.VARIANTS:
        folder = ROOT / regen_golden.GOLDEN / variant
        want = regen_golden.expected(variant)
        have = regen_golden.snapshot(variant)
        assert set(have) == set(want), f"{folder}: run `python -m tests.regen_golden` and review the diff"
        for name in want:
            assert have[name] == want[name], f"{folder / name} differs: run `python -m tests.regen_golden` and review"


# --- input checking -------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["2blur", "my-blur", "blur x", "", "blür"])
def test_names_that_are_not_identifiers_are_rejected(name):
    with pytest.raises(SepgenError, match="identifier"):
        hand_filter(name=name)
    doc = json.loads(SeparableFilter.load(DISK).to_json())
    doc["name"] = name
    with pytest.raises(SepgenError, match="identifier"):
        SeparableFilter.from_dict(doc)


@pytest.mark.parametrize("name", ["gl_blur", "my__blur"])
def test_names_glsl_reserves_are_rejected(name):
    with pytest.raises(SepgenError, match="reserves"):
        emit.render(hand_filter(name=name))


@pytest.mark.parametrize("options, message", [
    ({"lang": "metal"}, "lang must be one of"),
    ({"linear": True}, "unknown emit option"),
    ({"linear_sampling": "yes"}, "linear_sampling must be bool"),
    ({"stage": "compute", "linear_sampling": True}, "fragment passes only"),
    ({"stage": "compute", "glsl_version": "300es"}, "desktop GLSL"),
])
def test_bad_options_are_one_line_errors(options, message):
    with pytest.raises(SepgenError, match=message):
        emit.render(hand_filter(), options)


def test_template_override_and_template_errors(tmp_path):
    filt = hand_filter()
    (tmp_path / "common").mkdir()
    (tmp_path / "common" / "header.j2").write_text(
        '{% macro header(path, lines, c="//") %}\n{{ c }} custom header for {{ path }}\n{% endmacro %}\n')
    files = emit.render(filt, templates_dir=tmp_path)
    assert files["hand_h0.frag.glsl"].splitlines()[1] == "// custom header for hand_h0.frag.glsl"
    vert = files["hand_fullscreen.vert.glsl"]  # built-in template, overridden macro
    assert "// custom header for hand_fullscreen.vert.glsl" in vert and "gl_Position" in vert
    (tmp_path / "glsl").mkdir()
    (tmp_path / "glsl" / "fullscreen.vert.glsl.j2").write_text("{{ no_such_variable }}\n")
    with pytest.raises(SepgenError, match="no_such_variable"):
        emit.render(filt, templates_dir=tmp_path)
    with pytest.raises(SepgenError, match="does not exist"):
        emit.render(filt, templates_dir=tmp_path / "missing")


# --- CLI and packaging ----------------------------------------------------------------------

def test_cli_emit_writes_the_folder_and_reports_bad_input(tmp_path):
    out = tmp_path / "out"
    r = cli("emit", str(DISK), "--lang", "hlsl", "--linear-sampling", "-o", str(out))
    assert r.returncode == 0, r.stderr
    files = emit.render(SeparableFilter.load(DISK), {"lang": "hlsl", "linear_sampling": True},
                        command=emit.default_command(str(DISK), {"lang": "hlsl", "linear_sampling": True}, str(out)))
    assert {p.name for p in out.iterdir()} == set(files)
    assert all((out / n).read_text() == t for n, t in files.items())

    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    for args in ([str(tmp_path / "missing.json")], [str(bad)], [str(DISK), "--stage", "compute", "--linear-sampling"]):
        r = cli("emit", *args, "-o", str(tmp_path / "x"))
        assert r.returncode == 2 and r.stderr.startswith("sepgen: error:") and len(r.stderr.splitlines()) == 1, r.stderr
    assert not (tmp_path / "x").exists()


def test_emit_does_not_import_jax(tmp_path):
    code = (
        "import sys, sepgen.emit, sepgen.cli.emit_cmd\n"
        "from sepgen.cli import main\n"
        f"assert main(['emit', {str(DISK)!r}, '-o', {str(tmp_path)!r}]) == 0\n"
        "assert 'jax' not in sys.modules, 'emit imported jax'\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "manifest.json").exists()


@pytest.mark.slow
def test_wheel_ships_the_templates(tmp_path):
    pytest.importorskip("build")
    pytest.importorskip("hatchling")
    r = subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "-o", str(tmp_path), str(ROOT)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    (wheel,) = tmp_path.glob("sepgen-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {f"sepgen/templates/{p.relative_to(ROOT / 'templates').as_posix()}"
               for p in (ROOT / "templates").rglob("*.j2")}
    assert shipped and shipped <= names
    assert "sepgen/run/webgl_runner.js" in names  # the WebGL2 runner's page script
