"""`sepgen build` and its fit cache under real use (issue 12, items 3 and 9).

- `--check` validates the whole config first: a bad value is exit 2 with build's message,
  not exit 1 "stale".
- Two builds of one config at once fit each filter once: a file lock per cache entry makes
  the second wait and reuse the first's fit.
- After a successful build the cache holds only the entries the config's filters use.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.support import cli_process

SEPGEN = [sys.executable, "-m", "sepgen"]
CACHE = ".sepgen-cache"


def table(name: str = "blur", size: int = 15, steps: int = 30, extra: str = "") -> str:
    return f'[[filter]]\nname = "{name}"\nkernel = "gaussian"\nsize = {size}\nrank = 2\nsteps = {steps}\n{extra}'


def config(folder: Path, *tables: str) -> Path:
    path = folder / "sepgen.toml"
    path.write_text('[output]\ndir = "out"\n\n' + "\n".join(tables))
    return path


def sepgen(folder: Path, *args: str) -> subprocess.CompletedProcess:
    return cli_process(*args, cwd=folder, timeout=300)


def cache_entries(folder: Path) -> list[str]:
    return sorted(p.name for p in (folder / "out" / CACHE).glob("*.json"))


# --- item 3: --check validates first --------------------------------------------------

BAD_VALUES = {
    "sigma_negative": table(extra="sigma = -2.5\n"),
    "rank_impossible": table().replace("rank = 2", "rank = 40"),
    "unknown_key": table(extra="colour = 1\n"),
    "kernel_file_nan": table().replace('kernel = "gaussian"\nsize = 15', 'kernel = "file:nan.npy"'),
}


@pytest.fixture(scope="module")
def built_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder after one good build (outputs and fit cache), copied by the cases that start from it."""
    folder = tmp_path_factory.mktemp("built")
    config(folder, table())
    assert sepgen(folder, "build", "sepgen.toml", "-q").returncode == 0
    return folder


@pytest.mark.parametrize("case", list(BAD_VALUES))
@pytest.mark.parametrize("built_before", [False, True], ids=["fresh", "after_a_build"])
def test_check_validates_the_config_like_build(tmp_path: Path, case: str, built_before: bool,
                                               request: pytest.FixtureRequest) -> None:
    if built_before:
        shutil.copytree(request.getfixturevalue("built_project"), tmp_path, dirs_exist_ok=True)
    np.save(tmp_path / "nan.npy", np.where(np.eye(9) > 0, np.nan, 1.0))
    config(tmp_path, BAD_VALUES[case])
    built = sepgen(tmp_path, "build", "sepgen.toml")
    checked = sepgen(tmp_path, "build", "sepgen.toml", "--check")
    assert built.returncode == 2, built.stderr
    assert checked.returncode == 2, checked.stderr
    assert checked.stderr.strip().splitlines()[-1] == built.stderr.strip().splitlines()[-1]


def test_check_still_reports_stale_filters_with_exit_1(tmp_path: Path) -> None:
    config(tmp_path, table())
    assert sepgen(tmp_path, "build", "sepgen.toml", "-q").returncode == 0
    config(tmp_path, table(extra="sigma = 2.5\n"))
    proc = sepgen(tmp_path, "build", "sepgen.toml", "--check")
    assert proc.returncode == 1 and "blur" in proc.stderr


# --- item 9: one fit for concurrent builds ------------------------------------------------


def test_concurrent_builds_fit_once(tmp_path: Path) -> None:
    # A fit of a few seconds, so the second build starts while the first is fitting.
    config(tmp_path, table(size=41, steps=3000))
    procs = []
    for _ in range(2):
        procs.append(subprocess.Popen([*SEPGEN, "build", "sepgen.toml"], cwd=tmp_path, text=True,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE))
        time.sleep(0.5)
    results = [(p.wait(timeout=300), *p.communicate()) for p in procs]
    assert [code for code, _, _ in results] == [0, 0], results
    fits = [err.count("blur: fitting") for _, _, err in results]
    assert sorted(fits) == [0, 1], [err for _, _, err in results]
    assert len(cache_entries(tmp_path)) == 1


# --- item 9: the cache keeps only what the config uses --------------------------------------


def test_superseded_fits_are_pruned_after_a_build(tmp_path: Path) -> None:
    config(tmp_path, table(), table("other"))
    assert sepgen(tmp_path, "build", "sepgen.toml", "-q").returncode == 0
    first = cache_entries(tmp_path)
    assert len(first) == 2
    stranger = tmp_path / "out" / CACHE / "notes.txt"
    stranger.write_text("not a cache entry: never removed\n")
    for sigma in (2.0, 3.0):  # two edits of one filter; the other filter goes away
        config(tmp_path, table(extra=f"sigma = {sigma}\n"))
        assert sepgen(tmp_path, "build", "sepgen.toml", "-q").returncode == 0
    left = cache_entries(tmp_path)
    assert len(left) == 1 and left[0].startswith("blur-") and left[0] not in first
    assert stranger.is_file()


