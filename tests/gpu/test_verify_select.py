"""Verify what you ship: `sepgen verify F --variant NAME`, `sepgen verify --config`,
`sepgen build --verify`, and parallel verification (`--jobs`)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from sepgen.verify import check as verify
from tests.support import ROOT, cli, random_filter

CONFIG = """
[output]
dir = "out"
{templates}

[[filter]]
name = "soft"
kernel = "gaussian"
size = 9
sigma = 1.5
rank = 2
steps = 30
lang = ["glsl", "hlsl"]
stage = "compute"

[[filter]]
name = "box"
kernel = "box"
size = 7
rank = 1
steps = 0
lang = "glsl"
glsl_version = "300es"
linear_sampling = true
"""
SHIPPED = {"soft": ["glsl330 compute mrt fp32 point", "hlsl compute mrt fp32 point"],
           "box": ["glsl300es fragment mrt fp32 linear"]}


def table_rows(out: str) -> dict[str, list[str]]:
    """filter name -> the variant names of its table, in order."""
    rows: dict[str, list[str]] = {}
    current = None
    for line in out.splitlines():
        if m := re.match(r"filter: (\w+) ", line):
            current = rows.setdefault(m.group(1), [])
        elif current is not None and (m := re.match(r"((?:glsl\S+|hlsl) \S+ \S+ \S+ \S+)\s+\S", line)):
            current.append(m.group(1))
    return rows


def project(tmp_path: Path, templates: str = "") -> Path:
    config = tmp_path / "sepgen.toml"
    config.write_text(CONFIG.format(templates=templates))
    return config


@pytest.mark.gpu
def test_verify_runs_only_the_named_variants(tmp_path):
    path = tmp_path / "f.json"
    random_filter("named", 2, (5, 6), origin=(1, 4), seed=3, positive=0.1).save(path)
    wanted = ["glsl450 compute per-component fp16 point", "hlsl fragment mrt fp32 linear"]
    code, out, _ = cli("verify", path, "--variant", wanted[0], "--variant", wanted[1], "-q")
    assert code == 0, out
    assert table_rows(out) == {"named": wanted}
    assert "2 of 2 variants within tolerance" in out
    code, _, err = cli("verify", path, "--variant", "glsl330 fragment mrt", "-q")
    assert code == 2 and "unknown variant" in err


def test_verify_config_needs_a_build(tmp_path):
    code, _, err = cli("verify", "--config", project(tmp_path))
    assert code == 2 and "filter 'soft' is not built" in err and "sepgen build" in err
    code, _, err = cli("verify", tmp_path / "f.json", "--config", tmp_path / "sepgen.toml")
    assert code == 2 and "one of them" in err


@pytest.mark.gpu
def test_build_verify_and_verify_config_run_exactly_the_shipped_variants(tmp_path):
    config = project(tmp_path)
    code, out, _ = cli("build", config, "--verify", "-q")
    assert code == 0, out
    assert table_rows(out) == SHIPPED
    code, out, _ = cli("verify", "--config", config, "-q", "--jobs", "1")
    assert code == 0 and table_rows(out) == SHIPPED
    code, out, _ = cli("verify", "--config", config, "--variant", "hlsl compute mrt fp32 point", "-q")
    assert code == 0 and table_rows(out) == {"soft": ["hlsl compute mrt fp32 point"]}
    code, out, _ = cli("verify", "--config", config, "--lang", "hlsl", "-q")
    assert code == 0 and table_rows(out) == {"soft": ["hlsl compute mrt fp32 point"]}


@pytest.mark.gpu
def test_config_templates_are_what_gets_verified(tmp_path):
    """A template override that doubles the vertical pass ships wrong shaders: verification must fail."""
    shutil.copytree(ROOT / "templates" / "glsl", tmp_path / "tpl" / "glsl")
    vfrag = tmp_path / "tpl" / "glsl" / "blur_v.frag.glsl.j2"
    text = vfrag.read_text()
    assert " = {{ P.function }}(" in text
    vfrag.write_text(text.replace(" = {{ P.function }}(", " = 2.0 * {{ P.function }}("))
    config = project(tmp_path, 'templates = "tpl"')
    code, out, err = cli("build", config, "--verify", "-q")
    assert code == 1, out + err
    assert re.search(r"glsl300es fragment mrt fp32 linear .* FAIL", out)
    assert re.search(r"glsl330 compute mrt fp32 point .* ok", out)  # compute passes use other templates


@pytest.mark.gpu
def test_parallel_jobs_check_the_same(tmp_path):
    filt = random_filter("par", 3, (9, 7), origin=(2, 5), seed=11, positive=0.2)
    only = verify.select(["glsl330 fragment mrt fp16 linear", "glsl450 compute per-component fp32 point",
                          "glsl330 fragment per-component fp32 point"])
    one = verify.verify(filt, only=only, jobs=1)
    two = verify.verify(filt, only=only, jobs=2)
    assert [r.name for r in two] == [v.name for v in only]  # results in the order asked, whatever finished first
    assert [(r.max_abs, r.tolerance, r.error) for r in two] == [(r.max_abs, r.tolerance, r.error) for r in one]
    assert all(r.ok and r.renderer for r in two)
