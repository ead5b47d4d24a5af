"""Options of the fit and emit stages, declared once.

The CLI flags, the build config keys, validation messages and the provenance
written into filter files and shader headers all come from these tables (the
kernel's own options live beside the kernels in `sepgen.kernels.KERNELS`).
JAX-free on purpose: emitting and building must be able to read them cheaply.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields as dataclass_fields, replace
from types import MappingProxyType
from typing import Any

import numpy as np

from . import targets
from .common.errors import SepgenError


@dataclass(frozen=True)
class Option:
    name: str  # Python keyword and config key; the CLI flag is --name-with-dashes
    type: type
    default: Any
    help: str
    choices: tuple[Any, ...] | None = None
    min: float | None = None
    max: float | None = None
    off_flag: str | None = None  # a bool option's "off" flag (default: --no-<flag>)

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def negative_flag(self) -> str:
        return self.off_flag or f"--no-{self.flag[2:]}"

    def check(self, value: Any, where: str = "") -> Any:
        """Return `value` converted to the option's type, or raise naming `where` and the key.
        An option whose default is None (decided later from the others) accepts None."""
        at = f"{where}: " if where else ""
        if value is None and self.default is None:
            return None
        value = check_type(self.name, self.type, value, where)
        if self.choices is not None and value not in self.choices:
            raise SepgenError(f"{at}{self.name} must be one of {', '.join(map(str, self.choices))}, got {value!r}")
        if self.min is not None and value < self.min:
            raise SepgenError(f"{at}{self.name} must be >= {self.min}, got {value!r}")
        if self.max is not None and value > self.max:
            raise SepgenError(f"{at}{self.name} must be <= {self.max}, got {value!r}")
        return value


def check_type(name: str, t: type, value: Any, where: str = "") -> Any:
    """`value` as type `t` (bool, int, float or str; ints are accepted as floats, bools
    never as numbers, floats must be finite), or a SepgenError naming `where` and `name`."""
    at = f"{where}: " if where else ""
    ok = (
        isinstance(value, bool) if t is bool
        else (isinstance(value, int) and not isinstance(value, bool)) if t is int
        else (isinstance(value, (int, float)) and not isinstance(value, bool)) if t is float
        else isinstance(value, t)
    )
    if not ok:
        raise SepgenError(f"{at}{name} must be {t.__name__}, got {value!r}")
    if t is float:
        value = float(value)
        if not math.isfinite(value):
            raise SepgenError(f"{at}{name} must be finite, got {value!r}")
    return value


def _table(*opts: Option) -> dict[str, Option]:
    return {o.name: o for o in opts}


# Loss weights: see sepgen.filters.metrics for each term's formula. The defaults are the
# recommended bokeh settings (docs/fitting.md says why); sepgen.fit() itself keeps
# the seed's l2=nonneg=zeros=1 and prune=0 so that it reproduces the post.
WEIGHT_OPTIONS = _table(
    Option("l2", float, 1.0, "weight of the mean squared error", min=0.0),
    Option("nonneg", float, 1.5, "weight of the penalty on negative taps (ringing)", min=0.0),
    Option("zeros", float, 0.3, "weight of the penalty on non-zeros where the kernel is zero (corner leaks)", min=0.0),
    Option("l1", float, 0.0, "weight of the mean absolute error", min=0.0),
    Option("zeros_distance", float, 0.0,
           "weight of the keep-zeros penalty that grows with distance from the origin", min=0.0),
    Option("max_error", float, 0.0, "weight of the maximum absolute error", min=0.0),
    Option("dc", float, 0.0, "weight of the DC-gain penalty ((ΣA−ΣK)/ΣK)²", min=0.0),
)

FIT_OPTIONS = _table(
    Option("rank", int, 4, "number of separable components (passes)", min=1, max=64),
    Option("optimizer", str, "gd", "optimiser", choices=("gd", "adam", "lbfgs")),
    Option("steps", int, 5000, "optimisation steps", min=0, max=1_000_000),
    Option("lr", float, 0.1, "learning rate", min=0.0),
    Option("init", str, "svd", "initialisation", choices=("svd", "random")),
    Option("seed", int, 0, "random seed (init=random)", min=0),
    Option("prune", float, 0.2,
           "zero taps that add less than this fraction of the filter's largest tap, then refit", min=0.0, max=1.0),
)


# --- fit settings: one value from the CLI / config / Python API down to the optimiser loop ---

SETTING_NAMES = tuple(n for n in FIT_OPTIONS if n != "rank")  # FIT_OPTIONS without the rank
SEED_WEIGHTS: Mapping[str, float] = MappingProxyType({"l2": 1.0, "nonneg": 1.0, "zeros": 1.0})


def _plain(value: Any) -> Any:
    """NumPy scalars as Python numbers, so options typed int/float accept them."""
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


@dataclass(frozen=True)
class FitSettings:
    """How a kernel is fitted: every `FIT_OPTIONS` entry except `rank`, plus the loss weights.

    The rank is what is fitted, not how (a budget search tries several ranks with
    one FitSettings); progress is an observer, not a setting (it changes no number).
    Defaults are the tables' (the recommended CLI settings);
    `FitSettings.seed_settings()` gives the post's (`sepgen.fit`'s defaults). Every value is
    checked against its table on construction (one-line SepgenError), and `weights` is
    completed with the table defaults and frozen.
    """

    weights: Mapping[str, float] = field(default_factory=dict, hash=False)
    optimizer: str = FIT_OPTIONS["optimizer"].default
    steps: int = FIT_OPTIONS["steps"].default
    lr: float = FIT_OPTIONS["lr"].default
    init: str = FIT_OPTIONS["init"].default
    seed: int = FIT_OPTIONS["seed"].default
    prune: float = FIT_OPTIONS["prune"].default

    def __post_init__(self) -> None:
        for name in SETTING_NAMES:
            object.__setattr__(self, name, FIT_OPTIONS[name].check(_plain(getattr(self, name))))
        weights = {k: _plain(v) for k, v in dict(self.weights).items()}
        object.__setattr__(self, "weights", MappingProxyType(weights_with_defaults(weights)))

    @classmethod
    def seed_settings(cls, **changes: Any) -> FitSettings:
        """The post's setup, `sepgen.fit`'s defaults: weights l2=nonneg=zeros=1, gd, 5000 steps, lr 0.1, no pruning."""
        return cls(**{"weights": SEED_WEIGHTS, "prune": 0.0, **changes})

    @classmethod
    def from_options(cls, values: Mapping[str, Any], where: str = "") -> FitSettings:
        """Settings from a flat mapping keyed like the tables (CLI params, a config table);
        keys of neither table are ignored, missing ones take the table defaults; errors name `where`."""
        opts = {n: FIT_OPTIONS[n].check(_plain(values[n]), where) for n in SETTING_NAMES if n in values}
        weights = {n: WEIGHT_OPTIONS[n].check(_plain(values[n]), where) for n in WEIGHT_OPTIONS if n in values}
        return cls(weights=weights, **opts)

    def replace(self, **changes: Any) -> FitSettings:
        return replace(self, **changes)

    def options(self) -> dict[str, Any]:
        """The FIT_OPTIONS values (rank excluded), in table order."""
        return {n: getattr(self, n) for n in SETTING_NAMES}

    def to_json(self) -> dict[str, Any]:
        """Weights then options, in table order: the provenance and cache-key form."""
        return {"weights": dict(self.weights), **self.options()}


# Budget and target fitting (sepgen.fitting.searched): the search chooses rank, tap
# structure and pruning; neither goes with an explicit rank.
SEARCH_OPTIONS = _table(
    Option("budget", int, None, "fit the best filter whose shaders (sepgen emit defaults) read at most N texels "
           "per pixel; chooses rank, tap structure and pruning", min=1),
    Option("target_error", float, None, "fit the filter with the fewest fetches per pixel whose relative L2 "
           "error is at most E (> 0); chooses rank, tap structure and pruning"),
    Option("max_intermediate_bytes", int, None, "with --budget or --target-error: at most N bytes per pixel of "
           "intermediates (16 per component in RGBA32F, 8 in RGBA16F), so at most N/16 (N/8) components", min=1),
)
# --- issue 19: the targets a search counts for (the target options of `optimize`, a build's langs) ---


def check_memory_cap(value: Any, where: str = "") -> int | None:
    """A checked `max_intermediate_bytes` (None: no cap)."""
    return SEARCH_OPTIONS["max_intermediate_bytes"].check(_plain(value), where)


def search_targets(targets: Any) -> list[EmitOptions]:
    """The emit options a search counts fetches for: None (`sepgen emit`'s defaults), one
    EmitOptions or dict, or a non-empty list of them; checked, duplicates dropped, order kept."""
    if targets is None:
        return [EmitOptions()]
    items = [targets] if isinstance(targets, (dict, EmitOptions)) else targets
    if not isinstance(items, (list, tuple)) or not items:
        raise SepgenError(f"options must be emit options (a dict or EmitOptions) or a non-empty list of them, "
                          f"got {targets!r}")
    out: list[EmitOptions] = []
    for item in items:
        if not isinstance(item, (dict, EmitOptions)):
            raise SepgenError(f"options must be emit options (a dict or EmitOptions), got {item!r}")
        opts = EmitOptions.from_dict(item)
        if opts.scale_source != "auto":  # scaled taps: the point taps' plan, each fetch bilinear (same count)
            opts = opts.replace(scale_source="auto", linear_sampling=False)
        if opts not in out:
            out.append(opts)
    return out
# --- end issue 19 ---


def check_search(budget: Any, target_error: Any, rank_given: bool = False,
                 where: str = "") -> tuple[int | None, float | None]:
    """A checked budget / target error request (at most one; neither with an explicit rank)."""
    at = f"{where}: " if where else ""
    if budget is not None and target_error is not None:
        raise SepgenError(f"{at}give budget or target_error, not both")
    if (budget is not None or target_error is not None) and rank_given:
        raise SepgenError(f"{at}{'budget' if budget is not None else 'target_error'} chooses the rank itself: "
                          "leave rank out")
    budget = SEARCH_OPTIONS["budget"].check(_plain(budget), where)
    target_error = SEARCH_OPTIONS["target_error"].check(_plain(target_error), where)
    if target_error is not None and not target_error > 0:
        raise SepgenError(f"{at}target_error must be a positive relative L2 error, got {target_error!r}")
    return budget, target_error


# --- issue 19 item 3: engine controls (what an engine's render graph wants; not in the verify matrix) ---
OUTPUT_FORMATS = ("rgba32f", "rgba16f", "r11g11b10f")  # the output texture's format (first: the default)
ENGINE_OPTIONS = (
    Option("output_format", str, OUTPUT_FORMATS[0], "format of the output texture: the render target of "
           "fragment passes, the storage image of compute passes (r11g11b10f: no alpha, no negatives)",
           choices=OUTPUT_FORMATS),
    Option("channels", str, "rgba", "rgb: the filter blurs colour only; MRT packs the components' RGB into "
           "ceil(3*rank/4) intermediates per group of 8 (rank 4: 3), and the output's alpha is 1",
           choices=("rgba", "rgb")),
    Option("intermediates", str, "textures", "array: the intermediates are one 2D array texture (layer k = component "
           "k), so the include's functions take the same parameters at every rank", choices=("textures", "array")),
)
# (when, forbid, message): EmitOptions.__constraints__ rows for the engine options
ENGINE_RULES = (
    ((("channels", "rgb"),), (("stage", "compute"), ("strategy", "per-component")),
     "--channels rgb packs the targets of fragment MRT passes: use --stage fragment --strategy mrt"),
    ((("channels", "rgb"),), (("scale_source", "uniform"), ("scale_source", "texture")),
     "--channels rgb does not pack scaled taps yet: drop --channels rgb"),
    ((("intermediates", "array"),), (("stage", "compute"), ("strategy", "per-component"), ("channels", "rgb"),
                                     ("scale_source", "uniform"), ("scale_source", "texture")),
     "--intermediates array is implemented for fragment MRT passes with fixed taps and RGBA channels: "
     "use --stage fragment --strategy mrt, or --intermediates textures"),
)
ENGINE_FIELDS = tuple(o.name for o in ENGINE_OPTIONS)  # listed only when set, like the filter fields
# --- end issue 19 item 3 ---


EMIT_OPTIONS = _table(
    Option("lang", str, targets.names()[0], "shader language (spirv: Vulkan GLSL 450 sources and their .spv)",
           choices=targets.names()),
    # each language's own options (sepgen.targets: --glsl-version), right after the language
    *(Option(f.name, str, f.default, f.help, choices=f.choices) for t in targets.all_targets() for f in t.fields),
    Option("stage", str, "fragment", "fragment passes, or compute passes with a shared-memory tile",
           choices=("fragment", "compute")),
    Option("strategy", str, "mrt",
           "mrt: one horizontal pass feeds all components; per-component: two passes each, additive",
           choices=("mrt", "per-component")),
    Option("linear_sampling", bool, None, "merge adjacent taps into bilinear fetches (default: wherever the target "
           "filters its intermediates: fragment passes, with fp16 on GLSL ES, WGSL and SPIR-V); --point-sampling reads "
           "every tap exactly",
           off_flag="--point-sampling"),
    Option("precision", str, "fp32", "intermediate target format", choices=("fp32", "fp16")),
    Option("scale_source", str, "auto", "scaled taps (fetched at offset·scale): the scale from a uniform, or per pixel "
           "from a texture's red channel (CoC); auto: a uniform for filters fitted with scales, none for others",
           choices=("auto", "uniform", "texture")),
    # Vulkan / WebGPU placement of every resource (docs/targets.md): engines reserve set 0 or
    # the low bindings for their own. Caps: WebGPU's default maxBindGroups (4) and
    # maxBindingsPerBindGroup (1000: the scale buffer at 192 + offset stays below it).
    Option("descriptor_set", int, 0, "Vulkan descriptor set / WebGPU @group of every resource "
           "(hlsl vk::binding, wgsl, spirv)", min=0, max=3),
    Option("binding_offset", int, 0, "added to every Vulkan / WebGPU binding number "
           "(hlsl vk::binding, wgsl, spirv; HLSL registers are unchanged)", min=0, max=800),
    *ENGINE_OPTIONS,
)
BINDING_FIELDS = ("descriptor_set", "binding_offset")  # meaningless for GLSL 330 / 300 es / 450 (units)
INTERMEDIATE_FORMATS = {"fp32": "rgba32f", "fp16": "rgba16f"}  # precision -> intermediate texture format


def weights_with_defaults(weights: dict[str, float] | None) -> dict[str, float]:
    """Every weight, in table order, with unknown names rejected."""
    weights = dict(weights or {})
    unknown = sorted(set(weights) - set(WEIGHT_OPTIONS))
    if unknown:
        raise SepgenError(f"unknown loss weight {unknown[0]!r} (known: {', '.join(WEIGHT_OPTIONS)})")
    return {n: o.check(weights.get(n, o.default), "weights") for n, o in WEIGHT_OPTIONS.items()}


@dataclass(frozen=True)
class Constraint:
    """When every field in `when` has its value, no field in `forbid` may have its value."""

    when: tuple[tuple[str, Any], ...]
    forbid: tuple[tuple[str, Any], ...]
    message: str

    def violated_by(self, values: dict[str, Any]) -> bool:
        return all(values[k] == v for k, v in self.when) and any(values[k] == v for k, v in self.forbid)


@dataclass(frozen=True)
class EmitOptions:
    """One checked set of emit options (defaults and choices from EMIT_OPTIONS).

    `__constraints__` are the unsupported combinations, as data: `check` enforces them
    and `combinations` skips them. `__language_fields__` names options that mean
    something for one language only; the others list them once, at the default.
    """

    lang: str = EMIT_OPTIONS["lang"].default
    glsl_version: str = EMIT_OPTIONS["glsl_version"].default  # the languages' own fields (sepgen.targets)
    stage: str = EMIT_OPTIONS["stage"].default
    strategy: str = EMIT_OPTIONS["strategy"].default
    linear_sampling: bool | None = EMIT_OPTIONS["linear_sampling"].default  # None: the target's default
    precision: str = EMIT_OPTIONS["precision"].default
    scale_source: str = EMIT_OPTIONS["scale_source"].default
    descriptor_set: int = EMIT_OPTIONS["descriptor_set"].default
    binding_offset: int = EMIT_OPTIONS["binding_offset"].default
    output_format: str = EMIT_OPTIONS["output_format"].default  # issue 19: engine controls (ENGINE_FIELDS)
    channels: str = EMIT_OPTIONS["channels"].default
    intermediates: str = EMIT_OPTIONS["intermediates"].default

    # Language-independent rules here; each language adds its own (sepgen.targets), for that language only.
    __constraints__ = (
        Constraint((("stage", "compute"),), (("linear_sampling", True),),
                   "--linear-sampling applies to fragment passes only: "
                   "compute passes read their taps from shared memory"),
        Constraint((("stage", "compute"),), (("scale_source", "uniform"), ("scale_source", "texture")),
                   "scaled taps need fragment passes (bilinear fetches at offset·scale): drop --stage compute"),
        Constraint((("linear_sampling", True),), (("scale_source", "uniform"), ("scale_source", "texture")),
                   "scaled taps are bilinear fetches already: drop --linear-sampling"),
        *(Constraint((("lang", t.name), *c.when), c.forbid, c.message)
          for t in targets.all_targets() for c in t.constraints),
        *(Constraint(when, forbid, message) for when, forbid, message in ENGINE_RULES),
    )
    __language_fields__ = {f.name: t.name for t in targets.all_targets() for f in t.fields}
    # Fields listed only when not at their default, so other manifests, headers and variants are
    # what they were; not enumerated: scale_source depends on the filter (scalable or not), the
    # binding fields only move resources, the engine fields (issue 19) change what an engine binds.
    __filter_fields__ = ("scale_source", *BINDING_FIELDS, *ENGINE_FIELDS)
    # Options that point-sample unless asked otherwise: compute passes read shared memory, scaled
    # taps are bilinear already; and any target that cannot filter its intermediates in core
    # (`Target.filterable_for`: RGBA32F on GLSL ES 3.00, WebGPU and Vulkan needs an optional
    # feature; RGBA16F is filterable on all of them, desktop GL and D3D11 filter both).
    __point_by_default__ = ((("stage", "compute"),), (("scale_source", "uniform"),), (("scale_source", "texture"),))

    def __post_init__(self) -> None:
        for n, opt in EMIT_OPTIONS.items():
            object.__setattr__(self, n, opt.check(getattr(self, n), "emit"))
        if self.linear_sampling is None:
            object.__setattr__(self, "linear_sampling", self.linear_by_default(self.__dict__))
        values = {n: getattr(self, n) for n in EMIT_OPTIONS}
        if self.lang == "glsl" and any(values[n] for n in BINDING_FIELDS):
            raise SepgenError("--descriptor-set and --binding-offset apply to --lang hlsl, wgsl and spirv "
                              "(Vulkan / WebGPU bindings); GLSL binds texture and image units")
        for c in self.__constraints__:
            if c.violated_by(values):
                raise SepgenError(c.message)

    @classmethod
    def from_dict(cls, options: dict[str, Any] | EmitOptions | None = None) -> EmitOptions:
        """Checked options from a dict of some of them (unknown keys are refused)."""
        if isinstance(options, EmitOptions):
            return options
        options = dict(options or {})
        unknown = sorted(set(options) - set(EMIT_OPTIONS))
        if unknown:
            raise SepgenError(f"unknown emit option {unknown[0]!r} (known: {', '.join(EMIT_OPTIONS)})")
        return cls(**options)

    @classmethod
    def combinations(cls) -> list[EmitOptions]:
        """Every supported combination, in table order (per-language fields only for their language)."""
        choices = [(n, (o.default,) if n in cls.__filter_fields__
                    else o.choices if o.type is not bool else (False, True)) for n, o in EMIT_OPTIONS.items()]
        out = []
        for values in itertools.product(*(c or () for _, c in choices)):
            combo = dict(zip(EMIT_OPTIONS, values))
            if any(combo["lang"] != lang and combo[n] != EMIT_OPTIONS[n].default
                   for n, lang in cls.__language_fields__.items()):
                continue
            if any(combo[n] != EMIT_OPTIONS[n].default for n in cls.__filter_fields__):
                continue
            if not any(c.violated_by(combo) for c in cls.__constraints__):
                out.append(cls(**combo))
        return out

    def check_given(self, given: Iterable[str]) -> EmitOptions:
        """Refuse options the caller set explicitly that mean nothing for this language
        (`--glsl-version` with `--lang hlsl`), as `apply` refuses GPU options for NumPy."""
        for name in given:
            lang = self.__language_fields__.get(name, self.lang)
            if lang != self.lang:
                raise SepgenError(f"--{name.replace('_', '-')} applies only to --lang {lang}, not {self.lang}")
        return self

    def to_dict(self) -> dict[str, Any]:
        """Every option in table order (the manifest's `options`); filter fields only when set."""
        return {n: getattr(self, n) for n, o in EMIT_OPTIONS.items()
                if n not in self.__filter_fields__ or getattr(self, n) != o.default}

    @classmethod
    def linear_by_default(cls, values: dict[str, Any]) -> bool:
        """Whether a target with these options samples bilinearly by default (missing keys: table defaults)."""
        full = {k: values.get(k, o.default) for k, o in EMIT_OPTIONS.items()}
        if any(targets.matches(when, full) for when in cls.__point_by_default__):
            return False
        return INTERMEDIATE_FORMATS[full["precision"]] in targets.get(full["lang"]).filterable_for(full)

    def non_default(self) -> dict[str, Any]:
        """The options that differ from what this target gets by default (the command line's flags)."""
        default = {n: o.default for n, o in EMIT_OPTIONS.items()}
        default["linear_sampling"] = self.linear_by_default(self.to_dict())
        return {n: v for n, v in self.to_dict().items() if v != default[n]}

    def meaningful(self) -> dict[str, Any]:
        """The options that mean something for this language (the shader header's list)."""
        return {n: v for n, v in self.to_dict().items() if self.__language_fields__.get(n, self.lang) == self.lang}

    @property
    def compute(self) -> bool:
        return self.stage == "compute"

    def replace(self, **changes: Any) -> EmitOptions:
        return replace(self, **changes)

    @property
    def intermediate_format(self) -> str:
        return INTERMEDIATE_FORMATS[self.precision]

    @property
    def target(self) -> targets.Target:
        """The language's descriptor (sepgen.targets)."""
        return targets.get(self.lang)

    @property
    def runner(self) -> str:
        """The runner that executes these options' shaders ("gl", "webgl", "vulkan", "webgpu")."""
        return self.target.runner_for({n: getattr(self, n) for n in EMIT_OPTIONS})


# A language's own option is declared by its descriptor and must be a field here as well.
_unbacked = sorted(set(EMIT_OPTIONS) - {f.name for f in dataclass_fields(EmitOptions)})
if _unbacked:  # pragma: no cover - a descriptor's field without its EmitOptions attribute
    raise TypeError(f"emit options without an EmitOptions field: {', '.join(_unbacked)}")
