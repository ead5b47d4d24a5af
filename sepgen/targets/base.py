"""The `Target` value: what sepgen knows about one shader language, outside its generator.

Options (choices, constraints, per-language fields, point-sampling defaults), emit (file
suffixes, literals, extensions) and run/verify (which runner executes it) read these values;
the generator in `sepgen.emit.<name>` and the templates hold the rest. Below `sepgen.options`:
this package imports `sepgen.common` only, and sees option sets as plain mappings or objects.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from ..common.errors import SepgenError

__all__ = ["Condition", "Constraint", "Feature", "Field", "Target", "Needs", "float32", "float_literal", "matches"]

Condition = tuple[tuple[str, Any], ...]  # every (option, value) pair holds
STAGES = ("fragment", "compute")
FORMATS = ("rgba32f", "rgba16f")


def matches(condition: Condition, values: Mapping[str, Any]) -> bool:
    """Whether every pair of `condition` holds in `values` (a missing option holds no value)."""
    return all(values.get(k) == v for k, v in condition)


def _frozen(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping))


def float32(value: float, what: str = "coefficient") -> np.float32:
    """`value` rounded to float32, refusing values float32 cannot hold."""
    with np.errstate(over="ignore"):
        f = np.float32(value)
    if not np.isfinite(f):
        raise SepgenError(f"{what} {float(value)!r} does not fit in a float32")  # 1e+39, not np.float64(1e+39)
    return f


def float_literal(value: float, suffix: str = "") -> str:
    """Shortest decimal for float32(`value`), always with a point or exponent, then `suffix`.

    NumPy's `str(np.float32)` is the shortest decimal that rounds back to the same float32
    (Dragon4, unique mode), so a compiler that reads the literal as a double and rounds it to
    float gets the very value the filter file rounds to."""
    text = str(float32(value))
    if "e" not in text and "." not in text:
        text += ".0"
    if text.startswith("."):
        text = "0" + text
    return text + suffix


@dataclass(frozen=True)
class Field:
    """An emit option that means something for one language only (`--glsl-version`)."""

    name: str
    default: str
    choices: tuple[str, ...]
    help: str


@dataclass(frozen=True)
class Constraint:
    """An unsupported option combination of one language: when `when` holds, no `forbid` pair may
    (the language itself is added by `sepgen.options`)."""

    when: Condition
    forbid: Condition
    message: str


@dataclass(frozen=True)
class Feature:
    """What a target must enable in its API for float intermediates beyond its core."""

    render: Mapping[str, str]  # texture format -> what rendering into it needs
    linear: str  # linear sampling of rgba32f
    blend: str  # additive blending into rgba32f
    header: str  # the shader header's line, "{names}" replaced


@dataclass(frozen=True)
class Needs:
    """A `Feature` that applies when `when` holds (GLSL ES only, not desktop GLSL)."""

    when: Condition
    feature: Feature


@dataclass(frozen=True)
class Target:
    """One shader language as options, emit, run and verify see it (docs/targets.md)."""

    name: str  # the --lang value; its generator is sepgen.emit.<name>, its templates templates/<templates>/
    suffix: str  # standalone files (what the manifest's passes name)
    include_suffix: str
    entry: Mapping[str, str]  # entry point per stage ("vertex", "fragment", "compute")
    runner: str  # "gl", "webgl", "vulkan" or "webgpu": resolved by the run registry
    literal_suffix: str = ""  # float literals: shortest float32 decimal, then this
    templates: str = ""  # the templates folder ("" = the name)
    stages: tuple[str, ...] = STAGES
    fields: tuple[Field, ...] = ()  # its own emit options
    constraints: tuple[Constraint, ...] = ()
    # Formats it samples linearly in core, and conditions that narrow it (GLSL ES 3.00: rgba16f).
    filterable: tuple[str, ...] = FORMATS
    filterable_when: tuple[tuple[Condition, tuple[str, ...]], ...] = ()
    runners: tuple[tuple[Condition, str], ...] = ()  # the first whose condition holds beats `runner`
    needs: tuple[Needs, ...] = ()  # API extensions / device features it declares
    scaled_taps: bool = True  # its templates fetch taps at offset·scale (--scale-source)
    one_vertical_compute: bool = False  # compute plans end in one vertical pass reading every component
    max_workgroup_invocations: int = 512  # compute workgroups' invocations (sepgen.plan.planner.MAX_INVOCATIONS)
    limits: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "entry", _frozen(self.entry))
        object.__setattr__(self, "limits", _frozen(self.limits))
        if not self.templates:
            object.__setattr__(self, "templates", self.name)

    def lit(self, value: float) -> str:
        """The float32 literal of `value` in this language."""
        return float_literal(value, self.literal_suffix)

    def filterable_for(self, values: Mapping[str, Any]) -> tuple[str, ...]:
        """The intermediate formats it samples linearly in core for these options."""
        return next((fmts for when, fmts in self.filterable_when if matches(when, values)), self.filterable)

    def runner_for(self, values: Mapping[str, Any]) -> str:
        """The runner that executes these options' shaders (`values`: every emit option by name)."""
        return next((r for when, r in self.runners if matches(when, values)), self.runner)

    def feature_for(self, values: Mapping[str, Any]) -> Feature | None:
        """What its shaders may need enabled in the API for these options (None: nothing)."""
        return next((n.feature for n in self.needs if matches(n.when, values)), None)
