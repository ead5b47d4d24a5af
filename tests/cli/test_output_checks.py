"""Every output location is checked before any work (issue 12, item 2).

A command given an output it cannot write must fail at once: one line on stderr and no
progress before it (no fit, no figure, no GPU run), nothing left behind. Two kinds of
unwritable place: under a regular file ("blocker"), and under /proc, which passes every
permission-bit check as root but refuses to hold files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sepgen.common import atomic
from sepgen.common.errors import SepgenError
from tests.support import cli_process

DATA = Path(__file__).parents[1] / "data"
FILTER = DATA / "disk50_rank4.json"
# A fit that takes many seconds: failing after it instead of before shows as progress lines.
SLOW_FIT = ["--size", "63", "--rank", "4", "--steps", "20000"]
TABLE = '[[filter]]\nname = "blur"\nkernel = "disk"\nsize = 31\nrank = 2\nsteps = 20000\n'
PLACES = {"under_a_file": "blocker/x", "under_proc": "/proc/sepgen-nope/x"}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "blocker").write_text("a regular file\n")
    np.save(tmp_path / "img.npy", np.random.default_rng(0).random((64, 64, 3)).astype(np.float32))
    (tmp_path / "c.toml").write_text(TABLE)
    return tmp_path


def fails_before_work(folder: Path, args: list[str], expect: str) -> None:
    before = sorted(folder.rglob("*"))
    # No GL context can be made: a GPU command that starts its work first fails on that instead.
    proc = cli_process(*args, cwd=folder, timeout=120,
                       env={"__EGL_VENDOR_LIBRARY_FILENAMES": "/nonexistent/egl_vendor.json"})
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1, f"work (or progress) before the error:\n{proc.stderr}"
    assert lines[0].startswith("sepgen: error: ") and expect in lines[0], lines[0]
    assert sorted(folder.rglob("*")) == before


def commands(place: str) -> dict[str, list[str]]:
    return {
        "optimize": ["optimize", *SLOW_FIT, "-o", f"{place}/out.json"],
        "sweep": ["sweep", *SLOW_FIT, "-o", f"{place}/sweep"],
        "report": ["report", str(FILTER), "-o", f"{place}/report"],
        "demo": ["demo", "-o", f"{place}/demo"],
        "apply_numpy": ["apply", str(FILTER), "-i", "img.npy", "-o", f"{place}/out.npy"],
        "apply_gpu": ["apply", str(FILTER), "-i", "img.npy", "-o", f"{place}/out.npy", "--backend", "gpu"],
        "emit": ["emit", str(FILTER), "-o", f"{place}/shaders"],
        "build_depfile": ["build", "c.toml", "--depfile", f"{place}/deps.d"],
    }


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")
@pytest.mark.parametrize("place", list(PLACES))
@pytest.mark.parametrize("command", list(commands("x")))
def test_unwritable_output_fails_before_work(folder: Path, command: str, place: str) -> None:
    where = PLACES[place]
    fails_before_work(folder, commands(where)[command],
                      str(Path(where).parts[0] if place == "under_a_file" else "/proc"))


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")
@pytest.mark.parametrize("place", list(PLACES))
def test_build_output_dir_checked_before_fitting(folder: Path, place: str) -> None:
    (folder / "c.toml").write_text(f'[output]\ndir = "{PLACES[place]}"\n' + TABLE)
    fails_before_work(folder, ["build", "c.toml"], "cannot write")


def test_output_file_that_is_a_folder(folder: Path) -> None:
    (folder / "out.json").mkdir()
    fails_before_work(folder, ["optimize", *SLOW_FIT, "-o", "out.json"], "is a directory")
    (folder / "out.npy").mkdir()
    fails_before_work(folder, ["apply", str(FILTER), "-i", "img.npy", "-o", "out.npy", "--backend", "gpu"],
                      "cannot write out.npy: it is a directory")


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")
def test_check_writable_probes_instead_of_trusting_permission_bits(tmp_path: Path) -> None:
    with pytest.raises(SepgenError, match="/proc is not writable"):
        atomic.check_writable("/proc/sepgen-nope", "cannot write")
    atomic.check_writable(tmp_path / "new" / "deeper", "cannot write")
    assert list(tmp_path.iterdir()) == []  # the probe leaves nothing, creates no folder
    with pytest.raises(SepgenError, match="it is a directory"):
        atomic.check_file_writable(tmp_path)
