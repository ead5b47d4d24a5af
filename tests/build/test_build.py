"""`sepgen build`: config validation, the fit cache, staleness checks, depfiles."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sepgen import kernels
from sepgen.build import BUILD_MANIFEST, build, cache, depfile
from sepgen.build.config import filter_keys, load_config
from sepgen.common.errors import CheckFailed, SepgenError
from sepgen.options import EMIT_OPTIONS, FIT_OPTIONS, WEIGHT_OPTIONS
from tests.support import BUILD_CONFIG as CONFIG, cli_process, edit_config, snapshot, write_project

ROOT = Path(__file__).resolve().parents[2]

@pytest.fixture
def fit_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the filters `sepgen.fitting.fit_with` (what the build fits with) is called for during the test."""
    import sepgen.fitting

    calls: list[str] = []
    real = sepgen.fitting.fit_with

    def counting(*args, **kwargs):
        calls.append(kwargs.get("name"))
        return real(*args, **kwargs)

    monkeypatch.setattr(sepgen.fitting, "fit_with", counting)
    return calls


@pytest.fixture(scope="module")
def built_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project built once; tests copy it (mtimes included) instead of refitting."""
    folder = tmp_path_factory.mktemp("built")
    build(write_project(folder))
    return folder


@pytest.fixture
def built(built_template: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "proj"
    shutil.copytree(built_template, dest, copy_function=shutil.copy2)
    return dest


# --- config -------------------------------------------------------------------------


def test_example_config_is_valid() -> None:
    cfg = load_config(ROOT / "examples" / "sepgen.toml")
    assert [f.name for f in cfg.filters] == ["bokeh", "hexagon", "soft"]
    assert cfg.out_dir == ROOT / "examples" / "generated"


def test_every_option_table_entry_is_a_config_key(tmp_path: Path) -> None:
    keys = filter_keys("polygon")
    for table in (FIT_OPTIONS, WEIGHT_OPTIONS, EMIT_OPTIONS):
        assert set(table) <= set(keys)
    # Every option at its table default is accepted and comes back unchanged (a None default
    # means "absent: decided from the other options", which TOML spells by leaving the key out).
    lines = ['name = "f"', 'kernel = "polygon"', "size = 9"]
    for opt in [*FIT_OPTIONS.values(), *WEIGHT_OPTIONS.values(), *EMIT_OPTIONS.values()]:
        if opt.default is not None:
            lines.append(f"{opt.name} = {json.dumps(opt.default)}")
    (tmp_path / "c.toml").write_text("[[filter]]\n" + "\n".join(lines) + "\n")
    f = load_config(tmp_path / "c.toml").filters[0]
    assert f.fit == {n: o.default for n, o in FIT_OPTIONS.items()}
    assert f.weights == {n: o.default for n, o in WEIGHT_OPTIONS.items()}
    assert f.langs == (EMIT_OPTIONS["lang"].default,)


def _wrong_type(opt) -> str:
    return '"text"' if opt.type is not str else "1"


@pytest.mark.parametrize(
    "opt", [*FIT_OPTIONS.values(), *WEIGHT_OPTIONS.values(), *EMIT_OPTIONS.values()], ids=lambda o: o.name
)
def test_wrong_type_names_file_filter_and_key(tmp_path: Path, opt) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[[filter]]\nname = "blur"\nkernel = "disk"\nsize = 9\n{opt.name} = {_wrong_type(opt)}\n')
    with pytest.raises(SepgenError) as err:
        load_config(cfg)
    msg = str(err.value)
    assert str(cfg) in msg and "'blur'" in msg and opt.name in msg


@pytest.mark.parametrize(
    "body, expected",
    [
        ('name = "b"\nkernel = "disk"\nsize = 9\nrnak = 3', "unknown key 'rnak' (did you mean 'rank'?)"),
        ('name = "b"\nkernel = "disk"\nsize = 9\nsigma = 2.0', "sigma does not apply to kernel disk"),
        ('name = "b"\nkernel = "disk"\nsize = 9\nrank = 10', "rank 10 is impossible for a 9x9 kernel"),
        ('name = "b"\nkernel = "disk"\nsize = 9\nrank = 0', "rank must be >= 1"),
        ('name = "b"\nkernel = "disk"\nsize = 3', "the default rank 4 is impossible for a 3x3 kernel"),
        ('name = "b"\nkernel = "disk"\nsize = 0', "size 0 is outside"),
        ('name = "b"\nkernel = "disk"\nsize = 9.5', "size must be int"),
        ('name = "b"\nkernel = "disk"', "missing key 'size'"),
        ('name = "b"\nkernel = "blob"\nsize = 9', "unknown kernel 'blob'"),
        ('name = "b"\nkernel = "disk"\nsize = 9\nsteps = -1', "steps must be >= 0"),
        ('name = "b"\nkernel = "disk"\nsize = 9\nlr = nan', "lr must be finite"),
        ('name = "b"\nkernel = "disk"\nsize = 9\nlang = ["glsl", "msl"]', "lang must be one of"),
        ('name = "b"\nkernel = "disk"\nsize = 9\nlang = ["glsl", "glsl"]', "lists a language twice"),
        ('name = "b"\nkernel = "disk"\nsize = 9\nlang = []', "non-empty list"),
        ('name = "b"\nkernel = "polygon"\nsize = 9\nsides = 6.5', "sides must be int"),
        ('name = "b"\nkernel = "file:nope.png"', "nope.png does not exist"),
        ('name = "b"\nkernel = "file:nope.png"\nsize = 9', "size does not apply"),
        ('name = "b"\nkernel = "disk"\nsize = 9\nstage = "compute"\nlinear_sampling = true', "fragment passes only"),
        ('name = "b"\nkernel = "disk"\nsize = 9\nstage = "compute"\nglsl_version = "300es"', "compute passes need"),
    ],
)
def test_config_errors_name_the_problem(tmp_path: Path, body: str, expected: str) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(f"[[filter]]\n{body}\n")
    with pytest.raises(SepgenError) as err:
        load_config(cfg)
    msg = str(err.value)
    assert expected in msg and str(cfg) in msg and "'b'" in msg and "\n" not in msg


@pytest.mark.parametrize(
    "text, expected",
    [
        ("[[filter]]\nkernel = 'disk'\nsize = 9\n", "filter #1: missing key 'name'"),
        ("[[filter]]\nname = '9lives'\nkernel = 'disk'\nsize = 9\n", "is not an identifier"),
        ("[[filter]]\nname = 'a-b'\nkernel = 'disk'\nsize = 9\n", "is not an identifier"),
        ("[[filter]]\nname = 'gl_blur'\nkernel = 'disk'\nsize = 9\n", "cannot prefix shader identifiers"),
        ("[[filter]]\nname = 'a'\nkernel = 'disk'\nsize = 9\n[[filter]]\nname = 'a'\nkernel = 'box'\nsize = 5\n",
         "filter 'a': duplicate name"),
        ("[[filter]]\nname = 'a'\nkernel = 'disk'\nsize = 9\n[[filter]]\nname = 'A'\nkernel = 'box'\nsize = 5\n",
         "clashes with 'a'"),
        ("[output]\ndir = 'x'\n", "defines no [[filter]]"),
        ("[output]\ndri = 'x'\n[[filter]]\nname = 'a'\nkernel = 'box'\nsize = 5\n", "[output]: unknown key 'dri'"),
        ("filters = 1\n", "unknown key 'filters' (did you mean 'filter'?)"),
        ("filter = 3\n", "array of tables"),
        ("[[filter]\nname = 'a'\n", "is not valid TOML"),
        ("[[filter]]\nname = 'a\n", "is not valid TOML"),
    ],
)
def test_config_file_errors(tmp_path: Path, text: str, expected: str) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(text)
    with pytest.raises(SepgenError) as err:
        load_config(cfg)
    assert expected in str(err.value) and str(cfg) in str(err.value)


def test_relative_paths_resolve_against_the_config_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = write_project(tmp_path / "proj")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    loaded = load_config(os.path.relpath(cfg, elsewhere))
    assert loaded.out_dir.resolve() == (tmp_path / "proj" / "out").resolve()
    assert loaded.filters[1].kernel_file.resolve() == (tmp_path / "proj" / "kernels" / "k.npy").resolve()


# --- cache keys ---------------------------------------------------------------------


def _key(tmp_path: Path, extra: str = "", kernel: str = 'kernel = "polygon"\nsize = 9') -> str:
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[[filter]]\nname = "f"\n{kernel}\n{extra}\n')
    return cache.cache_key(cache.fit_inputs(load_config(cfg).filters[0]))


@pytest.mark.parametrize(
    "extra",
    ["sides = 5", "rotation = 10.0", "antialias = true", "rank = 3", "optimizer = 'adam'", "steps = 7",
     "lr = 0.05", "init = 'random'", "seed = 3", "prune = 0.1", "nonneg = 0.5", "dc = 1.0", "scales = [0.5, 1.0]"],
)
def test_cache_key_changes_with_every_fit_input(tmp_path: Path, extra: str) -> None:
    assert _key(tmp_path, extra) != _key(tmp_path)


@pytest.mark.parametrize("extra", ["lang = ['hlsl']", "strategy = 'per-component'", "linear_sampling = true",
                                   "precision = 'fp16'", "sides = 6", "l2 = 1", "rank = 4"])
def test_cache_key_ignores_emit_options_and_spelled_out_defaults(tmp_path: Path, extra: str) -> None:
    assert _key(tmp_path, extra) == _key(tmp_path)


def test_cache_key_follows_file_content_not_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    np.save(tmp_path / "a.npy", kernels.disk(7))
    np.save(tmp_path / "b.npy", kernels.disk(7))
    key_a = _key(tmp_path, kernel='kernel = "file:a.npy"')
    assert _key(tmp_path, kernel='kernel = "file:b.npy"') == key_a
    np.save(tmp_path / "b.npy", kernels.disk(7, antialias=True))
    assert _key(tmp_path, kernel='kernel = "file:b.npy"') != key_a
    monkeypatch.setattr(cache, "__version__", "99.0")
    assert _key(tmp_path, kernel='kernel = "file:a.npy"') != key_a


# --- depfile ------------------------------------------------------------------------


def test_depfile_escapes_make_specials() -> None:
    text = depfile.render(["out/stamp"], ["my dir/a b.toml", "x#1.png", "$HOME.npy", "my dir/a b.toml"])
    assert text == "out/stamp: \\\n  my\\ dir/a\\ b.toml \\\n  x\\#1.png \\\n  $$HOME.npy\n"


def test_depfile_names_config_kernel_files_and_templates(tmp_path: Path, fit_calls: list[str]) -> None:
    folder = tmp_path / "with space"
    cfg = write_project(folder)
    (folder / "tpl").mkdir()
    for src in sorted((ROOT / "templates").rglob("*")):
        if src.is_file():
            dest = folder / "tpl" / src.relative_to(ROOT / "templates")
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(src, dest)
    edit_config(folder, 'dir = "out"', 'dir = "out"\ntemplates = "tpl"')
    dep = folder / "deps.d"
    build(cfg, depfile=dep, stamp=folder / "out" / "stamp")
    text = dep.read_text()
    target, deps = text.split(": \\\n", 1)
    assert target == str(folder / "out" / "stamp").replace(" ", "\\ ")
    listed = [d.strip().rstrip("\\").strip().replace("\\ ", " ") for d in deps.splitlines()]
    expected = [str(cfg), str(folder / "kernels" / "k.npy")]
    expected += [str(p) for p in sorted((folder / "tpl").rglob("*")) if p.is_file()]
    # then sepgen itself, its sources and templates: an upgrade reruns the step (issue 19)
    own = [str(p) for p in depfile.sepgen_files()]
    assert listed == expected + own
    assert str(ROOT / "sepgen" / "_version.py") in own and str(ROOT / "templates" / "glsl" / "include.glsl.j2") in own
    assert (folder / "out" / "stamp").is_file()


# --- build behaviour ----------------------------------------------------------------


def test_first_build_fits_and_emits_every_filter(tmp_path: Path, fit_calls: list[str]) -> None:
    cfg = write_project(tmp_path)
    messages: list[str] = []
    result = build(cfg, progress=messages.append)
    assert sorted(fit_calls) == ["bokeh", "custom"]
    assert result.fitted == ["bokeh", "custom"]
    out = tmp_path / "out"
    for name, langs in (("bokeh", ["glsl", "hlsl"]), ("custom", ["glsl"])):
        assert sorted(p.name for p in (out / name).iterdir()) == langs
        for lang in langs:
            manifest = json.loads((out / name / lang / "manifest.json").read_text())
            assert manifest["filter"] == name and manifest["options"]["lang"] == lang
            assert "sepgen build sepgen.toml" in manifest["command"]
            for entry in manifest["files"]:
                assert (out / name / lang / entry["path"]).is_file()
    doc = json.loads((out / BUILD_MANIFEST).read_text())
    assert sorted(doc["files"]) == sorted(str(p.relative_to(out)) for p in result.outputs)
    assert len(list((out / cache.CACHE_DIR).glob("*.json"))) == 2
    assert any("bokeh" in m and "fitted" in m for m in messages)


def test_spirv_and_wgsl_outputs_build_and_check_up_to_date(tmp_path: Path, fit_calls: list[str]) -> None:
    cfg = write_project(tmp_path, CONFIG.replace('lang = ["glsl", "hlsl"]', 'lang = ["spirv", "wgsl"]'))
    build(cfg)
    spv = sorted((tmp_path / "out" / "bokeh" / "spirv").glob("*.spv"))
    assert spv and all(p.read_bytes()[:4] == b"\x03\x02\x23\x07" for p in spv)  # SPIR-V magic, little-endian
    assert (tmp_path / "out" / "bokeh" / "wgsl" / "bokeh.wgsl").is_file()
    build(cfg, check=True)  # binary modules compare equal on --check (stale raises CheckFailed)
    spv[0].write_bytes(spv[0].read_bytes()[:-4])
    with pytest.raises(CheckFailed, match="differs"):
        build(cfg, check=True)


def test_noop_rebuild_fits_nothing_and_keeps_mtimes(built: Path, fit_calls: list[str]) -> None:
    before = snapshot(built)
    messages: list[str] = []
    result = build(built / "sepgen.toml", progress=messages.append)
    assert fit_calls == [] and result.written == [] and result.removed == []
    assert result.up_to_date == ["bokeh", "custom"]
    assert snapshot(built) == before
    assert messages == ["bokeh: up to date", "custom: up to date"]


def test_emit_option_change_reemits_without_refitting(built: Path, fit_calls: list[str]) -> None:
    before = snapshot(built)
    # linear sampling off: the default is on
    edit_config(built, 'lang = ["glsl", "hlsl"]', 'lang = ["glsl", "hlsl"]\nlinear_sampling = false')
    result = build(built / "sepgen.toml")
    after = snapshot(built)
    assert fit_calls == []
    assert result.emitted == ["bokeh"] and result.up_to_date == ["custom"]
    changed = {k for k in after if k in before and after[k] != before[k]}
    assert changed and all(k.startswith("out/bokeh/") for k in changed - {"sepgen.toml"} - {f"out/{BUILD_MANIFEST}"})
    assert all(after[k] == before[k] for k in before if k.startswith("out/custom/"))


def test_fit_option_change_refits_only_that_filter(built: Path, fit_calls: list[str]) -> None:
    edit_config(built, "steps = 40\n", "steps = 41\n")  # the first filter's
    result = build(built / "sepgen.toml")
    assert fit_calls == ["bokeh"] and result.fitted == ["bokeh"]
    assert result.up_to_date == ["custom"]


def test_kernel_file_content_change_refits(built: Path, fit_calls: list[str]) -> None:
    kfile = built / "kernels" / "k.npy"
    os.utime(kfile, (1, 1))  # touched, same bytes: still cached
    build(built / "sepgen.toml")
    assert fit_calls == []
    np.save(kfile, kernels.polygon(11, sides=7))
    result = build(built / "sepgen.toml")
    assert fit_calls == ["custom"] and result.fitted == ["custom"]


def test_file_kernel_with_impossible_rank_is_rejected_before_writing(tmp_path: Path, fit_calls: list[str]) -> None:
    head, tail = CONFIG.split('name = "custom"')
    cfg = write_project(tmp_path, head + 'name = "custom"' + tail.replace("rank = 2", "rank = 12"))
    with pytest.raises(SepgenError, match=r"filter 'custom': rank 12 is impossible for a 11x11 kernel"):
        build(cfg)
    out = tmp_path / "out"
    assert not out.exists() or [p.name for p in out.iterdir()] == [cache.CACHE_DIR]


def test_bad_kernel_file_leaves_no_shader_output(tmp_path: Path, fit_calls: list[str]) -> None:
    cfg = write_project(tmp_path)
    np.save(tmp_path / "kernels" / "k.npy", np.zeros((5, 5)))
    with pytest.raises(SepgenError, match=r"filter 'custom': kernel: .*all zero"):
        build(cfg)
    out = tmp_path / "out"
    shaders = [p for p in out.rglob("*") if p.is_file() and cache.CACHE_DIR not in p.parts] if out.exists() else []
    assert shaders == []


def test_removed_filter_outputs_are_deleted(built: Path, fit_calls: list[str]) -> None:
    text = (built / "sepgen.toml").read_text()
    (built / "sepgen.toml").write_text(text[: text.index('[[filter]]\nname = "custom"')])
    with pytest.raises(CheckFailed, match="no longer produced"):
        build(built / "sepgen.toml", check=True)
    result = build(built / "sepgen.toml")
    assert fit_calls == [] and result.removed
    assert not (built / "out" / "custom").exists()
    assert (built / "out" / "bokeh" / "glsl" / "manifest.json").is_file()
    build(built / "sepgen.toml", check=True)


def test_listed_paths_outside_the_stale_rule_are_never_removed(built: Path, tmp_path: Path,
                                                               fit_calls: list[str]) -> None:
    """`sepgen emit`'s rule: no backslash or drive colon, nothing through a linked folder."""
    out = built / "out"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "x.glsl").write_text("keep")
    (out / "linked").symlink_to(elsewhere, target_is_directory=True)
    (out / "c:x.glsl").write_text("keep")
    doc = json.loads((out / BUILD_MANIFEST).read_text())
    doc["files"] += ["c:x.glsl", "linked/x.glsl"]
    (out / BUILD_MANIFEST).write_text(json.dumps(doc))
    result = build(built / "sepgen.toml")
    assert (elsewhere / "x.glsl").read_text() == "keep" and (out / "c:x.glsl").read_text() == "keep"
    assert fit_calls == [] and result.removed == []


