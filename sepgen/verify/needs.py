"""What running the emitted shaders needs on this machine: the runners and command-line tools
each variant uses, which of them are missing, and the Debian packages that install them
(`sepgen runners`, `verify`'s "not run" lines, the CI example's install step)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..common.errors import SepgenError
from ..common.tools import PACKAGES, require_tool
from ..run.registry import DEBIAN_PACKAGES, RUNNERS

if TYPE_CHECKING:  # pragma: no cover
    from .runfilter import Runners
    from .variant import Variant

__all__ = ["TOOLS_FOR", "missing_tool", "needed", "packages_for"]

TOOLS_FOR = {"hlsl": ("glslangValidator", "spirv-cross"),  # spirv-cross: the HLSL_ON_GL variants
             "spirv": ("glslangValidator", "spirv-val")}


def missing_tool(lang: str) -> str | None:
    """Why `lang`'s variants cannot compile here (glslang, spirv-cross or spirv-val missing: the
    message names the Debian package), or None."""
    for tool in TOOLS_FOR.get(lang, ()):
        try:
            require_tool(tool)
        except SepgenError as exc:
            return str(exc)
    return None


def needed(variants: Iterable[Variant] | None = None) -> tuple[list[str], list[str]]:
    """(runner names, tool names) these variants use; every runner and tool when None."""
    if variants is None:
        return list(RUNNERS), [t for t in PACKAGES if t != "chromium"]
    variants = list(variants)
    runners = {v.backend for v in variants if v.backend}
    tools = {t for v in variants for t in TOOLS_FOR.get(v.options["lang"], ())}
    return [r for r in RUNNERS if r in runners], [t for t in PACKAGES if t in tools]


def packages_for(runners: Runners, runner_names: Iterable[str], tools: Iterable[str]) -> list[str]:
    """The Debian packages of the runners and tools in these lists that are missing here, sorted."""
    packages = {p for name in runners.missing(set(runner_names)) for p in DEBIAN_PACKAGES[name]}
    for tool in tools:
        try:
            require_tool(tool)
        except SepgenError:
            packages.add(PACKAGES[tool])
    return sorted(packages)
