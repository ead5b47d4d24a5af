"""`sepgen apply` and `sepgen verify` end to end through the CLI entry point."""

from __future__ import annotations

import numpy as np
import pytest

from sepgen.common import images
from sepgen.filters import reference
from sepgen.run import registry
from tests.support import cli, random_filter


@pytest.fixture
def filter_file(tmp_path):
    # Asymmetric, even width, non-default origin: a wrong convention changes the output.
    filt = random_filter("cli", 2, (5, 6), origin=(1, 4), seed=7, positive=0.1)
    path = tmp_path / "cli.json"
    filt.save(path)
    return path, filt



@pytest.mark.parametrize("shape", [(21, 17), (21, 17, 3), (21, 17, 4)])
def test_apply_numpy_npy(tmp_path, filter_file, shape) -> None:
    path, filt = filter_file
    img = np.random.default_rng(1).random(shape).astype(np.float32)
    np.save(tmp_path / "in.npy", img)
    code, out, _ = cli("apply", path, "--input", tmp_path / "in.npy", "--output", tmp_path / "out.npy")
    assert code == 0 and "wrote" in out
    got = np.load(tmp_path / "out.npy")
    assert got.dtype == np.float32 and got.shape == shape
    np.testing.assert_allclose(got, reference.apply_filter(img, filt), rtol=1e-6, atol=1e-6)


def test_apply_png_with_gamma(tmp_path, filter_file) -> None:
    path, filt = filter_file
    img = np.random.default_rng(2).random((12, 15, 3)).astype(np.float32)
    images.save_image(tmp_path / "in.png", img)
    img = images.load_image(tmp_path / "in.png")
    code, _, _ = cli("apply", path, "-i", tmp_path / "in.png", "-o", tmp_path / "out.png", "--gamma", "3")
    assert code == 0
    want = np.cbrt(reference.apply_filter(img.astype(np.float64) ** 3, filt))  # boost, filter, undo
    got = images.load_image(tmp_path / "out.png")
    np.testing.assert_allclose(got, np.clip(want, 0, 1), atol=0.5 / 255 + 1e-6)


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--output", "{tmp}/o.tiff"], ".npy or .png"),
        (["--output", "{tmp}/o.npy", "--lang", "hlsl"], "--lang applies only to --backend gpu"),
        (["--output", "{tmp}/o.npy", "--linear-sampling"], "--linear-sampling applies only"),
        (["--output", "{tmp}/o.npy", "--gamma", "0"], "gamma"),
        (["--output", "{tmp}/o.npy", "--backend", "cuda"], "cuda"),
    ],
)
def test_apply_bad_arguments_exit_2_and_write_nothing(tmp_path, filter_file, extra, message) -> None:
    path, _ = filter_file
    np.save(tmp_path / "in.npy", np.ones((4, 4), dtype=np.float32))
    args = [a.replace("{tmp}", str(tmp_path)) for a in extra]
    code, _, err = cli("apply", path, "--input", tmp_path / "in.npy", *args)
    assert code == 2
    assert message in err and err.startswith("sepgen: error:") and err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cli.json", "in.npy"]


def test_apply_bad_inputs(tmp_path, filter_file) -> None:
    path, _ = filter_file
    np.save(tmp_path / "nan.npy", np.full((3, 3), np.nan, dtype=np.float32))
    code, _, err = cli("apply", path, "-i", tmp_path / "nan.npy", "-o", tmp_path / "o.npy")
    assert code == 2 and "NaN" in err
    code, _, err = cli("apply", tmp_path / "missing.json", "-i", tmp_path / "nan.npy", "-o", tmp_path / "o.npy")
    assert code == 2 and "does not exist" in err
    assert not (tmp_path / "o.npy").exists()


RUNNER_FIXTURE = {"glsl": "gl_context", "hlsl": "vulkan_runner", "spirv": "vulkan_runner", "wgsl": "webgpu_runner"}


