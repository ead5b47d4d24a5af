"""sepgen.emit.generator: the per-language contract, proved with a toy language."""

from __future__ import annotations

import json

import pytest

from sepgen import emit
from sepgen.common.errors import SepgenError
from sepgen.emit import build_passes, generator
from sepgen.emit.context import environment
from sepgen.options import EMIT_OPTIONS, EmitOptions
from sepgen.plan import taps
from tests.support import hand_filter, wide_filter


def test_registry_holds_one_class_per_language():
    assert set(emit.GENERATORS) == set(EMIT_OPTIONS["lang"].choices)
    assert emit.get_generator("hlsl").include_suffix == "hlsli"
    with pytest.raises(SepgenError, match="no generator for language 'cobol'"):
        emit.get_generator("cobol")


@pytest.mark.parametrize("options", EmitOptions.combinations(), ids=lambda o: "-".join(map(str, o.to_dict().values())))
def test_outputs_are_the_manifest_files(options):
    filt = wide_filter()  # rank 11: two MRT groups
    gen = emit.get_generator(options.lang)(options)
    passes = build_passes(filt.name, taps.plan_passes(filt, options.strategy, options.linear_sampling,
                                                      options.compute and gen.one_vertical_compute), gen)
    outputs = gen.outputs(filt.name, passes)
    man = json.loads(emit.render(filt, options)["manifest.json"])
    assert sorted(o.file.to_dict()["path"] for o in outputs) == [f["path"] for f in man["files"]]
    assert [f.to_dict() for f in sorted((o.file for o in outputs), key=lambda f: f.path)] == man["files"]
    for o in outputs:
        if o.source is None:
            # its descriptor's templates folder: the language's own, GLSL's for SPIR-V (Vulkan GLSL sources)
            assert o.template.startswith(f"{options.target.templates}/") and o.template.endswith(".j2")
        else:  # built from an earlier output (a .spv from its GLSL source)
            assert o.source in [p.file.path for p in outputs[: outputs.index(o)]]


def test_a_new_language_is_one_class_plus_its_templates(tmp_path):
    (tmp_path / "toy").mkdir()
    for name in ("fullscreen.vert.toy.j2", "include.toyi.j2"):
        (tmp_path / "toy" / name).write_text("{{ path }} {{ target.lang }} {{ rank }}\n")
    for d in ("h", "v"):
        (tmp_path / "toy" / f"blur_{d}.frag.toy.j2").write_text(
            "{{ P.function }}:{% for i in P.inputs %} {{ i.uniform }}@{{ i.binding }}"
            "{% for f in i.fetches %}{% for t in f.terms %} {{ t.weight|lit('toy') }}{% endfor %}{% endfor %}"
            "{% endfor %}\n")

    class ToyGenerator(generator.Generator):
        name = "toy"
        suffix = "toy"
        include_suffix = "toyi"
        entry = {"vertex": "vmain", "fragment": "fmain", "compute": "cmain"}
        literal_suffix = "t"

    generator.register(ToyGenerator)
    try:
        filt = hand_filter(rank=2, shape=(3, 3), origin=(1, 1))
        gen = ToyGenerator(EmitOptions())
        passes = build_passes(filt.name, taps.plan_passes(filt), gen)
        files = {f.path: f for f in gen.generate(environment(tmp_path), filt.name, passes, {"rank": filt.rank})}
    finally:
        del generator.GENERATORS["toy"]
    assert set(files) == {"hand_fullscreen.vert.toy", "hand_h0.frag.toy", "hand_v0.frag.toy", "hand.toyi"}
    assert files["hand.toyi"].text == "hand.toyi toy 2\n" and files["hand.toyi"].file.kind == "include"
    assert files["hand_h0.frag.toy"].file.entry == "fmain" and files["hand_h0.frag.toy"].file.pass_index == 0
    h0 = files["hand_h0.frag.toy"].text
    assert h0.startswith("hand_h0: u_source@0 ") and all(w.endswith("t") for w in h0.split()[2:])
    assert files["hand_v0.frag.toy"].text.startswith("hand_v0: u_t0@0")