def test_output_does_not_depend_on_the_folder(built: Path, tmp_path: Path, fit_calls: list[str]) -> None:
    other = tmp_path / "somewhere" / "else"
    shutil.copytree(built, other)
    shutil.rmtree(other / "out" / "bokeh")
    build(other / "sepgen.toml")
    a = {k: v[1] for k, v in snapshot(built / "out").items()}
    b = {k: v[1] for k, v in snapshot(other / "out").items()}
    assert a == b and fit_calls == []


# --- --check ------------------------------------------------------------------------


def test_check_passes_when_current_and_writes_nothing(built: Path) -> None:
    before = snapshot(built)
    result = build(built / "sepgen.toml", check=True)
    assert result.up_to_date == ["bokeh", "custom"] and not result.stale
    assert snapshot(built) == before


@pytest.mark.parametrize(
    "damage, stale, reason",
    [
        (lambda d: edit_config(d, "steps = 40\n", "steps = 50\n"), "bokeh", "config or kernel changed"),
        (lambda d: np.save(d / "kernels" / "k.npy", kernels.box(3)), "custom", "config or kernel changed"),
        (lambda d: shutil.rmtree(d / "out" / cache.CACHE_DIR), "bokeh", "not fitted yet"),
        (lambda d: (d / "out" / "custom" / "glsl" / "manifest.json").unlink(), "custom", "manifest.json is missing"),
        (lambda d: (d / "out" / "bokeh" / "hlsl" / "manifest.json").write_text("{}"), "bokeh", "manifest.json differs"),
        (lambda d: edit_config(d, 'lang = ["glsl", "hlsl"]', 'lang = ["glsl", "hlsl"]\nprecision = "fp16"'),
         "bokeh", "differs"),
    ],
)
def test_check_names_each_stale_filter_and_writes_nothing(built: Path, damage, stale: str, reason: str) -> None:
    damage(built)
    before = snapshot(built)
    with pytest.raises(CheckFailed) as err:
        build(built / "sepgen.toml", check=True)
    msg = str(err.value)
    assert f"{stale} (" in msg and reason in msg and "\n" not in msg
    assert snapshot(built) == before
    build(built / "sepgen.toml")
    build(built / "sepgen.toml", check=True)  # current again after a build


