"""The generator contract: one `Generator` subclass per shader language.

A generator names its language's descriptor (`language`, a `sepgen.targets.Target`:
name, suffixes, entry points, literal syntax), says which files it writes for a pass
plan (`outputs`: path, template, manifest entry) and which switches its templates read
(`target`); the shared `generate()` renders them, with a `lit` filter bound to its own
literal syntax (`{{ x|lit }}`). Templates live in `templates/<language.templates>/`,
named like their outputs with `.j2` (`blur_h.frag.glsl.j2` for `disk50_h0.frag.glsl`).
Register the class with `@register`; `sepgen/emit/__init__.py` imports the generator
package of every registered target. See docs/architecture.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import jinja2

from .. import targets
from ..common.errors import SepgenError
from ..options import EmitOptions
from ..plan import planner
from ..plan.passmodel import Pass, ShaderFile
from ..plan.planner import tile_for
from ..targets import Target
from .context import render_template, with_literals
from .files import EmittedFile

__all__ = ["Generator", "Output", "register", "get", "GENERATORS"]


@dataclass(frozen=True)
class Output:
    """One file to write: its manifest entry, its template and the pass it implements.

    A file built from another output instead of a template (a `.spv` compiled from its
    GLSL source) has `source` (that output's path) and no template; `Generator.build` makes it.
    """

    file: ShaderFile
    template: str
    pass_: Pass | None = None
    source: str | None = None


class Generator:
    """Base class: the standard layout (fullscreen vertex shader + one program per pass + include).

    `language` is the whole language description for that layout; the class attributes
    below are copied from it (a class may set them itself instead). Override `outputs()`
    for another layout and `target()` for the template switches.
    """

    language: ClassVar[Target | None] = None
    name: ClassVar[str]
    suffix: ClassVar[str]
    include_suffix: ClassVar[str]
    entry: ClassVar[dict[str, str]]
    literal_suffix: ClassVar[str] = ""
    templates: ClassVar[str] = ""  # the templates folder ("": the name)
    one_vertical_compute: ClassVar[bool] = False  # compute plans end in one vertical pass reading every component
    scaled_taps: ClassVar[bool] = True  # its templates can fetch taps at offset·scale (--scale-source)
    max_workgroup_invocations: ClassVar[int] = planner.MAX_INVOCATIONS  # compute workgroups' invocations

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        language = cls.__dict__.get("language")
        if language is None:
            return
        for attr in ("name", "suffix", "include_suffix", "literal_suffix", "templates", "one_vertical_compute",
                     "scaled_taps", "max_workgroup_invocations"):
            if attr not in cls.__dict__:
                setattr(cls, attr, getattr(language, attr))
        if "entry" not in cls.__dict__:
            cls.entry = dict(language.entry)

    def __init__(self, options: EmitOptions) -> None:
        self.options = options

    @classmethod
    def lit(cls, value: float, lang: str | None = None) -> str:
        """The float32 literal of `value` in this language: the templates' `lit` filter.
        `lang` is what templates used to name (`lit("glsl")`); another language's name formats in that one."""
        if lang is not None and lang != cls.name:
            return targets.get(lang).lit(value)
        return targets.float_literal(value, cls.literal_suffix)

    def target(self) -> dict[str, Any]:
        """Language switches the templates read as `target`."""
        return {"lang": self.name, "entry": self.entry}

    def scale_block(self) -> bool:
        """Whether the scale uniform of scaled passes lives in a uniform block (cbuffer) at `scale_binding()`."""
        return True

    def scale_binding(self) -> dict[str, int]:
        """Where the scale uniform block is bound (the manifest's `scale` keys besides `block`)."""
        return {"binding": 0}

    def stage_file(self, filter_name: str, p: Pass) -> str:
        return planner.stage_file(filter_name, p.name, self.options.compute, self.suffix)

    def vertex_file(self, filter_name: str) -> str | None:
        return planner.vertex_file(filter_name, self.options.compute, self.suffix)

    def outputs(self, filter_name: str, passes: list[Pass]) -> list[Output]:
        """Every file to write, in emit order, with the template that renders it."""
        stage = "compute" if self.options.compute else "fragment"
        ext = "comp" if self.options.compute else "frag"
        folder = self.templates or self.name
        out = []
        vertex = self.vertex_file(filter_name)
        if vertex is not None:
            out.append(Output(self._file(vertex, "vertex", None), f"{folder}/fullscreen.vert.{self.suffix}.j2"))
        for p in passes:
            template = f"{folder}/blur_{'h' if p.horizontal else 'v'}.{ext}.{self.suffix}.j2"
            out.append(Output(self._file(self.stage_file(filter_name, p), stage, p.index), template, p))
        include = f"{filter_name}.{self.include_suffix}"
        out.append(Output(ShaderFile(include, self.name, "fragment", None, None, "include"),
                          f"{folder}/include.{self.include_suffix}.j2"))
        return out

    def _file(self, path: str, stage: str, pass_index: int | None) -> ShaderFile:
        return ShaderFile(path, self.name, stage, self.entry[stage], pass_index, "standalone")

    def bind(self, p: Pass) -> Pass:
        """The pass with this language's resource numbers (default: the planner's units and registers)."""
        return p

    def check(self, passes: list[Pass]) -> None:
        """Refuse a plan this language cannot express (internal errors)."""

    def generate(self, env: jinja2.Environment, filter_name: str, passes: list[Pass],
                 common: dict[str, Any]) -> list[EmittedFile]:
        """Render every output: `common` is what every template sees, plus `target`, `path`,
        and for a pass file `P` (the Pass) and `tile` (its compute tile)."""
        self.check(passes)
        env = with_literals(env, (self.name, self.literal_suffix), self.lit)
        target = self.target()
        files: dict[str, EmittedFile] = {}
        for o in self.outputs(filter_name, passes):
            if o.source is not None:
                files[o.file.path] = EmittedFile(o.file, self.build(o, files[o.source]))
                continue
            extra = {} if o.pass_ is None else {"P": o.pass_, "tile": tile_for(o.pass_)}
            ctx = dict(common, target=target, path=o.file.path, **extra)
            files[o.file.path] = EmittedFile(o.file, render_template(env, o.template, ctx))
        return list(files.values())

    def build(self, output: Output, source: EmittedFile) -> str | bytes:
        """The contents of an output made from another (listed before it in `outputs`)."""
        raise SepgenError(f"internal error: {self.name} does not build {output.file.path} from {source.path}")


GENERATORS: dict[str, type[Generator]] = {}


def register(cls: type[Generator]) -> type[Generator]:
    """Class decorator: make `cls` the generator for `--lang cls.name`."""
    GENERATORS[cls.name] = cls
    return cls


def get(lang: str) -> type[Generator]:
    try:
        return GENERATORS[lang]
    except KeyError:
        raise SepgenError(f"no generator for language {lang!r} (known: {', '.join(GENERATORS)})") from None
