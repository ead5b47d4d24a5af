"""GLSL: 330 core (OpenGL), 300 es (WebGL2 / GLES 3), 450 (OpenGL 4.5, Vulkan-compatible)."""

from __future__ import annotations

from .base import Constraint, Feature, Field, Needs, Target

ES3 = Feature(
    render={"rgba32f": "EXT_color_buffer_float", "rgba16f": "EXT_color_buffer_half_float",
            "r11g11b10f": "EXT_color_buffer_float"},
    linear="OES_texture_float_linear",
    blend="EXT_float_blend",
    header="needs the extensions {names} (float render targets; enable them in the API)",
)

GLSL = Target(
    name="glsl", suffix="glsl", include_suffix="glsl",
    entry=dict.fromkeys(("vertex", "fragment", "compute"), "main"),
    runner="gl",
    fields=(Field("glsl_version", "330", ("330", "300es", "450"), "GLSL version"),),
    constraints=(Constraint((("stage", "compute"),), (("glsl_version", "300es"),),
                            "compute passes need desktop GLSL (430/450): "
                            "use --glsl-version 330 or 450 with --stage compute"),),
    # ES 3.00 filters RGBA32F only with OES_texture_float_linear; RGBA16F always
    filterable_when=(((("glsl_version", "300es"),), ("rgba16f",)),),
    runners=(((("scale_source", "uniform"),), "gl"), ((("scale_source", "texture"),), "gl"),  # GL binds the scale
             ((("glsl_version", "300es"),), "webgl")),
    needs=(Needs((("glsl_version", "300es"),), ES3),),
    limits={"texture_units": 16},  # per compute stage: GLSL compute keeps a vertical pass per group
)
