"""Linear sampling by default (issue 10): where the target allows it, --point-sampling to
turn it off, one read per location, and one bilinear read per shared split ratio."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sepgen import emit
from sepgen.filters.filterfile import SeparableFilter
from sepgen.options import EmitOptions
from tests.support import cli, hand_filter, relative_error

ROOT = Path(__file__).resolve().parents[2]
DISK = ROOT / "tests" / "data" / "disk50_rank4.json"


def shared_ratio_filter(rank: int = 3, pairs: int = 6, seed: int = 0) -> SeparableFilter:
    """Horizontal taps that split in one ratio per pair for every component (what a shared-ratio fit makes)."""
    rng = np.random.default_rng(seed)
    ratio = rng.uniform(0.05, 0.95, pairs)
    w = rng.normal(size=(rank, pairs))
    h = np.zeros((rank, 2 * pairs))
    h[:, 0::2], h[:, 1::2] = w * (1 - ratio), w * ratio
    v = rng.uniform(0.1, 1.0, (rank, 7)) * rng.choice([-1.0, 1.0], (rank, 1))
    return SeparableFilter("shared", np.einsum("ki,kj->ij", v, h), v, h)


@pytest.mark.parametrize(("options", "linear"), [
    ({}, True), ({"lang": "hlsl"}, True), ({"stage": "compute"}, False), ({"glsl_version": "300es"}, False),
    ({"glsl_version": "300es", "precision": "fp16"}, True), ({"linear_sampling": False}, False),
    ({"glsl_version": "300es", "linear_sampling": True}, True),
    ({"lang": "wgsl"}, False), ({"lang": "wgsl", "precision": "fp16"}, True),
    ({"lang": "spirv"}, False), ({"lang": "spirv", "precision": "fp16"}, True),
])
def test_linear_sampling_is_the_default_where_the_target_filters(options, linear):
    assert EmitOptions.from_dict(options).linear_sampling is linear


def test_the_command_line_names_only_what_differs_from_the_targets_default():
    assert "--point-sampling" in emit.default_command("f.json", {"linear_sampling": False}, "out")
    assert "sampling" not in emit.default_command("f.json", {"linear_sampling": True}, "out")
    assert "sampling" not in emit.default_command("f.json", {"stage": "compute"}, "out")


@pytest.mark.parametrize("linear", [False, True])
@pytest.mark.parametrize("filt", [hand_filter(rank=5, seed=3), SeparableFilter.load(DISK), shared_ratio_filter()],
                         ids=["hand", "disk", "shared"])
def test_no_pass_reads_one_location_twice(filt, linear):
    from sepgen.plan import taps

    for p in taps.plan_passes(filt, "mrt", linear):
        where = [(f.input, f.offset) for f in p.fetches]
        assert len(where) == len(set(where)), p.name


def test_a_shared_ratio_filter_costs_one_horizontal_fetch_per_pair():
    filt = shared_ratio_filter(rank=4, pairs=6)
    assert emit.fetch_counts(filt)["horizontal"] == 6
    assert emit.fetch_counts(filt, linear_sampling=False)["horizontal"] == 12


def test_the_disks_shared_horizontal_pass_merges_equal_neighbours():
    # The disk's flat middle gives every component equal neighbouring taps (ratio 1/2):
    # 15 pairs of offsets need one bilinear fetch each instead of two point fetches.
    counts = emit.fetch_counts(SeparableFilter.load(DISK))
    assert counts == {"horizontal": 35, "vertical": 90, "total": 125}


def test_cli_emit_defaults_to_linear_and_point_sampling_turns_it_off(tmp_path):
    def run(*args: str) -> str:
        r = cli("emit", DISK, *args, cwd=ROOT)
        assert r.returncode == 0, r.stderr
        return r.stderr

    assert "35 horizontal + 90 vertical = 125" in run("-o", str(tmp_path / "a"))
    assert "50 horizontal + 170 vertical = 220" in run("--point-sampling", "-o", str(tmp_path / "b"))
    assert '"linear_sampling": false' in (tmp_path / "b" / "manifest.json").read_text()


@pytest.mark.gpu
@pytest.mark.parametrize("lang", ["glsl", "hlsl"])
def test_shared_bilinear_reads_match_the_reference_on_the_gpu(lang, runners, cross_tools):
    filt = shared_ratio_filter(rank=3, pairs=6, seed=4)
    img = np.random.default_rng(5).random((23, 31, 4)).astype(np.float32)
    rel, _, _ = relative_error(filt, {"lang": lang}, img, runners)
    assert rel <= 1e-5