def test_check_after_a_sepgen_upgrade_says_sepgen_changed(built: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Outputs made by another sepgen version: `--check` blames sepgen, not the config (issue 19)."""
    import sepgen.build.builder as builder

    for module in (builder, cache):  # what an upgrade changes: the version the build and its cache keys see
        monkeypatch.setattr(module, "__version__", "99.0.0")
    before = snapshot(built)
    with pytest.raises(CheckFailed) as err:
        build(built / "sepgen.toml", check=True)
    msg = str(err.value)
    assert "bokeh (sepgen changed" in msg and "custom (sepgen changed" in msg and "config or kernel" not in msg
    assert "made by sepgen 0." in msg and "this is 99.0.0" in msg
    assert snapshot(built) == before
    # a config edit under the same upgrade is still the config's fault
    edit_config(built, "steps = 40\n", "steps = 50\n")
    with pytest.raises(CheckFailed, match="bokeh \\(config or kernel changed"):
        build(built / "sepgen.toml", check=True)


# --- CLI and processes ----------------------------------------------------------------


def test_noop_rebuild_and_check_never_import_jax(built: Path) -> None:
    code = (
        "import sys; from sepgen.build import build; "
        f"r = build({str(built / 'sepgen.toml')!r}); "
        f"build({str(built / 'sepgen.toml')!r}, check=True); "
        "print('jax' in sys.modules, r.fitted, r.written)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False [] []"


def test_cli_exit_codes(built: Path) -> None:
    ok = cli_process("build", "sepgen.toml", cwd=built)
    assert ok.returncode == 0, ok.stderr
    assert "bokeh: up to date" in ok.stderr
    ok = cli_process("build", "sepgen.toml", "--check", cwd=built)
    assert ok.returncode == 0, ok.stderr
    (built / "out" / "bokeh" / "glsl" / "manifest.json").unlink()
    stale = cli_process("build", "sepgen.toml", "--check", cwd=built)
    assert stale.returncode == 1
    assert stale.stderr.strip().splitlines()[-1].startswith("sepgen: error: 1 stale output(s)")
    edit_config(built, "rank = 2", "rank = 99")
    bad = cli_process("build", "sepgen.toml", cwd=built)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert bad.stderr.strip() == "sepgen: error: sepgen.toml: filter 'bokeh': rank must be <= 64, got 99"


def test_cli_out_dir_and_depfile(built: Path, tmp_path: Path) -> None:
    out = tmp_path / "elsewhere"
    proc = cli_process("build", str(built / "sepgen.toml"), "--out-dir", str(out), "--depfile", str(tmp_path / "d.d"),
                       "-q")
    assert proc.returncode == 0 and proc.stderr == ""
    assert (out / BUILD_MANIFEST).is_file()
    assert (tmp_path / "d.d").read_text().startswith(str(out / BUILD_MANIFEST) + ":")


def test_unwritable_output_creates_nothing(tmp_path: Path) -> None:
    cfg = write_project(tmp_path)
    (tmp_path / "blocker").write_text("a file")
    edit_config(tmp_path, 'dir = "out"', 'dir = "blocker/out"')
    proc = cli_process("build", str(cfg))
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("sepgen: error: cannot write to") and "is not a folder" in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocker", "kernels", "sepgen.toml"]


def test_ci_snippet_verifies_what_the_config_ships(built: Path, tmp_path: Path) -> None:
    """The verify step of examples/ci/sepgen.yml runs `sepgen verify --config` on the build's config
    (which verifies exactly the variants each filter ships: tests/gpu/test_verify_select.py)."""
    workflow = (ROOT / "examples" / "ci" / "sepgen.yml").read_text()
    for package in ("libegl1", "libegl-mesa0", "libgl1-mesa-dri"):
        assert package in workflow
    lines = workflow.splitlines()
    start = next(i for i, line in enumerate(lines) if "Verify what ships" in line)
    script = next(lines[i].split("run:", 1)[1].strip() for i in range(start, len(lines))
                  if lines[i].strip().startswith("run:"))
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    log = tmp_path / "calls.txt"
    (fake_bin / "sepgen").write_text(f'#!/bin/sh\necho "$@" >> {log}\n')
    (fake_bin / "sepgen").chmod(0o755)
    env = {**os.environ, "PATH": f"{fake_bin}:{os.environ['PATH']}", "CONFIG": str(built / "sepgen.toml")}
    proc = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env, cwd=built, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert log.read_text().splitlines() == [f"verify --config {built / 'sepgen.toml'}"]


SCALED = """\
[[filter]]
name = "coc"
kernel = "disk"
size = 12
rank = 2
steps = 30
scales = [1.0, 0.5]
lang = ["glsl", "hlsl"]
scale_source = "texture"
"""


def test_scales_key_fits_a_scalable_filter_with_scaled_shaders(tmp_path: Path) -> None:
    cfg = write_project(tmp_path, SCALED)
    assert load_config(cfg).filters[0].scales == (0.5, 1.0)
    build(cfg)
    for lang in ("glsl", "hlsl"):
        manifest = json.loads((tmp_path / "generated" / "coc" / lang / "manifest.json").read_text())
        assert manifest["scale"]["source"] == "texture" and manifest["scale"]["fitted_scales"] == [0.5, 1.0]
    cached = next((tmp_path / "generated" / cache.CACHE_DIR).glob("coc-*.json"))
    assert json.loads(cached.read_text())["scales"] == [0.5, 1.0]


def test_a_scalable_hexagon_builds(tmp_path: Path) -> None:
    """The hexagonal depth-of-field case of issue 20: a polygon with scales crashed the fit."""
    cfg = write_project(tmp_path, SCALED.replace('kernel = "disk"\nsize = 12',
                                                 'kernel = "polygon"\nsides = 6\nsize = 13'))
    build(cfg)
    manifest = json.loads((tmp_path / "generated" / "coc" / "glsl" / "manifest.json").read_text())
    assert manifest["scale"]["fitted_scales"] == [0.5, 1.0]


@pytest.mark.parametrize("line, expected", [
    ("scales = []", "scales must be a non-empty list"),
    ("scales = [0.5, 0.5]", "scales lists scale 0.5 more than once"),
    ("scales = [0.0, 1.0]", "scales 0.0 is outside (0, 1]"),
    ("scales = 0.5", "scales must be a non-empty list"),
    ("scales = [1.0]\nstage = 'compute'", "scaled taps need fragment passes"),
])
def test_bad_scales_key(tmp_path: Path, line: str, expected: str) -> None:
    cfg = write_project(tmp_path, '[[filter]]\nname = "f"\nkernel = "disk"\nsize = 9\n' + line + "\n")
    with pytest.raises(SepgenError, match=rf"sepgen.toml: filter 'f': .*{re.escape(expected)}"):
        load_config(cfg)


def test_file_kernel_shaders_name_the_image_by_hash(built: Path) -> None:
    """Issue 20 item 12: the header names the kernel image a build fitted, by content hash."""
    digest = cache.file_digest(built / "kernels" / "k.npy")
    text = (built / "out" / "custom" / "glsl" / "custom_h0.frag.glsl").read_text()
    assert f"// kernel: file:kernels/k.npy, channel array, image sha256 {digest[:16]}" in text
    assert "// fit: optimizer gd, steps 40" in text
