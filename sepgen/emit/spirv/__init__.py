"""SPIR-V generator (Vulkan): Vulkan GLSL 450 sources and the `.spv` modules glslang compiles
from them. Templates: templates/glsl/, as Vulkan GLSL (`target.vulkan_only`): the `layout(set,
binding)` lines come from the bindings `bind()` gives the passes, textures are separate texture2D
objects (GL_EXT_samplerless_texture_functions) with a sampler only for linear passes.

Pass files in the manifest are the `.spv` modules (entry point `main`); each source is listed
beside its module with kind "source". Every module passes `spirv-val` before it is written.
Compute passes keep a vertical pass per group and accumulate with imageLoad (rgba32f and
rgba16f storage images are readable in core Vulkan), like GLSL.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ...common import tools as spirv
from ...plan.passmodel import Pass
from ...targets.spirv import SPIRV
from ..files import EmittedFile
from ..generator import Generator, Output, register
from ..vulkan_bindings import UNIFORM_BASE, vulkan_bindings

SOURCE_SUFFIX = "glsl"
SAMPLERLESS = "GL_EXT_samplerless_texture_functions"  # texelFetch / textureSize on a texture2D


@register
class SPIRVGenerator(Generator):
    language = SPIRV  # suffix "spv": what the passes reference; the GLSL templates render the .glsl sources

    def target(self) -> dict[str, Any]:
        """The GLSL templates' switches for Vulkan GLSL 450 (bindings come from the passes' `set`)."""
        return {"lang": self.name, "version": "#version 450", "es": False, "bindings": True, "vulkan": True,
                "vulkan_only": True, "extensions": (SAMPLERLESS,)}

    def scale_binding(self) -> dict[str, int]:
        return {"set": self.options.descriptor_set, "binding": self.options.binding_offset + UNIFORM_BASE}

    def bind(self, p: Pass) -> Pass:
        return vulkan_bindings(p, self.options.descriptor_set, self.options.binding_offset)

    def outputs(self, filter_name: str, passes: list[Pass]) -> list[Output]:
        """The standard layout, each program as its .glsl source (kind "source") and then its .spv."""
        out = []
        for o in super().outputs(filter_name, passes):
            if o.file.kind == "include":
                out.append(o)
                continue
            source_path = o.file.path[: -len(self.suffix)] + SOURCE_SUFFIX
            template = o.template[: -len(f"{self.suffix}.j2")] + f"{SOURCE_SUFFIX}.j2"
            out.append(Output(dataclasses.replace(o.file, path=source_path, lang="glsl", kind="source"),
                              template, o.pass_))
            out.append(Output(o.file, "", o.pass_, source=source_path))
        return out

    def build(self, output: Output, source: EmittedFile) -> bytes:
        """glslang's module for the source, checked by spirv-val."""
        code = spirv.compile_glsl(str(source.text), output.file.stage, source.path)
        spirv.validate(code, output.file.path)
        return code
