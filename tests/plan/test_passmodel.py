"""sepgen.plan.passmodel: the typed manifest, its serialisation and its validating load()."""

from __future__ import annotations

import json

import pytest

from sepgen import emit
from sepgen.common.errors import SepgenError
from sepgen.options import EmitOptions
from sepgen.plan import passmodel
from tests.support import disk_filter, hand_filter, wide_filter


@pytest.mark.parametrize("options", EmitOptions.combinations(), ids=lambda o: "-".join(map(str, o.to_dict().values())))
def test_load_gives_back_the_bytes_emit_wrote(tmp_path, options):
    files = emit.render(wide_filter(), options)
    emit.write(files, tmp_path)
    manifest = passmodel.load(tmp_path)
    assert manifest.to_json() == files[passmodel.MANIFEST]
    assert manifest.texture("input").name == "source" and manifest.texture("output").name == "output"
    assert all(p.is_compute == options.compute for p in manifest.passes)


def test_shader_side_fields_stay_out_of_the_manifest():
    text = emit.render(disk_filter(), {"linear_sampling": True})[passmodel.MANIFEST]
    for key in ('"param"', '"fetches"', '"function"', '"name": "o_'):
        assert key not in text


def _folder(tmp_path, change):
    files = emit.render(hand_filter(), {})
    emit.write(files, tmp_path)
    doc = json.loads(files[passmodel.MANIFEST])
    change(doc)
    (tmp_path / passmodel.MANIFEST).write_text(json.dumps(doc))
    return tmp_path


@pytest.mark.parametrize("change, message", [
    (lambda d: d.update(format="other"), "not a sepgen-manifest/1"),
    (lambda d: d.update(passes=[]), "'passes' is missing or empty"),
    (lambda d: d["textures"].pop("output"), "no texture with role 'output'"),
    (lambda d: d["textures"]["hand_t0"].update(format="rgb8"), "texture format 'rgb8'"),
    (lambda d: d["passes"][1].update(blend="accumulate"), "blend 'accumulate' is not valid for a fragment pass"),
    (lambda d: d["passes"][0]["outputs"][0].update(location=3), "are not 0..n-1"),
    (lambda d: d["passes"][0]["inputs"][0].update(texture="nope"), "unknown texture 'nope'"),
    (lambda d: d["passes"][0]["inputs"][0].pop("binding"), "integer 'binding'"),
    (lambda d: d["passes"][0]["inputs"][0].update(set=-1), "'set' must be a non-negative integer, got -1"),
    (lambda d: d["passes"][1]["inputs"][0].update(sampler_binding="64"),
     "'sampler_binding' must be a non-negative integer"),
    (lambda d: d["passes"][0].pop("fragment"), "needs 'vertex' and 'fragment'"),
    (lambda d: d["passes"][0].update(compute="x.comp.glsl", workgroup_size=[0, 1]), "positive 'workgroup_size'"),
])
def test_load_refuses_bad_manifests_in_one_line(tmp_path, change, message):
    folder = _folder(tmp_path, change)
    with pytest.raises(SepgenError, match=message) as info:
        passmodel.load(folder)
    assert "\n" not in str(info.value) and str(folder) in str(info.value)


def test_missing_and_broken_files(tmp_path):
    with pytest.raises(SepgenError, match="does not exist"):
        passmodel.load(tmp_path)
    (tmp_path / passmodel.MANIFEST).write_text("{")
    with pytest.raises(SepgenError, match="not valid JSON"):
        passmodel.load(tmp_path)


def test_optional_resource_fields_are_written_only_when_set():
    plain = passmodel.PassInput("source", "u_source", 0)
    assert "sampler" not in plain.to_dict()
    linear = passmodel.PassInput("source", "u_source", 0, "linear", "u_source_sampler")
    assert linear.to_dict()["sampler"] == "u_source_sampler" and linear.param_sampler is None  # no param given
    out = passmodel.PassOutput("output", 0, "rgba32f", binding=2, uniform="u_output")
    assert "binding" not in out.to_dict(compute=False) and out.to_dict(compute=True)["binding"] == 2
    assert out.unit == 2 and passmodel.PassOutput("output", 1, "rgba32f").unit == 1


@pytest.mark.parametrize("options", [{"lang": "glsl", "scale_source": "uniform"},
                                     {"lang": "glsl", "glsl_version": "450", "scale_source": "uniform"},
                                     {"lang": "spirv", "scale_source": "uniform"},
                                     {"lang": "hlsl", "scale_source": "texture"}])
def test_the_scale_entry_is_typed_and_loads_back_as_written(tmp_path, options):
    rendered = emit.render(hand_filter(), options)
    emit.write(rendered, tmp_path)
    scale = passmodel.load(tmp_path).scale
    assert isinstance(scale, passmodel.ScaleEntry) and scale == rendered.manifest.scale
    assert scale.source == options["scale_source"]
    assert scale.to_dict() == json.loads(rendered[passmodel.MANIFEST])["scale"]
    if options["lang"] == "spirv":
        assert (scale.set, scale.binding, scale.block) == (0, 192, "hand_Scale")
    if scale.source == "texture":
        assert (scale.texture, scale.channel, scale.set) == ("scale", "r", None)


def test_a_bad_scale_entry_is_refused_in_one_line(tmp_path):
    emit.write(emit.render(hand_filter(), {"scale_source": "uniform"}), tmp_path)
    doc = json.loads((tmp_path / passmodel.MANIFEST).read_text())
    doc["scale"]["fitted_scales"] = "0.5"
    (tmp_path / passmodel.MANIFEST).write_text(json.dumps(doc))
    with pytest.raises(SepgenError, match="'fitted_scales' must be a list of numbers or null"):
        passmodel.load(tmp_path)
