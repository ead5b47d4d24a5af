"""Measure a runner's bilinear weight error once, so verify's linear-sampling tolerance is the
driver's, not the 8-bit worst case of hardware filtering.

The probe is an ordinary emitted filter run through the runner's `run(program, img)` (no
runner-specific code): one row of `FRACTIONS` tap pairs (1 − f, f), f spread over
[0.03, 0.97] (off the 8-bit grid hardware weights fall on), with a zero tap between pairs so
that each pair is one bilinear fetch at offset 3j + f. On an image of single bright columns
every output pixel then sees exactly one fetch straddling the bright texel: it reads 1 − f_q
or f_q, the weight the shader's coordinate arithmetic and the driver's filtering give, compared
with the exact f. The columns are spread up to the far edge of a texture as wide as the
verified image's larger side, because float32 texture coordinates lose fraction bits as they
grow (llvmpipe: ~4e-6 below x = 128, ~6e-5 near x = 1900).

The measured maximum error is rounded up to a power of two and doubled (a sampled maximum
may miss the worst fraction), 2^-bits ("effective fraction bits"): 8-bit hardware weights
(error ≤ 2⁻⁹) give 2⁻⁸ as before, llvmpipe on a 131-wide image 2⁻¹⁷. When the probe cannot
run, or measures more than 2⁻⁸ (worse than the D3D10+ minimum, so a broken probe rather than
a driver), verify falls back to 2⁻⁸ (`FALLBACK`).
The probe always uses the built-in templates: a template override under test must not
widen its own tolerance.
"""

from __future__ import annotations

import math
import tempfile
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..common.errors import SepgenError

if TYPE_CHECKING:  # pragma: no cover
    from ..run.registry import Runner

__all__ = ["BilinearProbe", "FALLBACK", "FRACTIONS", "probe_options", "probe_filter", "measure", "cached"]

FALLBACK = 2.0**-8  # D3D10+ minimum of 8 fractional bits in filter weights
FRACTIONS = 32  # tap pairs: 64 weights per bright column
MIN_SIZE = 128


@dataclass(frozen=True)
class BilinearProbe:
    """A runner's bilinear weight error bound (`bound`) and how it was found."""

    bound: float  # max |weight error| used in the tolerance: 2^-bits, or FALLBACK
    measured: float | None = None  # the probe's largest error (None: not measured)
    size: int = 0  # the texture width it was measured at
    note: str = ""  # why FALLBACK is used, if it is

    @property
    def bits(self) -> int:
        return round(-math.log2(self.bound))

    def describe(self) -> str:
        if self.measured is None:
            return f"bilinear weights ±2^-{self.bits} (not measured: {self.note})"
        text = f"bilinear weights ±2^-{self.bits} (measured {self.measured:.2g} at width {self.size})"
        return f"{text}; {self.note}" if self.note else text


def _fractions() -> np.ndarray:
    """FRACTIONS values in [0.03, 0.97], spread by the golden ratio (deterministic), with every
    float32 bit used: the shader's p + offset rounds as it does for a fitted filter's offsets."""
    return 0.03 + 0.94 * ((np.arange(FRACTIONS) * 0.6180339887 + 0.0731) % 1.0)


def probe_filter() -> Any:
    """A 1×(3·FRACTIONS) filter: pairs (1 − f, f) at offsets 3j, 3j + 1, a zero at 3j + 2."""
    from ..filters.filterfile import SeparableFilter

    f = _fractions()
    h = np.zeros(3 * FRACTIONS)
    h[0::3], h[1::3] = 1.0 - f, f
    return SeparableFilter("sepgen_probe", h[None, :], np.ones((1, 1)), h[None, :], origin=(0, 0))


def probe_options(runner_name: str) -> dict[str, Any]:
    """The first fp32 fragment, linear-sampled emit options that `runner_name` executes."""
    from ..options import EmitOptions
    from .routes import backend_for

    for o in EmitOptions.combinations():
        d = o.to_dict()
        plain = d["linear_sampling"] and d["stage"] == "fragment" and d["precision"] == "fp32"
        if plain and backend_for(o) == runner_name:
            return d
    raise SepgenError(f"no linear-sampled variant runs on runner {runner_name!r}")


def _columns(size: int) -> list[int]:
    """Bright columns, the last ending at the far edge, each followed by 3·FRACTIONS dark ones."""
    span = 3 * FRACTIONS + 2
    return list(range(size - span, -1, -span))[::-1]


def _run(runner: Runner, img: np.ndarray) -> np.ndarray:
    """The probe emitted with the built-in templates into a temporary folder, run on `runner`."""
    from .. import emit
    from ..run.program import load

    with tempfile.TemporaryDirectory(prefix="sepgen-probe-") as tmp:
        emit.write(emit.render(probe_filter(), probe_options(runner.name)), tmp)
        return runner.run(load(tmp), img)


def measure(runner: Runner, size: int = MIN_SIZE) -> BilinearProbe:
    """Run the probe on `runner` at texture width max(size, MIN_SIZE); FALLBACK when it cannot run."""
    size = max(int(size), MIN_SIZE)
    img = np.zeros((2, size), np.float32)
    cols = _columns(size)
    img[:, cols] = 1.0
    try:
        out = _run(runner, img)
    except SepgenError as exc:
        return BilinearProbe(FALLBACK, note=str(exc).splitlines()[0] if str(exc) else "probe failed")
    row = np.asarray(out, np.float64).reshape(2, size, -1)[0, :, 0]
    f = _fractions()
    x = np.array(cols)[:, None] + 3 * np.arange(FRACTIONS)[None, :]
    err = float(max(np.abs(row[x] - (1.0 - f)).max(), np.abs(row[x + 1] - f).max()))
    if not math.isfinite(err) or err > FALLBACK:
        return BilinearProbe(FALLBACK, err, size, f"implausible probe error {err:.2g}: using 2^-8")
    bits = min(int(math.floor(-math.log2(err))) if err > 0 else 24, 24) - 1  # one bit of margin: a sampled maximum
    return BilinearProbe(2.0**-bits, err, size)


_CACHE: weakref.WeakKeyDictionary[Any, dict[int, BilinearProbe]] = weakref.WeakKeyDictionary()


def cached(runner: Runner, size: int) -> BilinearProbe:
    """`measure` once per runner object and texture width (a runner that cannot be weakly
    referenced is measured every time)."""
    try:
        mine = _CACHE.setdefault(runner, {})
    except TypeError:
        return measure(runner, size)
    if size not in mine:
        mine[size] = measure(runner, size)
    return mine[size]
