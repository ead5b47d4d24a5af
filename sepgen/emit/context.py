"""What the templates see besides the passes: the Jinja environment, the provenance
header and the coefficient arrays (literals formatted for the target language).

Templates hold the shader text; decisions (which taps, which names, which
bindings) are made here, in `planner` and in the generators, never in a template.
"""

from __future__ import annotations

import functools
import math
import os
import re
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any

import jinja2

from .._version import __version__
from ..common.errors import SepgenError
from ..filters.filterfile import SeparableFilter
from ..options import EmitOptions
from .extensions import header_note
from .literals import float_literal
from .template_cache import bytecode_cache

HEADER_METRICS = ("relative_l2", "negative_mass", "leak", "max_error", "dc_gain")


def default_templates_dir() -> Path:
    """The templates shipped in the wheel (sepgen/templates), else the checkout's top-level templates/."""
    package = Path(__file__).resolve().parent.parent  # sepgen/, without importing the package above emit
    packaged = package / "templates"
    if packaged.is_dir():
        return packaged
    return package.parent / "templates"


def signed(value: int | float) -> str:
    """`+ 3`, `- 3` or the empty string, to write `p.x {{ d|signed }}`."""
    if value == 0:
        return ""
    return f"+ {value}" if value > 0 else f"- {-value}"


GLSL_IMAGE_FORMATS = {"r11g11b10f": "r11f_g11f_b10f"}  # image format qualifiers spelt unlike the manifest's


def glsl_image_format(fmt: str) -> str:
    """A texture format as a GLSL image layout qualifier (`{{ o.format|glsl_format }}`)."""
    return GLSL_IMAGE_FORMATS.get(fmt, fmt)


def environment(templates_dir: str | os.PathLike | None = None) -> jinja2.Environment:
    """Jinja environment over the default templates, `templates_dir` first when given."""
    if templates_dir is None:
        return _default_environment()
    if not Path(templates_dir).is_dir():
        raise SepgenError(f"templates folder {templates_dir} does not exist")
    return _environment(str(templates_dir))


# Building an environment and compiling its templates is most of a no-op build's time,
# so the built-in one is kept. Not with overrides: a template added to an override
# folder later would not be noticed by a cached environment.
@functools.lru_cache(maxsize=1)
def _default_environment() -> jinja2.Environment:
    return _environment(None)


def _environment(templates_dir: str | None) -> jinja2.Environment:
    loaders: list[jinja2.BaseLoader] = []
    if templates_dir is not None:
        loaders.append(jinja2.FileSystemLoader(templates_dir))
    default = default_templates_dir()
    if not default.is_dir():
        raise SepgenError(f"sepgen's templates are missing (looked in {default})")
    loaders.append(jinja2.FileSystemLoader(str(default)))
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # shader code, not HTML; every value we insert is generated, not user text
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["signed"] = signed
    env.filters["glsl_format"] = glsl_image_format
    env.filters["lit"] = float_literal  # {{ x|lit("glsl") }}: templates made before generators bound their own
    env.bytecode_cache = bytecode_cache(env.filters)  # compiled templates shared between processes
    return env


def check_templates(templates_dir: str | Path | None = None) -> None:
    """Compile every template (overrides first, as rendering picks them): a syntax error is a
    one-line SepgenError before any slow work (a build checks this before it fits)."""
    env = environment(templates_dir)
    for name in env.list_templates(extensions=["j2"]):
        try:
            env.get_template(name)
        except jinja2.TemplateSyntaxError as exc:
            raise SepgenError(f"template {exc.name or name} line {exc.lineno}: {exc.message}") from None


@functools.lru_cache(maxsize=32)
def with_literals(env: jinja2.Environment, key: Hashable, lit: Callable[..., str]) -> jinja2.Environment:
    """`env` whose `lit` filter is `lit` (a generator's literal syntax: `{{ x|lit }}`), one per `key`.

    An overlay with its own template cache: a compiled template holds its environment's filters."""
    overlay = env.overlay(cache_size=400)
    overlay.filters = dict(env.filters, lit=lit)
    overlay.bytecode_cache = bytecode_cache(overlay.filters, repr(key))
    return overlay


def render_template(env: jinja2.Environment, name: str, ctx: dict[str, Any]) -> str:
    try:
        text = env.get_template(name).render(**ctx)
    except jinja2.TemplateNotFound as exc:
        raise SepgenError(f"template {exc.name} not found") from None
    except jinja2.TemplateSyntaxError as exc:
        raise SepgenError(f"template {exc.name or name} line {exc.lineno}: {exc.message}") from None
    except jinja2.UndefinedError as exc:
        raise SepgenError(f"template {name}: {exc.message}") from None
    # Normalise: LF only, no trailing blanks, exactly one final newline.
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines))  # at most one blank line in a row
    return text.strip("\n") + "\n"


