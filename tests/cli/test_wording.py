"""Issue 20 item 14: what the commands say matches what they do (help, progress, numbers,
figures, errors), each case checked against the command's behaviour."""

from __future__ import annotations

import numpy as np
import pytest

from sepgen import kernels
from sepgen.cli import main
from sepgen.common import images
from sepgen.common.errors import SepgenError
from sepgen.filters.filterfile import SeparableFilter
from tests.support import DISK, ROOT


def run(capsys, *args) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("args", [["--help"], ["emit", "--help"], ["verify", "--help"], ["build", "--help"],
                                  ["apply", "--help"], ["report", "--help"]])
def test_help_names_every_language_and_no_single_gl_driver(capsys, args) -> None:
    code, out, _ = run(capsys, *args)
    assert code == 0
    text = " ".join(out.split())
    assert "HLSL/GLSL" not in text and "GL driver" not in text
    if args[0] in ("--help", "emit"):
        assert "WGSL" in text and "SPIR-V" in text


def test_package_description_names_every_language() -> None:
    text = (ROOT / "pyproject.toml").read_text()
    line = next(line for line in text.splitlines() if line.startswith("description"))
    assert all(lang in line for lang in ("GLSL", "HLSL", "WGSL", "SPIR-V"))


def test_build_verify_runs_every_language_the_config_emits(monkeypatch, tmp_path, capsys) -> None:
    import sepgen.cli.run_cmds as run_cmds

    asked: list = []
    monkeypatch.setattr(run_cmds, "verify_config",
                        lambda config, out_dir, names, langs, *rest: asked.append(set(langs)))
    (tmp_path / "sepgen.toml").write_text('[output]\ndir = "out"\n\n[[filter]]\nname = "w"\nkernel = "box"\nsize = 5\n'
                                          'rank = 1\nsteps = 5\nlang = ["wgsl"]\n')
    code, _, err = run(capsys, "build", tmp_path / "sepgen.toml", "--verify", "-q")
    assert code == 0, err
    assert asked == [{"glsl", "hlsl", "wgsl", "spirv"}]  # what `verify --config` runs, not only GLSL and HLSL


def test_report_has_quiet(tmp_path, capsys) -> None:
    k = kernels.disk(9)
    f = SeparableFilter("d9", k / k.sum(), np.ones((1, 9)) / 9, np.ones((1, 9)) / 9)
    f.save(tmp_path / "d9.json")
    img = np.random.default_rng(0).random((24, 24)).astype(np.float32)
    np.save(tmp_path / "img.npy", img)
    code, out, err = run(capsys, "report", tmp_path / "d9.json", "--image", tmp_path / "img.npy",
                         "-o", tmp_path / "r", "-q")
    assert code == 0 and err == "" and out.strip().endswith("index.html")


def test_optimize_refuses_an_output_that_is_not_json(tmp_path, capsys) -> None:
    code, _, err = run(capsys, "optimize", "--kernel", "box", "--size", "5", "--rank", "1", "--steps", "5",
                       "-o", tmp_path / "x.npy")
    assert code == 2 and err.count("\n") == 1 and "must end in .json" in err
    assert not (tmp_path / "x.npy").exists()


def test_search_progress_counts_candidate_fits_not_steps() -> None:
    from sepgen.cli.fit_cmds import progress_count

    assert progress_count("search rank 2 free", 6, 16) == "candidate fit 6/16"
    assert progress_count("fit", 300, 5000) == "step 300/5000"


def test_build_progress_of_a_search_counts_candidate_fits(tmp_path, capsys) -> None:
    (tmp_path / "sepgen.toml").write_text('[output]\ndir = "out"\n\n[[filter]]\nname = "b"\nkernel = "box"\nsize = 5\n'
                                          'budget = 12\nsteps = 5\n')
    code, _, err = run(capsys, "build", tmp_path / "sepgen.toml")
    assert code == 0, err
    search = [line for line in err.splitlines() if ": search rank" in line]
    assert search and all(" candidate fits, loss " in line for line in search), err


def test_small_errors_are_written_so_they_show() -> None:
    from sepgen.fitting import budget

    c = budget.Candidate(1, "free", 0.0, np.ones((1, 3)), np.ones((1, 3)), 1e-9, 1e-9, {"total": 9},
                         {"relative_l2": 1.6e-8})
    assert c.describe().endswith("relL2 1.6e-08")


