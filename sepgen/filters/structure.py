"""A filter's *structure*: how its passes build the 2D kernel, a first-class part of the
filter file and of the planner.

A structure reconstructs its kernel in NumPy, plans its passes with `sepgen.plan` (and so
counts its fetches for a target) and reads and writes its own keys of the filter file.
`STRUCTURES` holds them by name; the filter file's optional `structure` key says which one
a file holds: `separable` (free and shared-ratio pairs, see `sepgen.filters.separable`) and
`rows` (boxes per row, `sepgen.filters.rowsfilter`); a new structure is a module with a class
like `Separable` and one entry here.

`sepgen-filter/1` files without a `structure` key are `separable`: every file written
before structures existed loads unchanged, and a separable filter is still written without
the key, byte for byte as before. Only another structure writes it.
"""

from __future__ import annotations

from typing import Any, ClassVar, Protocol

import numpy as np

from ..common.errors import SepgenError
from ..options import EmitOptions
from .rowsfilter import Rows  # issue 18: the rows structure
from .separable import Separable

DEFAULT = "separable"  # what a file without a `structure` key holds (never written)


class Structure(Protocol):
    """What every structure offers the filter file, the planner and the fit."""

    name: ClassVar[str]  # the filter file's `structure` value (and the future `--structure`)

    @property
    def origin(self) -> tuple[int, int]: ...  # (cy, cx): the tap that lands on the output pixel

    def reconstruct(self) -> np.ndarray:
        """The 2D kernel its passes apply, float64."""
        ...

    def plan(self, options: EmitOptions | None = None, one_vertical: bool = False) -> list[Any]:
        """Its passes and their fetches for a target (`sepgen.plan`: `PassPlan`s of a separable
        filter, `rowsplan.RowsPass`es of a rows filter)."""
        ...

    def fetch_counts(self, options: EmitOptions | None = None) -> dict[str, int]:
        """Texture fetches per output pixel for a target: {"total", ...per pass direction}."""
        ...

    def to_fields(self) -> dict[str, Any]:
        """Its keys of the filter file (JSON values)."""
        ...


class Kind(Protocol):
    """A structure's class: how a filter file's document becomes one."""

    name: str

    def check_fields(self, doc: dict[str, Any], source: str) -> None:
        """Its keys present and laid out as it needs, checked before the target is read (one-line errors)."""
        ...

    def from_fields(self, doc: dict[str, Any], shape: tuple[int, int], origin: tuple[int, int],
                    source: str) -> Structure:
        """The structure a document's keys hold, for a target of `shape` (H, W)."""
        ...


STRUCTURES: dict[str, Kind] = {Separable.name: Separable, Rows.name: Rows}


def names() -> list[str]:
    return list(STRUCTURES)


def lookup(name: Any, where: str = "") -> Kind:
    """The structure class called `name`, or a one-line error (prefixed `where: `) listing the known ones."""
    prefix = f"{where}: " if where else ""
    if not isinstance(name, str):
        raise SepgenError(f"{prefix}'structure' must be a string naming a structure ({', '.join(STRUCTURES)}), "
                          f"got {name!r}")
    try:
        return STRUCTURES[name]
    except KeyError:
        raise SepgenError(f"{prefix}unknown structure {name!r} (known: {', '.join(STRUCTURES)})") from None


def of_document(doc: dict[str, Any], source: str) -> Kind:
    """The structure class a filter-file document holds: its `structure` key, `separable` without one."""
    return lookup(doc.get("structure", DEFAULT), source)


def key(structure: Structure) -> dict[str, str]:
    """The `structure` entry of a filter file: none for the default, so separable files keep their bytes."""
    return {} if structure.name == DEFAULT else {"structure": structure.name}
