"""Honest cost for the target that ships (issue 19, item 4): a budget or target search counts
the fetches of the targets it is given (the optimize flags, `sepgen.fit(options=)`, every
language of a build config), `sepgen emit` warns past the budget a filter was fitted for, and
the intermediates' memory is reported and can be capped."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import sepgen
from sepgen import emit
from sepgen.build import build, cache
from sepgen.build.config import load_config
from sepgen.common.errors import SepgenError
from sepgen.filters.filterfile import SeparableFilter
from sepgen.kernels import disk
from sepgen.options import EmitOptions
from sepgen.plan import passmodel, taps
from tests.support import DISK, ROOT, hand_filter

# disk 12 within 24 fetches: counted for GLSL (linear sampling) the search picks a filter that
# reads 40 in WGSL / SPIR-V (point sampling of RGBA32F), so these numbers can tell the two apart
SIZE, BUDGET, STEPS = 12, 24, 100
LANGS = ("glsl", "wgsl", "spirv")


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sepgen", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=600)


def total(filt: SeparableFilter, **options) -> int:
    return filt.structure.fetch_counts(EmitOptions(**options))["total"]


# --- counting --------------------------------------------------------------------------------

def test_target_cost_is_the_dearest_target_and_memory_is_per_component():
    filt = hand_filter(rank=3)
    glsl, wgsl = EmitOptions(), EmitOptions(lang="wgsl")
    assert filt.structure.fetch_counts(wgsl)["total"] > filt.structure.fetch_counts(glsl)["total"]
    assert taps.target_cost(filt.structure, [glsl, wgsl]) == filt.structure.fetch_counts(wgsl)
    assert taps.target_cost(filt.structure, [wgsl, glsl]) == filt.structure.fetch_counts(wgsl)
    plan = filt.structure.plan(glsl)
    assert taps.intermediate_cost(plan, glsl) == {"written": 3 * 16, "read": taps.counts(plan)["vertical"] * 16}
    half = EmitOptions(precision="fp16")
    assert taps.intermediate_cost(filt.structure.plan(half), half)["written"] == 3 * 8


@pytest.mark.parametrize("options", [{}, {"precision": "fp16"}, {"strategy": "per-component"},
                                     {"lang": "wgsl"}, {"lang": "hlsl", "stage": "compute"}])
def test_manifest_reports_intermediate_bytes_written_and_read(options):
    filt = SeparableFilter.load(DISK)
    doc = json.loads(emit.render(filt, options)["manifest.json"])
    texel = 8 if options.get("precision") == "fp16" else 16
    assert doc["intermediate_bytes_per_pixel"] == {"written": filt.rank * texel,
                                                   "read": doc["fetches_per_pixel"]["vertical"] * texel}
    assert list(doc)[-1] == "intermediate_bytes_per_pixel"  # after fetches_per_pixel: older keys keep their bytes
    assert passmodel.parse(doc).intermediate_bytes_per_pixel == doc["intermediate_bytes_per_pixel"]


# --- the search counts the target it ships to -------------------------------------------------

def test_fit_counts_the_fetches_of_the_options_it_is_given():
    k = disk(SIZE)
    default = sepgen.fit(k, budget=BUDGET, steps=STEPS)
    assert total(default) <= BUDGET < total(default, lang="wgsl")  # what issue 19 found: counted for GLSL only
    wgsl = sepgen.fit(k, budget=BUDGET, steps=STEPS, options={"lang": "wgsl"})
    assert total(wgsl, lang="wgsl") <= BUDGET
    search = wgsl.provenance["search"]
    assert list(search)[:2] == ["budget", "targets"] and search["targets"] == [EmitOptions(lang="wgsl").to_dict()]
    assert search["intermediate_bytes"] == wgsl.rank * 16


def test_build_budget_holds_for_every_language_it_ships(tmp_path):
    """Done-when: `budget = N` with GLSL, WGSL and SPIR-V: every manifest ≤ N fetches per pixel."""
    cfg = tmp_path / "sepgen.toml"
    cfg.write_text(f'[[filter]]\nname = "b"\nkernel = "disk"\nsize = {SIZE}\nsteps = {STEPS}\nbudget = {BUDGET}\n'
                   f'lang = {json.dumps(list(LANGS))}\n')
    filt = load_config(cfg).filters[0]
    assert [t["lang"] for t in filt.search_targets()] == list(LANGS)
    glsl_only = load_config(_rewrite(cfg, "lang = [\"glsl\", \"wgsl\", \"spirv\"]", 'lang = "glsl"')).filters[0]
    assert cache.cache_key(cache.fit_inputs(glsl_only)) != cache.cache_key(cache.fit_inputs(filt))  # langs: refit
    _rewrite(cfg, 'lang = "glsl"', "lang = [\"glsl\", \"wgsl\", \"spirv\"]")
    build(cfg)
    for lang in LANGS:
        doc = json.loads((tmp_path / "generated" / "b" / lang / "manifest.json").read_text())
        assert doc["fetches_per_pixel"]["total"] <= BUDGET, lang
        assert doc["intermediate_bytes_per_pixel"]["written"] == doc["rank"] * 16


def _rewrite(cfg: Path, old: str, new: str) -> Path:
    text = cfg.read_text()
    assert old in text
    cfg.write_text(text.replace(old, new))
    return cfg


def test_max_intermediate_bytes_caps_the_rank():
    k = disk(SIZE)
    free = sepgen.fit(k, budget=200, steps=STEPS)
    assert free.rank > 2  # the cap below binds
    capped = sepgen.fit(k, budget=200, steps=STEPS, max_intermediate_bytes=32)
    assert capped.rank <= 2 and capped.provenance["search"]["max_intermediate_bytes"] == 32
    doc = json.loads(emit.render(capped)["manifest.json"])
    assert doc["intermediate_bytes_per_pixel"]["written"] <= 32
    half = sepgen.fit(k, budget=200, steps=STEPS, max_intermediate_bytes=32, options={"precision": "fp16"})
    assert 2 < half.rank <= 4  # 8 bytes per RGBA16F component


@pytest.mark.parametrize(("kwargs", "words"), [
    ({"budget": 20, "max_intermediate_bytes": 15}, "the smallest feasible value is 16 bytes per pixel"),
    ({"budget": 20, "max_intermediate_bytes": 7, "options": {"precision": "fp16"}}, "smallest feasible value is 8"),
    ({"budget": 20, "max_intermediate_bytes": 0}, "max_intermediate_bytes must be >= 1"),
    ({"budget": 20, "options": [{"lang": "cobol"}]}, "lang must be one of"),
    ({"budget": 20, "options": []}, "non-empty list"),
    ({"rank": 2, "options": {"lang": "wgsl"}}, "options applies to a search only"),
    ({"rank": 2, "max_intermediate_bytes": 64}, "max_intermediate_bytes applies to a search only"),
])
def test_bad_search_targets_are_one_line_errors(kwargs, words):
    with pytest.raises(SepgenError, match=words) as err:
        sepgen.fit(disk(SIZE), steps=5, **kwargs)
    assert "\n" not in str(err.value)


# --- the command line -------------------------------------------------------------------------

def test_optimize_counts_the_target_its_flags_name(tmp_path):
    out = tmp_path / "f.json"
    r = run_cli("optimize", "--size", str(SIZE), "--steps", str(STEPS), "--budget", str(BUDGET), "--lang", "wgsl",
                "-o", str(out))
    assert r.returncode == 0, r.stderr
    filt = SeparableFilter.load(out)
    n = total(filt, lang="wgsl")
    assert n <= BUDGET
    assert (f"  {n} fetches per pixel, intermediates {filt.rank * 16} B/px written" in r.stdout
            and "lang wgsl" in r.stdout)


@pytest.mark.parametrize(("args", "words"), [
    (["--rank", "2", "--lang", "wgsl"], "--lang applies to --budget and --target-error only"),
    (["--max-intermediate-bytes", "64"], "--max-intermediate-bytes applies to --budget and --target-error only"),
    (["--budget", "20", "--max-intermediate-bytes", "8"], "the smallest feasible value is 16 bytes per pixel"),
    (["--budget", "20", "--lang", "hlsl", "--glsl-version", "450"], "--glsl-version applies only to --lang glsl"),
])
def test_optimize_bad_target_flags_exit_2(tmp_path, args, words):
    out = tmp_path / "f.json"
    r = run_cli("optimize", "--size", str(SIZE), "--steps", "5", *args, "-o", str(out))
    assert r.returncode == 2 and not out.exists(), r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sepgen: error:") and words in lines[0], r.stderr


def test_build_config_max_intermediate_bytes_needs_a_search(tmp_path):
    cfg = tmp_path / "sepgen.toml"
    cfg.write_text('[[filter]]\nname = "b"\nkernel = "disk"\nsize = 12\nmax_intermediate_bytes = 64\n')
    with pytest.raises(SepgenError, match="max_intermediate_bytes applies to a search only"):
        load_config(cfg)
    cfg.write_text('[[filter]]\nname = "b"\nkernel = "disk"\nsize = 12\nbudget = 30\nmax_intermediate_bytes = 64\n')
    assert load_config(cfg).filters[0].search == {"budget": 30, "max_intermediate_bytes": 64}


def test_emit_warns_when_a_variant_exceeds_the_budget_it_was_fitted_for(tmp_path):
    filt = SeparableFilter.load(DISK)
    glsl, wgsl = total(filt), total(filt, lang="wgsl")
    assert glsl < wgsl
    doc = json.loads(DISK.read_text())
    doc["provenance"]["search"] = {"budget": glsl, "targets": [EmitOptions().to_dict()]}
    path = tmp_path / "disk.json"
    path.write_text(json.dumps(doc))
    ok = run_cli("emit", str(path), "-o", str(tmp_path / "glsl"))
    assert ok.returncode == 0 and "warning" not in ok.stderr, ok.stderr
    over = run_cli("emit", str(path), "--lang", "wgsl", "-o", str(tmp_path / "wgsl"))
    assert over.returncode == 0, over.stderr
    warnings = [line for line in over.stderr.splitlines() if line.startswith("sepgen: warning:")]
    assert len(warnings) == 1 and f"reads {wgsl} fetches per pixel" in warnings[0]
    assert f"budget of {glsl}" in warnings[0] and "--lang glsl" in warnings[0]
    assert f"= {wgsl}; intermediates {filt.rank * 16} B/px written" in over.stderr
