"""`sepgen.apply`: filter an image with a fitted filter, on NumPy or on the emitted shaders.

    out = sepgen.apply("disk.json", img)                                 # the float64 reference, as float32
    out = sepgen.apply(filt, img, backend="gpu", options={"lang": "hlsl"})  # emit, run on its runner
    out = sepgen.apply(filt, img, scale=0.5)                             # scaled taps (a value or an H×W map)
    out = sepgen.apply("disk_rows.json", img)                            # a rows filter: its running-sum reference
    out = sepgen.apply("disk_rows_scales.json", img, scale=smap)          # a scalable rows filter, per-pixel scales

`run_apply` returns the image and what computed it ("numpy", "GLSL shaders on OpenGL: …");
`sepgen apply` and the report call it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..common import images
from ..common.errors import SepgenError
from ..filters import reference, scaling
from ..options import EMIT_OPTIONS, EmitOptions

if TYPE_CHECKING:  # pragma: no cover
    from ..filters.filterfile import SeparableFilter
    from ..filters.rowsfile import RowsFilter
    from ..run.registry import Runner
    from .runfilter import Runners

BACKENDS = ("numpy", "gpu")

__all__ = ["apply", "run_apply", "Applied", "check_scale", "unscaled_warning", "BACKENDS"]


@dataclass(frozen=True)
class Applied:
    image: np.ndarray  # float32, the input's shape
    source: str  # what computed it: "numpy", or e.g. "GLSL shaders on OpenGL: llvmpipe (…)"


def apply(filt: SeparableFilter | RowsFilter | str | os.PathLike, img: np.ndarray, backend: str = "numpy",
          options: dict[str, Any] | EmitOptions | None = None, scale: float | np.ndarray | None = None, *,
          gamma: float | None = None, runner: Runner | Runners | None = None,
          progress: Callable[[str], None] | None = None) -> np.ndarray:
    """`img` (H×W or H×W×C) filtered by `filt` (a SeparableFilter, a RowsFilter or a filter file of
    either structure): float32, same shape.

    backend "numpy": the reference convolution (the NumPy model of scaled taps with `scale`; for a
    rows filter the float64 running-sum reference, `sepgen.filters.rows.filter_image`, and with
    `scale` the scaled one, `sepgen.filters.rows_scaled.filter_image`);
    "gpu": emit the shaders with `options` (`sepgen emit`'s; lang GLSL by default) and run them
    on their runner (`runner`: one to use). `scale`: one value in [0, 1] or an H×W map (scaled
    taps; rows filters: only those fitted with scales). `gamma`: filter img^γ and return ^(1/γ)
    (bokeh boost). `progress` gets each step."""
    return run_apply(filt, img, backend, options, scale, gamma=gamma, runner=runner, progress=progress).image


def run_apply(filt: SeparableFilter | RowsFilter | str | os.PathLike, img: np.ndarray, backend: str = "numpy",
              options: dict[str, Any] | EmitOptions | None = None, scale: float | np.ndarray | None = None, *,
              gamma: float | None = None, runner: Runner | Runners | None = None,
              progress: Callable[[str], None] | None = None) -> Applied:
    """`apply`, with what computed the result."""
    from ..filters.filterfile import SeparableFilter
    from ..filters.rowsfile import RowsFilter, load_filter

    if backend not in BACKENDS:
        raise SepgenError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if backend == "numpy" and (options or runner is not None):
        raise SepgenError("emit options and runners apply only to the gpu backend")
    if gamma is not None:
        images.check_gamma(gamma)
    loaded: SeparableFilter | RowsFilter = (
        filt if isinstance(filt, (SeparableFilter, RowsFilter)) else load_filter(filt))  # either structure (issue 18)
    arr = images.check_image(img)
    if isinstance(img, np.ndarray) and np.issubdtype(img.dtype, np.floating):
        arr = img  # checked; NumPy filters float64 images at their own precision
    scale = check_scale(scale, arr.shape)
    if gamma is not None:
        arr = images.gamma_encode(arr, gamma)
    if backend == "gpu":
        out, source = _on_gpu(loaded, arr, options, scale, runner, progress or (lambda message: None))
    else:
        out, source = _on_numpy(loaded, arr, scale, progress), "numpy"
    if gamma is not None:
        out = images.gamma_decode(out, gamma)
    return Applied(out, source)


def check_scale(scale: Any, shape: tuple[int, ...], where: str = "scale", map_where: str = "scale map") -> Any:
    """None (fixed taps), one scale in [0, 1] (0: in focus), or an H×W map of them for an image of `shape`."""
    if scale is None:
        return None
    if np.ndim(scale) == 0:
        return scaling.check_scale(scale.item() if isinstance(scale, (np.ndarray, np.generic)) else scale, where,
                                   allow_zero=True)
    return scaling.check_scale_map(scale, shape, map_where)


def unscaled_warning(filt: SeparableFilter | RowsFilter) -> str | None:
    """What to warn about when running a filter fitted without scales at other scales."""
    if filt.scales is not None:
        return None
    return (f"{filt.name} was fitted without scales: its quality at other scales was not fitted "
            "(fit with --scales)")


def _on_gpu(filt: SeparableFilter | RowsFilter, img: np.ndarray, options: dict[str, Any] | EmitOptions | None,
            scale: Any, runner: Runner | Runners | None, say: Callable[[str], None]) -> tuple[np.ndarray, str]:
    from .runfilter import run_filter

    opts = dict(options.to_dict() if isinstance(options, EmitOptions) else options or {})
    opts["lang"] = opts.get("lang") or EMIT_OPTIONS["lang"].default
    if scale is not None and opts.get("scale_source", "auto") == "auto":
        opts["scale_source"] = "uniform" if np.ndim(scale) == 0 else "texture"
    say(f"emitting the {opts['lang'].upper()} passes and running them on the GPU")
    return run_filter(filt, img, opts, runner, scale=scale)


def _on_numpy(filt: SeparableFilter | RowsFilter, img: np.ndarray, scale: Any,
              progress: Callable[[str], None] | None) -> np.ndarray:
    from ..filters import rows, rows_scaled
    from ..filters.rowsfile import RowsFilter

    say = progress or (lambda message: None)
    if isinstance(filt, RowsFilter) and scale is not None:  # the kernel scaled about its origin, gain kept
        say(f"filtering with the NumPy scaled running-sum reference ({filt.layout.axis}, {filt.layout.boxes} boxes, "
            f"{'one scale' if np.ndim(scale) == 0 else 'a scale per pixel'})")
        return rows_scaled.filter_image(img, filt.layout, scale).astype(np.float32)
    if isinstance(filt, RowsFilter):  # boxes read from running sums
        say(f"filtering with the NumPy running-sum reference ({filt.layout.axis}, {filt.layout.boxes} boxes, "
            f"{filt.shape[0]}x{filt.shape[1]} taps)")
        return rows.filter_image(img, filt.layout).astype(np.float32)
    if scale is not None:
        say(f"filtering with the NumPy model of scaled taps (rank {filt.rank})")
        return scaling.apply_scaled(img, filt.vertical, filt.horizontal, filt.origin, scale).astype(np.float32)
    if img.ndim == 2 or progress is None:  # channel by channel only to say so
        say(f"filtering with NumPy (rank {filt.rank}, {filt.shape[0]}x{filt.shape[1]} taps)")
        return reference.apply_filter(img, filt).astype(np.float32)
    out = np.empty(img.shape, np.float32)
    for c in range(img.shape[2]):
        say(f"filtering channel {c + 1}/{img.shape[2]} with NumPy "
            f"(rank {filt.rank}, {filt.shape[0]}x{filt.shape[1]} taps)")
        out[:, :, c] = reference.apply_filter(img[:, :, c], filt)
    return out
