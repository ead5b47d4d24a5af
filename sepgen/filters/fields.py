"""Checks of the filter file's JSON values, shared by the file and its structures: one-line
errors that name the key and the first bad item (`'target'[1][1] is the string "1"`)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from ..common.errors import SepgenError

MAX_TAPS = 1025  # per axis: far beyond any blur, small enough that a typo cannot exhaust memory
FLOAT32_MAX = float(np.finfo(np.float32).max)  # the shaders' type: a larger tap cannot be emitted


def fitted_kernel_spec(provenance: dict[str, Any]) -> dict[str, Any] | None:
    """The named kernel spec a filter was fitted to (its provenance's `kernel`, with an integer
    size), or None (arrays, files): what its other scales are compared with."""
    spec = provenance.get("kernel")
    return spec if isinstance(spec, dict) and isinstance(spec.get("size"), int) else None


def reject_constant(name: str) -> None:
    """`json.loads(parse_constant=...)`: NaN and Infinity are not JSON numbers."""
    raise ValueError(f"{name} is not allowed")


def first_non_number(value: Any, ndim: int) -> tuple[str, Any] | None:
    """('[i]' or '[i][j]', item) of the first item that is not a JSON number, or None."""
    if ndim == 1:
        if not isinstance(value, list):
            return None  # the shape check names it
        for i, x in enumerate(value):
            if isinstance(x, bool) or not isinstance(x, (int, float)):
                return f"[{i}]", x
        return None
    for i, row in enumerate(value if isinstance(value, list) else []):
        bad = first_non_number(row, 1)
        if bad is not None:
            return f"[{i}]{bad[0]}", bad[1]
    return None


def json_kind(value: Any) -> str:
    if isinstance(value, str):
        return f"the string {json.dumps(value[:40])}"
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    return "a list" if isinstance(value, list) else "an object"


def numeric(value: Any, what: str, ndim: int) -> np.ndarray:
    """`value` as a finite, non-empty float64 array of `ndim` dimensions, or a one-line error naming `what`."""
    bad = first_non_number(value, ndim)
    if bad is not None:
        raise SepgenError(f"{what}{bad[0]} is {json_kind(bad[1])}, expected a number")
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        shape = "a list" if ndim == 1 else "a list of equal-length lists"
        raise SepgenError(f"{what} must be {shape} of numbers") from None
    if arr.ndim != ndim or arr.size == 0:
        raise SepgenError(f"{what} must be {ndim}D and non-empty, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise SepgenError(f"{what} contains NaN or infinite values")
    if any(n > MAX_TAPS for n in arr.shape):
        raise SepgenError(f"{what} has more than {MAX_TAPS} taps")
    return arr


def float32_taps(value: Any, what: str) -> np.ndarray:
    """A 1D list of taps that each fit in a float32."""
    arr = numeric(value, what, ndim=1)
    too_big = np.flatnonzero(np.abs(arr) > FLOAT32_MAX)
    if too_big.size:
        i = int(too_big[0])
        raise SepgenError(f"{what}[{i}] = {float(arr[i])!r} does not fit in a float32")
    return arr
