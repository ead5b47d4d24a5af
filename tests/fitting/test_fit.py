"""sepgen/fitting/core.py: `sepgen.fit` — scaling, the seed's result, provenance, validation.

The other fitting modules have their own files: test_fit_prune.py, test_fit_sweep.py,
test_fit_lowrank.py, test_losses.py (losses.py, optimizers.py against sepgen/filters/metrics.py),
test_fit_settings.py (sepgen/options.py FitSettings), test_fit_cli.py (sepgen/cli/fit_cmds.py)."""

from __future__ import annotations

import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import sepgen
from sepgen.common.errors import SepgenError
from sepgen.filters import metrics
from sepgen.filters.filterfile import SeparableFilter
from sepgen.fitting.core import recommended
from sepgen.kernels import disk, gaussian

SEED = {"l2": 1.0, "nonneg": 1.0, "zeros": 1.0}


def test_import_sepgen_does_not_import_jax():
    code = "import sys, sepgen; sepgen.kernels.disk(5); sepgen.SeparableFilter; assert 'jax' not in sys.modules, 'jax'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_fit_result_shape_scale_and_provenance():
    f = sepgen.fit(disk(20), 3, steps=50)
    assert isinstance(f, SeparableFilter)
    assert f.vertical.shape == (3, 20) and f.horizontal.shape == (3, 20) and f.rank == 3
    assert f.target.sum() == pytest.approx(1.0)  # unit DC gain
    assert np.array_equal(f.target, disk(20) / disk(20).sum())
    assert f.reconstruct().sum() == pytest.approx(1.0, rel=1e-12)  # exact DC gain
    p = f.provenance
    for key in ("sepgen", "kernel", "normalize", "weights", "optimizer", "steps", "lr", "init", "seed", "prune",
                "components", "dc", "loss"):
        assert key in p
    assert p["weights"]["l2"] == 1.0 and p["weights"]["nonneg"] == 1.0 and p["weights"]["l1"] == 0.0
    assert p["normalize"] == "sum" and p["steps"] == 50 and p["optimizer"] == "gd"
    # the stored loss is the NumPy loss of the stored components (peak-1 scale)
    assert f.metrics()["loss"] == pytest.approx(p["loss"]["final"], rel=1e-12)
    assert f.history.shape == (51, 2) and f.history[0, 0] == 0 and f.history[-1, 0] == 50
    assert f.history[0, 1] == pytest.approx(p["loss"]["initial"], rel=1e-5)


def test_kernel_spec_gives_name_and_canonical_provenance():
    f = sepgen.fit({"kernel": "polygon", "size": 15}, 2, steps=5)
    assert f.name == "polygon15"
    assert f.provenance["kernel"] == {"kernel": "polygon", "size": 15, "sides": 6, "rotation": 0.0, "antialias": False}
    g = sepgen.fit(disk(9), 1, steps=5, name="my_disk")
    assert g.name == "my_disk" and g.provenance["kernel"] == {"kernel": "array", "shape": [9, 9]}


def test_fit_is_deterministic():
    a = sepgen.fit(disk(16), 2, steps=100, prune=0.2)
    b = sepgen.fit(disk(16), 2, steps=100, prune=0.2)
    assert a.to_json() == b.to_json()


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(optimizer="gd", lr=0.1),
        dict(optimizer="gd", lr=50.0),  # far too large: the loop must still not return something worse
        dict(optimizer="adam", lr=0.05),
        dict(optimizer="lbfgs"),
        dict(optimizer="gd", init="random", seed=3),
        dict(optimizer="gd", weights={"l2": 1.0, "l1": 1.0, "max_error": 0.5, "dc": 1.0, "zeros_distance": 1.0}),
    ],
)
def test_fit_never_ends_worse_than_its_start(kwargs):
    f = sepgen.fit(gaussian(12, 2.5) + disk(12), 2, steps=60, **kwargs)
    loss = f.provenance["loss"]
    assert loss["fit"] <= loss["initial"] * (1 + 1e-6)
    # the stored filter is that fit with its DC gain made exact: undo the scale, get the fit's loss back
    root = np.sqrt(f.provenance["dc"]["gain_fitted"])
    undone = metrics.loss_terms(np.einsum("ki,kj->ij", f.vertical * root, f.horizontal * root), f.target, f.origin)
    assert metrics.weighted_loss(undone, f.provenance["weights"]) == pytest.approx(loss["fit"], rel=1e-9)
    assert f.metrics()["loss"] == pytest.approx(loss["final"], rel=1e-12)


