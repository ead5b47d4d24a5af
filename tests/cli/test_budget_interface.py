"""--budget / --target-error in `sepgen optimize`, the build config and `sepgen.fit` (issue 10)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import sepgen
from sepgen import emit
from sepgen.build import build, cache
from sepgen.build.config import load_config
from sepgen.common.errors import SepgenError
from sepgen.kernels import disk
from tests.support import cli

ROOT = Path(__file__).resolve().parents[2]
QUICK = ["--size", "12", "--steps", "200"]


def test_optimize_with_a_budget_says_what_it_chose_and_keeps_to_it(tmp_path):
    out = tmp_path / "f.json"
    r = cli("optimize", *QUICK, "--budget", "20", "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert "chose rank " in r.stdout and "within 20 fetches per pixel" in r.stdout
    filt = sepgen.SeparableFilter.load(out)
    search = filt.provenance["search"]
    assert search["budget"] == 20 and search["chosen"].startswith(f"rank {filt.rank} ")
    assert filt.provenance["rank"] == filt.rank and search["frontier"]
    assert emit.fetch_counts(filt)["total"] <= 20
    assert abs(filt.metrics()["dc_gain"] - 1) <= 1e-5


def test_optimize_with_a_target_error_meets_it(tmp_path):
    out = tmp_path / "f.json"
    r = cli("optimize", *QUICK, "--target-error", "0.2", "-o", str(out))
    assert r.returncode == 0, r.stderr
    filt = sepgen.SeparableFilter.load(out)
    assert filt.metrics()["relative_l2"] <= 0.2
    assert filt.provenance["search"]["target_error"] == 0.2


@pytest.mark.parametrize(("args", "words"), [
    (["--budget", "0"], "budget must be >= 1"),
    (["--budget", "30", "--rank", "3"], "--budget chooses the rank itself"),
    (["--target-error", "0.1", "--rank", "2"], "--target-error chooses the rank itself"),
    (["--target-error", "nan"], "target_error must be finite"),
    (["--target-error", "-0.1"], "target_error must be a positive"),
    (["--target-error", "0"], "target_error must be a positive"),
    (["--budget", "30", "--target-error", "0.1"], "not both"),
    (["--budget", "3"], "the smallest feasible budget is "),
])
def test_bad_requests_are_one_line_errors_and_write_nothing(tmp_path, args, words):
    out = tmp_path / "f.json"
    r = cli("optimize", *QUICK, *args, "-o", str(out))
    assert r.returncode == 2, r.stdout
    lines = r.stderr.strip().splitlines()
    assert lines[-1].startswith("sepgen: error:") and words in lines[-1], r.stderr
    assert "Traceback" not in r.stderr and not out.exists()


def test_the_python_api_takes_the_same_keys():
    k = disk(12)
    filt = sepgen.fit(k, budget=20, steps=200, weights={"nonneg": 1.5, "zeros": 0.3})
    assert emit.fetch_counts(filt)["total"] <= 20 and filt.provenance["search"]["budget"] == 20
    # the same finishing record as every fit: components kept, DC gain made exact
    assert filt.provenance["components"]["kept"] == filt.rank and "gain_fitted" in filt.provenance["dc"]
    assert abs(filt.metrics()["dc_gain"] - 1) <= 1e-5
    with pytest.raises(SepgenError, match="chooses the rank itself"):
        sepgen.fit(k, 3, budget=20)
    with pytest.raises(SepgenError, match="needs a rank, a budget or a target_error"):
        sepgen.fit(k)


def _config(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "sepgen.toml"
    path.write_text(f'[[filter]]\nname = "b"\nkernel = "disk"\nsize = 12\nsteps = 200\n{extra}\n')
    return path


@pytest.mark.parametrize(("extra", "words"), [
    ("budget = 20\nrank = 2", "budget chooses the rank itself"),
    ("budget = 0", "budget must be >= 1"),
    ("budget = 2.5", "budget must be int"),
    ("target_error = -1.0", "target_error must be a positive"),
    ("target_error = 0.1\nbudget = 20", "not both"),
])
def test_build_config_rejects_bad_requests(tmp_path, extra, words):
    with pytest.raises(SepgenError, match=words):
        load_config(_config(tmp_path, extra))


def test_build_config_budget_is_a_fit_input_and_is_honoured(tmp_path):
    plain = cache.cache_key(cache.fit_inputs(load_config(_config(tmp_path, "")).filters[0]))
    budgeted = load_config(_config(tmp_path, "budget = 20")).filters[0]
    assert budgeted.search == {"budget": 20}
    assert cache.cache_key(cache.fit_inputs(budgeted)) != plain
    result = build(tmp_path / "sepgen.toml")
    assert result.fitted == ["b"]
    manifest = json.loads(next((tmp_path / "generated").rglob("manifest.json")).read_text())
    assert manifest["fetches_per_pixel"]["total"] <= 20


@pytest.mark.slow
def test_a_target_error_past_rank_8_is_met_not_out_of_reach(tmp_path):
    """A 25-wide ring needs rank 10 for 5 % (its SVD bound): the search goes past 8 (issue 20)."""
    out = tmp_path / "ring.json"
    r = cli("optimize", "--kernel", "ring", "--size", "25", "--steps", "200", "--target-error", "0.05",
            "--structure", "separable", "-o", str(out))  # the separable search (issue 18: auto is the default)
    assert r.returncode == 0, r.stderr
    filt = sepgen.SeparableFilter.load(out)
    assert filt.metrics()["relative_l2"] <= 0.05 and filt.rank > 8
    assert max(row["fitted_rank"] for row in filt.provenance["search"]["frontier"]) == 10
