"""sepgen.plan.bilinear: one bilinear read per ratio group, points on ties, one read per location."""

from __future__ import annotations

import numpy as np

from sepgen.plan import bilinear
from sepgen.plan.taps import by_offset


def _plan(taps: np.ndarray, center: int, linear: bool = True) -> list[bilinear.Read]:
    taps = np.atleast_2d(taps)
    return bilinear.plan_axis(by_offset(taps, center), taps.shape[0], linear)


def _evaluate(reads: list[bilinear.Read], n: int, signal: np.ndarray, pixel: int) -> np.ndarray:
    """Σ over reads of weight · (linearly interpolated) signal at x = pixel + offset, per slot."""
    out = np.zeros(n)
    for r in reads:
        x = pixel + r.offset
        lo = int(np.floor(x))
        f = x - lo
        value = (1 - f) * signal[lo] + (f * signal[lo + 1] if f else 0.0)
        for k, w in r.terms:
            out[k] += w * value
    return out


def _direct(taps: np.ndarray, signal: np.ndarray, center: int, pixel: int) -> np.ndarray:
    # tap j reads offset center − j, i.e. x = pixel + center − j
    return np.array([sum(t[j] * signal[pixel + center - j] for j in range(len(t))) for t in np.atleast_2d(taps)])


def test_components_sharing_a_ratio_share_one_bilinear_read():
    ratios = np.array([0.25, 0.5, 0.7])
    # 4 components × 3 pairs
    weights = np.array([[1.0, -2.0, 0.5], [0.3, 0.1, -0.9], [2.0, 2.0, 1.0], [-0.2, 0.4, 0.6]])
    taps = np.zeros((4, 6))
    taps[:, 0::2] = weights * (1 - ratios)
    taps[:, 1::2] = weights * ratios
    reads = _plan(taps, 3)
    assert len(reads) == 3 and all(r.linear and len(r.terms) == 4 for r in reads)
    signal = np.random.default_rng(0).random(12)
    np.testing.assert_allclose(_evaluate(reads, 4, signal, 5), _direct(taps, signal, 3, 5), rtol=1e-5, atol=1e-6)


def test_float32_rounding_does_not_split_a_ratio_group():
    rng = np.random.default_rng(1)
    w = rng.uniform(0.01, 1.0, 8) * rng.choice([-1, 1], 8)
    f = 0.3141592653589793
    taps = np.stack([w * (1 - f), w * f], axis=1)  # each component's ratio differs only by rounding
    assert len({float(np.float32(b)) / (float(np.float32(a)) + float(np.float32(b))) for a, b in taps}) > 1
    assert len(_plan(taps, 0)) == 1


def test_different_ratios_need_their_own_reads_and_points_win_ties():
    taps = np.array([[1.0, 1.0], [1.0, 3.0]])  # ratios 0.5 and 0.75: two bilinear reads = two point reads
    reads = _plan(taps, 0)
    assert len(reads) == 2 and not any(r.linear for r in reads)


def test_opposite_signs_fall_back_to_point_reads():
    taps = np.array([[1.0, 1.0], [1.0, -1.0]])
    reads = _plan(taps, 0)
    assert len(reads) == 2 and not any(r.linear for r in reads)


def test_equal_taps_of_two_components_are_read_once():
    # The old per-component merge issued two identical bilinear reads here.
    taps = np.array([[0.2, 0.2, 0.2, 0.2], [0.1, 0.1, -0.3, -0.3]])
    reads = _plan(taps, 2)
    offsets = [r.offset for r in reads]
    assert len(offsets) == len(set(offsets)) == 2


def test_point_sampling_reads_every_non_zero_offset_once():
    taps = np.array([[0.0, 1.0, 2.0, 0.0, 3.0]])
    reads = _plan(taps, 2, linear=False)
    assert [r.offset for r in reads] == [-2.0, 0.0, 1.0] and not any(r.linear for r in reads)


def test_plan_reproduces_the_filter_on_random_structured_taps():
    rng = np.random.default_rng(2)
    n, pairs = 5, 7
    ratio = rng.uniform(0, 1, pairs)
    w = rng.normal(size=(n, pairs))
    taps = np.zeros((n, 2 * pairs + 1))
    taps[:, 0:-1:2], taps[:, 1:-1:2], taps[:, -1] = w * (1 - ratio), w * ratio, rng.normal(size=n)
    reads = _plan(taps, 7)
    assert len(reads) == pairs + 1
    signal = rng.random(30)
    np.testing.assert_allclose(_evaluate(reads, n, signal, 12), _direct(taps, signal, 7, 12), rtol=1e-5, atol=1e-6)
