"""Filter files: exact round trip, deterministic bytes, rejected malformed files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sepgen.common.errors import SepgenError
from sepgen.filters.filterfile import FORMAT, SeparableFilter
from sepgen.kernels import disk


def _filter(seed: int = 0, shape=(5, 7), rank=2) -> SeparableFilter:
    rng = np.random.default_rng(seed)
    target = rng.random(shape)
    target[0, 0] = 0.0
    v = rng.normal(size=(rank, shape[0])) * np.array([[1e-300], [1e10]])[:rank]  # extreme magnitudes
    h = rng.normal(size=(rank, shape[1]))
    h[0, 1] = 0.0
    h[1, 2] = 1 / 3
    prov = {"kernel": {"kernel": "array", "shape": list(shape)}, "weights": {"l2": 1.0, "nonneg": 0.5, "zeros": 0.3},
            "lr": 0.1}
    return SeparableFilter("f_test", target, v, h, None, prov)


def test_save_load_save_is_byte_identical_and_floats_exact(tmp_path):
    f = _filter()
    f.save(tmp_path / "a.json")
    g = SeparableFilter.load(tmp_path / "a.json")
    g.save(tmp_path / "b.json")
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    for a, b in ((f.target, g.target), (f.vertical, g.vertical), (f.horizontal, g.horizontal)):
        assert a.dtype == b.dtype == np.float64
        assert np.array_equal(a, b)  # exact, not approximately
    assert g.origin == (2, 3) and g.provenance == f.provenance and g.name == f.name


def test_document_layout(tmp_path):
    f = _filter()
    doc = json.loads(f.to_json())
    assert list(doc)[:6] == ["format", "name", "origin", "rank", "target", "components"]
    assert doc["format"] == FORMAT
    assert len(doc["components"]) == 2 and set(doc["components"][0]) == {"vertical", "horizontal"}
    approx = sum(np.outer(c["vertical"], c["horizontal"]) for c in doc["components"])
    assert np.array_equal(approx, f.reconstruct())
    m = doc["metrics"]
    assert m["zero_taps"] == 1 and "loss_terms" in m and "loss" in m
    for key in ("relative_l2", "negative_mass", "leak", "max_error"):
        assert key in m


def test_same_filter_same_bytes():
    assert _filter(3).to_json() == _filter(3).to_json()
    assert _filter(3).to_json() != _filter(4).to_json()


def test_metrics_are_recomputed_not_trusted(tmp_path):
    f = _filter()
    doc = json.loads(f.to_json())
    doc["metrics"]["zero_taps"] = 999
    g = SeparableFilter.from_dict(doc)
    assert g.metrics()["zero_taps"] == 1


def _doc(**change):
    doc = json.loads(SeparableFilter("k", disk(3), np.ones((1, 3)), np.ones((1, 3))).to_json())
    doc.update(change)
    return doc


@pytest.mark.parametrize(
    "doc, words",
    [
        (_doc(format="other/1"), "format"),
        (_doc(name="3bad"), "identifier"),
        (_doc(components=[]), "non-empty"),
        (_doc(components=[{"vertical": [1, 1, 1]}]), "'vertical' and 'horizontal'"),
        (_doc(components=[{"vertical": [1, 1], "horizontal": [1, 1, 1]}]), "2x3 taps"),
        (_doc(target=[[1, 2], [3]]), "target"),
        (_doc(origin=[5, 5]), "origin"),
        (_doc(origin=[1.5, 1]), "origin"),
        (_doc(provenance=[]), "provenance"),
        ([], "JSON object"),
    ],
)
def test_rejects_malformed_documents(doc, words):
    with pytest.raises(SepgenError, match=words) as err:
        SeparableFilter.from_dict(doc)
    assert "\n" not in str(err.value)


def test_rejects_bad_files(tmp_path):
    (tmp_path / "nan.json").write_text(json.dumps(_doc()).replace("1.0", "NaN", 1))
    (tmp_path / "broken.json").write_text("{\"format\": ")
    for name, words in (("nan.json", "NaN"), ("broken.json", "not valid JSON"), ("missing.json", "does not exist")):
        with pytest.raises(SepgenError, match=words) as err:
            SeparableFilter.load(tmp_path / name)
        assert "\n" not in str(err.value)


def test_refuses_to_write_non_finite(tmp_path):
    with pytest.raises(SepgenError):
        SeparableFilter("k", np.ones((2, 2)), np.array([[np.nan, 1.0]]), np.ones((1, 2)))


# --- inconsistent files (issue 12, items 5 and 8) -----------------------------------------


def _two_component_doc() -> dict:
    return json.loads(SeparableFilter("k", disk(3), np.ones((2, 3)), np.ones((2, 3))).to_json())


def _set_tap(doc: dict, comp: int, key: str, index: int, value) -> dict:
    doc["components"][comp][key][index] = value
    return doc


@pytest.mark.parametrize(
    "doc, message",
    [
        ({**_two_component_doc(), "rank": 1}, "filter file x.json: 'rank' is 1 but 'components' holds 2"),
        ({**_two_component_doc(), "rank": 3}, "filter file x.json: 'rank' is 3 but 'components' holds 2"),
        ({**_two_component_doc(), "rank": "2"}, "filter file x.json: 'rank' must be an integer, got '2'"),
        (_set_tap(_two_component_doc(), 1, "horizontal", 2, "0.1"),
         "filter file x.json: component 1 'horizontal'[2] is the string \"0.1\", expected a number"),
        (_set_tap(_two_component_doc(), 0, "vertical", 0, None),
         "filter file x.json: component 0 'vertical'[0] is null, expected a number"),
        (_set_tap(_two_component_doc(), 0, "vertical", 1, True),
         "filter file x.json: component 0 'vertical'[1] is true, expected a number"),
        ({**_two_component_doc(), "target": [[1, 1, 1], [1, "1", 1], [1, 1, 1]]},
         "filter file x.json: 'target'[1][1] is the string \"1\", expected a number"),
        (_set_tap(_two_component_doc(), 1, "vertical", 2, 1e39),
         "filter file x.json: component 1 'vertical'[2] = 1e+39 does not fit in a float32"),
    ],
    ids=["rank_smaller", "rank_larger", "rank_string", "string_tap", "null_tap", "bool_tap", "string_target",
         "tap_beyond_float32"],
)
def test_rejects_inconsistent_files(tmp_path, doc, message):
    (tmp_path / "x.json").write_text(json.dumps(doc))
    with pytest.raises(SepgenError) as err:
        SeparableFilter.load(tmp_path / "x.json")
    assert str(err.value) == message.replace("x.json", str(tmp_path / "x.json"))


def test_rank_key_is_optional():
    doc = _two_component_doc()
    del doc["rank"]
    assert SeparableFilter.from_dict(doc).rank == 2


def test_filter_beyond_float32_names_component_and_tap():
    v = np.ones((2, 3))
    v[1, 2] = 1e39
    with pytest.raises(SepgenError) as err:
        SeparableFilter("k", np.ones((3, 3)), v, np.ones((2, 3)))
    assert str(err.value) == "filter k: component 1 vertical[2] = 1e+39 does not fit in a float32"


def test_float32_literal_message_is_a_plain_number():
    from sepgen.emit.literals import float32

    with pytest.raises(SepgenError) as err:
        float32(np.float64(1e39))
    assert str(err.value) == "coefficient 1e+39 does not fit in a float32"
def _scalable(scales=(0.5, 1.0)) -> SeparableFilter:
    k = disk(12)
    spec = {"kernel": "disk", "size": 12, "antialias": False}
    return SeparableFilter("d12", k / k.sum(), [k.sum(axis=1) / k.sum()], [k.sum(axis=0) / k.sum()],
                           provenance={"kernel": spec}, scales=scales)


def test_scales_round_trip_with_per_scale_metrics(tmp_path):
    f = _scalable((1, 0.5))
    assert f.scales == (0.5, 1.0)  # sorted
    f.save(tmp_path / "s.json")
    doc = json.loads((tmp_path / "s.json").read_text())
    assert list(doc)[list(doc).index("components") + 1] == "scales" and doc["scales"] == [0.5, 1.0]
    rows = doc["metrics"]["scales"]
    assert [r["scale"] for r in rows] == [0.5, 1.0]
    assert rows[1]["relative_l2"] == pytest.approx(doc["metrics"]["relative_l2"])  # scale 1 is the filter
    assert rows[0]["relative_l2"] != rows[1]["relative_l2"] and rows[0]["dc_gain"] == pytest.approx(1.0)
    g = SeparableFilter.load(tmp_path / "s.json")
    assert g.scales == (0.5, 1.0)
    g.save(tmp_path / "t.json")
    assert (tmp_path / "s.json").read_bytes() == (tmp_path / "t.json").read_bytes()
    assert "scales" not in json.loads(_filter().to_json())  # unscaled files stay as they were


@pytest.mark.parametrize("scales, words", [([], "non-empty"), ([0.5, 0.5], "more than once"), ([0, 1], "outside"),
                                           ("0.5", "non-empty"), ([1.5], "outside")])
def test_rejects_bad_scales(tmp_path, scales, words):
    doc = json.loads(_scalable().to_json())
    doc["scales"] = scales
    with pytest.raises(SepgenError, match=rf"^x\.json: 'scales'.*{words}"):
        SeparableFilter.from_dict(doc, "x.json")