def test_fit_improves_on_svd_for_the_seed_loss():
    f = sepgen.fit(disk(24), 3, steps=300)
    assert f.provenance["loss"]["fit"] < 0.95 * f.provenance["loss"]["initial"]


def _seed_loop(ref: np.ndarray, rank: int, steps: int, lr: float, w: tuple[float, float, float]):
    """The post's method: list of (v, h) pairs, jax.grad of the list model, jitted step, Python loop."""
    n = ref.shape[0]
    ref32 = jnp.asarray(ref, jnp.float32)

    def model(vs):
        dst = jnp.zeros((n, n))
        for p in vs:
            dst += jnp.outer(p[0], p[1])
        return dst

    def loss(vs, a, b, c):
        t = model(vs)
        return (a * jnp.mean(jnp.square(t - ref32)) + b * jnp.mean(-jnp.minimum(t, 0.0))
                + c * jnp.mean((ref32 == 0.0) * jnp.abs(t)))

    @jax.jit
    def step(vs, lr, a, b, c):
        g = jax.grad(loss)(vs, a, b, c)
        return [(p[0] - lr * q[0], p[1] - lr * q[1]) for p, q in zip(vs, g)]

    u, s, vt = np.linalg.svd(ref)
    vs = [(jnp.asarray(u[:, i] * np.sqrt(s[i]), jnp.float32), jnp.asarray(vt[i] * np.sqrt(s[i]), jnp.float32))
          for i in range(rank)]
    for _ in range(steps):
        vs = step(vs, lr, *w)
    v = np.array([np.asarray(p[0], np.float64) for p in vs])
    h = np.array([np.asarray(p[1], np.float64) for p in vs])
    return metrics.weighted_loss(metrics.loss_terms(v.T @ h, ref, (n // 2, n // 2)),
                                 dict(zip(("l2", "nonneg", "zeros"), w)))


def test_gd_reaches_the_seeds_loss():
    # The seed's setup (binary disk, rank 4, gd, lr 0.1, weights 1/1/1), shortened to 400 steps.
    ref = disk(50)
    want = _seed_loop(ref, 4, 400, 0.1, (1.0, 1.0, 1.0))
    f = sepgen.fit(ref, 4, SEED, "gd", 400, 0.1)
    got = f.provenance["loss"]["fit"]  # the optimiser's result; the stored filter then gets its DC gain made exact
    assert got == pytest.approx(want, rel=1e-4)
    assert got < f.provenance["loss"]["initial"]


def test_progress_is_reported_in_at_most_ten_chunks():
    calls = []
    sepgen.fit(disk(10), 2, steps=123, progress=lambda *a: calls.append(a))
    assert 1 <= len(calls) <= 10
    assert [c[1] for c in calls] == sorted(c[1] for c in calls) and calls[-1][1] == 123
    assert all(c[0] == "fit" and c[2] == 123 and np.isfinite(c[3]) for c in calls)


def test_recommended_settings_are_the_option_defaults():
    r = recommended()
    assert r["weights"]["nonneg"] == 1.5 and r["weights"]["zeros"] == 0.3 and r["prune"] == 0.2
    assert r["optimizer"] == "gd" and r["steps"] == 5000 and r["lr"] == 0.1


def test_random_init_depends_on_seed():
    a = sepgen.fit(disk(10), 2, steps=0, init="random", seed=1)
    b = sepgen.fit(disk(10), 2, steps=0, init="random", seed=1)
    c = sepgen.fit(disk(10), 2, steps=0, init="random", seed=2)
    assert np.array_equal(a.vertical, b.vertical) and not np.array_equal(a.vertical, c.vertical)


@pytest.mark.parametrize(
    "args, kwargs, words",
    [
        ((disk(5), 0), {}, "rank must be >= 1"),
        ((disk(5), 65), {}, "rank must be <= 64"),
        ((disk(5), 6), {}, "larger than the kernel"),
        ((disk(5), 1.5), {}, "rank must be int"),
        ((disk(5), 1), dict(lr=float("nan")), "lr must be finite"),
        ((disk(5), 1), dict(lr=-1.0), "lr must be >= 0"),
        ((disk(5), 1), dict(steps=-1), "steps must be >= 0"),
        ((disk(5), 1), dict(optimizer="sgd"), "optimizer must be one of"),
        ((disk(5), 1), dict(init="zeros"), "init must be one of"),
        ((disk(5), 1), dict(prune=1.5), "prune must be <= 1"),
        ((disk(5), 1), dict(weights={"l3": 1.0}), "unknown loss weight"),
        ((disk(5), 1), dict(weights={"nonneg": -1.0}), "nonneg must be >= 0"),
        ((disk(5), 1), dict(weights={"zeros": float("inf")}), "zeros must be finite"),
        ((disk(5), 1), dict(name="not-an-identifier"), "identifier"),
        ((np.zeros((3, 3)), 1), {}, "all zero"),
        ((np.ones(4), 1), {}, "2D"),
        (({"kernel": "disk", "size": 5, "sigma": 1.0}, 1), {}, "no option"),
    ],
)
def test_fit_rejects_bad_arguments(args, kwargs, words):
    with pytest.raises(SepgenError, match=words) as err:
        sepgen.fit(*args, **kwargs)
    assert "\n" not in str(err.value)


def test_divergence_keeps_the_best_iterate_and_says_so():
    # lr so large that gd overflows: an earlier (finite) iterate is returned and provenance says so
    f = sepgen.fit(disk(10), 2, steps=30, lr=1e6)
    assert np.all(np.isfinite(f.vertical)) and f.provenance["loss"]["fit"] <= f.provenance["loss"]["initial"]
    assert f.provenance["diverged"] is True
    assert "diverged" not in sepgen.fit(disk(10), 2, steps=30).provenance


# --- issue 20, item 13: empty kernel borders -------------------------------------------------


def _padded_aperture() -> np.ndarray:
    """A 9x9 disk in a 17x15 frame, off-centre: 5 empty rows above, 3 below, 4 left, 2 right."""
    k = np.zeros((17, 15))
    k[5:14, 4:13] = disk(9, antialias=True)
    return k


def test_empty_borders_are_trimmed_and_the_origin_moves_with_them():
    from sepgen.filters.reference import convolve2d
    from sepgen.fitting.core import trim_empty_border

    k = _padded_aperture()
    trimmed, origin, record = trim_empty_border(k, (8, 7))
    assert trimmed.shape == (9, 9) and origin == (3, 3)
    assert record == {"trimmed": {"from": [17, 15], "rows": [5, 14], "columns": [4, 13]}}
    img = np.random.default_rng(1).random((20, 23))
    np.testing.assert_allclose(convolve2d(img, trimmed, origin), convolve2d(img, k, (8, 7)), rtol=1e-12)
    # the origin's row and column stay, even where they are empty
    corner = np.zeros((9, 9))
    corner[6:, 6:] = 1.0
    kept, origin, _ = trim_empty_border(corner, (4, 4))
    assert kept.shape == (5, 5) and origin == (0, 0)
    np.testing.assert_allclose(convolve2d(img, kept, origin), convolve2d(img, corner, (4, 4)), rtol=1e-12)
    assert trim_empty_border(disk(9), (4, 4))[2] == {}  # nothing to trim: the same array back


def test_a_fit_of_an_aperture_with_an_empty_border_spends_no_taps_on_it():
    from sepgen.filters.reference import convolve2d

    k = _padded_aperture()
    filt = sepgen.fit(k, 2, steps=200)
    assert filt.shape == (9, 9) and filt.origin == (3, 3)
    assert filt.provenance["trimmed"] == {"from": [17, 15], "rows": [5, 14], "columns": [4, 13]}
    assert filt.provenance["kernel"] == {"kernel": "array", "shape": [17, 15]}
    img = np.random.default_rng(2).random((16, 16))
    np.testing.assert_allclose(convolve2d(img, filt.target, filt.origin), convolve2d(img, k / k.sum(), (8, 7)),
                               rtol=1e-12)
    from sepgen import emit

    assert emit.fetch_counts(filt)["total"] <= 20  # 19; 31 when the whole 17x15 frame was fitted
    named = sepgen.fit({"kernel": "polygon", "size": 15}, 2, steps=50)
    assert named.shape == (15, 15) and "trimmed" not in named.provenance  # named shapes stay centred
