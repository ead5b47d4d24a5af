"""Verifying a rows filter (`RowsFilter`): its variants, reference and tolerance.

The reference is the float64 running-sum filter (`sepgen.filters.rows.filter_image`, equal
to convolving with the boxes' kernel). Tolerance, relative to max|ref| (u = 2⁻²⁴):

    a   = max|img| · Σ_reads |weight| / max|ref|
    tol = a · (tile · 2·log2(tile) · u      the running sums: up to a tile's sum, rounded at each
                                            of the log2(tile) tree levels, at both ends of a box
               + 2·2⁻⁸)                     8-bit bilinear fractions at both ends (llvmpipe interpolates
                                            in float and lands far below)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..filters import rows, rows_scaled
from ..filters.rowsfile import RowsFilter
from ..options import EmitOptions
from ..plan import rowsplan
from .variant import Variant, scale_map

FP32_U = 2.0**-24
BILINEAR_FRACTION = 2.0**-8


def is_rows(filt: Any) -> bool:
    return isinstance(filt, RowsFilter)


def variants(langs: Any = ("glsl",), scales: Any = None) -> list[Variant]:
    """What rows filters are emitted for so far: GLSL 330 and ES 300 fragment (bilinear and point
    reads), GLSL 430 compute, SPIR-V, HLSL (Vulkan) and WGSL (WebGPU) of both stages; fp32.
    With `scales` (a scalable rows filter: verify's scales): the fragment variants with the scale
    from a uniform at each of them and from the per-pixel map, as for scalable separable filters."""
    out = []
    for o in EmitOptions.combinations():
        glsl = o.lang == "glsl" and o.glsl_version in ("330", "300es")
        spirv = o.lang in ("spirv", "hlsl", "wgsl") and o.glsl_version == "330"  # they ignore the GLSL version: once
        if not (o.lang in langs and (glsl or spirv) and o.precision == "fp32" and o.strategy == "mrt"):
            continue
        if scales is None:
            out.append(Variant(o.to_dict()))
        elif o.stage == "fragment" and not o.linear_sampling:  # scaled: bilinear ends of fragment passes
            out += [Variant({**o.to_dict(), "scale_source": "uniform"}, s) for s in scales]
            out.append(Variant({**o.to_dict(), "scale_source": "texture"}, "map"))
    return out


def reference(img: np.ndarray, filt: RowsFilter, scale: float | np.ndarray | None = None) -> np.ndarray:
    """The float64 reference: the running-sum filter, or at `scale` (a value or a map) the scaled one."""
    if scale is None:
        return rows.filter_image(np.asarray(img, np.float64), filt.layout)
    return rows_scaled.filter_image(np.asarray(img, np.float64), filt.layout, scale)


def tolerance(filt: RowsFilter, img: np.ndarray, ref: np.ndarray, bilinear: float = BILINEAR_FRACTION,
              scale: Any = None) -> float:
    """Relative tolerance of a rows variant: the scan's float32 sums over a tile, plus the
    runner's bilinear weight error (`bilinear`) at fractional box ends. A scaled variant (`scale`:
    a value, or "map" for verify's scale map) counts the renormalised weights of its smallest scale."""
    tile = rowsplan.tile_for(filt.layout.line_length)
    if scale is None:
        weights = sum(abs(r.weight) for r in filt.layout.gather_plan(share=True))
    else:
        s = float(np.min(scale_map(img.shape))) if isinstance(scale, str) else float(scale)
        weights = sum(abs(r.weight) for r in rows_scaled.reads(filt.layout, s)) if s > 0 else 1.0
    peak = float(np.max(np.abs(ref))) or 1.0
    amplification = max(float(np.max(np.abs(img))) * weights / peak, 1e-12)
    return amplification * (tile * 2 * math.log2(tile) * FP32_U + 2 * bilinear)
