"""sepgen.options.FitSettings: one value from the CLI, config and API down to the loop
(sepgen/options.py, sepgen/fitting/core.py `fit_with`, sepgen/fitting/optimizers.py `transform`)."""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import sepgen
from sepgen.build.config import load_config
from sepgen.common.errors import SepgenError
from sepgen.fitting import fit_with, optimizers, sweep_with
from sepgen.kernels import disk
from sepgen.options import FIT_OPTIONS, SETTING_NAMES, WEIGHT_OPTIONS, FitSettings
from sepgen.report.demo import demo_settings


def test_fields_are_the_fit_options_without_rank_plus_the_weights():
    assert [f.name for f in dataclasses.fields(FitSettings)] == ["weights", *SETTING_NAMES]
    assert set(SETTING_NAMES) == set(FIT_OPTIONS) - {"rank"}
    s = FitSettings()
    assert s.options() == {n: FIT_OPTIONS[n].default for n in SETTING_NAMES}
    assert dict(s.weights) == {n: o.default for n, o in WEIGHT_OPTIONS.items()}


def test_seed_settings_are_the_defaults_of_sepgen_fit():
    params = inspect.signature(sepgen.fit).parameters
    seed = FitSettings.seed_settings()
    for name in SETTING_NAMES:
        assert getattr(seed, name) == params[name].default, name
    assert dict(seed.weights) == {**{n: o.default for n, o in WEIGHT_OPTIONS.items()}, **params["weights"].default}


def test_settings_are_checked_frozen_and_comparable():
    with pytest.raises(SepgenError, match="lr must be finite"):
        FitSettings(lr=float("nan"))
    with pytest.raises(SepgenError, match="unknown loss weight"):
        FitSettings(weights={"l3": 1.0})
    with pytest.raises(SepgenError, match="config.toml: steps must be int"):
        FitSettings.from_options({"steps": 1.5}, "config.toml")
    s = FitSettings(steps=np.int64(7), weights={"nonneg": np.float32(0.5)})
    assert type(s.steps) is int and s.weights["nonneg"] == 0.5
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.steps = 3  # type: ignore[misc]  # the point: frozen
    with pytest.raises(TypeError):
        s.weights["l2"] = 2.0  # type: ignore[index]  # the point: read-only
    assert s == FitSettings(steps=7, weights={"nonneg": 0.5})
    assert hash(s) == hash(FitSettings(steps=7, weights={"nonneg": 0.5}))
    assert s.replace(lr=0.5).lr == 0.5 and s.lr == FIT_OPTIONS["lr"].default
    assert (FitSettings.from_options({"rank": 3, "name": "x", "zeros": 0.8, "prune": 0.1})
            == FitSettings(weights={"zeros": 0.8}, prune=0.1))


def test_fit_with_records_the_settings_unchanged_in_the_provenance():
    s = FitSettings(weights={"nonneg": 0.5, "l1": 0.25}, optimizer="adam", steps=20, lr=0.02, prune=0.1)
    f = fit_with(disk(10), 2, s)
    assert {k: f.provenance[k] for k in s.to_json()} == s.to_json()
    # sepgen.fit's keywords make the same settings, hence the same file
    g = sepgen.fit(disk(10), 2, weights={"nonneg": 0.5, "l1": 0.25}, optimizer="adam", steps=20, lr=0.02, prune=0.1)
    assert g.to_json() == f.to_json()


def test_sweep_with_varies_only_the_grid_weights():
    s = FitSettings(weights={"l1": 0.5}, steps=5, lr=0.05, prune=0.0)
    cells = sweep_with(disk(8), 1, s, (0.0, 1.0), (0.3,))
    for cell, nonneg in zip(cells, (0.0, 1.0)):
        assert dict(cell.provenance["weights"]) == {**dict(s.weights), "nonneg": nonneg, "zeros": 0.3}
        assert {k: cell.provenance[k] for k in SETTING_NAMES} == s.options()


def test_build_passes_the_configs_settings_object_to_the_fit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "sepgen.toml").write_text('[[filter]]\nname = "b"\nkernel = "disk"\nsize = 8\nrank = 2\n'
                                          'steps = 5\nl1 = 0.5\n')
    import sepgen.fitting

    seen = []
    real = sepgen.fitting.fit_with
    monkeypatch.setattr(sepgen.fitting, "fit_with", lambda k, r, s, **kw: seen.append(s) or real(k, r, s, **kw))
    from sepgen.build import build

    build(tmp_path / "sepgen.toml")
    assert seen == [load_config(tmp_path / "sepgen.toml").filters[0].settings]
    assert seen[0].steps == 5 and seen[0].weights["l1"] == 0.5


def test_demo_settings_are_the_recommended_and_the_seeds():
    rec, seed = demo_settings(None)
    assert rec == FitSettings() and seed == FitSettings.seed_settings()
    assert demo_settings(40) == (FitSettings(steps=40), FitSettings.seed_settings(steps=40))


@pytest.mark.parametrize("name, reference", [("gd", optax.sgd), ("adam", optax.adam)])
def test_transform_is_built_once_and_matches_optax_with_the_lr(name, reference):
    assert optimizers.transform(name) is optimizers.transform(name)
    lr = jnp.asarray(0.05, jnp.float32)
    params = (jnp.arange(4.0, dtype=jnp.float32), jnp.ones(3, jnp.float32))
    grads = [jax.tree.map(lambda p, k=k: jnp.sin(p * (k + 1)), params) for k in range(3)]
    ours, theirs = optimizers.transform(name), reference(lr)
    p_ours, s_ours = params, ours.init(params)
    p_ref, s_ref = params, theirs.init(params)
    for g in grads:
        u, s_ours = ours.update(g, s_ours, p_ours)
        p_ours = optax.apply_updates(p_ours, jax.tree.map(lambda x: lr * x, u))
        u, s_ref = theirs.update(g, s_ref, p_ref)
        p_ref = optax.apply_updates(p_ref, u)
    for a, b in zip(p_ours, p_ref):
        assert np.array_equal(np.asarray(a), np.asarray(b))