def test_out_of_reach_target_names_a_small_best_error() -> None:
    from sepgen import fitting
    from sepgen.options import FitSettings

    k = np.outer(kernels.gaussian(9, 2.0).sum(1), kernels.gaussian(9, 2.0).sum(0))  # rank 1: tiny best error
    with pytest.raises(SepgenError) as err:
        fitting.fit_searched(k, FitSettings(steps=5), target_error=1e-12, max_rank=1)
    best = str(err.value).rsplit(" ", 1)[1]
    assert best != "0.0000" and float(best) < 1e-3


def test_frontier_legend_lists_only_what_is_drawn(tmp_path, monkeypatch) -> None:
    from sepgen.report import figures, frontier

    saved: list = []
    monkeypatch.setattr(figures, "_save", lambda fig, path: saved.append(fig))
    frontier.frontier_figure(SeparableFilter.load(DISK), tmp_path / "f.png")  # a rank fit: no search frontier
    ax = saved[0].axes[0]
    star = next(line for line in ax.get_lines() if line.get_label() == "this filter")
    for line in ax.get_lines():
        if line.get_label() in [t.get_text() for t in ax.get_legend().get_texts()] and line is not star:
            hidden = list(zip(line.get_xdata(), line.get_ydata())) == list(zip(star.get_xdata(), star.get_ydata()))
            assert not hidden, f"legend entry {line.get_label()!r} is drawn only under the star"


def test_kernel_maps_show_the_ripple_of_a_flat_interior(tmp_path, monkeypatch) -> None:
    from sepgen.report import figures

    saved: list = []
    monkeypatch.setattr(figures, "_save", lambda fig, path: saved.append(fig))
    k = kernels.disk(41)
    k = k / k.max()
    yy = np.arange(41)[:, None]
    approx = k * (1 + 0.03 * np.cos(yy * 1.3))  # 3 % ripple on the flat interior
    figures.kernel_maps(k, approx, tmp_path / "k.png")
    image = saved[0].axes[1].get_images()[0]
    colours = image.to_rgba(np.asarray(image.get_array()))[15:26, 20, :3]  # a column through the interior
    spread = float(np.max(np.linalg.norm(colours[:, None] - colours[None], axis=-1)))
    assert spread > 0.08, spread  # peaks and troughs get visibly different colours


def test_gamma_overflow_names_gamma(tmp_path, capsys) -> None:
    with pytest.raises(SepgenError, match=r"gamma 8 overflows float32.*at most 6\.3"):
        images.gamma_encode(np.array([[1e6, 2.0]], np.float32), 8)
    np.save(tmp_path / "hdr.npy", np.full((16, 16), 1e6, np.float32))
    code, _, err = run(capsys, "apply", DISK, "-i", tmp_path / "hdr.npy", "-o", tmp_path / "o.npy",
                       "--gamma", "8", "-q")
    assert code == 2 and "gamma 8 overflows" in err.strip().splitlines()[-1]
    assert not (tmp_path / "o.npy").exists()


def test_build_checks_templates_before_fitting(tmp_path, capsys, monkeypatch) -> None:
    import sepgen.fitting

    monkeypatch.setattr(sepgen.fitting, "fit_with", lambda *a, **k: pytest.fail("fitted before the template check"))
    (tmp_path / "tpl" / "glsl").mkdir(parents=True)
    (tmp_path / "tpl" / "glsl" / "blur_h.frag.glsl.j2").write_text("{% if %}\n")
    (tmp_path / "sepgen.toml").write_text('[output]\ndir = "out"\ntemplates = "tpl"\n\n[[filter]]\nname = "b"\n'
                                          'kernel = "box"\nsize = 5\nrank = 1\nsteps = 5\n')
    code, _, err = run(capsys, "build", tmp_path / "sepgen.toml", "-q")
    assert code == 2 and "glsl/blur_h.frag.glsl.j2 line 1" in err, err
    assert (not (tmp_path / "out" / ".sepgen-cache").exists()
            or not any((tmp_path / "out" / ".sepgen-cache").glob("*.json")))
