"""The project's JSON writer: deterministic bytes for filter files, manifests and build records.

Objects are indented, lists of scalars stay on one line, floats use Python's
shortest round-trip repr, non-finite numbers are refused; LF and a final newline.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from .errors import SepgenError

__all__ = ["dumps"]


def dumps(doc: Any) -> str:
    """Deterministic JSON: objects indented, lists of numbers on one line, LF, trailing newline."""
    return _dump(doc, 0) + "\n"


def _dump(value: Any, level: int) -> str:
    pad = "  " * (level + 1)
    end = "  " * level
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f"{pad}{json.dumps(str(k))}: {_dump(v, level + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + end + "}"
    if isinstance(value, (list, tuple)):
        if all(_is_scalar(v) for v in value):
            return "[" + ", ".join(_dump(v, level) for v in value) + "]"
        return "[\n" + ",\n".join(pad + _dump(v, level + 1) for v in value) + "\n" + end + "]"
    if isinstance(value, (float, np.floating)):
        f = float(value)
        if not math.isfinite(f):
            raise SepgenError(f"refusing to write a non-finite number ({f})")
        return repr(f)
    if isinstance(value, np.integer):
        return str(int(value))
    if isinstance(value, np.ndarray):
        return _dump(value.tolist(), level)
    return json.dumps(value, allow_nan=False)


def _is_scalar(v: Any) -> bool:
    return v is None or isinstance(v, (bool, int, float, str, np.number))
