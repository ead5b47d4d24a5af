"""sepgen.emit.literals: float literals that give back the exact float32."""

from __future__ import annotations

import numpy as np
import pytest

from sepgen.common.errors import SepgenError
from sepgen.emit.literals import float_literal


def test_literals_round_trip_float32_exactly():
    rng = np.random.default_rng(0)
    values = np.concatenate([
        rng.normal(size=2000) * 10.0 ** rng.integers(-40, 38, size=2000),
        [0.0, -0.0, 1.0, -1.0, 0.1, 1e-45, 3.4e38, 123456789.0, 1 / 3],
    ]).astype(np.float32)
    for x in values:
        for lang in ("glsl", "hlsl"):
            lit = float_literal(float(x), lang)
            body = lit[:-1] if lang == "hlsl" else lit
            assert lang == "glsl" or lit.endswith("f")
            assert "." in body or "e" in body, lit  # a float literal, never an int
            # compilers read a double, then round to float
            assert np.float32(float(body)) == x, (x, lit)


def test_literal_that_overflows_float32_is_an_error():
    with pytest.raises(SepgenError, match="float32"):
        float_literal(1e39, "glsl")


