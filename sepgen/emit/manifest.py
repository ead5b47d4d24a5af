"""`manifest.json`: the emitted folder as a `passmodel.Manifest` (documented in docs/manifest.md)."""

from __future__ import annotations

from typing import Any

from .._version import __version__
from ..filters.filterfile import SeparableFilter
from ..options import EmitOptions
from ..plan.passmodel import MANIFEST, Manifest, Pass, ScaleEntry, intermediate_bytes
from ..plan.planner import textures
from .extensions import required_extensions, required_limits
from .files import EmittedFile

__all__ = ["MANIFEST", "build"]


def build(filt: SeparableFilter, options: EmitOptions, passes: list[Pass], files: list[EmittedFile],
          counts: dict[str, int], quality: dict[str, Any], command: str, scale: ScaleEntry | None = None) -> Manifest:
    return Manifest(
        files=tuple(f.file for f in files),
        textures=textures(filt.name, filt.rank, options),
        passes=tuple(passes),
        sepgen=__version__,
        command=command,
        filter=filt.name,
        rank=filt.rank,
        kernel_size=filt.shape,
        origin=filt.origin,
        metrics=quality,
        options=options.to_dict(),
        fetches_per_pixel=counts,
        extensions=required_extensions(options, passes),
        limits=required_limits(options, passes) if options.runner == "webgpu" else None,
        scale=scale,
        intermediate_bytes_per_pixel=intermediate_memory(options, passes),
    )


def intermediate_memory(options: EmitOptions, passes: list[Pass]) -> dict[str, int]:
    """{"written", "read"}: bytes per pixel the horizontal passes write to the intermediates
    and the vertical passes fetch from them (as `sepgen.plan.taps.intermediate_cost` counts)."""
    written = sum(len(p.outputs) for p in passes if p.direction == "horizontal")  # channels="rgb": packed
    fetched = sum(p.fetches_per_pixel for p in passes if p.direction == "vertical")
    return intermediate_bytes(options.intermediate_format, written, fetched)
