"""SPIR-V modules kept between processes (sepgen/common/spirv_cache.py)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from sepgen.common import cachedirs, spirv_cache, tools
from sepgen.common.errors import CheckFailed

SHADER = "#version 450\nlayout(location = 0) out vec4 o;\nvoid main() { o = vec4(0.25, 0.5, 1.0, 1.0); }\n"
BROKEN = "#version 450\nvoid main() { undefined_call(); }\n"


@pytest.fixture
def runs(monkeypatch, glslang) -> list[list[str]]:
    """The glslang command lines run, in a process that has compiled nothing yet."""
    calls: list[list[str]] = []
    original = tools._checked
    monkeypatch.setattr(tools, "_checked", lambda cmd, what: (calls.append(cmd), original(cmd, what))[1])
    tools._glslang_memo.cache_clear()
    yield calls
    tools._glslang_memo.cache_clear()


def new_process(monkeypatch, cache: Path) -> None:
    """What a new process sees: nothing compiled in memory, this cache folder."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    tools._glslang_memo.cache_clear()


def test_a_second_process_reads_the_module(monkeypatch, tmp_path, runs) -> None:
    new_process(monkeypatch, tmp_path)
    first = tools.compile_glsl(SHADER, "fragment", "a.frag")
    assert len(runs) == 1
    stored = list((tmp_path / "sepgen" / "spirv").iterdir())
    assert [p.read_bytes() for p in stored] == [first]
    assert stored[0].stat().st_mode & 0o777 == 0o600 and stored[0].parent.stat().st_mode & 0o777 == 0o700
    new_process(monkeypatch, tmp_path)
    assert tools.compile_glsl(SHADER, "fragment", "a.frag") == first
    assert len(runs) == 1
    # another stage, name or source is another module
    tools.compile_glsl(SHADER, "fragment", "b.frag")
    tools.compile_glsl(SHADER.replace("0.25", "0.75"), "fragment", "a.frag")
    assert len(runs) == 3
    new_process(monkeypatch, tmp_path / "off")
    monkeypatch.setenv("HOME", str(tmp_path / "nonexistent"))
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert tools.compile_glsl(SHADER, "fragment", "a.frag") == first  # no cache folder: glslang runs
    assert len(runs) == 4 and not (tmp_path / "nonexistent").exists()


def test_a_damaged_file_is_compiled_again(monkeypatch, tmp_path, runs) -> None:
    new_process(monkeypatch, tmp_path)
    first = tools.compile_glsl(SHADER, "fragment", "a.frag")
    (stored,) = (tmp_path / "sepgen" / "spirv").iterdir()
    for damage in (b"", first[:-2], b"not spir-v" * 8):
        stored.write_bytes(damage)
        new_process(monkeypatch, tmp_path)
        assert tools.compile_glsl(SHADER, "fragment", "a.frag") == first
        assert stored.read_bytes() == first
    assert len(runs) == 4


def test_another_glslang_binary_compiles_afresh(monkeypatch, tmp_path, runs, glslang) -> None:
    new_process(monkeypatch, tmp_path)
    tools.compile_glsl(SHADER, "fragment", "a.frag")
    other = tmp_path / "bin" / "glslangValidator"
    other.parent.mkdir()
    shutil.copy2(glslang, other)
    os.utime(other, ns=(0, 1_000_000_000))  # an upgrade: another modification time
    monkeypatch.setenv("PATH", f"{other.parent}{os.pathsep}{os.environ['PATH']}")
    new_process(monkeypatch, tmp_path)
    tools.compile_glsl(SHADER, "fragment", "a.frag")
    assert [cmd[0] for cmd in runs] == [glslang, str(other)]


def test_failed_compiles_are_not_kept(monkeypatch, tmp_path, runs) -> None:
    new_process(monkeypatch, tmp_path)
    for _ in range(2):
        tools._glslang_memo.cache_clear()
        with pytest.raises(CheckFailed, match="undefined_call"):
            tools.compile_glsl(BROKEN, "fragment", "bad.frag")
    assert len(runs) == 2 and list((tmp_path / "sepgen" / "spirv").iterdir()) == []


def test_files_of_another_user_are_not_read(monkeypatch, tmp_path, runs, capsys) -> None:
    new_process(monkeypatch, tmp_path)
    first = tools.compile_glsl(SHADER, "fragment", "a.frag")
    (stored,) = (tmp_path / "sepgen" / "spirv").iterdir()
    stored.chmod(0o666)
    new_process(monkeypatch, tmp_path)
    assert tools.compile_glsl(SHADER, "fragment", "a.frag") == first
    assert len(runs) == 2  # refused, compiled, replaced by a private file
    assert stored.stat().st_mode & 0o777 == 0o600
    folder = stored.parent
    folder.chmod(0o777)
    new_process(monkeypatch, tmp_path / "shared")
    shared = tmp_path / "shared" / "sepgen" / "spirv"
    shared.mkdir(parents=True)
    shared.chmod(0o775)
    assert tools.compile_glsl(SHADER, "fragment", "a.frag") == first
    assert len(runs) == 3 and list(shared.iterdir()) == []
    assert capsys.readouterr().err == (f"sepgen: warning: not using the SPIR-V cache {shared}: writable by group or "
                                       "others (mode 775); compiling instead\n")
    folder.chmod(0o700)


def test_least_recently_used_files_go_first(monkeypatch, tmp_path, runs) -> None:
    monkeypatch.setattr(spirv_cache, "MAX_FILES", 2)
    new_process(monkeypatch, tmp_path)
    folder = tmp_path / "sepgen" / "spirv"
    tools.compile_glsl(SHADER, "fragment", "a.frag")
    (a,) = folder.iterdir()
    tools.compile_glsl(SHADER, "fragment", "b.frag")
    os.utime(a, (1, 1))
    new_process(monkeypatch, tmp_path)
    tools.compile_glsl(SHADER, "fragment", "a.frag")  # read: used most recently
    tools.compile_glsl(SHADER, "fragment", "c.frag")
    assert len(list(folder.iterdir())) == 2 and a.exists()
    assert len(runs) == 3


def test_private_folder_is_checked_and_said_once_per_root(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "own"))
    folder = cachedirs.private_folder("spirv", "SPIR-V cache")
    assert folder == tmp_path / "own" / "sepgen" / "spirv" and folder.stat().st_mode & 0o777 == 0o700
    shared = tmp_path / "shared" / "sepgen" / "spirv"
    shared.mkdir(parents=True)
    shared.chmod(0o777)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "shared"))
    assert [cachedirs.private_folder("spirv", "SPIR-V cache") for _ in range(2)] == [None, None]
    assert capsys.readouterr().err.count("not using the SPIR-V cache") == 1
    shared.chmod(0o700)
