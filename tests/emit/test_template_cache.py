"""Compiled templates kept between processes (sepgen/emit/template_cache.py)."""

from __future__ import annotations

import os
from pathlib import Path

import jinja2
import pytest

from sepgen import emit
from sepgen.emit import context, template_cache
from tests.support import hand_filter

OPTIONS = ({"lang": "glsl"}, {"lang": "hlsl"}, {"lang": "wgsl"}, {"lang": "spirv", "stage": "compute"})


@pytest.fixture
def compiles(monkeypatch) -> list[str]:
    """Names of the templates Jinja compiles from source."""
    names: list[str] = []
    original = jinja2.Environment.compile

    def counted(self, source, name=None, filename=None, *args, **kwargs):
        names.append(name)
        return original(self, source, name, filename, *args, **kwargs)

    monkeypatch.setattr(jinja2.Environment, "compile", counted)
    return names


@pytest.fixture(autouse=True)
def _forget_environments():
    """Environments built here hold this test's cache folder: none survives the test."""
    yield
    context._default_environment.cache_clear()
    context.with_literals.cache_clear()


def fresh(monkeypatch, cache: Path | None) -> None:
    """As a new process sees it: no environment built yet, this cache folder (None: no home, no XDG)."""
    if cache is None:
        monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
        monkeypatch.setenv("HOME", "/nonexistent-home")
    else:
        monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    context._default_environment.cache_clear()
    context.with_literals.cache_clear()


def render_all() -> list[dict[str, str | bytes]]:
    context.check_templates()
    return [emit.render(hand_filter(), opts) for opts in OPTIONS]


def test_a_new_process_compiles_no_template_and_renders_the_same(monkeypatch, tmp_path, compiles) -> None:
    fresh(monkeypatch, None)
    uncached = render_all()
    assert compiles
    fresh(monkeypatch, tmp_path)
    compiles.clear()
    assert render_all() == uncached
    assert compiles  # the first process compiles and stores
    stored = sorted((tmp_path / "sepgen" / "templates").iterdir())
    assert stored and all(p.stat().st_mode & 0o777 == 0o600 for p in stored)
    assert (tmp_path / "sepgen" / "templates").stat().st_mode & 0o777 == 0o700
    fresh(monkeypatch, tmp_path)
    compiles.clear()
    assert render_all() == uncached
    assert compiles == []


def test_broken_files_are_compiled_again(monkeypatch, tmp_path, compiles) -> None:
    fresh(monkeypatch, tmp_path)
    expected = render_all()
    stored = sorted((tmp_path / "sepgen" / "templates").iterdir())
    for i, path in enumerate(stored):
        path.write_bytes(b"" if i % 2 else b"j2 not compiled code")
    fresh(monkeypatch, tmp_path)
    compiles.clear()
    assert render_all() == expected
    assert len(compiles) == len(stored)
    assert all(p.read_bytes()[:2] == b"j2" and len(p.read_bytes()) > 100 for p in stored)  # stored again


def test_a_folder_others_may_write_is_not_used(monkeypatch, tmp_path, compiles, capsys) -> None:
    folder = tmp_path / "sepgen" / "templates"
    folder.mkdir(parents=True)
    folder.chmod(0o777)
    fresh(monkeypatch, tmp_path)
    assert render_all() == [emit.render(hand_filter(), opts) for opts in OPTIONS]
    assert list(folder.iterdir()) == []
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"not using the template cache {folder}: writable by group or others" in err
    assert compiles
    folder.chmod(0o700)


def test_a_file_of_another_user_is_not_loaded(monkeypatch, tmp_path, compiles) -> None:
    fresh(monkeypatch, tmp_path)
    render_all()
    compiles.clear()
    fresh(monkeypatch, tmp_path)
    owner = os.stat(next((tmp_path / "sepgen" / "templates").iterdir())).st_uid
    monkeypatch.setattr(os, "fstat", lambda fd, real=os.fstat: _other_owner(real(fd), owner))
    render_all()
    assert compiles  # every stored template refused: compiled again


def _other_owner(st: os.stat_result, owner: int) -> os.stat_result:
    fields = list(st)
    fields[4] = owner + 1  # st_uid
    return os.stat_result(fields)


def test_each_literal_syntax_has_its_own_files(tmp_path, monkeypatch) -> None:
    """Jinja folds constant expressions when compiling: code compiled with one generator's `lit`
    filter must not serve another's."""
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "t.j2").write_text("{{ 1.5|lit }}")
    fresh(monkeypatch, tmp_path / "cache")
    for _ in range(2):  # compiled, then loaded
        base = context.environment(templates)
        for suffix in "ab":
            env = context.with_literals(base, (suffix, ""), lambda x, s=suffix: f"{x}{s}")
            assert env.get_template("t.j2").render() == f"1.5{suffix}"


def test_old_files_are_pruned(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(template_cache, "MAX_FILES", 5)
    fresh(monkeypatch, tmp_path)
    render_all()
    assert len(list((tmp_path / "sepgen" / "templates").iterdir())) == 5
