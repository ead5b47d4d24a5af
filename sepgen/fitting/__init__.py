"""Fitting: kernel → rank-N separable approximation (SVD start, JAX optimisation).

The only package of sepgen that imports JAX. `fit` fits one filter, `sweep` a grid
of loss weights, vmapped and jitted; `fit_with` and `sweep_with` take one
`sepgen.options.FitSettings` instead of keywords; `fit_scales` / `fit_scales_with`
fit one scalable filter for several scales (`multiscale.py`). See docs/fitting.md.

They are loaded on first use, so the NumPy-only `lowrank` (the SVD start, also the
report's baseline) imports without JAX.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["fit", "fit_with", "fit_searched", "fit_scales", "fit_scales_with", "sweep", "sweep_with"]

_LAZY = {"fit": ".facade", "fit_with": ".core", "fit_searched": ".searched", "fit_scales": ".multiscale",
         "fit_scales_with": ".multiscale", "sweep": ".weight_sweep", "sweep_with": ".weight_sweep"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module 'sepgen.fitting' has no attribute {name!r}")
