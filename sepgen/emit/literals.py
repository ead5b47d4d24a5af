"""Float literals that give back the exact float32 coefficient in shader code.

The formatting lives with the target descriptors (`sepgen.targets.float_literal`: NumPy's
shortest round-trip decimal, then the language's suffix); generators bind their own syntax
into the templates' `lit` filter. These names stay for templates and callers that name a language.
"""

from __future__ import annotations

from .. import targets
from ..targets import float32

__all__ = ["float32", "float_literal", "float_literal_with_suffix"]


def float_literal(value: float, lang: str) -> str:
    """Shortest literal for float32(`value`) in `lang` (a target's name)."""
    return targets.get(lang).lit(value)


def float_literal_with_suffix(value: float, suffix: str) -> str:
    """Shortest decimal for float32(`value`), always with a point or exponent, then `suffix`."""
    return targets.float_literal(value, suffix)
