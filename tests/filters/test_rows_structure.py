"""issue 18: `rows` as a registered structure, its filter file, `--structure` and its bad input."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from sepgen import kernels
from sepgen.common.errors import SepgenError
from sepgen.filters import rows, structure
from sepgen.filters.filterfile import SeparableFilter
from sepgen.filters.rowsfile import RowsFilter, filter_from_json, load_filter
from sepgen.filters.rowsfilter import Rows, check_structure
from sepgen.options import EmitOptions
from sepgen.plan import rowsplan
from tests.cli.test_bad_input import check_rejected, inputs  # noqa: F401  (the fixture and the checker)


def binary_disk(size: int = 50) -> np.ndarray:
    k = kernels.disk(size)
    return k / k.sum()


def test_rows_is_a_registered_structure() -> None:
    assert structure.lookup("rows") is Rows
    assert structure.of_document({"structure": "rows"}, "f") is Rows
    assert structure.of_document({}, "f").name == "separable"  # sepgen-filter/1 without the key


def test_rows_filter_file_round_trip_and_structure_key() -> None:
    k = binary_disk()
    filt = RowsFilter("disk50", k, rows.exact_layout(k))
    text = filt.to_json()
    doc = json.loads(text)
    assert doc["structure"] == "rows" and doc["axis"] in rows.AXES and len(doc["lines"]) == 50
    again = filter_from_json(text)
    assert isinstance(again, RowsFilter)
    assert again.to_json() == text  # deterministic, exact
    np.testing.assert_array_equal(again.reconstruct(), k)
    with pytest.raises(SepgenError, match="holds a 'rows' filter, not a separable one"):
        SeparableFilter.from_json(text)


def test_separable_files_still_load_through_the_any_loader(tmp_path: Path) -> None:
    k = binary_disk(9)
    u, s, vt = np.linalg.svd(k)
    sep = SeparableFilter("blur", k, (u[:, :2] * s[:2]).T, vt[:2])
    sep.save(tmp_path / "s.json")
    assert "structure" not in json.loads((tmp_path / "s.json").read_text())
    assert isinstance(load_filter(tmp_path / "s.json"), SeparableFilter)


def test_fetch_counts_include_the_scan_per_target() -> None:
    k = binary_disk()
    st = RowsFilter("d", k, rows.exact_layout(k)).structure
    gather = st.gather_fetches()
    assert gather == 2 * 50  # integer ends are read exactly: a shared pair takes two point reads per end
    assert st.gather_fetches(point=True) == gather  # no fractional end: point reads cost the same
    frag = st.fetch_counts()
    comp = st.fetch_counts(EmitOptions.from_dict({"stage": "compute"}))
    tile = rowsplan.tile_for(50)
    assert tile == 128
    assert frag == {"scan": 2 + 4 * (7 - 1), "gather": gather, "total": 26 + gather}
    assert comp == {"scan": 2, "gather": gather, "total": 2 + gather}
    assert comp["total"] <= 2 * 50 + 4  # the goal for the binary disk (compute)


def test_rows_file_errors_are_one_line() -> None:
    k = binary_disk(9)
    doc = json.loads(RowsFilter("d", k, rows.exact_layout(k)).to_json())
    del doc["lines"]
    with pytest.raises(SepgenError, match="has no 'lines'"):
        filter_from_json(json.dumps(doc), "f.json")
    doc = json.loads(RowsFilter("d", k, rows.exact_layout(k)).to_json())
    doc["lines"][0] = [[3.0, 1.0, 1.0]]
    with pytest.raises(SepgenError, match="f.json: rows line 0 box 0"):
        filter_from_json(json.dumps(doc), "f.json")


def test_structure_defaults_and_conflicts() -> None:
    assert check_structure(None, rank_given=True, searching=False) == "separable"
    assert check_structure(None, rank_given=False, searching=True) == "auto"
    with pytest.raises(SepgenError, match="takes no --rank"):
        check_structure("rows", rank_given=True, searching=False)


def test_fit_structure_rows_binary_disk_is_exact() -> None:
    import sepgen

    filt = sepgen.fit({"kernel": "disk", "size": 50}, structure="rows")
    assert isinstance(filt, RowsFilter)
    assert filt.metrics()["relative_l2"] == 0.0


ROWS_CASES = {
    "rows_with_rank": (["--size", "9", "--structure", "rows", "--rank", "2"], "--structure rows takes no --rank"),
    "rows_budget_too_small": (["--size", "50", "--antialias", "--structure", "rows", "--budget", "40"],
                              "below the cheapest rows filter of this kernel: --budget 76 or more"),
    "rows_negative_kernel": (["--kernel", "file:neg.npy", "--structure", "rows"],
                             "use the separable structure for kernels with negative lobes"),
    "unknown_structure": (["--size", "9", "--structure", "boxes"], "structure must be one of separable, rows, auto"),
    # rows filters scale analytically (issue 18 item 4); auto would search both structures
    "auto_with_scales": (["--size", "9", "--budget", "40", "--scales", "0.5,1"],
                         "--scales needs --structure separable or rows (auto would search both), got auto"),
}


@pytest.mark.parametrize("case", list(ROWS_CASES))
def test_optimize_rejects_rows_input(inputs: Path, case: str) -> None:  # noqa: F811
    k = -0.1 * np.ones((5, 5))
    k[2, 2] = 3.0
    np.save(inputs / "neg.npy", k)
    args, expect = ROWS_CASES[case]
    check_rejected(inputs, ["optimize", "--steps", "5", *args, "-o", "out.json"], expect)


ROWS_BUILD_CONFIGS = {
    "rows_with_rank": ('structure = "rows"\nrank = 2\n', "--structure rows takes no --rank"),
    "rows_for_glsl450": ('structure = "rows"\nglsl_version = "450"\n', "rows filters are emitted for GLSL 330"),
    "unknown_structure": ('structure = "hexes"\n', "structure must be one of separable, rows, auto"),
}


@pytest.mark.parametrize("case", list(ROWS_BUILD_CONFIGS))
def test_build_rejects_rows_configs(inputs: Path, case: str) -> None:  # noqa: F811
    extra, expect = ROWS_BUILD_CONFIGS[case]
    table = '[output]\ndir = "out"\n\n[[filter]]\nname = "b"\nkernel = "disk"\nsize = 9\n'
    (inputs / "c.toml").write_text(table + extra)
    msg = check_rejected(inputs, ["build", "c.toml"], expect)
    assert "c.toml: filter 'b'" in msg


class _Fake:
    """A candidate of the structure choice: its error and fetch count are all `choose` reads."""

    def __init__(self, name: str, err: float, fetches: int) -> None:
        self.name, self.err, self.fetches = name, err, fetches
        self.target = np.ones((1, 2))
        outer = self

        class _S:
            def fetch_counts(self, options=None):
                return {"total": outer.fetches}

        self.structure = _S()

    def reconstruct(self) -> np.ndarray:
        return np.array([[1.0, 1.0 + self.err * math.sqrt(2)]])


def test_auto_keeps_the_lower_error_within_a_budget_and_the_cheaper_for_a_target() -> None:
    from sepgen.fitting.rowsfit import choose, relative_l2

    pairs, boxes = _Fake("pairs", 0.13, 120), _Fake("rows", 0.02, 118)
    assert relative_l2(boxes) == pytest.approx(0.02)
    assert choose([pairs, boxes], budget=120, target_error=None) is boxes
    cheap = _Fake("cheap", 0.04, 60)
    assert choose([boxes, cheap], budget=None, target_error=0.05) is cheap  # both meet it: fewer fetches
    assert choose([boxes, cheap], budget=None, target_error=0.01) is boxes  # neither: the lower error


def test_optimize_and_build_make_scalable_rows_filters(tmp_path: Path) -> None:
    """issue 18 item 4: `--structure rows --scales` (and a build's `scales` with structure rows)
    record the scales (the fit at 1 serves every scale); emit then reads a scale uniform."""
    from tests.support import cli

    res = cli("optimize", "--size", "9", "--structure", "rows", "--budget", "40", "--scales", "1,0.25",
              "-o", tmp_path / "r.json")
    assert res.code == 0, res.stderr
    filt = load_filter(tmp_path / "r.json")
    assert isinstance(filt, RowsFilter) and filt.scales == (0.25, 1.0)
    assert filt.provenance["scales"] == [0.25, 1.0] and "scale 0.25: relative L2" in res.stdout
    res = cli("emit", tmp_path / "r.json", "-o", tmp_path / "sh")
    assert res.code == 0, res.stderr
    manifest = json.loads((tmp_path / "sh" / "manifest.json").read_text())
    assert manifest["scale"] == {"source": "uniform", "uniform": "u_scale", "fitted_scales": [0.25, 1.0]}
    (tmp_path / "c.toml").write_text('[output]\ndir = "out"\n\n[[filter]]\nname = "b"\nkernel = "disk"\nsize = 9\n'
                                     'structure = "rows"\nscales = [0.5, 1.0]\nscale_source = "texture"\n')
    res = cli("build", tmp_path / "c.toml", cwd=tmp_path)
    assert res.code == 0, res.stderr
    manifest = json.loads(next((tmp_path / "out").rglob("manifest.json")).read_text())
    assert manifest["structure"] == "rows" and manifest["scale"]["source"] == "texture"
    assert manifest["scale"]["fitted_scales"] == [0.5, 1.0]
