"""`sepgen optimize` / `sepgen sweep`: outputs, and one-line errors with exit 2 and no output."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sepgen.filters.filterfile import SeparableFilter
from sepgen.kernels import disk
from tests.support import cli

SEPGEN = Path(sys.executable).with_name("sepgen")



def test_optimize_with_the_issues_flags_writes_a_filter(tmp_path):
    out = tmp_path / "filter.json"
    rc, stdout, stderr = cli("optimize", "--kernel", "disk", "--size", "20", "--rank", "3", "--l2", "1",
                             "--nonneg", "1", "--zeros", "1", "--optimizer", "gd", "--steps", "200", "--lr", "0.1",
                             "-o", str(out))
    assert rc == 0, stderr
    f = SeparableFilter.load(out)
    assert f.name == "disk20" and f.rank == 3 and f.shape == (20, 20)
    assert f.provenance["kernel"] == {"kernel": "disk", "size": 20, "antialias": False}
    assert f.provenance["weights"]["nonneg"] == 1.0 and f.provenance["steps"] == 200
    assert "wrote" in stdout and "disk20" in stdout
    assert "step 200/200" in stderr  # progress on stderr


def test_optimize_defaults_are_the_recommended_settings(tmp_path):
    out = tmp_path / "f.json"
    rc, _, err = cli("optimize", "--size", "16", "--steps", "300", "--name", "bokeh", "-o", str(out))
    assert rc == 0, err
    p = SeparableFilter.load(out).provenance
    assert p["weights"]["nonneg"] == 1.5 and p["weights"]["zeros"] == 0.3 and p["prune"] == 0.2 and p["rank"] == 4


def test_optimize_says_when_the_rank_was_lowered(tmp_path):
    out = tmp_path / "g.json"
    rc, stdout, err = cli("optimize", "--kernel", "gaussian", "--size", "9", "--sigma", "1.5", "--steps", "100",
                          "-o", str(out))
    assert rc == 0, err
    assert "gaussian9: rank 1 (lowered from 4: 3 components carried no energy) 9x9" in stdout
    assert SeparableFilter.load(out).rank == 1
    rc, stdout, err = cli("optimize", "--size", "12", "--rank", "2", "--steps", "50", "-o", str(tmp_path / "d.json"))
    assert rc == 0 and "disk12: rank 2 12x12" in stdout and "lowered" not in stdout


def test_optimize_kernel_from_file(tmp_path):
    np.save(tmp_path / "my kernel.npy", disk(9))
    out = tmp_path / "f.json"
    rc, _, err = cli("optimize", "--kernel", f"file:{tmp_path / 'my kernel.npy'}", "--rank", "2", "--steps", "20",
                     "-o", str(out))
    assert rc == 0, err
    f = SeparableFilter.load(out)
    assert f.name == "my_kernel" and f.provenance["kernel"]["kernel"].startswith("file:")


def _bad_inputs(tmp: Path) -> list[tuple[list[str], str]]:
    np.save(tmp / "cube.npy", np.ones((3, 3, 3)))
    np.save(tmp / "nan.npy", np.array([[1.0, np.nan], [0.0, 1.0]]))
    np.save(tmp / "inf.npy", np.array([[1.0, np.inf], [0.0, 1.0]]))
    np.save(tmp / "zero.npy", np.zeros((4, 4)))
    (tmp / "bad.png").write_bytes(b"definitely not a png")
    return [
        (["--kernel", f"file:{tmp / 'cube.npy'}"], "2D"),
        (["--kernel", f"file:{tmp / 'nan.npy'}"], "NaN"),
        (["--kernel", f"file:{tmp / 'inf.npy'}"], "NaN or infinite"),
        (["--kernel", f"file:{tmp / 'zero.npy'}"], "all zero"),
        (["--kernel", f"file:{tmp / 'bad.png'}"], "cannot read"),
        (["--kernel", f"file:{tmp / 'missing.npy'}"], "does not exist"),
        (["--kernel", f"file:{tmp / 'zero.npy'}", "--sides", "5"], "does not apply"),
        (["--size", "0"], "outside 1..1025"),
        (["--size", "1026"], "outside 1..1025"),
        (["--kernel", "blob"], "unknown kernel"),
        (["--kernel", "disk", "--sigma", "2"], "does not apply to kernel disk"),
        (["--kernel", "polygon", "--sides", "2"], "sides"),
        (["--lr", "nan"], "lr must be finite"),
        (["--steps", "-1"], "steps must be >= 0"),
        (["--rank", "0"], "rank must be >= 1"),
        (["--rank", "1000"], "rank must be <= 64"),
        (["--size", "3", "--rank", "4"], "larger than the kernel"),
        (["--nonneg", "-1"], "nonneg must be >= 0"),
        (["--zeros", "inf"], "zeros must be finite"),
        (["--optimizer", "sgd"], "sgd"),
        (["--name", "bad-name"], "identifier"),
        (["--size", "ten"], "ten"),
    ]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # imageio probing plugins on garbage
def test_every_rejected_input_is_one_line_exit_2_and_no_file(tmp_path):
    for extra, words in _bad_inputs(tmp_path):
        out = tmp_path / "out" / "f.json"
        rc, stdout, stderr = cli("optimize", "--steps", "5", *extra, "-o", str(out))
        assert rc == 2, (extra, stderr)
        lines = stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("sepgen: error: ") and words in lines[0], (extra, stderr)
        assert "Traceback" not in stderr and not out.exists() and not (tmp_path / "out").exists(), extra


def test_sweep_writes_cells_and_summary(tmp_path):
    out = tmp_path / "sweep"
    rc, stdout, stderr = cli("sweep", "--size", "12", "--rank", "2", "--steps", "50", "--nonneg", "0,1.5",
                             "--zeros", "0.3", "-o", str(out))
    assert rc == 0, stderr
    names = sorted(p.name for p in out.iterdir())
    assert names == ["disk12_n0_z0p3.json", "disk12_n1p5_z0p3.json", "summary.csv", "summary.md"]
    assert (out / "summary.md").read_text() == stdout
    assert "| disk12_n1p5_z0p3 | 1.5 | 0.3 |" in stdout
    f = SeparableFilter.load(out / "disk12_n1p5_z0p3.json")
    assert f.provenance["weights"]["nonneg"] == 1.5 and f.provenance["weights"]["zeros"] == 0.3
    assert (out / "summary.csv").read_text().splitlines()[0].startswith("name,nonneg,zeros,loss")


@pytest.mark.parametrize("flag, value, words", [("--nonneg", "0,x", "comma-separated"),
                                                ("--zeros", "0.3,0.3", "repeat"),
                                                ("--nonneg", "-1", ">= 0"), ("--lr", "nan", "finite")])
def test_sweep_rejects_bad_grids(tmp_path, flag, value, words):
    out = tmp_path / "sweep"
    rc, _, stderr = cli("sweep", "--size", "8", "--steps", "5", flag, value, "-o", str(out))
    assert (rc == 2 and stderr.startswith("sepgen: error: ") and words in stderr
            and len(stderr.strip().splitlines()) == 1)
    assert not out.exists()


@pytest.mark.skipif(not SEPGEN.exists(), reason="console script not installed in this environment")
def test_console_script_end_to_end(tmp_path):
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    ok = subprocess.run([str(SEPGEN), "optimize", "--size", "10", "--rank", "2", "--steps", "20",
                         "-o", str(tmp_path / "f.json")],
                        capture_output=True, text=True, env=env)
    assert ok.returncode == 0, ok.stderr
    assert SeparableFilter.load(tmp_path / "f.json").rank == 2
    bad = subprocess.run([str(SEPGEN), "optimize", "--size", "1026", "-o", str(tmp_path / "g.json")],
                         capture_output=True, text=True, env=env)
    assert bad.returncode == 2 and bad.stderr.strip() == "sepgen: error: kernel size 1026 is outside 1..1025"
    assert not (tmp_path / "g.json").exists()