def test_failed_build_prunes_nothing(tmp_path: Path) -> None:
    config(tmp_path, table(), table("other"))
    assert sepgen(tmp_path, "build", "sepgen.toml", "-q").returncode == 0
    before = cache_entries(tmp_path)
    config(tmp_path, table(), table("other", extra='kernel_typo = 1\n'))
    assert sepgen(tmp_path, "build", "sepgen.toml").returncode == 2
    assert cache_entries(tmp_path) == before


# --- issue 20 item 8: a cache entry is verified against its digest -----------------------


def _edit_one_tap(entry: Path) -> None:
    """Change one tap the way a hand edit (or a bad merge) would: the file stays valid JSON."""
    import json

    doc = json.loads(entry.read_text())
    doc["components"][0]["vertical"][3] *= 1.5
    entry.write_text(json.dumps(doc, indent=2))


def test_tampered_cache_entry_is_refused_by_check_and_refitted_by_build(tmp_path: Path) -> None:
    config(tmp_path, table())
    assert sepgen(tmp_path, "build", "sepgen.toml", "-q").returncode == 0
    assert sepgen(tmp_path, "build", "sepgen.toml", "--check", "-q").returncode == 0  # the no-op fast path
    (entry,) = (tmp_path / "out" / CACHE).glob("blur-*.json")
    good = entry.read_bytes()
    shader = tmp_path / "out" / "blur" / "glsl" / "blur_h0.frag.glsl"
    shader_before = shader.read_bytes()
    _edit_one_tap(entry)
    checked = sepgen(tmp_path, "build", "sepgen.toml", "--check")
    assert checked.returncode == 1, checked.stderr
    assert "was modified after its fit" in checked.stderr and entry.name in checked.stderr
    built = sepgen(tmp_path, "build", "sepgen.toml")
    assert built.returncode == 0, built.stderr
    notes = [line for line in built.stderr.splitlines() if "was modified" in line]
    assert len(notes) == 1 and "refitting" in notes[0], built.stderr
    assert "blur: fitting" in built.stderr
    assert entry.read_bytes() == good and shader.read_bytes() == shader_before  # the fit is deterministic
    assert sepgen(tmp_path, "build", "sepgen.toml", "--check", "-q").returncode == 0


def test_cache_entry_digest_is_checked_on_read(tmp_path: Path) -> None:
    from sepgen.build import cache
    from sepgen.filters.filterfile import SeparableFilter

    filt = SeparableFilter("blur", np.ones((3, 3)) / 9, np.ones((1, 3)) / 3, np.ones((1, 3)) / 3)
    path = tmp_path / "blur-0123456789abcdef.json"
    cache.save_entry(path, filt)
    assert cache.inspect(path, "blur")[0] is not None
    assert cache.inspect(tmp_path / "blur-fedcba9876543210.json", "blur") == (None, None)
    moved = tmp_path / "blur-fedcba9876543210.json"  # another key's name: not what it claims to be
    moved.write_bytes(path.read_bytes())
    assert "no valid stamp of its key" in cache.inspect(moved, "blur")[1]
    text = path.read_text()
    path.write_text(text.replace('"rank": 1', '"rank": 1 ', 1))  # whitespace only: still the same content
    assert cache.inspect(path, "blur")[0] is not None
    path.write_text(text.replace("0.3333333333333333", "0.3333", 1))
    filt2, why = cache.inspect(path, "blur")
    assert filt2 is None and "does not match its sha256" in why


# --- issue 20 item 11: --check's hint repeats the options that matter ---------------------


def test_check_hint_repeats_config_path_and_out_dir(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    config(project, table())
    proc = sepgen(tmp_path, "build", "proj/sepgen.toml", "--check", "--out-dir", "my out")
    assert proc.returncode == 1
    hint = proc.stderr.split("run `", 1)[1].split("`", 1)[0]
    assert hint == "sepgen build proj/sepgen.toml --out-dir 'my out'"
    assert sepgen(tmp_path, *hint.split(" ", 2)[1:2], "proj/sepgen.toml", "--out-dir", "my out", "-q").returncode == 0
    assert sepgen(tmp_path, "build", "proj/sepgen.toml", "--check", "--out-dir", "my out", "-q").returncode == 0
