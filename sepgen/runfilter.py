"""Emit a filter and run it on the GL driver in one call (the run stage's entry for verify,
`sepgen apply --backend gl` and the report). Sits above emit and glrun: the runner itself
knows nothing of emitting."""

from __future__ import annotations

import tempfile
from typing import TYPE_CHECKING, Any

import numpy as np

from . import emit
from .glrun import GLRunner
from .options import EmitOptions

if TYPE_CHECKING:  # pragma: no cover
    from .filterfile import SeparableFilter

__all__ = ["run_filter"]


def run_filter(filt: "SeparableFilter", img: np.ndarray, options: "dict[str, Any] | EmitOptions | None" = None,
               runner: GLRunner | None = None) -> tuple[np.ndarray, str]:
    """Emit `filt` with these emit options into a temporary folder and run it on `img`.

    Returns the float32 result (img's shape) and what computed it, e.g.
    "GLSL shaders on llvmpipe (…)". Raises SepgenError without a GL driver.
    """
    runner = runner or GLRunner()
    opts = EmitOptions.from_dict(options)
    with tempfile.TemporaryDirectory(prefix="sepgen-run-") as tmp:
        emit.write(emit.render(filt, opts), tmp)
        out = runner.run(tmp, img)
    return out, f"{opts.lang.upper()} shaders on {runner.renderer}"
