"""sepgen.targets: one descriptor per language, read by options, emit and the runner choice."""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

import pytest

from sepgen import emit, targets
from sepgen.common.errors import SepgenError
from sepgen.emit import build_passes, generator
from sepgen.emit.context import environment, with_literals
from sepgen.emit.literals import float_literal
from sepgen.options import EMIT_OPTIONS, EmitOptions
from sepgen.plan import taps
from tests.support import hand_filter

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"


def test_the_registry_is_the_lang_choices_and_each_generator_is_its_descriptor():
    assert targets.names() == ("glsl", "hlsl", "wgsl", "spirv") == EMIT_OPTIONS["lang"].choices
    assert targets.get("hlsl").include_suffix == "hlsli" and targets.get("spirv").templates == "glsl"
    with pytest.raises(SepgenError, match="unknown shader language 'cobol'"):
        targets.get("cobol")
    for t in targets.all_targets():
        gen = emit.get_generator(t.name)
        assert (gen.name, gen.suffix, gen.include_suffix, gen.entry, gen.literal_suffix) == \
            (t.name, t.suffix, t.include_suffix, dict(t.entry), t.literal_suffix)
        assert gen.one_vertical_compute == t.one_vertical_compute and gen.scaled_taps == t.scaled_taps


def test_options_read_the_descriptors():
    glsl = targets.get("glsl")
    assert [f.name for f in glsl.fields] == ["glsl_version"]
    assert EMIT_OPTIONS["glsl_version"].choices == glsl.fields[0].choices
    assert EmitOptions.__language_fields__ == {"glsl_version": "glsl"}
    rule = glsl.constraints[0]
    assert any(c.when == (("lang", "glsl"), *rule.when) and c.message == rule.message
               for c in EmitOptions.__constraints__)
    # what a target filters in core decides the sampling default
    assert EmitOptions(lang="wgsl", precision="fp16").linear_sampling and not EmitOptions(lang="wgsl").linear_sampling
    assert not EmitOptions(lang="glsl", glsl_version="300es").linear_sampling
    assert EmitOptions(lang="hlsl").linear_sampling


def _old_backend_for(o: EmitOptions) -> str:
    """verify.runfilter.backend_for's rules before the descriptors held them."""
    if o.scale_source != "auto" and o.lang in ("glsl", "hlsl"):
        return "gl"
    if o.lang == "glsl":
        return "webgl" if o.glsl_version == "300es" else "gl"
    if o.lang == "wgsl":
        return "webgpu"
    if o.lang == "hlsl" and o.compute and o.precision == "fp16":
        return "gl"
    return "vulkan"


def _every_option_set() -> list[EmitOptions]:
    scaled = [o.replace(scale_source=s, linear_sampling=False) for o in EmitOptions.combinations()
              for s in ("uniform", "texture") if not o.compute]
    return EmitOptions.combinations() + scaled


@pytest.mark.parametrize("options", _every_option_set(), ids=lambda o: "-".join(map(str, o.to_dict().values())))
def test_runner_for_gives_the_runner_backend_for_gave(options):
    assert targets.runner_for(options) == options.runner == _old_backend_for(options)
    assert targets.runner_for(options.to_dict()) == options.runner


def test_runner_for_a_dict_of_some_options():
    assert targets.runner_for({"lang": "hlsl", "stage": "compute", "precision": "fp16"}) == "gl"
    assert targets.runner_for({"lang": "glsl", "glsl_version": "300es"}) == "webgl"
    assert targets.runner_for({"lang": "spirv", "scale_source": "uniform"}) == "vulkan"


def test_templates_never_name_a_language_for_their_literals():
    texts = {p: p.read_text(encoding="utf-8") for p in TEMPLATES.rglob("*.j2")}
    assert texts and not [p for p, t in texts.items() if 'lit("' in t or "lit('" in t or '"lit", "' in t]
    assert not (TEMPLATES / "spirv").exists()  # SPIR-V renders the GLSL templates


