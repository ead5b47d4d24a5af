"""sepgen: fit 2D blur kernels as sums of separable passes and emit shaders.

The chain: kernels -> fitting -> filter file -> emit -> run/verify -> build/report.
`fit` and `sweep` are loaded on first use so that importing sepgen (to emit or
verify a filter) never imports JAX.
"""

from __future__ import annotations

from typing import Any

from . import kernels
from ._version import __version__
from .errors import CheckFailed, SepgenError
from .filterfile import SeparableFilter

__all__ = ["__version__", "kernels", "SeparableFilter", "SepgenError", "CheckFailed", "fit", "sweep"]


def __getattr__(name: str) -> Any:
    if name in ("fit", "sweep"):
        from . import fitting

        return getattr(fitting, name)
    raise AttributeError(f"module 'sepgen' has no attribute {name!r}")
