"""The filter file (`sepgen-filter/1`): the one contract between fitting and
everything after it (emit, apply, verify, build, report). NumPy only.

    {
      "format": "sepgen-filter/1",
      "name": "disk50",                      # identifier, prefixes shader symbols
      "origin": [cy, cx],                    # tap that lands on the output pixel
      "target": [[...H floats], ...],        # the 2D kernel that was approximated
      "components": [{"vertical": [H floats], "horizontal": [W floats]}, ...],
      "scales": [0.25, 0.5, 1.0],            # only in scalable filters (fitted with --scales)
      "provenance": {...},                   # kernel spec, weights, optimiser, sepgen version
      "metrics": {...}                       # see sepgen.filters.metrics; "scales": one row per scale
    }

A scalable filter is meant to be run at any scale s in [0, 1] (0: no blur), its taps fetched at
offset·s with bilinear filtering (`sepgen.filters.scaling`); `scales` lists those it was fitted
for, and `metrics.scales` its quality at each of them against the kernel at size·s.
Files without `scales` are exactly what they were before scalable filters existed.

The approximation is Σ outer(vertical, horizontal). Floats are written with
Python's shortest round-trip repr, so save/load is exact; key order is fixed so
the same filter always gives the same bytes.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..common import atomic
from . import metrics, scaling
from ..common.jsonfmt import dumps
from ..common.errors import SepgenError
from ..common.identifiers import check_identifier

FORMAT = "sepgen-filter/1"
MAX_RANK = 64
# Relative L2 error (‖A − K‖ / ‖K‖) above which a filter is called far from its target: the
# error then carries more than a quarter of the kernel's energy (0.5² = 0.25). Fits of the
# built-in shapes stay well below it from rank 2 on (disk 0.22, ring 0.36 at best); a rank-1
# ring (0.66), a sharpen kernel fitted without negative lobes (0.83) or a hand-edited file
# (7.1) are above it.
FAR_FROM_TARGET = 0.5


@dataclass
class SeparableFilter:
    """A kernel approximated as Σ_k outer(vertical[k], horizontal[k])."""

    name: str
    target: np.ndarray  # H×W
    vertical: np.ndarray  # rank×H
    horizontal: np.ndarray  # rank×W
    origin: tuple[int, int] | None = None
    provenance: dict[str, Any] = field(default_factory=dict)
    scales: tuple[float, ...] | None = None  # the scales a scalable filter was fitted for
    # Sampled loss history of the fit that made it (not saved).
    history: np.ndarray | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_identifier(self.name)
        self.target = np.asarray(self.target, dtype=np.float64)
        self.vertical = np.atleast_2d(np.asarray(self.vertical, dtype=np.float64))
        self.horizontal = np.atleast_2d(np.asarray(self.horizontal, dtype=np.float64))
        if self.origin is None:
            self.origin = (self.target.shape[0] // 2, self.target.shape[1] // 2)
        self.origin = (int(self.origin[0]), int(self.origin[1]))
        _check_shapes(self.target, self.vertical, self.horizontal, self.origin, self.name)
        if self.scales is not None:
            self.scales = scaling.check_scales(list(self.scales), f"filter {self.name}: scales")

    @property
    def rank(self) -> int:
        return int(self.vertical.shape[0])

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.target.shape[0]), int(self.target.shape[1]))

    def reconstruct(self) -> np.ndarray:
        """The approximated 2D kernel Σ outer(vertical[k], horizontal[k])."""
        return np.einsum("ki,kj->ij", self.vertical, self.horizontal)

    def metrics(self) -> dict[str, Any]:
        """Loss terms (peak-scaled) and quality figures; recomputed, never trusted from a file."""
        approx = self.reconstruct()
        out: dict[str, Any] = {"loss_terms": metrics.loss_terms(approx, self.target, self.origin)}
        weights = self.provenance.get("weights")
        if isinstance(weights, dict):
            out["loss"] = metrics.weighted_loss(out["loss_terms"], weights)
        out.update(metrics.quality(approx, self.target, self.vertical, self.horizontal))
        if self.scales is not None:
            out["scales"] = [{"scale": s, **self.quality_at(s)} for s in self.scales]
        return out

    @property
    def kernel_spec(self) -> dict[str, Any] | None:
        """The named kernel spec it was fitted to (provenance), or None (arrays, files)."""
        spec = self.provenance.get("kernel")
        return spec if isinstance(spec, dict) and isinstance(spec.get("size"), int) else None

    def quality_at(self, scale: float) -> dict[str, float]:
        """Quality figures at `scale` against the kernel at size·scale (`sepgen.filters.scaling`)."""
        q = scaling.quality_at(self.vertical, self.horizontal, self.target, self.kernel_spec, self.origin, scale)
        return {k: v for k, v in q.items() if k != "zero_taps"}

    def to_json(self) -> str:
        doc = {
            "format": FORMAT,
            "name": self.name,
            "origin": list(self.origin),
            "rank": self.rank,
            "target": self.target.tolist(),
            "components": [
                {"vertical": v.tolist(), "horizontal": h.tolist()}
                for v, h in zip(self.vertical, self.horizontal)
            ],
            **({"scales": list(self.scales)} if self.scales is not None else {}),
            "provenance": self.provenance,
            "metrics": self.metrics(),
        }
        return dumps(doc)

    def save(self, path: str | os.PathLike) -> None:
        atomic.write_text(path, self.to_json())

    @classmethod
    def from_json(cls, text: str, source: str = "filter file") -> "SeparableFilter":
        try:
            doc = json.loads(text, parse_constant=_reject_constant)
        except json.JSONDecodeError as exc:
            raise SepgenError(f"{source} is not valid JSON: {exc.msg} at line {exc.lineno}") from None
        except ValueError as exc:
            raise SepgenError(f"{source}: {exc}") from None
        return cls.from_dict(doc, source)

    @classmethod
    def from_dict(cls, doc: Any, source: str = "filter file") -> "SeparableFilter":
        if not isinstance(doc, dict):
            raise SepgenError(f"{source} must hold a JSON object")
        if doc.get("format") != FORMAT:
            raise SepgenError(f"{source} has format {doc.get('format')!r}, expected {FORMAT!r}")
        for key in ("name", "target", "components"):
            if key not in doc:
                raise SepgenError(f"{source} has no {key!r}")
        comps = doc["components"]
        if not isinstance(comps, list) or not comps:
            raise SepgenError(f"{source}: 'components' must be a non-empty list")
        if not all(isinstance(c, dict) and "vertical" in c and "horizontal" in c for c in comps):
            raise SepgenError(f"{source}: each component needs 'vertical' and 'horizontal'")
        _check_rank(doc.get("rank", len(comps)), len(comps), source)
        target = _numeric(doc["target"], f"{source}: 'target'", ndim=2)
        vs = [_coefficients(c, "vertical", i, source) for i, c in enumerate(comps)]
        hs = [_coefficients(c, "horizontal", i, source) for i, c in enumerate(comps)]
        for i, (v, h) in enumerate(zip(vs, hs)):
            if v.shape[0] != target.shape[0] or h.shape[0] != target.shape[1]:
                raise SepgenError(
                    f"{source}: component {i} has {v.shape[0]}x{h.shape[0]} taps, target is "
                    f"{target.shape[0]}x{target.shape[1]}"
                )
        origin = doc.get("origin")
        if origin is not None and not (
            isinstance(origin, list) and len(origin) == 2 and all(isinstance(o, int) and not isinstance(o, bool) for o in origin)
        ):
            raise SepgenError(f"{source}: 'origin' must be [cy, cx] integers")
        prov = doc.get("provenance", {})
        if not isinstance(prov, dict):
            raise SepgenError(f"{source}: 'provenance' must be an object")
        try:
            name = check_identifier(doc["name"])
        except SepgenError as exc:
            raise SepgenError(f"{source}: {exc}") from None
        scales = scaling.check_scales(doc["scales"], f"{source}: 'scales'") if "scales" in doc else None
        filt = cls(name, target, np.array(vs), np.array(hs), tuple(origin) if origin else None, prov, scales)
        return check_meaningful(filt, source)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "SeparableFilter":
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise SepgenError(f"filter file {path} does not exist") from None
        except IsADirectoryError:
            raise SepgenError(f"filter file {path} is a directory, not a file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise SepgenError(f"cannot read filter file {path}: {getattr(exc, 'strerror', None) or exc}") from None
        return cls.from_json(text, f"filter file {path}")


def check_meaningful(filt: SeparableFilter, source: str | None = None) -> SeparableFilter:
    """`filt`, or a one-line SepgenError when it can only be wrong: an all-zero target (nothing
    to approximate, and every relative figure divides by it) or components that sum to zero
    everywhere (shaders that fetch nothing and write black)."""
    where = source or f"filter {filt.name}"
    if not np.any(filt.target):
        raise SepgenError(f"{where}: 'target' is all zero: there is no kernel to approximate")
    if not np.any(filt.reconstruct()):
        raise SepgenError(f"{where}: the components are zero everywhere: the filter blurs nothing "
                          "(its shaders would fetch no texel and write black)")
    return filt


def far_from_target(filt: SeparableFilter) -> str | None:
    """A one-line warning when the filter's relative L2 error exceeds FAR_FROM_TARGET, else None."""
    approx = filt.reconstruct()
    error = float(np.linalg.norm(approx - filt.target) / np.linalg.norm(filt.target))
    if error <= FAR_FROM_TARGET:
        return None
    return (f"{filt.name} is far from its target: relative L2 error {error:.3g} (more than {FAR_FROM_TARGET:g}); "
            "its shaders will not look like the kernel (a higher rank, or check the filter file)")


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not allowed")


