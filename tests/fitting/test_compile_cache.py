"""The compiled-loop cache (sepgen.fitting.compile_cache, .executables).

A fit in a new process must load its compiled loops instead of compiling them
again, also with other weights, steps, learning rate and prune threshold for the
same kernel shape and rank: those are traced arguments, not constants baked into
the compiled code. Counted with JAX's own monitoring events in child processes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sepgen.fitting import compile_cache

ROOT = Path(__file__).resolve().parents[2]

CHILD = r"""
import json, sys
from collections import Counter
from jax._src import monitoring
events = Counter()
monitoring.register_event_listener(lambda name, **kw: events.update([name]))
monitoring.register_event_duration_secs_listener(lambda name, secs, **kw: events.update([name]))
import sepgen
from sepgen.kernels import disk
settings = json.loads(sys.argv[1])
weights = settings.pop("weights")
f = sepgen.fit(disk(settings.pop("size", 16)), settings.pop("rank", 3), weights, **settings)
print(json.dumps({"traces": events["/jax/core/compile/jaxpr_trace_duration"],
                  "compiles": events["/jax/core/compile/backend_compile_duration"],  # XLA compiles
                  "optax": "optax" in sys.modules, "loss": f.metrics()["loss"]}))
"""


def _fit_in_child(cache: Path | str, settings: dict, **env_vars: str) -> dict:
    env = dict(os.environ, SEPGEN_JAX_CACHE=str(cache), PYTHONPATH=str(ROOT), **env_vars)
    res = subprocess.run([sys.executable, "-c", CHILD, json.dumps(settings)], env=env, capture_output=True, text=True,
                         timeout=300, cwd=ROOT)
    assert res.returncode == 0, res.stderr[-2000:]
    return json.loads(res.stdout.strip().splitlines()[-1])


def test_second_fit_with_other_settings_compiles_nothing(tmp_path):
    cache = tmp_path / "jax"
    first = _fit_in_child(cache, {"weights": {"l2": 1, "nonneg": 1, "zeros": 1}, "steps": 300, "lr": 0.1, "prune": 0.2})
    assert first["compiles"] > 0 and first["traces"] > 0  # a cold cache compiles (so the counters count)
    assert any(cache.iterdir())
    other = _fit_in_child(cache, {"weights": {"l2": 2, "nonneg": 0.5, "zeros": 0.3}, "steps": 217, "lr": 0.05,
                                  "prune": 0.3})
    assert other["compiles"] == 0, other
    assert other["traces"] == 0, other  # the stored executables load without tracing or lowering
    assert first["optax"] and not other["optax"]  # nor importing optax
    assert other["loss"] != first["loss"]  # the other settings were really used


def test_a_budget_search_in_a_new_process_compiles_nothing(tmp_path):
    """The searched fits (the shared-ratio loop of every rank tried) load from the cache too."""
    cache = tmp_path / "jax"
    search = {"weights": {"l2": 1, "nonneg": 1, "zeros": 1}, "size": 6, "rank": None, "budget": 8}
    first = _fit_in_child(cache, {**search, "steps": 100})
    assert first["compiles"] > 0
    again = _fit_in_child(cache, {**search, "steps": 77})
    assert again["compiles"] == 0 and again["traces"] == 0, again


def test_cache_off_writes_nothing(tmp_path):
    settings = {"weights": {"l2": 1, "nonneg": 1, "zeros": 1}, "steps": 20, "lr": 0.1, "prune": 0.0}
    for _ in range(2):
        res = _fit_in_child("off", settings, XDG_CACHE_HOME=str(tmp_path))
        assert res["compiles"] > 0  # every process compiles
    assert not (tmp_path / "sepgen").exists()


def test_unreadable_stored_executables_are_compiled_again(tmp_path):
    cache = tmp_path / "jax"
    settings = {"weights": {"l2": 1, "nonneg": 1, "zeros": 1}, "steps": 50, "lr": 0.1, "prune": 0.0}
    first = _fit_in_child(cache, settings)
    stored = sorted((cache / "executables").iterdir())
    assert stored
    for path in stored:
        path.write_bytes(b"not an executable")
    again = _fit_in_child(cache, settings)
    assert again["compiles"] > 0 and again["loss"] == first["loss"]
    assert all(p.read_bytes() != b"not an executable" for p in stored)  # rewritten by the fresh compile


def test_cache_defaults_to_xdg_cache_home(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "SEPGEN_JAX_CACHE"}
    code = "from sepgen.fitting import compile_cache; print(compile_cache.enable())"
    res = subprocess.run([sys.executable, "-c", code],
                         env={**env, "XDG_CACHE_HOME": str(tmp_path), "PYTHONPATH": str(ROOT)},
                         capture_output=True, text=True, timeout=120)
    assert res.stdout.strip() == str(tmp_path / "sepgen" / "jax"), res.stderr[-2000:]
    assert (tmp_path / "sepgen" / "jax").is_dir()


def test_cache_folder_from_environment():
    assert compile_cache.cache_dir({"SEPGEN_JAX_CACHE": "off"}) is None
    assert compile_cache.cache_dir({"SEPGEN_JAX_CACHE": "0"}) is None
    assert compile_cache.cache_dir({"SEPGEN_JAX_CACHE": "/tmp/x"}) == Path("/tmp/x")
    assert compile_cache.cache_dir({"XDG_CACHE_HOME": "/xdg"}) == Path("/xdg/sepgen/jax")
    home = Path.home() / ".cache" / "sepgen" / "jax"
    assert compile_cache.cache_dir({"XDG_CACHE_HOME": "relative/dir"}) == home  # XDG: relative paths are ignored
    assert compile_cache.cache_dir({}) == home


def test_unwritable_cache_folder_is_skipped(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert compile_cache._writable(blocker / "jax") is False


# --- issue 20 items 9 and 10: a private cache, and no home folder created -------------------


def test_cache_folder_is_created_private(tmp_path):
    folder = tmp_path / "sepgen" / "jax"
    assert compile_cache._writable(folder) and compile_cache._private(folder)
    assert folder.stat().st_mode & 0o777 == 0o700


def _refusals(monkeypatch, capsys, path: Path) -> tuple[object, str, list]:
    """`executables._load(path)`: its result, stderr and the pickles it opened (none when refused)."""
    from sepgen.fitting import executables

    unpickled: list = []
    monkeypatch.setattr(executables.pickle, "loads", lambda data: unpickled.append(data))
    return executables._load(path), capsys.readouterr().err, unpickled


def test_group_or_world_writable_cache_is_refused(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "jax"
    (folder / "executables").mkdir(parents=True)
    entry = folder / "executables" / "k"
    entry.write_bytes(b"a pickle someone else may have written")
    os.chmod(folder / "executables", 0o700)
    os.chmod(entry, 0o666)  # a world-writable file
    result, err, unpickled = _refusals(monkeypatch, capsys, entry)
    assert result is None and unpickled == []
    assert err.count("\n") == 1 and "not using the compiled-loop cache" in err and "writable by group or others" in err
    os.chmod(entry, 0o600)
    os.chmod(folder / "executables", 0o777)  # a world-writable folder: anyone could swap the file
    result, err, unpickled = _refusals(monkeypatch, capsys, entry)
    assert result is None and unpickled == [] and "mode 777" in err
    os.chmod(folder, 0o775)
    assert compile_cache._private(folder) is False and "writable by group or others" in capsys.readouterr().err


def test_cache_owned_by_another_user_is_refused(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "jax"
    (folder / "executables").mkdir(parents=True, mode=0o700)
    entry = folder / "executables" / "k"
    entry.write_bytes(b"x")
    os.chmod(entry, 0o600)
    monkeypatch.setattr(os, "geteuid", lambda: os.stat(entry).st_uid + 1)  # as another user sees them
    result, err, unpickled = _refusals(monkeypatch, capsys, entry)
    assert result is None and unpickled == [] and "owned by another user" in err
    assert compile_cache._private(folder) is False


def test_no_home_folder_means_no_cache_and_nothing_created(tmp_path):
    home = tmp_path / "nonexistent"
    env = {"HOME": str(home)}
    assert compile_cache.cache_dir(env) is None
    assert (compile_cache.cache_dir({**env, "XDG_CACHE_HOME": str(tmp_path / "xdg")})
            == tmp_path / "xdg" / "sepgen" / "jax")
    code = ("from sepgen.fitting import compile_cache; from sepgen.build import state; print(compile_cache.enable()); "
            "print(state.up_to_date(state.Invocation('x.toml', None, None, None), True))")
    clean = {k: v for k, v in os.environ.items() if k not in ("SEPGEN_JAX_CACHE", "XDG_CACHE_HOME")}
    res = subprocess.run([sys.executable, "-c", code], env={**clean, "HOME": str(home), "PYTHONPATH": str(ROOT)},
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and res.stdout.split() == ["None", "None"], res.stderr[-2000:]
    assert not home.exists()