def header_lines(filt: SeparableFilter, options: EmitOptions, counts: dict[str, int], command: str,
                 quality: dict[str, Any], extensions: tuple[str, ...] = (),
                 limits: dict[str, int] | None = None) -> list[str]:
    """Provenance header of every file that depends on the taps (the per-file first line is
    added by the template): the filter, the kernel, fit and search that made it, its quality,
    and (WGSL) the WebGPU limits above the defaults that the passes need."""
    sampling = "linear sampling" if options.linear_sampling else "point sampling"
    if options.scale_source != "auto":
        sampling = f"scaled taps: bilinear fetches at offset * scale, scale from a {options.scale_source}"
    metrics = ", ".join(f"{k}={quality[k]:.6g}" for k in HEADER_METRICS if k in quality)
    return [
        f"Generated by sepgen {__version__} - do not edit; regenerate instead.",
        f"filter: {filt.name}, rank {filt.rank}, {filt.shape[0]}x{filt.shape[1]} taps, "
        f"origin (y {filt.origin[0]}, x {filt.origin[1]})",
        *provenance_lines(filt.provenance),
        f"metrics: {metrics}",
        f"fetches per pixel: {counts['horizontal']} horizontal + {counts['vertical']} vertical = {counts['total']}"
        f" ({options.strategy}, {sampling})",
        f"options: {', '.join(f'{k}={v}' for k, v in options.meaningful().items())}",
        *_needs(options, extensions),
        *([f"needs the WebGPU limits {', '.join(f'{k}={v}' for k, v in limits.items())}"
           " (above the defaults; request them with the device)"] if limits else []),
        f"regenerate: {command}",
    ]


def tapless_header_lines(filt: SeparableFilter, options: EmitOptions, command: str,
                         extensions: tuple[str, ...] = ()) -> list[str]:
    """The header of a file that does not depend on the taps (the fullscreen vertex shader):
    no metrics, rank or fetch counts, so a refit leaves its bytes alone. The extensions the
    pipeline needs stay (every file names them; they follow the options and the passes)."""
    return [
        f"Generated by sepgen {__version__} - do not edit; regenerate instead.",
        f"filter: {filt.name} (this file does not depend on its taps)",
        f"options: {', '.join(f'{k}={v}' for k, v in options.meaningful().items())}",
        *_needs(options, extensions),
        f"regenerate: {command}",
    ]


def _needs(options: EmitOptions, extensions: tuple[str, ...]) -> list[str]:
    """The line saying what to enable (the target descriptor's wording), when anything is needed."""
    return [header_note(options, extensions)] if extensions else []


def provenance_lines(prov: dict[str, Any]) -> list[str]:
    """What produced the filter, from its file's provenance: the kernel with its parameters
    (a file kernel's image hash), the fit settings and weights, the scales, the budget or
    target of a search. Keys a hand-made filter file lacks are left out."""
    lines = []
    kernel = prov.get("kernel")
    if isinstance(kernel, dict) and kernel:
        params = ", ".join(f"{k} {_value(v)}" for k, v in kernel.items() if k not in ("kernel", "sha256"))
        image = f", image sha256 {kernel['sha256'][:16]}" if isinstance(kernel.get("sha256"), str) else ""
        lines.append(f"kernel: {_value(kernel.get('kernel', '?'))}{', ' + params if params else ''}{image}")
    fit = [f"{k} {_value(prov[k])}" for k in ("optimizer", "steps", "lr", "init", "seed", "prune", "normalize")
           if k in prov]
    weights = prov.get("weights")
    if isinstance(weights, dict) and weights:
        fit.append("weights " + " ".join(f"{k}={_value(v)}" for k, v in weights.items() if v != 0))
    if fit:
        lines.append("fit: " + ", ".join(fit))
    if isinstance(prov.get("scales"), list):
        lines.append("fitted scales: " + ", ".join(_value(s) for s in prov["scales"]))
    search = prov.get("search")
    if isinstance(search, dict):
        asked = (f"budget {_value(search['budget'])} fetches per pixel" if "budget" in search else
                 f"target relative L2 {_value(search.get('target_error'))}")
        lines.append(f"search: {asked}; chose {_value(search.get('chosen', '?'))}")
    return [one_line(line) for line in lines]


def _value(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v).lower() if isinstance(v, bool) else str(v)


def one_line(text: str) -> str:
    """Keep a user-given string inside a // comment."""
    return "".join(c if c.isprintable() else "?" for c in text)


def coefficient_arrays(filt: SeparableFilter, lit: Callable[[float], str] | str) -> list[dict[str, Any]]:
    """The taps as named constant arrays for include files (index = tap, as in the filter file),
    each written by `lit` (a generator's literal syntax; a language name also works)."""
    if isinstance(lit, str):
        lit = functools.partial(float_literal, lang=lit)
    out = []
    for k in range(filt.rank):
        for axis, taps in (("V", filt.vertical[k]), ("H", filt.horizontal[k])):
            out.append({"name": f"{filt.name}_{axis}{k}", "size": int(taps.shape[0]),
                        "taps": [lit(float(x)) for x in taps]})
    return out


def quality_for_header(filt: SeparableFilter) -> dict[str, Any]:
    """Quality figures at 6 significant digits: informative, and stable across BLAS/CPU rounding."""
    q = filt.metrics()
    return {k: (v if isinstance(v, int) else float(f"{v:.6g}")) for k, v in q.items()
            if k != "loss_terms" and isinstance(v, (int, float)) and math.isfinite(v)}