def _check_rank(rank: Any, count: int, source: str) -> None:
    """The optional 'rank' key must equal the number of components (it is not a truncation)."""
    if isinstance(rank, bool) or not isinstance(rank, int):
        raise SepgenError(f"{source}: 'rank' must be an integer, got {rank!r}")
    if rank != count:
        raise SepgenError(f"{source}: 'rank' is {rank} but 'components' holds {count}")


def _coefficients(comp: dict[str, Any], key: str, index: int, source: str) -> np.ndarray:
    """One component's taps: numbers that fit in a float32 (the shaders' type)."""
    what = f"{source}: component {index} {key!r}"
    arr = _numeric(comp[key], what, ndim=1)
    too_big = np.flatnonzero(np.abs(arr) > float(np.finfo(np.float32).max))
    if too_big.size:
        i = int(too_big[0])
        raise SepgenError(f"{what}[{i}] = {float(arr[i])!r} does not fit in a float32")
    return arr


def _first_non_number(value: Any, ndim: int) -> tuple[str, Any] | None:
    """('[i]' or '[i][j]', item) of the first item that is not a JSON number, or None."""
    if ndim == 1:
        if not isinstance(value, list):
            return None  # the shape check names it
        for i, x in enumerate(value):
            if isinstance(x, bool) or not isinstance(x, (int, float)):
                return f"[{i}]", x
        return None
    for i, row in enumerate(value if isinstance(value, list) else []):
        bad = _first_non_number(row, 1)
        if bad is not None:
            return f"[{i}]{bad[0]}", bad[1]
    return None