def test_a_new_language_is_a_descriptor_a_generator_and_templates(tmp_path):
    """The generator binds its descriptor's literal syntax: templates say `|lit`."""
    (tmp_path / "toy").mkdir()
    for name in ("fullscreen.vert.toy.j2", "include.toyi.j2"):
        (tmp_path / "toy" / name).write_text("{{ path }} {{ target.lang }} {{ 0.5|lit }}\n")
    for d in ("h", "v"):
        (tmp_path / "toy" / f"blur_{d}.frag.toy.j2").write_text(
            "{{ P.function }}:{% for i in P.inputs %}{% for f in i.fetches %}{% for t in f.terms %} {{ t.weight|lit }}"
            "{% endfor %}{% endfor %}{% endfor %} {{ [1.0]|map('lit')|join }}\n")
    toy = targets.Target(name="toy", suffix="toy", include_suffix="toyi", runner="gl", literal_suffix="t",
                         entry={"vertex": "vmain", "fragment": "fmain", "compute": "cmain"})

    class ToyGenerator(generator.Generator):
        language = toy

    generator.register(ToyGenerator)
    try:
        filt = hand_filter(rank=2, shape=(3, 3), origin=(1, 1))
        gen = ToyGenerator(EmitOptions())
        passes = build_passes(filt.name, taps.plan_passes(filt), gen)
        env = environment(tmp_path)
        files = {f.path: f for f in gen.generate(env, filt.name, passes, {})}
    finally:
        del generator.GENERATORS["toy"]
    assert files["hand.toyi"].text == "hand.toyi toy 0.5t\n" and files["hand_fullscreen.vert.toy"].file.entry == "vmain"
    words = files["hand_h0.frag.toy"].text.split()
    assert len(words) > 2 and all(w.endswith("t") for w in words[1:]) and words[-1] == "1.0t"
    assert env.filters["lit"] is float_literal  # bound on an overlay: the given environment is untouched


def test_spirv_sources_take_their_bindings_from_the_pass_model():
    filt = hand_filter(rank=2)
    rendered = emit.render(filt, {"lang": "spirv", "linear_sampling": True})
    p = rendered.manifest.passes[1]
    h = str(rendered[p.fragment[:-3] + "glsl"])
    for i in p.inputs:
        assert f"layout(set = {i.set}, binding = {i.binding}) uniform texture2D {i.uniform};" in h
        assert f"layout(set = {i.set}, binding = {i.sampler_binding}) uniform sampler {i.sampler};" in h
    moved = dataclasses.replace(p, inputs=tuple(dataclasses.replace(i, set=3) for i in p.inputs))
    env = with_literals(environment(), ("spirv", ""), emit.get_generator("spirv").lit)
    text = env.get_template("glsl/functions.glsl.j2").module.sampler({}, moved.inputs[0])
    assert "layout(set = 3, binding = 0) uniform texture2D" in text


def test_render_returns_the_typed_manifest_it_wrote():
    filt = hand_filter(rank=3)
    for options in (EmitOptions(lang="hlsl"), {"lang": "wgsl", "scale_source": "texture"}):
        rendered = emit.render(filt, options)
        assert isinstance(rendered, emit.Rendered) and "manifest.json" in rendered
        assert rendered.manifest.to_json() == rendered["manifest.json"]
        assert rendered.manifest.fetches_per_pixel == taps.counts(
            taps.plan_passes(filt, "mrt", rendered.manifest.options["linear_sampling"]))
    assert rendered.manifest.scale is not None and rendered.manifest.scale.texture == "scale"
    assert dict(rendered) == dict(emit.render(filt, options).items())


def test_extensions_come_from_the_descriptor():
    filt = hand_filter(rank=2)
    assert emit.render(filt, {"lang": "wgsl", "linear_sampling": True}).manifest.extensions == ("float32-filterable",)
    es = emit.render(filt, {"lang": "glsl", "glsl_version": "300es", "strategy": "per-component"}).manifest
    assert es.extensions == ("EXT_color_buffer_float", "EXT_float_blend")
    for lang, version in itertools.product(("glsl", "hlsl", "spirv"), ("330", "450")):
        rendered = emit.render(filt, {"lang": lang, "glsl_version": version, "linear_sampling": True})
        assert rendered.manifest.extensions == ()
