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

from ..filters import rows
from ..filters.rowsfile import RowsFilter
from ..options import EmitOptions
from ..plan import rowsplan
from .variant import Variant

FP32_U = 2.0**-24
BILINEAR_FRACTION = 2.0**-8


def is_rows(filt: Any) -> bool:
    return isinstance(filt, RowsFilter)


def variants(langs: Any = ("glsl",)) -> list[Variant]:
    """What rows filters are emitted for so far: GLSL 330 and ES 300 fragment (bilinear and point
    reads), GLSL 430 compute, SPIR-V, HLSL (Vulkan) and WGSL (WebGPU) of both stages; fp32."""
    out = []
    for o in EmitOptions.combinations():
        glsl = o.lang == "glsl" and o.glsl_version in ("330", "300es")
        spirv = o.lang in ("spirv", "hlsl", "wgsl") and o.glsl_version == "330"  # they ignore the GLSL version: once
        if o.lang in langs and (glsl or spirv) and o.precision == "fp32" and o.strategy == "mrt":
            out.append(Variant(o.to_dict()))
    return out


def reference(img: np.ndarray, filt: RowsFilter) -> np.ndarray:
    return rows.filter_image(np.asarray(img, np.float64), filt.layout)


def tolerance(filt: RowsFilter, img: np.ndarray, ref: np.ndarray, bilinear: float = BILINEAR_FRACTION) -> float:
    """Relative tolerance of a rows variant: the scan's float32 sums over a tile, plus the
    runner's bilinear weight error (`bilinear`) at fractional box ends."""
    tile = rowsplan.tile_for(filt.layout.line_length)
    weights = sum(abs(r.weight) for r in filt.layout.gather_plan(share=True))
    peak = float(np.max(np.abs(ref))) or 1.0
    amplification = max(float(np.max(np.abs(img))) * weights / peak, 1e-12)
    return amplification * (tile * 2 * math.log2(tile) * FP32_U + 2 * bilinear)
