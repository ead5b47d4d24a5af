"""Bad input for every command: one-line error, the right exit code, no traceback, no output.

Each case runs the real CLI in a subprocess from an empty working folder holding the
inputs; afterwards the folder must hold exactly the files it held before (no output, no
temporary file). "Unreadable" files are directories in place of files: the tests run as
root, where chmod 000 does not stop a read.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sepgen import kernels
from sepgen.filterfile import SeparableFilter

SEPGEN = [sys.executable, "-m", "sepgen"]
FAST = ["--steps", "5"]  # where a case would get as far as fitting, keep it tiny
BAD_INPUT = 2
# Names of the inputs each case may refer to as {name}; made by `inputs` below.


def good_filter_doc() -> dict:
    k = kernels.disk(7)
    k = k / k.sum()
    u, s, vt = np.linalg.svd(k)
    filt = SeparableFilter("blur", k, (u[:, :2] * s[:2]).T, vt[:2])
    return json.loads(filt.to_json())


def _filter_variants() -> dict[str, str]:
    """Filter files that must be rejected, by name."""
    doc = good_filter_doc()
    text = json.dumps(doc)

    def variant(change) -> str:
        d = json.loads(text)
        change(d)
        return json.dumps(d, allow_nan=True)

    def nan_tap(d):
        d["components"][0]["vertical"][0] = float("nan")

    def inf_target(d):
        d["target"][0][0] = float("inf")

    def short_component(d):
        d["components"][1]["horizontal"] = d["components"][1]["horizontal"][:-1]

    def flat_target(d):
        d["target"] = d["target"][0]

    def ragged_target(d):
        d["target"][2] = d["target"][2][:-2]

    def no_components(d):
        d["components"] = []

    def bad_name(d):
        d["name"] = "my-blur"

    def absurd_rank(d):
        d["components"] = d["components"][:1] * 65

    def wrong_format(d):
        d["format"] = "sepgen-filter/99"

    def text_taps(d):
        d["components"][0]["vertical"] = ["a"] * len(d["components"][0]["vertical"])

    return {
        "truncated": text[: len(text) // 2],
        "not_json": "this is not json {",
        "empty": "",
        "array": "[1, 2, 3]",
        "nan_tap": variant(nan_tap),
        "inf_target": variant(inf_target),
        "short_component": variant(short_component),
        "flat_target": variant(flat_target),
        "ragged_target": variant(ragged_target),
        "no_components": variant(no_components),
        "bad_name": variant(bad_name),
        "absurd_rank": variant(absurd_rank),
        "wrong_format": variant(wrong_format),
        "text_taps": variant(text_taps),
    }


FILTER_VARIANTS = list(_filter_variants())


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    """A working folder with good and bad inputs; every case runs in it."""
    good = json.dumps(good_filter_doc())
    (tmp_path / "good.json").write_text(good)
    for name, text in _filter_variants().items():
        (tmp_path / f"f_{name}.json").write_text(text)
    (tmp_path / "dir.json").mkdir()  # unreadable: a folder where a file should be
    (tmp_path / "dir.png").mkdir()
    (tmp_path / "dir.toml").mkdir()
    (tmp_path / "blocker").write_text("a regular file, so nothing can be written under it\n")

    rng = np.random.default_rng(0)
    img = rng.random((8, 8, 3)).astype(np.float32)
    np.save(tmp_path / "good.npy", img)
    np.save(tmp_path / "nan.npy", np.where(img > 0.5, np.nan, img))
    np.save(tmp_path / "inf.npy", np.where(img > 0.5, np.inf, img))
    np.save(tmp_path / "4d.npy", img[None])
    np.save(tmp_path / "1d.npy", img[0, :, 0])
    np.save(tmp_path / "empty.npy", np.zeros((0, 8), np.float32))
    np.save(tmp_path / "strings.npy", np.array([["a", "b"], ["c", "d"]]))
    np.save(tmp_path / "zero.npy", np.zeros((5, 5)))
    np.save(tmp_path / "big.npy", np.ones((1100, 3)))
    (tmp_path / "text.png").write_text("not an image at all\n")
    import imageio.v3 as iio

    iio.imwrite(tmp_path / "good.png", (img * 255).astype(np.uint8))
    png = (tmp_path / "good.png").read_bytes()
    (tmp_path / "truncated.png").write_bytes(png[: len(png) // 2])
    (tmp_path / "truncated.npy").write_bytes((tmp_path / "good.npy").read_bytes()[:100])
    return tmp_path


def run(folder: Path, args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([*SEPGEN, *args], cwd=folder, capture_output=True, text=True, timeout=300)


def files_under(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def check_rejected(folder: Path, args: list[str], code: int = BAD_INPUT) -> str:
    """Run `sepgen ARGS`; assert a one-line error, exit `code`, nothing written. Returns the message."""
    before = files_under(folder)
    proc = run(folder, args)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == code, f"exit {proc.returncode}, expected {code}\nstdout: {proc.stdout}\nstderr: {proc.stderr}"
    assert "Traceback" not in proc.stderr, proc.stderr
    # Progress lines may come first; the error is the last line and the only one.
    assert lines and lines[-1].startswith("sepgen: error: "), proc.stderr
    assert sum("error" in line.lower() for line in lines) == 1, f"error is not one line:\n{proc.stderr}"
    err = lines[-1]
    assert files_under(folder) == before, f"left output behind: {sorted(files_under(folder) - before)}"
    return err


# --- optimize -----------------------------------------------------------------------

OPTIMIZE_CASES = {
    "size_zero": ["--size", "0"],
    "size_negative": ["--size", "-5"],
    "size_absurd": ["--size", "100000"],
    "rank_zero": ["--size", "9", "--rank", "0"],
    "rank_negative": ["--size", "9", "--rank", "-2"],
    "rank_absurd": ["--size", "9", "--rank", "1000"],
    "rank_impossible": ["--size", "9", "--rank", "10"],
    "steps_negative": ["--size", "9", "--steps", "-1"],
    "lr_nan": ["--size", "9", "--lr", "nan"],
    "lr_inf": ["--size", "9", "--lr", "inf"],
    "weight_nan": ["--size", "9", "--nonneg", "nan"],
    "weight_negative": ["--size", "9", "--zeros", "-1"],
    "prune_absurd": ["--size", "9", "--prune", "2"],
    "unknown_kernel": ["--kernel", "blob", "--size", "9"],
    "unknown_optimizer": ["--size", "9", "--optimizer", "sgd"],
    "option_of_other_kernel": ["--kernel", "disk", "--size", "9", "--sigma", "2"],
    "polygon_sides": ["--kernel", "polygon", "--size", "9", "--sides", "2"],
    "gaussian_sigma": ["--kernel", "gaussian", "--size", "9", "--sigma", "-1"],
    "kernel_file_missing": ["--kernel", "file:missing.npy"],
    "kernel_file_dir": ["--kernel", "file:dir.png"],
    "kernel_file_text": ["--kernel", "file:text.png"],
    "kernel_file_truncated": ["--kernel", "file:truncated.png"],
    "kernel_file_nan": ["--kernel", "file:nan.npy"],
    "kernel_file_inf": ["--kernel", "file:inf.npy"],
    "kernel_file_3d": ["--kernel", "file:4d.npy"],
    "kernel_file_1d": ["--kernel", "file:1d.npy"],
    "kernel_file_empty": ["--kernel", "file:empty.npy"],
    "kernel_file_strings": ["--kernel", "file:strings.npy"],
    "kernel_file_zero": ["--kernel", "file:zero.npy"],
    "kernel_file_too_big": ["--kernel", "file:big.npy"],
    "unwritable_output": ["--size", "9", "--rank", "2", "-o", "blocker/out.json"],
}


@pytest.mark.parametrize("case", list(OPTIMIZE_CASES))
def test_optimize_rejects(inputs: Path, case: str) -> None:
    args = OPTIMIZE_CASES[case]
    out = [] if "-o" in args else ["-o", "out.json"]
    check_rejected(inputs, ["optimize", *FAST, *args, *out])


# --- sweep --------------------------------------------------------------------------

SWEEP_CASES = {k: OPTIMIZE_CASES[k] for k in (
    "size_zero", "size_negative", "rank_negative", "rank_impossible", "steps_negative", "lr_nan",
    "unknown_kernel", "kernel_file_nan", "kernel_file_text",
)}
SWEEP_CASES["unwritable_output"] = ["--size", "9", "--rank", "2", "-o", "blocker/sweep"]


@pytest.mark.parametrize("case", list(SWEEP_CASES))
def test_sweep_rejects(inputs: Path, case: str) -> None:
    args = SWEEP_CASES[case]
    out = [] if "-o" in args else ["-o", "sweep"]
    check_rejected(inputs, ["sweep", *FAST, *args, *out])


# --- emit ---------------------------------------------------------------------------

FILTER_FILE_CASES = ["missing.json", "dir.json", *(f"f_{v}.json" for v in FILTER_VARIANTS)]


@pytest.mark.parametrize("filter_file", FILTER_FILE_CASES)
def test_emit_rejects_bad_filter_files(inputs: Path, filter_file: str) -> None:
    check_rejected(inputs, ["emit", filter_file, "--lang", "glsl", "-o", "shaders"])


@pytest.mark.parametrize(
    "args",
    [
        ["--lang", "msl"],
        ["--glsl-version", "100"],
        ["--strategy", "magic"],
        ["--precision", "fp8"],
        ["--templates", "missing-templates"],
        ["--lang", "glsl", "-o", "blocker/shaders"],
    ],
    ids=["unknown_lang", "unknown_glsl_version", "unknown_strategy", "unknown_precision", "missing_templates", "unwritable_output"],
)
def test_emit_rejects_bad_options(inputs: Path, args: list[str]) -> None:
    out = [] if "-o" in args else ["-o", "shaders"]
    check_rejected(inputs, ["emit", "good.json", *args, *out])


# --- apply --------------------------------------------------------------------------

IMAGE_CASES = ["missing.png", "dir.png", "text.png", "truncated.png", "truncated.npy", "nan.npy", "inf.npy",
               "4d.npy", "1d.npy", "empty.npy", "strings.npy"]


@pytest.mark.parametrize("image", IMAGE_CASES)
def test_apply_rejects_bad_images(inputs: Path, image: str) -> None:
    check_rejected(inputs, ["apply", "good.json", "--input", image, "--output", "out.npy"])


@pytest.mark.parametrize("filter_file", ["missing.json", "dir.json", "f_truncated.json", "f_nan_tap.json",
                                         "f_short_component.json", "f_flat_target.json"])
def test_apply_rejects_bad_filter_files(inputs: Path, filter_file: str) -> None:
    check_rejected(inputs, ["apply", filter_file, "--input", "good.npy", "--output", "out.npy"])


@pytest.mark.parametrize(
    "args",
    [
        ["--output", "blocker/out.npy"],
        ["--output", "out.npy", "--backend", "cuda"],
        ["--output", "out.npy", "--lang", "msl"],
        ["--output", "out.npy", "--gamma", "nan"],
        ["--output", "out.npy", "--gamma", "-2"],
        ["--output", "out.txt"],
    ],
    ids=["unwritable_output", "unknown_backend", "unknown_lang", "gamma_nan", "gamma_negative", "unknown_output_type"],
)
def test_apply_rejects_bad_options(inputs: Path, args: list[str]) -> None:
    check_rejected(inputs, ["apply", "good.json", "--input", "good.npy", *args])


# --- verify -------------------------------------------------------------------------


@pytest.mark.parametrize("filter_file", ["missing.json", "dir.json", "f_truncated.json", "f_not_json.json",
                                         "f_nan_tap.json", "f_inf_target.json", "f_short_component.json",
                                         "f_bad_name.json", "f_absurd_rank.json"])
def test_verify_rejects_bad_filter_files(inputs: Path, filter_file: str) -> None:
    check_rejected(inputs, ["verify", filter_file])


@pytest.mark.parametrize(
    "args",
    [["--lang", "msl"], ["--image", "text.png"], ["--image", "nan.npy"], ["--image", "missing.png"],
     ["--image", "4d.npy"], ["--tolerance", "nan"], ["--tolerance", "-1"]],
    ids=["unknown_lang", "image_not_image", "image_nan", "image_missing", "image_4d", "tolerance_nan", "tolerance_negative"],
)
def test_verify_rejects_bad_options(inputs: Path, args: list[str]) -> None:
    check_rejected(inputs, ["verify", "good.json", *args])


# --- build --------------------------------------------------------------------------

GOOD_TABLE = '[[filter]]\nname = "blur"\nkernel = "disk"\nsize = 9\nrank = 2\nsteps = 5\n'
BUILD_CONFIGS = {
    "truncated": GOOD_TABLE[:30],
    "not_toml": "this is = not = toml\n",
    "binary": "\udcff\udcfe",
    "unknown_key": GOOD_TABLE + "colour = 1\n",
    "wrong_type": GOOD_TABLE.replace("rank = 2", 'rank = "2"'),
    "size_zero": GOOD_TABLE.replace("size = 9", "size = 0"),
    "size_negative": GOOD_TABLE.replace("size = 9", "size = -9"),
    "size_absurd": GOOD_TABLE.replace("size = 9", "size = 99999"),
    "rank_negative": GOOD_TABLE.replace("rank = 2", "rank = -1"),
    "rank_impossible": GOOD_TABLE.replace("rank = 2", "rank = 12"),
    "steps_negative": GOOD_TABLE.replace("steps = 5", "steps = -5"),
    "lr_nan": GOOD_TABLE + "lr = nan\n",
    "lr_inf": GOOD_TABLE + "lr = inf\n",
    "unknown_kernel": GOOD_TABLE.replace('"disk"', '"blob"'),
    "unknown_lang": GOOD_TABLE + 'lang = ["glsl", "metal"]\n',
    "duplicate_name": GOOD_TABLE + GOOD_TABLE,
    "bad_name": GOOD_TABLE.replace('"blur"', '"my blur"'),
    "kernel_file_missing": GOOD_TABLE.replace('kernel = "disk"\nsize = 9', 'kernel = "file:missing.npy"'),
    "kernel_file_nan": GOOD_TABLE.replace('kernel = "disk"\nsize = 9', 'kernel = "file:nan.npy"'),
    "kernel_file_not_image": GOOD_TABLE.replace('kernel = "disk"\nsize = 9', 'kernel = "file:text.png"'),
    "kernel_file_3d": GOOD_TABLE.replace('kernel = "disk"\nsize = 9', 'kernel = "file:4d.npy"'),
    "unwritable_output": '[output]\ndir = "blocker/out"\n' + GOOD_TABLE,
    "missing_templates": '[output]\ntemplates = "nope"\n' + GOOD_TABLE,
}


@pytest.mark.parametrize("case", list(BUILD_CONFIGS))
def test_build_rejects_bad_configs(inputs: Path, case: str) -> None:
    (inputs / "c.toml").write_text(BUILD_CONFIGS[case], errors="surrogateescape")
    msg = check_rejected(inputs, ["build", "c.toml"])
    assert "c.toml" in msg or case == "unwritable_output"


@pytest.mark.parametrize("config", ["missing.toml", "dir.toml"])
def test_build_rejects_unreadable_configs(inputs: Path, config: str) -> None:
    check_rejected(inputs, ["build", config])


def test_build_rejects_unwritable_depfile(inputs: Path) -> None:
    (inputs / "c.toml").write_text(GOOD_TABLE)
    check_rejected(inputs, ["build", "c.toml", "--depfile", "blocker/deps.d"])


# --- report -------------------------------------------------------------------------


@pytest.mark.parametrize("filter_file", ["missing.json", "dir.json", "f_truncated.json", "f_nan_tap.json",
                                         "f_short_component.json", "f_bad_name.json"])
def test_report_rejects_bad_filter_files(inputs: Path, filter_file: str) -> None:
    check_rejected(inputs, ["report", filter_file, "-o", "report"])


@pytest.mark.parametrize(
    "args",
    [["--image", "text.png"], ["--image", "nan.npy"], ["--image", "missing.png"], ["--image", "dir.png"],
     ["-o", "blocker/report"]],
    ids=["image_not_image", "image_nan", "image_missing", "image_dir", "unwritable_output"],
)
def test_report_rejects_bad_options(inputs: Path, args: list[str]) -> None:
    out = [] if "-o" in args else ["-o", "report"]
    check_rejected(inputs, ["report", "good.json", *args, *out])


# --- every command --------------------------------------------------------------------


@pytest.mark.parametrize("command", ["optimize", "sweep", "emit", "apply", "verify", "build", "report"])
def test_unknown_option_is_a_usage_error(inputs: Path, command: str) -> None:
    check_rejected(inputs, [command, "--no-such-option"])


def test_debug_shows_a_traceback(inputs: Path) -> None:
    proc = run(inputs, ["--debug", "build", "missing.toml"])
    assert proc.returncode != 0 and "Traceback" in proc.stderr
