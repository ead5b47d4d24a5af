"""SPIR-V generator (Vulkan): Vulkan GLSL 450 sources and the `.spv` modules glslang compiles
from them. Templates: templates/spirv/ (GLSL with `layout(set, binding)`, separate texture2D
objects through GL_EXT_samplerless_texture_functions, samplers only for linear passes).

Pass files in the manifest are the `.spv` modules (entry point `main`); each source is listed
beside its module with kind "source". Every module passes `spirv-val` before it is written.
Compute passes keep a vertical pass per group and accumulate with imageLoad (rgba32f and
rgba16f storage images are readable in core Vulkan), like GLSL.
"""

from __future__ import annotations

import dataclasses

from ...common import tools as spirv
from ...plan.passmodel import Pass
from ..files import EmittedFile
from ..generator import Generator, Output, register
from ..vulkan_bindings import UNIFORM_BASE, vulkan_bindings

SOURCE_SUFFIX = "glsl"


@register
class SPIRVGenerator(Generator):
    name = "spirv"
    suffix = "spv"  # what the passes reference; the templates render the .glsl sources
    include_suffix = "glsl"
    entry = dict.fromkeys(("vertex", "fragment", "compute"), "main")

    def scale_binding(self) -> dict[str, int]:
        return {"set": 0, "binding": UNIFORM_BASE}

    def bind(self, p: Pass) -> Pass:
        return vulkan_bindings(p)

    def outputs(self, filter_name: str, passes: list[Pass]) -> list[Output]:
        """The standard layout, each program as its .glsl source (kind "source") and then its .spv."""
        out = []
        for o in super().outputs(filter_name, passes):
            if o.file.kind == "include":
                out.append(o)
                continue
            source_path = o.file.path[: -len(self.suffix)] + SOURCE_SUFFIX
            template = o.template[: -len(f"{self.suffix}.j2")] + f"{SOURCE_SUFFIX}.j2"
            out.append(Output(dataclasses.replace(o.file, path=source_path, lang="glsl", kind="source"), template, o.pass_))
            out.append(Output(o.file, "", o.pass_, source=source_path))
        return out

    def build(self, output: Output, source: EmittedFile) -> bytes:
        """glslang's module for the source, checked by spirv-val."""
        code = spirv.compile_glsl(str(source.text), output.file.stage, source.path)
        spirv.validate(code, output.file.path)
        return code
