"""sepgen.options.EmitOptions: checked emit options, constraints as data."""

from __future__ import annotations

import dataclasses
import itertools

import pytest

from sepgen import emit
from sepgen.common.errors import SepgenError
from sepgen.options import EMIT_OPTIONS, ENGINE_FIELDS, EmitOptions


def _by_trial() -> list[dict]:
    """The old way: try every product of choices and keep what constructs (HLSL: one glsl_version)."""
    out = []
    # options without choices (the binding placement) are not enumerated: their default only
    choices = ((False, True) if o.type is bool else o.choices or (o.default,) for o in EMIT_OPTIONS.values())
    for values in itertools.product(*choices):
        combo = dict(zip(EMIT_OPTIONS, values))
        if combo["lang"] != "glsl" and combo["glsl_version"] != EMIT_OPTIONS["glsl_version"].default:
            continue
        if combo["scale_source"] != EMIT_OPTIONS["scale_source"].default:  # depends on the filter: not enumerated
            continue
        if any(combo[n] != EMIT_OPTIONS[n].default for n in ENGINE_FIELDS):  # engine controls: not enumerated
            continue
        for name in EmitOptions.__filter_fields__:  # filter and binding fields are listed only when set
            combo.pop(name)
        try:
            EmitOptions(**combo)
        except SepgenError:
            continue
        out.append(combo)
    return out


def test_combinations_are_enumerated_from_the_constraints():
    combos = EmitOptions.combinations()
    assert [c.to_dict() for c in combos] == _by_trial() == emit.option_combinations()
    assert len(combos) == 68  # 32 GLSL + 12 each for HLSL, WGSL and SPIR-V
    assert ({c.lang: sum(d.lang == c.lang for d in combos) for c in combos}
            == {"glsl": 32, "hlsl": 12, "wgsl": 12, "spirv": 12})
    assert not any(c.compute and c.linear_sampling for c in combos)
    assert not any(c.compute and c.lang == "glsl" and c.glsl_version == "300es" for c in combos)


@pytest.mark.parametrize("options, message", [
    ({"stage": "compute", "linear_sampling": True}, "--linear-sampling applies to fragment passes only"),
    ({"stage": "compute", "glsl_version": "300es"}, "compute passes need desktop GLSL"),
    ({"lang": "metal"}, "lang must be one of glsl, hlsl, wgsl, spirv"),
    ({"stage": "compute", "scale_source": "texture"}, "scaled taps need fragment passes"),
    ({"linear_sampling": True, "scale_source": "uniform"}, "scaled taps are bilinear fetches already"),
    ({"scale_source": "coc"}, "scale_source must be one of auto, uniform, texture"),
    ({"linear_sampling": 1}, "linear_sampling must be bool"),
    ({"colour": "red"}, "unknown emit option 'colour'"),
])
def test_bad_options_are_refused(options, message):
    with pytest.raises(SepgenError, match=message):
        EmitOptions.from_dict(options)


def test_hlsl_compute_on_300es_default_is_fine_and_glsl_version_means_nothing_there():
    o = EmitOptions(lang="hlsl", stage="compute", glsl_version="300es")
    assert "glsl_version" not in o.meaningful() and "glsl_version" in o.to_dict()
    assert EmitOptions().meaningful() == EmitOptions().to_dict()


def test_options_are_frozen_and_answer_questions():
    o = EmitOptions.from_dict({"stage": "compute", "precision": "fp16"})
    assert o.compute and o.intermediate_format == "rgba16f" and not EmitOptions().compute
    assert EmitOptions.from_dict(o) is o
    with pytest.raises(dataclasses.FrozenInstanceError):
        o.stage = "fragment"  # type: ignore[misc]  # the point: frozen
    # filter fields only when set
    unset = ("scale_source", "descriptor_set", "binding_offset", *ENGINE_FIELDS)
    assert list(o.to_dict()) == [n for n in EMIT_OPTIONS if n not in unset]
    assert list(o.replace(stage="fragment", scale_source="texture").to_dict()) == [
        n for n in EMIT_OPTIONS if n not in ("descriptor_set", "binding_offset", *ENGINE_FIELDS)]
    placed = o.replace(lang="wgsl", stage="fragment", scale_source="texture", descriptor_set=1, binding_offset=4)
    assert list(placed.to_dict()) == [n for n in EMIT_OPTIONS if n not in ENGINE_FIELDS]
    assert list(placed.replace(output_format="rgba16f").to_dict()) == [
        n for n in EMIT_OPTIONS if n not in ("channels", "intermediates")]
