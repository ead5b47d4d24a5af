"""`manifest.json`: the emitted folder as a `passmodel.Manifest` (documented in docs/manifest.md)."""

from __future__ import annotations

from typing import Any

from .._version import __version__
from ..filters.filterfile import SeparableFilter
from ..options import EmitOptions
from ..plan.passmodel import MANIFEST, Manifest, Pass
from ..plan.planner import textures
from .extensions import required_extensions, required_limits
from .files import EmittedFile

__all__ = ["MANIFEST", "build"]


def build(filt: SeparableFilter, options: EmitOptions, passes: list[Pass], files: list[EmittedFile],
          counts: dict[str, int], quality: dict[str, Any], command: str, scale: dict[str, Any] | None = None) -> Manifest:
    return Manifest(
        files=tuple(f.file for f in files),
        textures=textures(filt.name, filt.rank, options),
        passes=tuple(passes),
        sepgen=__version__,
        command=command,
        filter=filt.name,
        rank=filt.rank,
        kernel_size=filt.shape,
        origin=tuple(filt.origin),  # type: ignore[arg-type]
        metrics=quality,
        options=options.to_dict(),
        fetches_per_pixel=counts,
        extensions=required_extensions(options, passes),
        limits=required_limits(options, passes) if options.lang == "wgsl" else None,
        scale=scale,
    )
