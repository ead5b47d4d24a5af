"""Fitting: kernel → rank-N separable approximation (SVD start, JAX optimisation).

The only package of sepgen that imports JAX. `fit` fits one filter, `sweep` a grid
of loss weights, vmapped and jitted. See docs/fitting.md.
"""

from __future__ import annotations

from .core import fit
from .sweep import sweep

__all__ = ["fit", "sweep"]
