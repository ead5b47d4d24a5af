"""The `rows` structure and its filter file: per kernel row (or column), weighted boxes
with fractional ends, applied as a running sum and two reads per box
(`sepgen.filters.rows` for the model, `sepgen.plan.rowsplan` for the passes).

In the filter file (`sepgen-filter/1`, `"structure": "rows"`) it owns two keys:

    "axis": "rows" | "columns",          # which kernel lines hold the boxes
    "lines": [[[start, end, weight], ...], ...]   # one list of boxes per line (tap coordinates)

The filter-file class of a rows filter, `RowsFilter`, and `load_filter` (any structure)
live in `sepgen.filters.rowsfile` (they import the file format, which imports the registry).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ..common.errors import SepgenError
from ..options import EmitOptions
from ..plan import rowsplan
from . import rows

STRUCTURE_CHOICES = ("separable", "rows", "auto")


def check_structure(structure: Any, rank_given: bool, searching: bool) -> str:
    """The structure to fit: `structure` checked, or the default (auto with a search, else separable)."""
    if structure is None:
        return "auto" if searching else "separable"
    if structure not in STRUCTURE_CHOICES:
        raise SepgenError(f"structure must be one of {', '.join(STRUCTURE_CHOICES)}, got {structure!r}")
    if structure != "separable" and rank_given:
        raise SepgenError(f"--structure {structure} takes no --rank (rows filters have boxes per line, not a rank): "
                          "drop --rank, or give --budget / --target-error")
    return str(structure)


@dataclass(frozen=True, eq=False)
class Rows:
    """The rows structure of a filter: its `RowsLayout` (axis, shape, origin, boxes)."""

    name: ClassVar[str] = "rows"

    layout: rows.RowsLayout

    @property
    def origin(self) -> tuple[int, int]:
        return self.layout.origin

    def reconstruct(self) -> np.ndarray:
        return self.layout.reconstruct()

    def plan(self, options: EmitOptions | None = None, one_vertical: bool = False) -> list[rowsplan.RowsPass]:
        """The scan passes and the gather pass for a target (`one_vertical` does not apply)."""
        opts = options if options is not None else EmitOptions()
        point = not opts.compute and not opts.linear_sampling
        if opts.scale_source != "auto":  # scaled: no shared reads; at s = 1 one read per end, plus the map
            gather = 2 * self.layout.boxes + (opts.scale_source == "texture")
            return rowsplan.plan(self.layout.line_length, gather, opts.compute)
        return rowsplan.plan(self.layout.line_length, self.gather_fetches(point), opts.compute)

    def gather_fetches(self, point: bool = False) -> int:
        """Fetches per interior pixel of the gather: one per box end (a bilinear read), and with
        point reads or at an integer end (read exactly: a bilinear read there is off by its
        coordinate's rounding, which a 1e5 highlight shows) E(n) + f·s(n), two reads for a
        fractional end; every count doubled for a read shared by two lines (two rows mixed)."""
        ca = self.origin[1] if self.layout.axis == "rows" else self.origin[0]
        total = 0
        for r in self.layout.gather_plan(share=True):
            rows_read = 1 if float(r.line).is_integer() else 2
            for end in (r.start, r.end):
                exact = float(ca - end + 0.5).is_integer()
                total += 1 if not (exact or point) else rows_read * (1 if exact else 2)
        return total

    def fetch_counts(self, options: EmitOptions | None = None) -> dict[str, int]:
        """Fetches per interior pixel: {"scan", "gather", "total"}, the scan included."""
        return rowsplan.counts(self.plan(options))

    def to_fields(self) -> dict[str, Any]:
        doc = self.layout.to_json()
        return {"axis": doc["axis"], "lines": doc["lines"]}

    @classmethod
    def check_fields(cls, doc: dict[str, Any], source: str) -> None:
        for key in ("axis", "lines"):
            if key not in doc:
                raise SepgenError(f"{source} has no {key!r} (a rows filter needs 'axis' and 'lines')")
        if not isinstance(doc["lines"], list) or not doc["lines"]:
            raise SepgenError(f"{source}: 'lines' must be a non-empty list of box lists")

    @classmethod
    def from_fields(cls, doc: dict[str, Any], shape: tuple[int, int], origin: tuple[int, int], source: str) -> Rows:
        try:
            return cls(rows.RowsLayout(doc["axis"], (int(shape[0]), int(shape[1])), origin, doc["lines"]))
        except SepgenError as exc:
            raise SepgenError(f"{source}: {exc}") from None
