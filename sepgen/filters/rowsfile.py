"""A rows filter's file (`"structure": "rows"`, `sepgen.filters.rowsfilter`) and the loader of
filter files of any structure.

    filt = load_filter("f.json")     # SeparableFilter, or RowsFilter for a rows file
"""

from __future__ import annotations

import dataclasses
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
from . import metrics, rows, rows_scaled, scaling, structure
from .fields import fitted_kernel_spec, numeric, reject_constant
from .filterfile import FORMAT, SeparableFilter, _origin
from .rowsfilter import Rows


@dataclass
class RowsFilter:
    """A kernel approximated by row sums (`Rows`); the filter-file twin of `SeparableFilter`."""

    name: str
    target: np.ndarray  # H×W
    layout: rows.RowsLayout
    provenance: dict[str, Any] = field(default_factory=dict)
    scales: tuple[float, ...] | None = None  # a scalable filter: the scales it is meant for (`rows_scaled`)

    def __post_init__(self) -> None:
        check_identifier(self.name)
        if self.scales is not None:  # the rows fit is scale-free: scaling is analytic (sepgen.filters.rows_scaled)
            self.scales = scaling.check_scales(list(self.scales), f"filter {self.name}: scales")
        self.target = np.asarray(self.target, dtype=np.float64)
        if self.target.ndim != 2 or tuple(self.target.shape) != tuple(self.layout.shape):
            raise SepgenError(f"filter {self.name}: target is {self.target.shape}, the rows layout {self.layout.shape}")
        if not np.all(np.isfinite(self.target)):
            raise SepgenError(f"filter {self.name}: target contains NaN or infinite values")

    @property
    def structure(self) -> Rows:
        return Rows(self.layout)

    @property
    def origin(self) -> tuple[int, int]:
        return self.layout.origin

    @property
    def shape(self) -> tuple[int, int]:
        return self.layout.shape

    def reconstruct(self) -> np.ndarray:
        return self.layout.reconstruct()

    def with_scales(self, scales: Sequence[float]) -> RowsFilter:
        """This filter made scalable for `scales` (recorded in the file and its provenance): the
        rows fit needs no refit, a rows filter scales analytically (`sepgen.filters.rows_scaled`)."""
        checked = scaling.check_scales(list(scales), f"filter {self.name}: scales")
        return dataclasses.replace(self, provenance={**self.provenance, "scales": list(checked)}, scales=checked)

    def metrics(self) -> dict[str, Any]:
        """Loss terms and quality figures of the boxes against the target (recomputed)."""
        approx = self.reconstruct()
        out = metrics.loss_record(approx, self.target, self.origin, self.provenance)
        q = metrics.quality(approx, self.target, np.ones(1), np.ones(1))
        q.pop("zero_taps")
        out.update(q, boxes=self.layout.boxes, gather_reads=self.layout.reads(share=True))
        if self.scales is not None:
            out["scales"] = [{"scale": s, **self.quality_at(s)} for s in self.scales]
        return out

    @property
    def kernel_spec(self) -> dict[str, Any] | None:
        """The named kernel spec it was fitted to (provenance), or None (arrays, files)."""
        return fitted_kernel_spec(self.provenance)

    def quality_at(self, scale: float) -> dict[str, float]:
        """Quality figures of the filter at `scale` (`rows_scaled.kernel_at`) against the kernel
        at size·scale (`scaling.target_at`, the comparison scalable separable filters use)."""
        approx, _ = rows_scaled.kernel_at(self.layout, scale)
        target_s = scaling.target_at(self.target, self.kernel_spec, self.origin, scale)
        q = metrics.quality(approx, target_s, np.ones(1), np.ones(1))
        return {k: v for k, v in q.items() if k != "zero_taps"}

    def to_json(self) -> str:
        doc = {"format": FORMAT, "name": self.name, "structure": Rows.name, "origin": list(self.origin),
               "target": self.target.tolist(), **self.structure.to_fields(),
               **({"scales": list(self.scales)} if self.scales is not None else {}),
               "provenance": self.provenance, "metrics": self.metrics()}
        return dumps(doc)

    def save(self, path: str | os.PathLike) -> None:
        atomic.write_text(path, self.to_json())

    @classmethod
    def from_dict(cls, doc: Any, source: str = "filter file") -> RowsFilter:
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise SepgenError(f"{source} is not a {FORMAT} file")
        for key in ("name", "target"):
            if key not in doc:
                raise SepgenError(f"{source} has no {key!r}")
        Rows.check_fields(doc, source)
        target = numeric(doc["target"], f"{source}: 'target'", ndim=2)
        origin = _origin(doc.get("origin"), source) or (target.shape[0] // 2, target.shape[1] // 2)
        structure = Rows.from_fields(doc, target.shape, origin, source)
        prov = doc.get("provenance", {})
        if not isinstance(prov, dict):
            raise SepgenError(f"{source}: 'provenance' must be an object")
        scales = scaling.check_scales(doc["scales"], f"{source}: 'scales'") if "scales" in doc else None
        try:
            name = check_identifier(doc["name"])
        except SepgenError as exc:
            raise SepgenError(f"{source}: {exc}") from None
        filt = cls(name, target, structure.layout, prov, scales)
        if not np.any(filt.target):
            raise SepgenError(f"{source}: 'target' is all zero: there is no kernel to approximate")
        if not np.any(filt.reconstruct()):
            raise SepgenError(f"{source}: the boxes are zero everywhere: the filter blurs nothing")
        return filt


def filter_from_json(text: str, source: str = "filter file") -> Any:
    """The filter a filter file's text holds, of whichever structure it says."""
    try:
        doc = json.loads(text, parse_constant=reject_constant)
    except json.JSONDecodeError as exc:
        raise SepgenError(f"{source} is not valid JSON: {exc.msg} at line {exc.lineno}") from None
    except ValueError as exc:
        raise SepgenError(f"{source}: {exc}") from None
    return filter_from_dict(doc, source)


def filter_from_dict(doc: Any, source: str = "filter file") -> Any:
    """The filter a parsed filter-file document holds, of whichever structure it says."""
    if isinstance(doc, dict) and structure.of_document(doc, source) is Rows:
        return RowsFilter.from_dict(doc, source)
    return SeparableFilter.from_dict(doc, source)


def load_filter(path: str | os.PathLike) -> Any:
    """Load a filter file of any structure (`SeparableFilter` or `RowsFilter`); one-line errors."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SepgenError(f"filter file {p} does not exist") from None
    except IsADirectoryError:
        raise SepgenError(f"filter file {p} is a directory, not a file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SepgenError(f"cannot read filter file {p}: {getattr(exc, 'strerror', None) or exc}") from None
    return filter_from_json(text, f"filter file {p}")
