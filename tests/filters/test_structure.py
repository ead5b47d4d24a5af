"""sepgen.filters.structure: a filter's structure in the filter file, the planner and the fit.

`separable` (free and shared-ratio pairs) is the first structure: files without a
`structure` key hold it, and a separable filter is written without the key, byte for byte.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from sepgen import emit
from sepgen.common.errors import SepgenError
from sepgen.filters import structure as structures
from sepgen.filters.filterfile import SeparableFilter
from sepgen.filters.separable import Separable
from sepgen.fitting import budget
from sepgen.options import EmitOptions
from sepgen.plan import taps
from tests.support import DISK


def _pairs(seed: int = 0, rank: int = 3, shape: tuple[int, int] = (9, 7), origin=(4, 2)) -> SeparableFilter:
    rng = np.random.default_rng(seed)
    v = rng.normal(size=(rank, shape[0])) * (rng.random((rank, shape[0])) > 0.3)
    h = rng.normal(size=(rank, shape[1])) * (rng.random((rank, shape[1])) > 0.3)
    h[:, 2:4] = (np.abs(h[:, 2:3]) + 0.1) * [0.25, 0.75]  # one ratio at a pair of offsets: one bilinear read
    return SeparableFilter("pairs", rng.random(shape), v, h, origin)


def test_separable_is_a_structure_and_the_default():
    assert structures.names() == ["separable", "rows"] and structures.DEFAULT == "separable"  # rows: issue 18
    filt = _pairs()
    s: structures.Structure = filt.structure  # the protocol, statically
    assert isinstance(s, Separable) and s.name == "separable" and s.origin == filt.origin and s.rank == filt.rank
    assert structures.lookup("separable") is Separable
    assert structures.of_document({}, "x.json") is Separable  # no key: separable


def test_the_structure_reconstructs_plans_and_counts_what_the_filter_and_emit_do():
    for seed in range(4):
        filt = _pairs(seed)
        s = filt.structure
        assert np.array_equal(s.reconstruct(), filt.reconstruct())
        assert np.array_equal(s.reconstruct(), sum(np.outer(v, h) for v, h in zip(filt.vertical, filt.horizontal)))
        for linear in (False, True):
            opts = EmitOptions(linear_sampling=linear)
            assert s.fetch_counts(opts) == emit.fetch_counts(filt, linear_sampling=linear)
            assert taps.counts(s.plan(opts, one_vertical=True)) == s.fetch_counts(opts)
        assert s.fetch_counts() == emit.fetch_counts(filt)  # emit's defaults
        assert s.fetch_counts(EmitOptions(linear_sampling=True))["horizontal"] < \
            s.fetch_counts(EmitOptions(linear_sampling=False))["horizontal"]  # the shared pair is one read


def test_the_search_counts_candidates_through_the_structure_as_emit_would():
    count = budget.emitted_fetches((4, 2))
    for seed in range(4):
        filt = _pairs(seed)
        assert count(filt.vertical, filt.horizontal) == emit.fetch_counts(filt)


def test_separable_files_load_unchanged_and_keep_their_bytes(tmp_path):
    text = SeparableFilter.load(DISK).to_json()
    doc = json.loads(text)
    assert "structure" not in doc and list(doc)[:6] == ["format", "name", "origin", "rank", "target", "components"]
    named = SeparableFilter.from_dict({**doc, "structure": "separable"})  # saying it is allowed ...
    assert named.to_json() == text  # ... and not written: the default structure writes no key
    assert SeparableFilter.from_json(text).to_json() == text


@pytest.mark.parametrize("value, words", [
    ("hexes", "unknown structure 'hexes' (known: separable, rows)"),  # rows is known since issue 18
    (5, "'structure' must be a string naming a structure (separable, rows), got 5"),
    (None, "'structure' must be a string naming a structure (separable, rows), got None"),
])
def test_unknown_structures_are_one_line_errors(tmp_path, value, words):
    doc = json.loads(DISK.read_text())
    (tmp_path / "x.json").write_text(json.dumps({**doc, "structure": value}))
    with pytest.raises(SepgenError) as err:
        SeparableFilter.load(tmp_path / "x.json")
    assert str(err.value) == f"filter file {tmp_path / 'x.json'}: {words}"


class _Rows:
    """A stand-in for a second structure (the next issue's `rows`)."""

    name = "rows"


def test_a_file_of_another_structure_is_not_read_as_pairs(monkeypatch):
    monkeypatch.setitem(structures.STRUCTURES, "rows", _Rows)
    doc = json.loads(DISK.read_text())
    with pytest.raises(SepgenError, match=r"^x\.json holds a 'rows' filter, not a separable one$"):
        SeparableFilter.from_dict({**doc, "structure": "rows"}, "x.json")


def test_only_another_structure_writes_the_key_next_to_the_name():
    from sepgen.filters.filterfile import _in_file_order

    assert structures.key(Separable(np.ones((1, 3)), np.ones((1, 3)), (1, 1))) == {}
    assert structures.key(_Rows()) == {"structure": "rows"}  # type: ignore[arg-type]  # only its name is read
    doc = {"format": "f", "name": "n", "origin": [0, 0], "target": [[1.0]], "boxes": [], "provenance": {},
           "metrics": {}, **structures.key(_Rows())}  # type: ignore[arg-type]  # only its name is read
    assert list(_in_file_order(doc)) == ["format", "name", "structure", "origin", "target", "boxes", "provenance",
                                         "metrics"]