def _json_kind(value: Any) -> str:
    if isinstance(value, str):
        return f"the string {json.dumps(value[:40])}"
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    return "a list" if isinstance(value, list) else "an object"


def _numeric(value: Any, what: str, ndim: int) -> np.ndarray:
    bad = _first_non_number(value, ndim)
    if bad is not None:
        raise SepgenError(f"{what}{bad[0]} is {_json_kind(bad[1])}, expected a number")
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise SepgenError(f"{what} must be {'a list' if ndim == 1 else 'a list of equal-length lists'} of numbers") from None
    if arr.ndim != ndim or arr.size == 0:
        raise SepgenError(f"{what} must be {ndim}D and non-empty, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise SepgenError(f"{what} contains NaN or infinite values")
    if any(n > 1025 for n in arr.shape):
        raise SepgenError(f"{what} has more than 1025 taps")
    return arr


def _check_shapes(target: np.ndarray, v: np.ndarray, h: np.ndarray, origin: tuple[int, int], name: str) -> None:
    if target.ndim != 2:
        raise SepgenError(f"filter {name}: target must be 2D, got shape {target.shape}")
    if v.ndim != 2 or h.ndim != 2 or v.shape[0] != h.shape[0]:
        raise SepgenError(f"filter {name}: vertical and horizontal must be rank×H and rank×W with the same rank")
    if v.shape[1] != target.shape[0] or h.shape[1] != target.shape[1]:
        raise SepgenError(
            f"filter {name}: components are {v.shape[1]}x{h.shape[1]}, target is {target.shape[0]}x{target.shape[1]}"
        )
    if not 1 <= v.shape[0] <= MAX_RANK:
        raise SepgenError(f"filter {name}: rank {v.shape[0]} is outside 1..{MAX_RANK}")
    if not (0 <= origin[0] < target.shape[0] and 0 <= origin[1] < target.shape[1]):
        raise SepgenError(f"filter {name}: origin {list(origin)} is outside the {target.shape[0]}x{target.shape[1]} kernel")
    for what, arr in (("target", target), ("vertical", v), ("horizontal", h)):
        if not np.all(np.isfinite(arr)):
            raise SepgenError(f"filter {name}: {what} contains NaN or infinite values")
    for what, arr in (("vertical", v), ("horizontal", h)):
        big = np.argwhere(np.abs(arr) > float(np.finfo(np.float32).max))
        if big.size:  # the shaders' type: a literal beyond it cannot be emitted
            k, i = (int(x) for x in big[0])
            raise SepgenError(f"filter {name}: component {k} {what}[{i}] = {float(arr[k, i])!r} does not fit in a float32")
