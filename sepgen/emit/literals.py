"""Float literals that give back the exact float32 coefficient in shader code.

NumPy's `str(np.float32)` is the shortest decimal that rounds back to the same
float32 (Dragon4, unique mode), so a compiler that reads the literal as a double
and rounds it to float gets the very value the filter file rounds to.
"""

from __future__ import annotations

from ..plan.taps import float32  # the pass plan rounds the taps the same way

__all__ = ["float32", "float_literal", "float_literal_with_suffix"]


def float_literal(value: float, lang: str) -> str:
    """Shortest literal for float32(`value`) in `lang` (a registered generator's name)."""
    from .generator import get

    return float_literal_with_suffix(value, get(lang).literal_suffix)


def float_literal_with_suffix(value: float, suffix: str) -> str:
    """Shortest decimal for float32(`value`), always with a point or exponent, then `suffix`."""
    text = str(float32(value))
    if "e" not in text and "." not in text:
        text += ".0"
    if text.startswith("."):
        text = "0" + text
    return text + suffix
