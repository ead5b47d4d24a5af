"""The filter file (`sepgen-filter/1`): the one contract between fitting and
everything after it (emit, apply, verify, build, report). NumPy only.

    {
      "format": "sepgen-filter/1",
      "name": "disk50",                      # identifier, prefixes shader symbols
      "structure": "...",                    # only in filters whose structure is not `separable`
      "origin": [cy, cx],                    # tap that lands on the output pixel
      "rank": 4,                             # separable: the number of components
      "target": [[...H floats], ...],        # the 2D kernel that was approximated
      "components": [{"vertical": [H floats], "horizontal": [W floats]}, ...],   # separable
      "scales": [0.25, 0.5, 1.0],            # only in scalable filters (fitted with --scales)
      "provenance": {...},                   # kernel spec, weights, optimiser, sepgen version
      "metrics": {...}                       # see sepgen.filters.metrics; "scales": one row per scale
    }

A scalable filter is meant to be run at any scale s in [0, 1] (0: no blur), its taps fetched at
offset·s with bilinear filtering (`sepgen.filters.scaling`); `scales` lists those it was fitted
for, and `metrics.scales` its quality at each of them against the kernel at size·s.
Files without `scales` are exactly what they were before scalable filters existed.

The filter's structure (`sepgen.filters.structure`) says how its passes build the kernel
and owns its keys (`separable`: `rank` and `components`, the approximation
Σ outer(vertical, horizontal)). A file without a `structure` key is `separable`, and a
separable filter is written without one: every `sepgen-filter/1` file written before
structures existed loads unchanged, and saving it again gives the same bytes (goldens,
build caches and committed filter files depend on them). Floats are written with
Python's shortest round-trip repr, so save/load is exact; key order is fixed (`KEY_ORDER`)
so the same filter always gives the same bytes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..common import atomic
from ..common.errors import SepgenError
from ..common.identifiers import check_identifier
from ..common.jsonfmt import dumps
from . import metrics, scaling, structure as structures
from .fields import FLOAT32_MAX, fitted_kernel_spec, numeric, reject_constant
from .separable import Separable

FORMAT = "sepgen-filter/1"
MAX_RANK = 64
# Relative L2 error (‖A − K‖ / ‖K‖) above which a filter is called far from its target: the
# error then carries more than a quarter of the kernel's energy (0.5² = 0.25). Fits of the
# built-in shapes stay well below it from rank 2 on (disk 0.22, ring 0.36 at best); a rank-1
# ring (0.66), a sharpen kernel fitted without negative lobes (0.83) or a hand-edited file
# (7.1) are above it.
FAR_FROM_TARGET = 0.5

# Keys in file order; a structure's own keys (beyond these) follow `components`.
KEY_ORDER = ("format", "name", "structure", "origin", "rank", "target", "components")
TAIL_KEYS = ("scales", "provenance", "metrics")


# init=False: the constructor takes an optional origin (None: the centre tap), while the
# attribute is always set, so it is typed without None.
@dataclass(init=False)
class SeparableFilter:
    """A kernel approximated as Σ_k outer(vertical[k], horizontal[k])."""

    name: str
    target: np.ndarray  # H×W
    vertical: np.ndarray  # rank×H
    horizontal: np.ndarray  # rank×W
    origin: tuple[int, int]  # the tap that lands on the output pixel
    provenance: dict[str, Any] = field(default_factory=dict)
    scales: tuple[float, ...] | None = None  # the scales a scalable filter was fitted for
    # Sampled loss history of the fit that made it (not saved).
    history: np.ndarray | None = field(default=None, repr=False, compare=False)

    def __init__(self, name: str, target: np.ndarray, vertical: np.ndarray, horizontal: np.ndarray,
                 origin: tuple[int, int] | None = None, provenance: dict[str, Any] | None = None,
                 scales: Sequence[float] | None = None, history: np.ndarray | None = None) -> None:
        check_identifier(name)
        self.name = name
        self.target = np.asarray(target, dtype=np.float64)
        self.vertical = np.atleast_2d(np.asarray(vertical, dtype=np.float64))
        self.horizontal = np.atleast_2d(np.asarray(horizontal, dtype=np.float64))
        start = _centre(self.target.shape) if origin is None else origin
        self.origin = (int(start[0]), int(start[1]))
        self.provenance = {} if provenance is None else provenance
        self.history = history
        _check_shapes(self.target, self.vertical, self.horizontal, self.origin, self.name)
        self.scales = None if scales is None else scaling.check_scales(list(scales), f"filter {self.name}: scales")

    @property
    def rank(self) -> int:
        return int(self.vertical.shape[0])

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.target.shape[0]), int(self.target.shape[1]))

    @property
    def structure(self) -> Separable:
        """Its structure (`separable`): what reconstructs, plans and counts its passes."""
        return Separable(self.vertical, self.horizontal, self.origin)

    def reconstruct(self) -> np.ndarray:
        """The approximated 2D kernel Σ outer(vertical[k], horizontal[k])."""
        return self.structure.reconstruct()

    def metrics(self) -> dict[str, Any]:
        """Loss terms (peak-scaled) and quality figures; recomputed, never trusted from a file."""
        approx = self.reconstruct()
        out = metrics.loss_record(approx, self.target, self.origin, self.provenance)
        out.update(metrics.quality(approx, self.target, self.vertical, self.horizontal))
        if self.scales is not None:
            out["scales"] = [{"scale": s, **self.quality_at(s)} for s in self.scales]
        return out

    @property
    def kernel_spec(self) -> dict[str, Any] | None:
        """The named kernel spec it was fitted to (provenance), or None (arrays, files)."""
        return fitted_kernel_spec(self.provenance)

    def quality_at(self, scale: float) -> dict[str, float]:
        """Quality figures at `scale` against the kernel at size·scale (`sepgen.filters.scaling`)."""
        q = scaling.quality_at(self.vertical, self.horizontal, self.target, self.kernel_spec, self.origin, scale)
        return {k: v for k, v in q.items() if k != "zero_taps"}

    def to_json(self) -> str:
        structure = self.structure
        doc = {
            "format": FORMAT,
            "name": self.name,
            **structures.key(structure),
            "origin": list(self.origin),
            "target": self.target.tolist(),
            **structure.to_fields(),
            **({"scales": list(self.scales)} if self.scales is not None else {}),
            "provenance": self.provenance,
            "metrics": self.metrics(),
        }
        return dumps(_in_file_order(doc))

    def save(self, path: str | os.PathLike) -> None:
        atomic.write_text(path, self.to_json())

    @classmethod
    def from_json(cls, text: str, source: str = "filter file") -> SeparableFilter:
        try:
            doc = json.loads(text, parse_constant=reject_constant)
        except json.JSONDecodeError as exc:
            raise SepgenError(f"{source} is not valid JSON: {exc.msg} at line {exc.lineno}") from None
        except ValueError as exc:
            raise SepgenError(f"{source}: {exc}") from None
        return cls.from_dict(doc, source)

    @classmethod
    def from_dict(cls, doc: Any, source: str = "filter file") -> SeparableFilter:
        if not isinstance(doc, dict):
            raise SepgenError(f"{source} must hold a JSON object")
        if doc.get("format") != FORMAT:
            raise SepgenError(f"{source} has format {doc.get('format')!r}, expected {FORMAT!r}")
        kind = structures.of_document(doc, source)
        if kind is not Separable:  # a filter of another structure is not a sum of separable pairs
            raise SepgenError(f"{source} holds a {kind.name!r} filter, not a separable one")
        for key in ("name", "target"):
            if key not in doc:
                raise SepgenError(f"{source} has no {key!r}")
        Separable.check_fields(doc, source)  # its own keys: present and laid out as it needs
        target = numeric(doc["target"], f"{source}: 'target'", ndim=2)
        origin = _origin(doc.get("origin"), source)
        pairs = Separable.from_fields(doc, target.shape, origin or _centre(target.shape), source)
        prov = doc.get("provenance", {})
        if not isinstance(prov, dict):
            raise SepgenError(f"{source}: 'provenance' must be an object")
        try:
            name = check_identifier(doc["name"])
        except SepgenError as exc:
            raise SepgenError(f"{source}: {exc}") from None
        scales = scaling.check_scales(doc["scales"], f"{source}: 'scales'") if "scales" in doc else None
        filt = cls(name, target, pairs.vertical, pairs.horizontal, origin, prov, scales)
        return check_meaningful(filt, source)

    @classmethod
    def load(cls, path: str | os.PathLike) -> SeparableFilter:
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


def _origin(origin: Any, source: str) -> tuple[int, int] | None:
    """The optional 'origin' key: [cy, cx] integers (inside the kernel: checked with the shapes)."""
    integers = isinstance(origin, list) and all(isinstance(o, int) and not isinstance(o, bool) for o in origin)
    if origin is not None and not (integers and len(origin) == 2):
        raise SepgenError(f"{source}: 'origin' must be [cy, cx] integers")
    return (origin[0], origin[1]) if origin else None


def _centre(shape: tuple[int, ...]) -> tuple[int, int]:
    """The default origin: the kernel's centre tap."""
    return (shape[0] // 2, shape[1] // 2)


def _in_file_order(doc: dict[str, Any]) -> dict[str, Any]:
    """`doc` with its keys in `KEY_ORDER`, a structure's other keys next, then `TAIL_KEYS`."""
    head = [k for k in KEY_ORDER if k in doc]
    tail = [k for k in TAIL_KEYS if k in doc]
    middle = [k for k in doc if k not in head and k not in tail]
    return {k: doc[k] for k in head + middle + tail}


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
        raise SepgenError(f"filter {name}: origin {list(origin)} is outside the "
                          f"{target.shape[0]}x{target.shape[1]} kernel")
    for what, arr in (("target", target), ("vertical", v), ("horizontal", h)):
        if not np.all(np.isfinite(arr)):
            raise SepgenError(f"filter {name}: {what} contains NaN or infinite values")
    for what, arr in (("vertical", v), ("horizontal", h)):
        big = np.argwhere(np.abs(arr) > FLOAT32_MAX)
        if big.size:  # the shaders' type: a literal beyond it cannot be emitted
            k, i = (int(x) for x in big[0])
            raise SepgenError(f"filter {name}: component {k} {what}[{i}] = {float(arr[k, i])!r} "
                              "does not fit in a float32")
