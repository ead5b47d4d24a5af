"""GLSL generator: 330 core (default), 300 es, 450; compute passes as 430 (or 450)."""

from __future__ import annotations

from typing import Any

import jinja2

from .context import render_template
from .files import EmittedFile

LANG = "glsl"
VERSIONS = {"330": "#version 330 core", "300es": "#version 300 es", "450": "#version 450 core"}
COMPUTE_VERSIONS = {"330": "#version 430 core", "450": "#version 450 core"}


def target(options: dict[str, Any]) -> dict[str, Any]:
    """Language switches the templates read as `target`."""
    v = options["glsl_version"]
    compute = options["stage"] == "compute"
    return {
        "lang": LANG,
        "version": COMPUTE_VERSIONS[v] if compute else VERSIONS[v],
        "es": v == "300es",
        # explicit sampler bindings need 420+; 330 and 300 es bind by uniform name
        "bindings": compute or v == "450",
        "vulkan": v == "450",
    }


def generate(env: jinja2.Environment, name: str, passes: list[dict[str, Any]], common: dict[str, Any],
             options: dict[str, Any]) -> list[EmittedFile]:
    tgt = target(options)
    out: list[EmittedFile] = []

    def emit(path: str, template: str, stage: str, entry: str | None, pass_index: int | None, kind: str,
             **extra: Any) -> None:
        ctx = dict(common, target=tgt, path=path, **extra)
        out.append(EmittedFile(path, render_template(env, template, ctx), LANG, stage, entry, pass_index, kind))

    if options["stage"] == "compute":
        for p in passes:
            tmpl = "glsl/blur_h.comp.glsl.j2" if p["horizontal"] else "glsl/blur_v.comp.glsl.j2"
            emit(f"{name}_{p['name']}.comp.glsl", tmpl, "compute", "main", p["index"], "standalone", P=p)
    else:
        emit(f"{name}_fullscreen.vert.glsl", "glsl/fullscreen.vert.glsl.j2", "vertex", "main", None, "standalone")
        for p in passes:
            tmpl = "glsl/blur_h.frag.glsl.j2" if p["horizontal"] else "glsl/blur_v.frag.glsl.j2"
            emit(f"{name}_{p['name']}.frag.glsl", tmpl, "fragment", "main", p["index"], "standalone", P=p)
    emit(f"{name}.glsl", "glsl/include.glsl.j2", "fragment", None, None, "include")
    return out
