"""The build config (`sepgen.toml`): which filters to fit and which shaders to emit.

    [output]
    dir = "generated"            # relative to this file's folder
    templates = "my-templates"   # optional: override the shader templates

    [[filter]]
    name = "bokeh"               # identifier: shader prefix and folder name
    kernel = "disk"              # a kernel type, or "file:kernels/hex.png" (relative to this file)
    size = 31                    # not for file kernels
    antialias = true             # the kernel type's own options
    rank = 4                     # fit options (sepgen.options.FIT_OPTIONS)
    scales = [0.25, 0.5, 1.0]    # optional: one scalable filter fitted for these scales
    nonneg = 1.5                 # loss weights (sepgen.options.WEIGHT_OPTIONS)
    lang = ["glsl", "hlsl"]      # one output folder per language (a budget holds for each)
    glsl_version = "330"         # emit options (sepgen.options.EMIT_OPTIONS)

The keys are the names in the option tables, so a new option is a config key
without touching this module. Every error names the file, the filter and the key.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import kernels
from ..common.errors import SepgenError
from ..common.identifiers import check_identifier
from ..filters import scaling
from ..options import (
    BINDING_FIELDS,
    EMIT_OPTIONS,
    FIT_OPTIONS,
    SEARCH_OPTIONS,
    WEIGHT_OPTIONS,
    FitSettings,
    check_memory_cap,
    check_search,
    check_type,
)

DEFAULT_OUTPUT_DIR = "generated"
OUTPUT_KEYS = ("dir", "templates")
TOP_KEYS = ("output", "filter")


@dataclass(frozen=True)
class FilterConfig:
    """One `[[filter]]` table, validated, with every default filled in."""

    name: str
    kernel_spec: dict[str, Any]  # as kernels.make takes it; file paths as written in the config
    kernel_file: Path | None  # the resolved image/array path of a file: kernel
    rank: int
    settings: FitSettings  # every other FIT_OPTIONS entry and every WEIGHT_OPTIONS entry
    langs: tuple[str, ...]
    emit: dict[str, Any]  # every EMIT_OPTIONS entry except lang
    search: dict[str, Any] = field(default_factory=dict)  # budget or target_error when given (then rank is unused)
    scales: tuple[float, ...] | None = None  # a scalable filter's fitted scales (`scales` key)
    structure: str = "separable"  # issue 18: separable, rows or auto (the `structure` key; auto with a search)

    @property
    def fit(self) -> dict[str, Any]:
        """Every FIT_OPTIONS entry, rank included, in table order."""
        return {"rank": self.rank, **self.settings.options()}

    @property
    def weights(self) -> dict[str, float]:
        return dict(self.settings.weights)

    def emit_options(self, lang: str) -> dict[str, Any]:
        """The options dict `sepgen.emit.render` takes for one language. The binding placement
        (`descriptor_set`, `binding_offset`) is for the Vulkan / WebGPU languages: a filter that
        ships GLSL as well emits its GLSL without it."""
        return for_language(self.emit, lang)

    def search_targets(self) -> list[dict[str, Any]]:
        """The targets a budget or target search counts for: every language this filter ships
        (its budget holds for each of them)."""
        return [self.emit_options(lang) for lang in self.langs]


@dataclass(frozen=True)
class BuildConfig:
    path: Path  # the config file as given
    out_dir: Path
    templates_dir: Path | None
    filters: tuple[FilterConfig, ...]


def filter_keys(kernel: str | None = None) -> list[str]:
    """Every key a `[[filter]]` table may hold (for `kernel`, or for any kernel)."""
    if kernel is None:
        kernel_opts = list(kernels.ALL_OPTIONS)
    elif kernel in kernels.KERNELS:
        kernel_opts = [o.name for o in kernels.KERNELS[kernel].options]
    else:
        kernel_opts = []
    size = [] if kernel is not None and kernel.startswith("file:") else ["size"]
    return ["name", "kernel", *size, *kernel_opts, *FIT_OPTIONS, "scales", *SEARCH_OPTIONS, *WEIGHT_OPTIONS,
            *EMIT_OPTIONS, "structure"]


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file, turning every failure into a one-line SepgenError."""
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise SepgenError(f"config file {path} does not exist") from None
    except IsADirectoryError:
        raise SepgenError(f"config file {path} is a directory") from None
    except OSError as exc:
        raise SepgenError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise SepgenError(f"config file {path} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise SepgenError(f"config file {path} is not valid TOML: {str(exc).splitlines()[0]}") from None


def load_config(path: str | os.PathLike, out_dir: str | os.PathLike | None = None) -> BuildConfig:
    """Read and validate a build config; `out_dir` (relative to the working folder) overrides `[output] dir`."""
    path = Path(path)
    doc = read_toml(path)
    base = path.parent
    _reject_unknown(doc, TOP_KEYS, f"{path}")

    output = doc.get("output", {})
    if not isinstance(output, dict):
        raise SepgenError(f"{path}: [output] must be a table")
    _reject_unknown(output, OUTPUT_KEYS, f"{path}: [output]")
    for key in OUTPUT_KEYS:
        if key in output and not (isinstance(output[key], str) and output[key]):
            raise SepgenError(f"{path}: [output]: {key} must be a non-empty string, got {output[key]!r}")
    out = Path(out_dir) if out_dir is not None else base / output.get("dir", DEFAULT_OUTPUT_DIR)
    templates = base / output["templates"] if "templates" in output else None
    if templates is not None and not templates.is_dir():
        raise SepgenError(f"{path}: [output]: templates folder {templates} does not exist")

    tables = doc.get("filter")
    if tables is None:
        raise SepgenError(f"{path}: defines no [[filter]] table")
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise SepgenError(f"{path}: filter must be an array of tables ([[filter]])")
    if not tables:
        raise SepgenError(f"{path}: defines no [[filter]] table")

    filters: list[FilterConfig] = []
    seen: dict[str, str] = {}  # casefolded name -> name: names become folder names
    for index, table in enumerate(tables, 1):
        filt = parse_filter(table, path, index, base)
        other = seen.get(filt.name.casefold())
        if other is not None:
            extra = "" if other == filt.name else f" (clashes with {other!r}: names become folder names)"
            raise SepgenError(f"{path}: filter {filt.name!r}: duplicate name{extra}")
        seen[filt.name.casefold()] = filt.name
        filters.append(filt)
    return BuildConfig(path, out, templates, tuple(filters))


def parse_filter(table: dict[str, Any], path: Path, index: int, base: Path) -> FilterConfig:
    """Validate one `[[filter]]` table (the `index`-th, counting from 1)."""
    raw_name = table.get("name")
    where = f"{path}: filter #{index}"
    if raw_name is None:
        raise SepgenError(f"{where}: missing key 'name'")
    try:
        name = check_identifier(raw_name, "name")
    except SepgenError as exc:
        raise SepgenError(f"{where}: {exc}") from None
    where = f"{path}: filter {name!r}"

    kernel = table.get("kernel")
    if kernel is None:
        raise SepgenError(f"{where}: missing key 'kernel'")
    if not isinstance(kernel, str):
        raise SepgenError(f"{where}: kernel must be a string, got {kernel!r}")
    is_file = kernel.startswith("file:")
    if not is_file and kernel not in kernels.KERNELS:
        raise SepgenError(f"{where}: kernel: unknown kernel {kernel!r} "
                          f"(known: {', '.join(kernels.KERNELS)}, file:PATH)")
    if is_file and not kernel[5:]:
        raise SepgenError(f"{where}: kernel: file: needs a path")

    allowed = filter_keys(kernel)
    for key in table:
        if key not in allowed:
            if key in kernels.ALL_OPTIONS or key == "size":
                raise SepgenError(f"{where}: {key} does not apply to kernel {kernel}")
            raise SepgenError(f"{where}: unknown key {key!r}{_suggest(key, filter_keys())}")

    spec, kernel_file, shape = _kernel_spec(table, kernel, where, base)
    rank = FIT_OPTIONS["rank"].check(table.get("rank", FIT_OPTIONS["rank"].default), where)
    settings = FitSettings.from_options(table, where)
    search = _search_request(table, where)
    if shape is not None and rank > min(shape) and not search:
        what = "rank" if "rank" in table else "the default rank"
        raise SepgenError(f"{where}: {what} {rank} is impossible for a {shape[0]}x{shape[1]} kernel "
                          f"(at most {min(shape)})")
    scales = scaling.check_scales(table["scales"], f"{where}: scales") if "scales" in table else None
    langs = _langs(table.get("lang", [EMIT_OPTIONS["lang"].default]), where)
    emit = {n: o.check(table.get(n, o.default), where) for n, o in EMIT_OPTIONS.items() if n != "lang"}
    if scales is not None and search and table.get("structure") != "rows":  # a rows fit is scale-free
        raise SepgenError(f"{where}: scales cannot be combined with {next(iter(search))} (a search fits one scale)")
    _check_emittable(name, langs, emit, where, scales is not None)
    structure = _structure(table, bool(search), scales is not None, langs, emit, where)
    return FilterConfig(name, spec, kernel_file, rank, settings, langs, emit, search, scales, structure)


def _structure(table: dict[str, Any], search: bool, scaled: bool, langs: tuple[str, ...], emit: dict[str, Any],
               where: str) -> str:
    """The `structure` key (issue 18): rows only for targets rows filters are emitted for; auto
    (the default with a search) searches rows too only where every target can take it."""
    from ..emit.rows_emit import check_options
    from ..filters.rowsfilter import check_structure
    from ..options import EmitOptions

    try:
        structure = check_structure(table.get("structure"), "rank" in table, search)
        if structure == "auto" and scaled:
            raise SepgenError("scales need structure separable or rows (auto would search both), got auto")
        for lang in langs:
            try:
                check_options(EmitOptions.from_dict({"lang": lang, **emit}))
            except SepgenError:
                if structure == "rows":
                    raise
                return "separable"  # auto: a target rows filters are not emitted for
    except SepgenError as exc:
        raise SepgenError(f"{where}: {exc}") from None
    return structure


def _search_request(table: dict[str, Any], where: str) -> dict[str, Any]:
    """{"budget": N} or {"target_error": E} (and "max_intermediate_bytes") when the table asks for
    a search (checked), else {}."""
    budget, target = check_search(table.get("budget"), table.get("target_error"), "rank" in table, where)
    cap = check_memory_cap(table.get("max_intermediate_bytes"), where)
    if cap is not None and budget is None and target is None:
        raise SepgenError(f"{where}: max_intermediate_bytes applies to a search only: give budget or target_error")
    return {k: v for k, v in (("budget", budget), ("target_error", target), ("max_intermediate_bytes", cap))
            if v is not None}


def for_language(emit: dict[str, Any], lang: str) -> dict[str, Any]:
    """A filter's emit options for one of its languages (GLSL binds units: no binding placement)."""
    if lang == "glsl":
        return {"lang": lang, **{n: v for n, v in emit.items() if n not in BINDING_FIELDS}}
    return {"lang": lang, **emit}


def _check_emittable(name: str, langs: tuple[str, ...], emit: dict[str, Any], where: str, scaled: bool) -> None:
    """Reject, before any fitting, what the emitter would refuse (option combinations, reserved prefixes;
    a scalable filter's shaders read a uniform scale unless told otherwise)."""
    from .. import emit as emitter  # NumPy + Jinja, no JAX

    if scaled and emit["scale_source"] == "auto":
        emit = {**emit, "scale_source": "uniform"}
    try:
        emitter.check_prefix(name)
        for lang in langs:
            emitter.resolve_options(for_language(emit, lang))
            if emit["scale_source"] != "auto" and lang not in emitter.scaled_languages():
                raise SepgenError(f"--lang {lang} cannot emit scaled taps yet "
                                  f"({', '.join(emitter.scaled_languages())} can)")
    except SepgenError as exc:
        raise SepgenError(f"{where}: {exc}") from None


def _kernel_spec(
    table: dict[str, Any], kernel: str, where: str, base: Path
) -> tuple[dict[str, Any], Path | None, tuple[int, int] | None]:
    """The kernel spec, the resolved kernel file and the kernel's shape where known without reading files."""
    if kernel.startswith("file:"):
        file = Path(kernel[5:])
        resolved = file if file.is_absolute() else base / file
        if not resolved.is_file():
            raise SepgenError(f"{where}: kernel: kernel file {resolved} does not exist")
        return {"kernel": kernel}, resolved, None
    if "size" not in table:
        raise SepgenError(f"{where}: missing key 'size' (kernel {kernel} needs one)")
    size = table["size"]
    if isinstance(size, bool) or not isinstance(size, int):
        raise SepgenError(f"{where}: size must be int, got {size!r}")
    if not 1 <= size <= kernels.MAX_SIZE:
        raise SepgenError(f"{where}: size {size} is outside 1..{kernels.MAX_SIZE}")
    spec: dict[str, Any] = {"kernel": kernel, "size": size}
    for opt in kernels.KERNELS[kernel].options:
        if opt.name in table:
            spec[opt.name] = _check_kernel_option(opt, table[opt.name], where)
    return spec, None, (size, size)


def _check_kernel_option(opt: kernels.KernelOption, value: Any, where: str) -> Any:
    """Type-check a kernel option; its range is checked by the kernel itself when made."""
    return check_type(opt.name, opt.type, value, where)


def _langs(value: Any, where: str) -> tuple[str, ...]:
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not values:
        raise SepgenError(f"{where}: lang must be a language or a non-empty list of them, got {value!r}")
    langs = tuple(EMIT_OPTIONS["lang"].check(v, where) for v in values)
    if len(set(langs)) != len(langs):
        raise SepgenError(f"{where}: lang lists a language twice: {list(langs)}")
    return langs


def _reject_unknown(table: dict[str, Any], known: tuple[str, ...] | list[str], where: str) -> None:
    for key in table:
        if key not in known:
            raise SepgenError(f"{where}: unknown key {key!r}{_suggest(key, known)}")


def _suggest(key: str, known: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(key, list(known), n=1)
    if close:
        return f" (did you mean {close[0]!r}?)"
    listed = ", ".join(known)  # the message stays one short line: the full table is in docs/build.md
    return f" (known: {listed})" if len(listed) <= 240 else " (the keys are listed in docs/build.md)"
