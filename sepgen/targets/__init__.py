"""Target descriptors: one `Target` per shader language (sepgen/targets/<lang>.py).

    targets.get("hlsl").include_suffix      # "hlsli"
    targets.names()                         # ("glsl", "hlsl", "wgsl", "spirv"): --lang choices
    targets.runner_for(options)             # "gl" | "webgl" | "vulkan" | "webgpu"

To add a language: its descriptor here (and `register` it below), its generator package
`sepgen/emit/<name>/`, its templates `templates/<name>/`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..common.errors import SepgenError
from .base import Condition, Constraint, Feature, Field, Needs, Target, float32, float_literal, matches
from .glsl import GLSL
from .hlsl import HLSL
from .spirv import SPIRV
from .wgsl import WGSL

__all__ = ["Target", "Field", "Constraint", "Feature", "Needs", "Condition", "get", "names", "all_targets",
           "register", "runner_for", "float32", "float_literal", "matches"]

_TARGETS: dict[str, Target] = {}


def register(target: Target) -> Target:
    """Make `target` known under its name (the order of registration is the --lang order)."""
    _TARGETS[target.name] = target
    return target


for _t in (GLSL, HLSL, WGSL, SPIRV):
    register(_t)


def get(lang: str) -> Target:
    try:
        return _TARGETS[lang]
    except KeyError:
        raise SepgenError(f"unknown shader language {lang!r} (known: {', '.join(_TARGETS)})") from None


def names() -> tuple[str, ...]:
    return tuple(_TARGETS)


def all_targets() -> tuple[Target, ...]:
    return tuple(_TARGETS.values())


def runner_for(options: Any) -> str:
    """The runner ("gl", "webgl", "vulkan", "webgpu") that executes these emit options: an
    `EmitOptions` or a mapping of every option (replaces `verify.runfilter.backend_for`'s rules)."""
    values: Mapping[str, Any] = options if isinstance(options, Mapping) else options.to_dict()
    if "lang" not in values:
        raise SepgenError("internal error: runner_for needs the option lang")
    return get(values["lang"]).runner_for(values)
