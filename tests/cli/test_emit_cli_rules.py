"""`sepgen emit`/`apply` as an engine developer uses them (issue 12, items 4, 6 and 10).

- Re-emitting into a folder removes the files its previous manifest listed and the new one
  does not, and nothing else.
- Options that do not apply to the chosen target are rejected, by `emit` as by `apply`;
  `apply --help` shows no default that cannot be passed.
- GLSL ES 300 output names the extensions it needs.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from sepgen import SeparableFilter, kernels
from tests.support import cli


def make_filter(folder: Path, rank: int, name: str = "blur") -> Path:
    k = kernels.disk(13)
    k = k / k.sum()
    u, s, vt = np.linalg.svd(k)
    path = folder / f"{name}_r{rank}.json"
    SeparableFilter(name, k, (u[:, :rank] * s[:rank]).T, vt[:rank]).save(path)
    return path



def listed(out: Path) -> set[str]:
    doc = json.loads((out / "manifest.json").read_text())
    return {f["path"] for f in doc["files"]} | {"manifest.json"}


def on_disk(out: Path) -> set[str]:
    return {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}


# --- item 4: stale shaders ------------------------------------------------------------------


def test_reemit_with_lower_rank_removes_stale_files(tmp_path: Path) -> None:
    out = tmp_path / "shaders"
    big, small = make_filter(tmp_path, 10), make_filter(tmp_path, 2)
    assert cli("emit", big, "--strategy", "per-component", "-o", out)[0] == 0
    many = on_disk(out)
    assert many == listed(out)
    (out / "engine_notes.txt").write_text("not sepgen's: never removed\n")
    (out / "sub").mkdir()
    (out / "sub" / "blur_h9.frag.glsl").write_text("not listed by any manifest\n")
    code, _, err = cli("emit", small, "--strategy", "per-component", "-o", out)
    assert code == 0
    assert on_disk(out) == listed(out) | {"engine_notes.txt", "sub/blur_h9.frag.glsl"}
    assert len(listed(out)) < len(many)
    assert "removed" in err


def test_reemit_never_removes_outside_the_folder(tmp_path: Path) -> None:
    out = tmp_path / "shaders"
    assert cli("emit", make_filter(tmp_path, 2), "-o", out)[0] == 0
    victim = tmp_path / "precious.txt"
    victim.write_text("keep\n")
    doc = json.loads((out / "manifest.json").read_text())
    doc["files"] += [{"path": "../precious.txt"}, {"path": str(victim)}]
    (out / "manifest.json").write_text(json.dumps(doc))
    assert cli("emit", make_filter(tmp_path, 2), "-o", out)[0] == 0
    assert victim.read_text() == "keep\n"


def test_reemit_never_removes_through_a_linked_folder(tmp_path: Path) -> None:
    """The stale-output rule `sepgen build` shares: a listed path whose folder links elsewhere stays."""
    out = tmp_path / "shaders"
    assert cli("emit", make_filter(tmp_path, 2), "-o", out)[0] == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "blur_h1.frag.glsl").write_text("keep\n")
    (out / "linked").symlink_to(elsewhere, target_is_directory=True)
    doc = json.loads((out / "manifest.json").read_text())
    doc["files"] += [{"path": "linked/blur_h1.frag.glsl"}]
    (out / "manifest.json").write_text(json.dumps(doc))
    assert cli("emit", make_filter(tmp_path, 2), "-o", out)[0] == 0
    assert (elsewhere / "blur_h1.frag.glsl").read_text() == "keep\n"


def test_unreadable_previous_manifest_removes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "shaders"
    out.mkdir()
    (out / "manifest.json").write_text("not json")
    (out / "old.glsl").write_text("x\n")
    assert cli("emit", make_filter(tmp_path, 2), "-o", out)[0] == 0
    assert (out / "old.glsl").is_file()


# --- item 6: options that do not apply --------------------------------------------------------


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--lang", "hlsl", "--glsl-version", "450"], "--glsl-version"),
        (["--lang", "hlsl", "--glsl-version", "330"], "--glsl-version"),
    ],
    ids=["hlsl_glsl450", "hlsl_glsl330_default_spelled"],
)
def test_emit_rejects_options_that_do_not_apply(tmp_path: Path, args, fragment) -> None:
    code, _, err = cli("emit", make_filter(tmp_path, 2), *args, "-o", tmp_path / "out")
    assert code == 2 and fragment in err and "hlsl" in err, err
    assert not (tmp_path / "out").exists()


def test_apply_help_says_gpu_only_and_shows_no_unusable_default() -> None:
    code, out, _ = cli("apply", "--help")
    assert code == 0
    text = " ".join(out.split())
    lang = text[text.index("--lang"):text.index("--linear-sampling")]
    assert "(gpu backend only)" in lang
    assert "default" not in lang, lang


# --- item 10: GLSL ES 300 extensions --------------------------------------------------------------


@pytest.mark.parametrize(
    "extra, needed",
    [
        ([], {"EXT_color_buffer_float"}),  # renders RGBA32F
        (["--linear-sampling"], {"EXT_color_buffer_float", "OES_texture_float_linear"}),  # and filters it
        # RGBA16F + 32F output; fp16 samples linearly by default, the RGBA32F source too
        (["--precision", "fp16"],
         {"EXT_color_buffer_half_float", "EXT_color_buffer_float", "OES_texture_float_linear"}),
        # the fp16 first pass samples the RGBA32F source linearly
        (["--precision", "fp16", "--linear-sampling"],
         {"EXT_color_buffer_half_float", "EXT_color_buffer_float", "OES_texture_float_linear"}),
        (["--strategy", "per-component"], {"EXT_color_buffer_float", "EXT_float_blend"}),  # adds into RGBA32F
    ],
    ids=["fp32", "fp32_linear", "fp16", "fp16_linear", "per_component"],
)
def test_glsl_es_300_names_its_extensions(tmp_path: Path, extra, needed) -> None:
    out = tmp_path / "es"
    assert cli("emit", make_filter(tmp_path, 2), "--glsl-version", "300es", *extra, "-o", out)[0] == 0
    doc = json.loads((out / "manifest.json").read_text())
    assert set(doc["extensions"]) == needed
    for path in listed(out) - {"manifest.json"}:
        head = (out / path).read_text().split("\n\n", 1)[0]
        for ext in needed:
            assert ext in head, f"{path} does not name {ext} in its header"


def test_desktop_glsl_needs_no_extensions(tmp_path: Path) -> None:
    out = tmp_path / "core"
    assert cli("emit", make_filter(tmp_path, 2), "--linear-sampling", "-o", out)[0] == 0
    assert json.loads((out / "manifest.json").read_text())["extensions"] == []


@pytest.mark.parametrize(
    "extra, needed",
    [
        ([], set()),
        (["--linear-sampling"], {"float32-filterable"}),  # samples the rgba32f intermediates linearly
        # rgba16f filters in core, but the first pass samples the rgba32f source linearly
        (["--linear-sampling", "--precision", "fp16"], {"float32-filterable"}),
        (["--strategy", "per-component"], {"float32-blendable"}),  # adds into the rgba32f output
    ],
    ids=["fp32", "fp32_linear", "fp16_linear", "per_component"],
)
def test_wgsl_names_its_webgpu_features(tmp_path: Path, extra, needed) -> None:
    out = tmp_path / "wgsl"
    assert cli("emit", make_filter(tmp_path, 2), "--lang", "wgsl", *extra, "-o", out)[0] == 0
    assert set(json.loads((out / "manifest.json").read_text())["extensions"]) == needed


# --- issue 20, item 3: filters far from their target --------------------------------------


def test_emit_warns_with_the_figure_when_a_filter_is_far_from_its_target(tmp_path, capsys):
    good = make_filter(tmp_path, 3)
    code, _, err = cli("emit", good, "-o", tmp_path / "good")
    assert code == 0 and "far from its target" not in err
    doc = json.loads(good.read_text())
    for c in doc["components"]:  # a hand edit: every tap ×2 → A = 4·K, relative L2 ≈ 3
        c["vertical"] = [2 * t for t in c["vertical"]]
        c["horizontal"] = [2 * t for t in c["horizontal"]]
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(doc))
    code, _, err = cli("emit", edited, "-o", tmp_path / "edited")
    warnings = [line for line in err.splitlines() if "far from its target" in line]
    assert code == 0 and len(warnings) == 1 and warnings[0].startswith("sepgen: warning: blur is far from its target")
    assert re.search(r"relative L2 error 2\.9\d \(more than 0\.5\)", warnings[0]), warnings[0]


def test_a_sharpen_kernel_without_its_negative_lobes_is_far_from_its_target(tmp_path):
    from sepgen.filters.filterfile import FAR_FROM_TARGET, far_from_target

    sharpen = np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], float)
    centre = np.array([[0.0, 1.0, 0.0]])  # a non-negative fit with DC gain 1: the centre tap at 1
    filt = SeparableFilter("sharp", sharpen, centre, centre)
    error = np.linalg.norm(filt.reconstruct() - sharpen) / np.linalg.norm(sharpen)
    assert error > FAR_FROM_TARGET and "relative L2 error 0.83 " in far_from_target(filt)
    disk_fit = SeparableFilter.load(make_filter(tmp_path, 1))
    assert far_from_target(disk_fit) is None  # a rank-1 disk (0.32) is a fit, not an accident
