"""The `separable` structure: the kernel as Σ_k outer(vertical[k], horizontal[k]).

Every filter sepgen has written so far has this structure: a horizontal pass per group of
components, then vertical passes adding up (`sepgen.plan.taps`). How the pairs were fitted
is not part of it: free taps and shared-ratio taps (`sepgen.fitting.shared_ratio`, whose
components split each pair of horizontal offsets in one ratio) are the same structure, and
the provenance says which (`"structure": "free"` or `"shared"`, the search's candidate
kind). The planner finds the shared bilinear fetches in the taps themselves
(`sepgen.plan.bilinear`), so both count and emit alike.

In the filter file it owns `rank` and `components` (docs/fitting.md, filter file).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ..common.errors import SepgenError
from ..options import EmitOptions
from ..plan import taps
from .fields import float32_taps


@dataclass(frozen=True, eq=False)
class Separable:
    """Σ_k outer(vertical[k], horizontal[k]) around `origin` (cy, cx); the arrays as given
    (`SeparableFilter` checks what a file or a caller hands it)."""

    name: ClassVar[str] = "separable"

    vertical: np.ndarray  # rank×H
    horizontal: np.ndarray  # rank×W
    origin: tuple[int, int]

    @property
    def rank(self) -> int:
        return int(len(self.vertical))

    def reconstruct(self) -> np.ndarray:
        """The 2D kernel the passes apply: Σ outer(vertical[k], horizontal[k])."""
        return np.einsum("ki,kj->ij", self.vertical, self.horizontal)

    def plan(self, options: EmitOptions | None = None, one_vertical: bool = False) -> list[taps.PassPlan]:
        """The passes and their fetches for `options` (default: `sepgen emit`'s). `one_vertical`:
        the target's compute passes end in one vertical pass reading every component."""
        opts = options if options is not None else EmitOptions()
        return taps.plan_for(self, opts, one_vertical)

    def fetch_counts(self, options: EmitOptions | None = None) -> dict[str, int]:
        """Texture fetches per output pixel of the shaders emitted with `options`:
        {"horizontal", "vertical", "total"} (the same with one vertical pass)."""
        return taps.counts(self.plan(options))

    def to_fields(self) -> dict[str, Any]:
        """Its keys of the filter file, floats as Python's shortest round-trip repr."""
        return {"rank": self.rank,
                "components": [{"vertical": v.tolist(), "horizontal": h.tolist()}
                               for v, h in zip(self.vertical, self.horizontal)]}

    @classmethod
    def check_fields(cls, doc: dict[str, Any], source: str) -> None:
        """The layout of its keys, before the target is read: a non-empty list of components, a consistent rank."""
        if "components" not in doc:
            raise SepgenError(f"{source} has no 'components'")
        comps = doc["components"]
        if not isinstance(comps, list) or not comps:
            raise SepgenError(f"{source}: 'components' must be a non-empty list")
        if not all(isinstance(c, dict) and "vertical" in c and "horizontal" in c for c in comps):
            raise SepgenError(f"{source}: each component needs 'vertical' and 'horizontal'")
        _check_rank(doc.get("rank", len(comps)), len(comps), source)

    @classmethod
    def from_fields(cls, doc: dict[str, Any], shape: tuple[int, int], origin: tuple[int, int],
                    source: str) -> Separable:
        """The structure a document's keys hold (after `check_fields`) for a target of `shape`."""
        comps = doc["components"]
        vs = [float32_taps(c["vertical"], f"{source}: component {i} 'vertical'") for i, c in enumerate(comps)]
        hs = [float32_taps(c["horizontal"], f"{source}: component {i} 'horizontal'") for i, c in enumerate(comps)]
        for i, (v, h) in enumerate(zip(vs, hs)):
            if v.shape[0] != shape[0] or h.shape[0] != shape[1]:
                raise SepgenError(f"{source}: component {i} has {v.shape[0]}x{h.shape[0]} taps, target is "
                                  f"{shape[0]}x{shape[1]}")
        return cls(np.array(vs), np.array(hs), origin)


def _check_rank(rank: Any, count: int, source: str) -> None:
    """The optional 'rank' key must equal the number of components (it is not a truncation)."""
    if isinstance(rank, bool) or not isinstance(rank, int):
        raise SepgenError(f"{source}: 'rank' must be an integer, got {rank!r}")
    if rank != count:
        raise SepgenError(f"{source}: 'rank' is {rank} but 'components' holds {count}")
