"""A `Variant`: one set of emit options and the scale it runs at: what verify executes,
in this process or in a worker (`sepgen.verify.jobs`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..common.errors import SepgenError
from ..options import EMIT_OPTIONS, ENGINE_FIELDS, EmitOptions
from .routes import backend_for

__all__ = ["Variant", "scale_map"]


def scale_map(shape: tuple[int, ...]) -> np.ndarray:
    """The per-pixel scales verify uses: 0.2 at the top-left corner rising to 1 at the bottom-right."""
    h, w = shape[:2]
    y, x = np.mgrid[0:h, 0:w]
    return (0.2 + 0.4 * (x / max(w - 1, 1) + y / max(h - 1, 1))).astype(np.float32)


@dataclass
class Variant:
    """One set of emit options (scaled shaders: and the scale they run at, a value or "map")."""

    options: dict[str, Any]
    scale: float | str | None = None

    def __post_init__(self) -> None:
        # Spell out the defaults so the name (and the table) says exactly what ran.
        given = {n: v for n, v in self.options.items() if v is not None}
        self.options = {**{n: o.default for n, o in EMIT_OPTIONS.items()}, **given}
        if self.options["linear_sampling"] is None:
            self.options["linear_sampling"] = EmitOptions.linear_by_default(self.options)

    @property
    def emit_options(self) -> EmitOptions:
        return EmitOptions.from_dict(self.options)

    @property
    def name(self) -> str:
        # from the raw options: a variant the emitter refuses still has a name (and fails)
        o = self.options
        lang = "glsl" + o["glsl_version"] if o["lang"] == "glsl" else o["lang"]
        sampling = "linear" if o["linear_sampling"] else "point"
        if self.scale is not None:
            sampling = "scale map" if self.scale == "map" else f"scale {self.scale:g}"
        # issue 19's engine options, only when set: the default variants keep their names
        engine = "".join(f" {o[n]}" for n in ENGINE_FIELDS if o.get(n) not in (None, EMIT_OPTIONS[n].default))
        return f"{lang} {o['stage']} {o['strategy']} {o['precision']} {sampling}{engine}"

    @property
    def backend(self) -> str:
        """The runner that executes it (`routes.backend_for`), or "" when the emitter refuses its options."""
        try:
            return backend_for(self.options)
        except SepgenError:
            return ""

    def scale_for(self, shape: tuple[int, ...]) -> float | np.ndarray | None:
        """The scale to run at on an image of this shape: None, the value, or `scale_map(shape)`."""
        if self.scale is None:
            return None
        return scale_map(shape) if self.scale == "map" else float(self.scale)
