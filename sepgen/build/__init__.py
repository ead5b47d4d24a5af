"""`sepgen build`: fit (cached) and emit everything a config file asks for.

The build itself is `builder.py`; `state.py` lets a no-op skip it. The names are
loaded on first use so that `sepgen.build.state` can answer "nothing changed"
without importing NumPy, Jinja or the emitter.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["build", "BuildResult", "load_config", "BUILD_MANIFEST"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module(f"{__name__}.builder"), name)  # `from . import` would ask __getattr__
    raise AttributeError(f"module 'sepgen.build' has no attribute {name!r}")
