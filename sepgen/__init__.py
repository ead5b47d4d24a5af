"""sepgen: fit 2D blur kernels as sums of separable passes and emit shaders.

The chain: kernels -> fitting -> filter file -> emit -> run/verify -> build/report.
`fit` and `sweep` are loaded on first use so that importing sepgen (to emit or
verify a filter) never imports JAX; `kernels`, `SeparableFilter` and `apply` (filter an
image on NumPy or on the emitted shaders) too, so that the command line starts without
NumPy (a no-op `sepgen build` never needs it).
"""

from __future__ import annotations

import importlib
from typing import Any

from ._version import __version__
from .common.errors import CheckFailed, SepgenError

__all__ = ["__version__", "kernels", "SeparableFilter", "SepgenError", "CheckFailed", "fit", "sweep", "apply"]


def __getattr__(name: str) -> Any:
    if name in ("fit", "sweep"):
        from . import fitting

        return getattr(fitting, name)
    if name == "kernels":
        return importlib.import_module(f"{__name__}.kernels")  # not `from . import`: that asks __getattr__
    if name == "SeparableFilter":
        from .filters.filterfile import SeparableFilter

        return SeparableFilter
    if name == "apply":
        from .verify.apply import apply

        return apply
    raise AttributeError(f"module 'sepgen' has no attribute {name!r}")