@pytest.mark.gpu
@pytest.mark.parametrize("lang, shape", [("glsl", (19, 23)), ("hlsl", (19, 23, 3)), ("wgsl", (19, 23, 4)),
                                         ("spirv", (19, 23, 2))])
def test_apply_gpu_matches_numpy(request, tmp_path, filter_file, cross_tools, lang, shape) -> None:
    request.getfixturevalue(RUNNER_FIXTURE[lang])  # the CI rule for the driver this language runs on
    path, filt = filter_file
    img = np.random.default_rng(3).random(shape).astype(np.float32)
    np.save(tmp_path / "in.npy", img)
    code, out, _ = cli("apply", path, "-i", tmp_path / "in.npy", "-o", tmp_path / "gpu.npy",
                       "--backend", "gpu", "--lang", lang, "--linear-sampling")
    backend = {"glsl": "OpenGL", "hlsl": "Vulkan", "spirv": "Vulkan", "wgsl": "WebGPU"}[lang]
    assert code == 0 and f"{lang.upper()} shaders on {backend}: " in out
    got = np.load(tmp_path / "gpu.npy")
    want = reference.apply_filter(img, filt)
    assert got.shape == shape
    assert np.max(np.abs(got - want)) <= 1e-4 * np.max(np.abs(want))


@pytest.mark.gpu
def test_verify_passes_and_prints_table(tmp_path, filter_file, cross_tools, gl_runner, vulkan_runner, webgpu_runner,
                                        webgl_runner, monkeypatch) -> None:
    path, _ = filter_file
    # In this process on the session's runners (no second Vulkan device or browser); worker processes
    # (the default -j) are checked against one process in tests/gpu/test_verify_select.py.
    for runner in (gl_runner, vulkan_runner, webgpu_runner, webgl_runner):
        monkeypatch.setitem(registry._FACTORIES, runner.name, lambda r=runner: r)
    code, out, err = cli("verify", path, "--lang", "all", "-j", "1")
    assert code == 0, out + err
    for backend in ("OpenGL", "WebGL2", "Vulkan", "WebGPU"):  # the table names what each runner ran on
        assert f"runner {backend}: " in out
    rows = [line for line in out.splitlines() if line.startswith(("glsl", "hlsl", "wgsl", "spirv"))]
    assert len(rows) == 68 and all(line.endswith("ok") for line in rows)
    runner_of = {line.split()[0] + " " + line.split()[1]: line.split()[5] for line in rows}
    assert runner_of["glsl300es fragment"] == "webgl" and runner_of["wgsl compute"] == "webgpu"
    assert runner_of["spirv fragment"] == "vulkan" and runner_of["hlsl fragment"] == "vulkan"
    assert f"[{len(rows)}/{len(rows)}]" in err  # progress on stderr


@pytest.mark.gpu
def test_verify_fails_with_exit_1_when_out_of_tolerance(tmp_path, filter_file, webgl_runner) -> None:
    path, _ = filter_file
    img = np.random.default_rng(4).random((9, 11)).astype(np.float32)
    np.save(tmp_path / "img.npy", img)
    # one desktop and one GLSL ES variant (the whole matrix runs in test_verify_passes_and_prints_table)
    code, out, err = cli("verify", path, "--variant", "glsl330 fragment mrt fp32 point", "--variant",
                         "glsl300es fragment mrt fp32 point", "--image", tmp_path / "img.npy", "--tolerance", "1e-12",
                         "-q")
    assert code == 1
    assert "FAIL" in out and "exceed tolerance" in err and err.count("\n") == 1


def test_verify_bad_arguments(tmp_path, filter_file) -> None:
    path, _ = filter_file
    code, _, err = cli("verify", path, "--lang", "metal")
    assert code == 2 and "metal" in err
    code, _, err = cli("verify", tmp_path / "nope.json")
    assert code == 2 and "does not exist" in err
