"""HLSL generator: Shader Model 5 vertex/pixel shaders, cs_5_0 compute passes, a .hlsli include."""

from __future__ import annotations

from typing import Any

import jinja2

from ..errors import SepgenError
from .context import render_template
from .files import EmittedFile

LANG = "hlsl"
ENTRY = {"vertex": "vs_main", "fragment": "ps_main", "compute": "cs_main"}


def target(options: dict[str, Any]) -> dict[str, Any]:
    """Language switches the templates read as `target`."""
    return {"lang": LANG, "entry": ENTRY}


def generate(env: jinja2.Environment, name: str, passes: list[dict[str, Any]], common: dict[str, Any],
             options: dict[str, Any]) -> list[EmittedFile]:
    tgt = target(options)
    out: list[EmittedFile] = []

    def emit(path: str, template: str, stage: str, pass_index: int | None, kind: str, **extra: Any) -> None:
        ctx = dict(common, target=tgt, path=path, **extra)
        entry = ENTRY[stage] if kind == "standalone" else None
        out.append(EmittedFile(path, render_template(env, template, ctx), LANG, stage, entry, pass_index, kind))

    if options["stage"] == "compute":
        if any(p["accumulate"] for p in passes):
            # the plan must end in one vertical pass (emit.one_vertical_pass): cs_5_0 has no float4 UAV loads
            raise SepgenError("internal error: an HLSL compute pass would read its RWTexture2D output")
        for p in passes:
            tmpl = "hlsl/blur_h.comp.hlsl.j2" if p["horizontal"] else "hlsl/blur_v.comp.hlsl.j2"
            emit(f"{name}_{p['name']}.comp.hlsl", tmpl, "compute", p["index"], "standalone", P=p)
    else:
        emit(f"{name}_fullscreen.vert.hlsl", "hlsl/fullscreen.vert.hlsl.j2", "vertex", None, "standalone")
        for p in passes:
            tmpl = "hlsl/blur_h.frag.hlsl.j2" if p["horizontal"] else "hlsl/blur_v.frag.hlsl.j2"
            emit(f"{name}_{p['name']}.frag.hlsl", tmpl, "fragment", p["index"], "standalone", P=p)
    emit(f"{name}.hlsli", "hlsl/include.hlsli.j2", "fragment", None, "include")
    return out
