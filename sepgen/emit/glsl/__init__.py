"""GLSL generator: 330 core (default), 300 es, 450; compute passes as 430 (or 450).

Templates: templates/glsl/.
"""

from __future__ import annotations

from typing import Any

from ...targets.glsl import GLSL
from ..generator import Generator, register

VERSIONS = {"330": "#version 330 core", "300es": "#version 300 es", "450": "#version 450 core"}
COMPUTE_VERSIONS = {"330": "#version 430 core", "450": "#version 450 core"}


@register
class GLSLGenerator(Generator):
    language = GLSL

    def scale_block(self) -> bool:
        return self.options.glsl_version == "450"  # Vulkan-style GLSL has no loose uniforms; 330/300 es keep one

    def target(self) -> dict[str, Any]:
        v = self.options.glsl_version
        compute = self.options.compute
        return {
            "lang": self.name,
            "version": COMPUTE_VERSIONS[v] if compute else VERSIONS[v],
            "es": v == "300es",
            # explicit sampler bindings need 420+; 330 and 300 es bind by uniform name
            "bindings": compute or v == "450",
            "vulkan": v == "450",
            "vulkan_only": False,  # SPIR-V renders these templates as Vulkan GLSL (sepgen.emit.spirv)
            "extensions": (),
        }
