"""Bad input for every command: one-line error, the right exit code, no traceback, no output.

Each case runs the CLI (`sepgen.cli.main` inside click's CliRunner isolation, in this
process) from a working folder holding the inputs; afterwards the folder must hold exactly the
files it held before (no output, no temporary file). A handful of cases (`SMOKE`) also run in a
real `python -m sepgen` process: the exit code and the one-line stderr a user sees.
"Unreadable" files are directories in place of files: the tests run as root, where chmod
000 does not stop a read.

Every case names the message fragment it expects, so a case cannot pass because some
other error came first (a missing GL context, a shape check standing in for a NaN check).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from sepgen import kernels
from sepgen.common.errors import SepgenError
from sepgen.filters.filterfile import SeparableFilter
from tests.support import cli, cli_process

FAST = ["--steps", "5"]  # where a case would get as far as fitting, keep it tiny
BAD_INPUT = 2
MAX_MESSAGE = 400  # characters: a bad value is named, not echoed whole
UNWRITABLE = "blocker is not a folder"
# glvnd finds no EGL vendor: no GL context can be made, as on a machine without a driver (a fresh
# process only: this one may hold a context already, so in-process cases use `no_gl` instead).
NO_GL = {"__EGL_VENDOR_LIBRARY_FILENAMES": "/nonexistent/egl_vendor.json"}


def good_filter_doc() -> dict:
    k = kernels.disk(7)
    k = k / k.sum()
    u, s, vt = np.linalg.svd(k)
    filt = SeparableFilter("blur", k, (u[:, :2] * s[:2]).T, vt[:2])
    return json.loads(filt.to_json())


def _variant(doc: dict, change) -> str:
    d = json.loads(json.dumps(doc))
    change(d)
    return json.dumps(d, allow_nan=True)


def _set(path: tuple, value):
    """A change that sets doc[path[0]][path[1]]... = value."""
    def change(d):
        for key in path[:-1]:
            d = d[key]
        d[path[-1]] = value
    return change


def _filter_variants() -> dict[str, tuple[str, str]]:
    """Filter files that must be rejected, by name: (file text, expected message fragment)."""
    doc = good_filter_doc()
    text = json.dumps(doc)
    taps = len(doc["components"][0]["vertical"])

    def short_component(d):
        d["components"][1]["horizontal"] = d["components"][1]["horizontal"][:-1]

    def ragged_target(d):
        d["target"][2] = d["target"][2][:-2]

    def zero_components(d):
        for c in d["components"]:
            c["vertical"] = [0.0] * len(c["vertical"])

    def absurd_rank(d):
        d["components"] = d["components"][:1] * 65
        d["rank"] = 65

    return {
        "truncated": (text[: len(text) // 2], "is not valid JSON"),
        "not_json": ("this is not json {", "is not valid JSON"),
        "empty": ("", "is not valid JSON"),
        "array": ("[1, 2, 3]", "must hold a JSON object"),
        "nan_tap": (_variant(doc, _set(("components", 0, "vertical", 0), float("nan"))), "NaN is not allowed"),
        "inf_target": (_variant(doc, _set(("target", 0, 0), float("inf"))), "Infinity is not allowed"),
        "short_component": (_variant(doc, short_component), "component 1 has 7x6 taps, target is 7x7"),
        "flat_target": (_variant(doc, _set(("target",), doc["target"][0])), "'target' must be 2D"),
        "ragged_target": (_variant(doc, ragged_target), "'target' must be a list of equal-length lists"),
        "no_components": (_variant(doc, _set(("components",), [])), "'components' must be a non-empty list"),
        "bad_name": (_variant(doc, _set(("name",), "my-blur")), "filter name 'my-blur' is not an identifier"),
        "long_name": (_variant(doc, _set(("name",), "x-" * 2500)), "… (5000 characters) is not an identifier"),
        "absurd_rank": (_variant(doc, absurd_rank), "rank 65 is outside 1..64"),
        "rank_mismatch": (_variant(doc, _set(("rank",), 3)), "'rank' is 3 but 'components' holds 2"),
        "wrong_format": (_variant(doc, _set(("format",), "sepgen-filter/99")), "has format 'sepgen-filter/99'"),
        "text_taps": (_variant(doc, _set(("components", 0, "vertical"), ["a"] * taps)),
                      "component 0 'vertical'[0] is the string \"a\", expected a number"),
        "string_coefficient": (_variant(doc, _set(("components", 1, "horizontal", 3), "0.1")),
                               "component 1 'horizontal'[3] is the string \"0.1\", expected a number"),
        "huge_coefficient": (_variant(doc, _set(("components", 1, "vertical", 2), 1e39)),
                             "component 1 'vertical'[2] = 1e+39 does not fit in a float32"),
        # issue 20: filters that can only be wrong
        "zero_target": (_variant(doc, _set(("target",), [[0] * taps] * taps)),
                        "'target' is all zero: there is no kernel to approximate"),
        "zero_components": (_variant(doc, zero_components),
                            "the components are zero everywhere: the filter blurs nothing"),
    }


FILTER_VARIANTS = _filter_variants()
# Every bad filter file, as a command's FILTER.json argument -> the fragment its error must hold.
FILTER_FILES = {
    "missing.json": "filter file missing.json does not exist",
    "dir.json": "is a directory",
    **{f"f_{name}.json": fragment for name, (_, fragment) in FILTER_VARIANTS.items()},
}


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    """A working folder with good and bad inputs; every case runs in it."""
    good = json.dumps(good_filter_doc())
    (tmp_path / "good.json").write_text(good)
    for name, (text, _) in FILTER_VARIANTS.items():
        (tmp_path / f"f_{name}.json").write_text(text)
    (tmp_path / "dir.json").mkdir()  # unreadable: a folder where a file should be
    (tmp_path / "dir.png").mkdir()
    (tmp_path / "dir.toml").mkdir()
    (tmp_path / "blocker").write_text("a regular file, so nothing can be written under it\n")
    (tmp_path / "k.json").write_text("{}\n")  # a kernel file of a type that is not accepted

    rng = np.random.default_rng(0)
    img = rng.random((8, 8, 3)).astype(np.float32)
    np.save(tmp_path / "good.npy", img)
    np.save(tmp_path / "nan.npy", np.where(img > 0.5, np.nan, img))
    np.save(tmp_path / "inf.npy", np.where(img > 0.5, np.inf, img))
    gray = img[..., 0]  # 2D, so a kernel file is rejected for its NaN and not for its shape
    np.save(tmp_path / "knan.npy", np.where(gray > 0.5, np.nan, gray))
    np.save(tmp_path / "kinf.npy", np.where(gray > 0.5, np.inf, gray))
    np.save(tmp_path / "4d.npy", img[None])
    np.save(tmp_path / "1d.npy", img[0, :, 0])
    np.save(tmp_path / "empty.npy", np.zeros((0, 8), np.float32))
    np.save(tmp_path / "strings.npy", np.array([["a", "b"], ["c", "d"]]))
    np.save(tmp_path / "zero.npy", np.zeros((5, 5)))
    np.save(tmp_path / "complex.npy", gray * (1 + 1j))
    np.save(tmp_path / "gl_ap.npy", gray)  # its default filter name, gl_ap, is reserved
    np.save(tmp_path / "map_bad.npy", np.full((8, 8), 1.5, np.float32))
    np.save(tmp_path / "big.npy", np.ones((1100, 3)))
    (tmp_path / "text.png").write_text("not an image at all\n")
    import imageio.v3 as iio

    iio.imwrite(tmp_path / "good.png", (img * 255).astype(np.uint8))
    png = (tmp_path / "good.png").read_bytes()
    (tmp_path / "truncated.png").write_bytes(png[: len(png) // 2])
    (tmp_path / "truncated.npy").write_bytes((tmp_path / "good.npy").read_bytes()[:100])
    return tmp_path


def files_under(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def check_rejected(folder: Path, args: list[str], expect: str, code: int = BAD_INPUT,
                   env: dict[str, str] | None = None, process: bool = False) -> str:
    """Run `sepgen ARGS` (in this process, or with `process` in a fresh one); assert a one-line
    error holding `expect`, exit `code`, nothing written. Returns the message."""
    before = files_under(folder)
    if process:
        proc = cli_process(*args, cwd=folder, env=env, timeout=300)
        returncode, stdout, stderr = proc.returncode, proc.stdout, proc.stderr
    else:
        returncode, stdout, stderr = cli(*args, cwd=folder, env=env)
    lines = stderr.strip().splitlines()
    assert returncode == code, f"exit {returncode}, expected {code}\nstdout: {stdout}\nstderr: {stderr}"
    assert "Traceback" not in stderr, stderr
    # Progress lines may come first; the error is the last line and the only one.
    assert lines and lines[-1].startswith("sepgen: error: "), stderr
    assert sum("error" in line.lower() for line in lines) == 1, f"error is not one line:\n{stderr}"
    err = lines[-1]
    assert expect in err, f"expected {expect!r} in the error, got: {err}"
    assert len(err) <= MAX_MESSAGE, f"the message is {len(err)} characters long"
    assert not re.search(r"\bnp\.\w+\(", err), f"a NumPy repr in the message: {err}"
    assert files_under(folder) == before, f"left output behind: {sorted(files_under(folder) - before)}"
    return err


@pytest.fixture
def no_gl(monkeypatch: pytest.MonkeyPatch) -> None:
    """No GL context can be made in this process (what NO_GL does to a fresh one): every context
    sepgen makes comes from sepgen.run.gl.create_context."""
    from sepgen.run import gl

    def refuse(backend: str | None = "egl"):
        raise SepgenError("cannot create an OpenGL 3.3 context with egl (no driver in this test)")

    monkeypatch.setattr(gl, "create_context", refuse)


# --- optimize -----------------------------------------------------------------------

OPTIMIZE_CASES = {
    "size_zero": (["--size", "0"], "kernel size 0 is outside 1..1025"),
    "size_negative": (["--size", "-5"], "kernel size -5 is outside 1..1025"),
    "size_absurd": (["--size", "100000"], "kernel size 100000 is outside 1..1025"),
    "rank_zero": (["--size", "9", "--rank", "0"], "rank must be >= 1, got 0"),
    "rank_negative": (["--size", "9", "--rank", "-2"], "rank must be >= 1, got -2"),
    "rank_absurd": (["--size", "9", "--rank", "1000"], "rank must be <= 64, got 1000"),
    "rank_impossible": (["--size", "9", "--rank", "10"], "rank 10 is larger than the kernel's smaller side (9x9)"),
    "steps_negative": (["--size", "9", "--steps", "-1"], "steps must be >= 0, got -1"),
    "lr_nan": (["--size", "9", "--lr", "nan"], "lr must be finite, got nan"),
    "lr_inf": (["--size", "9", "--lr", "inf"], "lr must be finite, got inf"),
    "weight_nan": (["--size", "9", "--nonneg", "nan"], "nonneg must be finite, got nan"),
    "weight_negative": (["--size", "9", "--zeros", "-1"], "zeros must be >= 0.0, got -1.0"),
    "prune_absurd": (["--size", "9", "--prune", "2"], "prune must be <= 1.0, got 2.0"),
    "unknown_kernel": (["--kernel", "blob", "--size", "9"], "unknown kernel 'blob'"),
    "unknown_optimizer": (["--size", "9", "--optimizer", "sgd"], "'sgd' is not one of 'gd', 'adam', 'lbfgs'"),
    "option_of_other_kernel": (["--kernel", "disk", "--size", "9", "--sigma", "2"],
                               "--sigma does not apply to kernel disk"),
    "polygon_sides": (["--kernel", "polygon", "--size", "9", "--sides", "2"],
                      "polygon sides must be an integer in 3..64"),
    "gaussian_sigma": (["--kernel", "gaussian", "--size", "9", "--sigma", "-1"],
                       "gaussian sigma must be a positive number"),
    "bad_name": (["--size", "9", "--name", "my-blur"], "filter name 'my-blur' is not an identifier"),
    "long_name": (["--size", "9", "--name", "x-" * 2500], "… (5000 characters) is not an identifier"),
    "kernel_file_missing": (["--kernel", "file:missing.npy"], "kernel file missing.npy does not exist"),
    "kernel_file_dir": (["--kernel", "file:dir.png"], "kernel file dir.png is a directory"),
    "kernel_file_json": (["--kernel", "file:k.json"], "unsupported type '.json' (accepted: .npy, .png"),
    "kernel_file_text": (["--kernel", "file:text.png"], "cannot read kernel file text.png: not an image file"),
    "kernel_file_truncated": (["--kernel", "file:truncated.png"], "cannot read kernel file truncated.png"),
    "kernel_file_nan": (["--kernel", "file:knan.npy"], "kernel file knan.npy contains NaN or infinite values"),
    "kernel_file_inf": (["--kernel", "file:kinf.npy"], "kernel file kinf.npy contains NaN or infinite values"),
    "kernel_file_3d": (["--kernel", "file:4d.npy"], "kernel file 4d.npy must be 2D, got shape (1, 8, 8, 3)"),
    "kernel_file_1d": (["--kernel", "file:1d.npy"], "kernel file 1d.npy must be 2D, got shape (8,)"),
    "kernel_file_empty": (["--kernel", "file:empty.npy"], "kernel file empty.npy size 0x8 is outside 1..1025"),
    "kernel_file_strings": (["--kernel", "file:strings.npy"], "kernel file strings.npy does not hold numbers"),
    "kernel_file_zero": (["--kernel", "file:zero.npy"], "kernel file zero.npy is all zero"),
    "kernel_file_too_big": (["--kernel", "file:big.npy"], "kernel file big.npy size 1100x3 is outside 1..1025"),
    # issue 20: refused before the fit, not after it
    "kernel_file_complex": (["--kernel", "file:complex.npy"], "kernel file complex.npy holds complex numbers"),
    "reserved_name_gl": (["--size", "9", "--name", "gl_blur"],
                         "filter name 'gl_blur' cannot prefix shader identifiers (GLSL reserves gl_ and __)"),
    "reserved_name_dunder": (["--size", "9", "--name", "__x"], "filter name '__x' cannot prefix shader identifiers"),
    "reserved_default_name": (["--kernel", "file:gl_ap.npy"], "filter name 'gl_ap' cannot prefix shader identifiers"),
    "unwritable_output": (["--size", "9", "--rank", "2", "-o", "blocker/out.json"], UNWRITABLE),
    # issue 18 item 4: scalable rows filters take the scales pairs take
    "rows_scales_zero": (["--size", "9", "--structure", "rows", "--scales", "0,1"], "--scales 0.0 is outside (0, 1]"),
    "rows_scales_twice": (["--size", "9", "--structure", "rows", "--scales", "0.5,0.5"],
                          "--scales lists scale 0.5 more than once"),
    "rows_scales_text": (["--size", "9", "--structure", "rows", "--scales", "half"],
                         "--scales must be a comma-separated list of scales in (0, 1], got 'half'"),
    "auto_scales": (["--size", "9", "--budget", "40", "--scales", "0.5,1"],
                    "--scales needs --structure separable or rows (auto would search both), got auto"),
}


@pytest.mark.parametrize("case", list(OPTIMIZE_CASES))
def test_optimize_rejects(inputs: Path, case: str) -> None:
    args, expect = OPTIMIZE_CASES[case]
    out = [] if "-o" in args else ["-o", "out.json"]
    check_rejected(inputs, ["optimize", *FAST, *args, *out], expect)


# --- sweep --------------------------------------------------------------------------

SWEEP_CASES = {k: OPTIMIZE_CASES[k] for k in (
    "size_zero", "size_negative", "rank_negative", "rank_impossible", "steps_negative", "lr_nan",
    "unknown_kernel", "kernel_file_nan", "kernel_file_text", "kernel_file_complex", "reserved_name_gl",
    "reserved_name_dunder", "reserved_default_name",
)}
SWEEP_CASES["cell_name_dunder"] = (["--size", "9", "--name", "a_"],
                                   "filter name 'a__n0_z0' cannot prefix shader identifiers")
SWEEP_CASES["unwritable_output"] = (["--size", "9", "--rank", "2", "-o", "blocker/sweep"], UNWRITABLE)


@pytest.mark.parametrize("case", list(SWEEP_CASES))
def test_sweep_rejects(inputs: Path, case: str) -> None:
    args, expect = SWEEP_CASES[case]
    out = [] if "-o" in args else ["-o", "sweep"]
    check_rejected(inputs, ["sweep", *FAST, *args, *out], expect)


# --- emit ---------------------------------------------------------------------------


@pytest.mark.parametrize("filter_file", list(FILTER_FILES))
def test_emit_rejects_bad_filter_files(inputs: Path, filter_file: str) -> None:
    check_rejected(inputs, ["emit", filter_file, "--lang", "glsl", "-o", "shaders"], FILTER_FILES[filter_file])


EMIT_CASES = {
    "unknown_lang": (["--lang", "msl"], "Invalid value for '--lang': 'msl' is not one of 'glsl', 'hlsl'"),
    "unknown_glsl_version": (["--glsl-version", "100"], "'100' is not one of '330', '300es', '450'"),
    "unknown_strategy": (["--strategy", "magic"], "'magic' is not one of 'mrt', 'per-component'"),
    "unknown_precision": (["--precision", "fp8"], "'fp8' is not one of 'fp32', 'fp16'"),
    "unknown_output_format": (["--output-format", "rgb8"], "'rgb8' is not one of 'rgba32f', 'rgba16f', 'r11g11b10f'"),
    "wgsl_compute_r11g11b10f": (["--lang", "wgsl", "--stage", "compute", "--output-format", "r11g11b10f"],
                                "WebGPU has no rg11b10ufloat storage textures"),
    "r11g11b10f_partial_sums": (["--strategy", "per-component", "--output-format", "r11g11b10f"],
                                "r11g11b10f holds no negative values, and passes v1 add partial sums"),
    "unknown_channels": (["--channels", "rg"], "'rg' is not one of 'rgba', 'rgb'"),
    "rgb_compute": (["--channels", "rgb", "--stage", "compute"],
                    "--channels rgb packs the targets of fragment MRT passes"),
    "unknown_intermediates": (["--intermediates", "atlas"], "'atlas' is not one of 'textures', 'array'"),
    "array_per_component": (["--intermediates", "array", "--strategy", "per-component"],
                            "--intermediates array is implemented for fragment MRT passes"),
    "missing_templates": (["--templates", "missing-templates"], "templates folder missing-templates does not exist"),
    "unwritable_output": (["--lang", "glsl", "-o", "blocker/shaders"], UNWRITABLE),
}


@pytest.mark.parametrize("case", list(EMIT_CASES))
def test_emit_rejects_bad_options(inputs: Path, case: str) -> None:
    args, expect = EMIT_CASES[case]
    out = [] if "-o" in args else ["-o", "shaders"]
    check_rejected(inputs, ["emit", "good.json", *args, *out], expect)


# A scalable rows filter (issue 18 item 4): scaled shaders as for pairs.
ROWS_SCALED_EMIT_CASES = {
    "compute": (["--stage", "compute"], "scaled taps need fragment passes"),
    "linear_sampling": (["--linear-sampling"], "scaled taps are bilinear fetches already: drop --linear-sampling"),
    "bad_scales_key": (["--lang", "glsl"], "'scales' 1.5 is outside (0, 1]"),
}


@pytest.mark.parametrize("case", list(ROWS_SCALED_EMIT_CASES))
def test_emit_rejects_bad_scaled_rows_input(inputs: Path, case: str) -> None:
    from sepgen.filters import rows
    from sepgen.filters.rowsfile import RowsFilter

    k = kernels.disk(9)
    doc = json.loads(RowsFilter("r", k / k.sum(), rows.exact_layout(k / k.sum())).with_scales((0.5, 1.0)).to_json())
    if case == "bad_scales_key":
        doc["scales"] = [0.5, 1.5]
    (inputs / "rows.json").write_text(json.dumps(doc))
    args, expect = ROWS_SCALED_EMIT_CASES[case]
    check_rejected(inputs, ["emit", "rows.json", *args, "-o", "shaders"], expect)


# --- apply --------------------------------------------------------------------------

IMAGE_CASES = {
    "missing.png": "image missing.png does not exist",
    "dir.png": "image dir.png is a directory",
    "text.png": "cannot read image text.png: not an image file",
    "truncated.png": "cannot read image truncated.png",
    "truncated.npy": "cannot read image truncated.npy",
    "nan.npy": "image nan.npy contains NaN or infinite values",
    "inf.npy": "image inf.npy contains NaN or infinite values",
    "4d.npy": "image 4d.npy must be H×W or H×W×C, got shape (1, 8, 8, 3)",
    "1d.npy": "image 1d.npy must be H×W or H×W×C, got shape (8,)",
    "empty.npy": "image empty.npy is empty",
    "strings.npy": "image strings.npy must hold real numbers",
}


@pytest.mark.parametrize("image", list(IMAGE_CASES))
def test_apply_rejects_bad_images(inputs: Path, image: str) -> None:
    check_rejected(inputs, ["apply", "good.json", "--input", image, "--output", "out.npy"], IMAGE_CASES[image])


@pytest.mark.parametrize("filter_file", ["missing.json", "dir.json", "f_truncated.json", "f_nan_tap.json",
                                         "f_short_component.json", "f_flat_target.json", "f_rank_mismatch.json",
                                         "f_string_coefficient.json", "f_huge_coefficient.json"])
def test_apply_rejects_bad_filter_files(inputs: Path, filter_file: str) -> None:
    check_rejected(inputs, ["apply", filter_file, "--input", "good.npy", "--output", "out.npy"],
                   FILTER_FILES[filter_file])


APPLY_CASES = {
    "unwritable_output": (["--output", "blocker/out.npy"], UNWRITABLE),
    "unknown_backend": (["--output", "out.npy", "--backend", "cuda"], "'cuda' is not one of 'numpy', 'gpu'"),
    "unknown_lang": (["--output", "out.npy", "--lang", "msl"],
                     "Invalid value for '--lang': 'msl' is not one of 'glsl', 'hlsl'"),
    "gamma_nan": (["--output", "out.npy", "--gamma", "nan"], "gamma must be in 0.01..100, got nan"),
    "gamma_negative": (["--output", "out.npy", "--gamma", "-2"], "gamma must be in 0.01..100, got -2.0"),
    "unknown_output_type": (["--output", "out.txt"], "--output out.txt must end in .npy or .png"),
    "scale_negative": (["--output", "out.npy", "--scale", "-0.5"], "--scale -0.5 is outside [0, 1]"),
    "scale_nan": (["--output", "out.npy", "--scale", "nan"], "--scale nan is outside [0, 1]"),
    "scale_map_range": (["--output", "out.npy", "--scale-map", "map_bad.npy"],
                        "--scale-map map_bad.npy value 1.5 at pixel (0, 0) is outside [0, 1]"),
}


@pytest.mark.parametrize("case", list(APPLY_CASES))
def test_apply_rejects_bad_options(inputs: Path, case: str) -> None:
    args, expect = APPLY_CASES[case]
    check_rejected(inputs, ["apply", "good.json", "--input", "good.npy", *args], expect)


# --- verify -------------------------------------------------------------------------


@pytest.mark.parametrize("filter_file", ["missing.json", "dir.json", "f_truncated.json", "f_not_json.json",
                                         "f_nan_tap.json", "f_inf_target.json", "f_short_component.json",
                                         "f_bad_name.json", "f_absurd_rank.json", "f_rank_mismatch.json"])
def test_verify_rejects_bad_filter_files(inputs: Path, filter_file: str) -> None:
    check_rejected(inputs, ["verify", filter_file], FILTER_FILES[filter_file])


# Argument errors must come before a GL context is made: these hold on a machine without one.
VERIFY_CASES = {
    "unknown_lang": (["--lang", "msl"], "Invalid value for '--lang': 'msl' is not one of 'glsl', 'hlsl'"),
    "image_not_image": (["--image", "text.png"], "cannot read image text.png: not an image file"),
    "image_nan": (["--image", "nan.npy"], "image nan.npy contains NaN or infinite values"),
    "image_missing": (["--image", "missing.png"], "image missing.png does not exist"),
    "image_4d": (["--image", "4d.npy"], "image 4d.npy must be H×W or H×W×C"),
    "tolerance_nan": (["--tolerance", "nan"], "tolerance must be a positive number, got nan"),
    "tolerance_negative": (["--tolerance", "-1"], "tolerance must be a positive number, got -1.0"),
}


@pytest.mark.parametrize("gl", [True, False], ids=["gl", "no_gl"])
@pytest.mark.parametrize("case", list(VERIFY_CASES))
def test_verify_rejects_bad_options(inputs: Path, case: str, gl: bool, request: pytest.FixtureRequest) -> None:
    args, expect = VERIFY_CASES[case]
    if not gl:
        request.getfixturevalue("no_gl")
    check_rejected(inputs, ["verify", "good.json", *args], expect)


@pytest.mark.parametrize("filter_file", ["f_nan_tap.json", "f_rank_mismatch.json"])
def test_verify_rejects_bad_filter_files_without_gl(inputs: Path, filter_file: str, no_gl: None) -> None:
    check_rejected(inputs, ["verify", filter_file], FILTER_FILES[filter_file])


@pytest.mark.parametrize("case", ["unwritable_output", "gamma_nan", "unknown_output_type"])
def test_apply_gpu_rejects_bad_options_without_gl(inputs: Path, case: str, no_gl: None) -> None:
    args, expect = APPLY_CASES[case]
    check_rejected(inputs, ["apply", "good.json", "--input", "good.npy", "--backend", "gpu", *args], expect)


def test_no_gl_really_has_no_gl(inputs: Path, no_gl: None) -> None:
    """The in-process cases above prove something only if `no_gl` does stop the GL context. (`verify`
    no longer stops there: it runs the other runners' variants and exits 1.)"""
    check_rejected(inputs, ["apply", "good.json", "--input", "good.npy", "--backend", "gpu", "-o", "out.npy"],
                   "cannot create an OpenGL")


def test_no_gl_env_really_has_no_gl(inputs: Path) -> None:
    """... and NO_GL stops it in a real process, as on a machine without a driver. (`verify` no longer
    stops there: it runs the other runners' variants and exits 1, tests/verify/test_verify_tolerance.py.)"""
    check_rejected(inputs, ["apply", "good.json", "--input", "good.npy", "--backend", "gpu", "-o", "out.npy"],
                   "cannot create an OpenGL", env=NO_GL, process=True)


# --- build --------------------------------------------------------------------------

GOOD_TABLE = '[[filter]]\nname = "blur"\nkernel = "disk"\nsize = 9\nrank = 2\nsteps = 5\n'
WHERE = "c.toml: filter 'blur': "


def _file_kernel(path: str) -> str:
    return GOOD_TABLE.replace('kernel = "disk"\nsize = 9', f'kernel = "file:{path}"')


BUILD_CONFIGS = {
    "truncated": (GOOD_TABLE[:30], "config file c.toml is not valid TOML"),
    "not_toml": ("this is = not = toml\n", "config file c.toml is not valid TOML"),
    "binary": ("\udcff\udcfe", "config file c.toml is not UTF-8 text"),
    "unknown_key": (GOOD_TABLE + "colour = 1\n", WHERE + "unknown key 'colour'"),
    "wrong_type": (GOOD_TABLE.replace("rank = 2", 'rank = "2"'), WHERE + "rank must be int, got '2'"),
    "size_zero": (GOOD_TABLE.replace("size = 9", "size = 0"), WHERE + "size 0 is outside 1..1025"),
    "size_negative": (GOOD_TABLE.replace("size = 9", "size = -9"), WHERE + "size -9 is outside 1..1025"),
    "size_absurd": (GOOD_TABLE.replace("size = 9", "size = 99999"), WHERE + "size 99999 is outside 1..1025"),
    "rank_negative": (GOOD_TABLE.replace("rank = 2", "rank = -1"), WHERE + "rank must be >= 1, got -1"),
    "rank_impossible": (GOOD_TABLE.replace("rank = 2", "rank = 12"), WHERE + "rank 12 is impossible for a 9x9 kernel"),
    "steps_negative": (GOOD_TABLE.replace("steps = 5", "steps = -5"), WHERE + "steps must be >= 0, got -5"),
    "lr_nan": (GOOD_TABLE + "lr = nan\n", WHERE + "lr must be finite, got nan"),
    "lr_inf": (GOOD_TABLE + "lr = inf\n", WHERE + "lr must be finite, got inf"),
    "unknown_kernel": (GOOD_TABLE.replace('"disk"', '"blob"'), WHERE + "kernel: unknown kernel 'blob'"),
    "unknown_lang": (GOOD_TABLE + 'lang = ["glsl", "metal"]\n',
                     WHERE + "lang must be one of glsl, hlsl, wgsl, spirv, got 'metal'"),
    "duplicate_name": (GOOD_TABLE + GOOD_TABLE, WHERE + "duplicate name"),
    "bad_name": (GOOD_TABLE.replace('"blur"', '"my blur"'), "c.toml: filter #1: name 'my blur' is not an identifier"),
    "kernel_file_missing": (_file_kernel("missing.npy"), WHERE + "kernel: kernel file missing.npy does not exist"),
    "kernel_file_nan": (_file_kernel("knan.npy"),
                        WHERE + "kernel: kernel file knan.npy contains NaN or infinite values"),
    "kernel_file_not_image": (_file_kernel("text.png"),
                              WHERE + "kernel: cannot read kernel file text.png: not an image file"),
    "kernel_file_3d": (_file_kernel("4d.npy"), WHERE + "kernel: kernel file 4d.npy must be 2D"),
    "unwritable_output": ('[output]\ndir = "blocker/out"\n' + GOOD_TABLE, UNWRITABLE),
    "missing_templates": ('[output]\ntemplates = "nope"\n' + GOOD_TABLE,
                          "c.toml: [output]: templates folder nope does not exist"),
}


@pytest.mark.parametrize("case", list(BUILD_CONFIGS))
def test_build_rejects_bad_configs(inputs: Path, case: str) -> None:
    text, expect = BUILD_CONFIGS[case]
    (inputs / "c.toml").write_text(text, errors="surrogateescape")
    msg = check_rejected(inputs, ["build", "c.toml"], expect)
    assert "c.toml" in msg or case == "unwritable_output"


@pytest.mark.parametrize("config, expect", [("missing.toml", "config file missing.toml does not exist"),
                                            ("dir.toml", "config file dir.toml is a directory")])
def test_build_rejects_unreadable_configs(inputs: Path, config: str, expect: str) -> None:
    check_rejected(inputs, ["build", config], expect)


def test_build_rejects_unwritable_depfile(inputs: Path) -> None:
    (inputs / "c.toml").write_text(GOOD_TABLE)
    check_rejected(inputs, ["build", "c.toml", "--depfile", "blocker/deps.d"], UNWRITABLE)


# --- report -------------------------------------------------------------------------


@pytest.mark.parametrize("filter_file", ["missing.json", "dir.json", "f_truncated.json", "f_nan_tap.json",
                                         "f_short_component.json", "f_bad_name.json", "f_text_taps.json"])
def test_report_rejects_bad_filter_files(inputs: Path, filter_file: str) -> None:
    check_rejected(inputs, ["report", filter_file, "-o", "report"], FILTER_FILES[filter_file])


REPORT_CASES = {
    "image_not_image": (["--image", "text.png"], "cannot read image text.png: not an image file"),
    "image_nan": (["--image", "nan.npy"], "image nan.npy contains NaN or infinite values"),
    "image_missing": (["--image", "missing.png"], "image missing.png does not exist"),
    "image_dir": (["--image", "dir.png"], "is a directory"),
    "unwritable_output": (["-o", "blocker/report"], UNWRITABLE),
}


@pytest.mark.parametrize("case", list(REPORT_CASES))
def test_report_rejects_bad_options(inputs: Path, case: str) -> None:
    args, expect = REPORT_CASES[case]
    out = [] if "-o" in args else ["-o", "report"]
    check_rejected(inputs, ["report", "good.json", *args, *out], expect)


# --- every command --------------------------------------------------------------------


@pytest.mark.parametrize("command", ["optimize", "sweep", "emit", "apply", "verify", "build", "report"])
def test_unknown_option_is_a_usage_error(inputs: Path, command: str) -> None:
    check_rejected(inputs, [command, "--no-such-option"], "No such option '--no-such-option'")


def test_debug_shows_a_traceback(inputs: Path) -> None:
    proc = cli_process("--debug", "build", "missing.toml", cwd=inputs, timeout=300)
    assert proc.returncode != 0 and "Traceback" in proc.stderr


# A real process for one case of each kind of input (the rest run in-process above): what a user
# sees is the exit code and one line on stderr.
SMOKE = {
    "optimize_bad_size": (["optimize", *FAST, "--size", "0", "-o", "out.json"], "kernel size 0 is outside 1..1025"),
    "emit_nan_filter": (["emit", "f_nan_tap.json", "--lang", "glsl", "-o", "shaders"], "NaN is not allowed"),
    "apply_nan_image": (["apply", "good.json", "--input", "nan.npy", "--output", "out.npy"],
                        "contains NaN or infinite values"),
    "build_bad_toml": (["build", "dir.toml"], "config file dir.toml is a directory"),
    "verify_unknown_option": (["verify", "--no-such-option"], "No such option '--no-such-option'"),
}


@pytest.mark.parametrize("case", list(SMOKE))
def test_a_real_process_rejects_with_one_line_and_exit_2(inputs: Path, case: str) -> None:
    args, expect = SMOKE[case]
    check_rejected(inputs, args, expect, process=True)
