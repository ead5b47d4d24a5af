"""sepgen.fitting.multiscale: the JAX twin of the scaling model, and fitting across scales."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from sepgen.common.errors import SepgenError
from sepgen.filters import scaling
from sepgen.fitting import multiscale
from sepgen.fitting.core import recommended
from sepgen.fitting.facade import fit

SPEC = {"kernel": "disk", "size": 16}


@pytest.mark.parametrize("s", [1.0, 0.5, 0.3, 0.77, 0.125])
def test_jax_splat_equals_numpy_model(s):
    rng = np.random.default_rng(1)
    v, h, origin = rng.normal(size=(3, 11)), rng.normal(size=(3, 8)), (5, 3)
    expected_h = h @ scaling.splat_matrix(8, 3, s).T
    np.testing.assert_allclose(multiscale.splat(jnp.asarray(h, jnp.float32), 3, s), expected_h, atol=1e-5)
    kernel, _ = scaling.effective_kernel(v, h, origin, s)
    got = multiscale.effective_kernel(jnp.asarray(v, jnp.float32), jnp.asarray(h, jnp.float32), origin, s)
    np.testing.assert_allclose(got, kernel, atol=1e-4)


def _quality(filt, s):
    return scaling.quality_at(filt.vertical, filt.horizontal, filt.target, filt.provenance["kernel"], filt.origin, s)


def _loss(filt, scales):
    f = filt
    return scaling.loss_across(f.vertical, f.horizontal, f.target, f.provenance["kernel"], f.origin, scales,
                               f.provenance["weights"])


def test_fit_across_scales_beats_the_scaled_single_fit_and_keeps_dc():
    settings = {**recommended(), "steps": 400, "prune": 0.0}
    settings.pop("rank")
    multi = multiscale.fit_scales(SPEC, 2, [0.5, 1], **settings)
    single = fit(SPEC, 2, **{**settings, "kernel_spec": None})
    assert multi.provenance["scales"] == [0.5, 1.0] and multi.scales == (0.5, 1.0)
    assert multi.provenance["loss"]["final"] == pytest.approx(_loss(multi, [0.5, 1]), rel=1e-12)
    assert _loss(multi, [0.5, 1]) < _loss(single, [0.5, 1])
    assert _quality(multi, 0.5)["relative_l2"] < _quality(single, 0.5)["relative_l2"]
    for s in (0.25, 0.5, 0.8, 1.0):
        assert _quality(multi, s)["dc_gain"] == pytest.approx(1.0, abs=1e-12)


def test_pruned_multiscale_fit_has_exact_zeros():
    settings = {**recommended(), "steps": 200, "prune": 0.2}
    settings.pop("rank")
    filt = multiscale.fit_scales(SPEC, 2, [0.5, 1], **settings)
    assert (filt.vertical == 0).sum() + (filt.horizontal == 0).sum() > 0
    assert filt.provenance["prune_threshold_used"] > 0


@pytest.mark.parametrize("scales, message", [([], "non-empty"), ([0.5, 0.5], "more than once"), ([0, 1], "outside")])
def test_bad_scales(scales, message):
    with pytest.raises(SepgenError, match=message):
        multiscale.fit_scales(SPEC, 2, scales, steps=1)


def test_jax_objective_is_the_numpy_loss_across_scales():
    from sepgen.fitting import losses
    from sepgen.fitting.core import problem_for
    from sepgen.options import weights_with_defaults

    problem = multiscale.ScaledProblem(problem_for(SPEC, 2, None), [0.3, 0.5, 1])
    rng = np.random.default_rng(2)
    v, h = rng.random((2, 16)), rng.random((2, 16)) - 0.2
    w = weights_with_defaults({"l1": 0.5, "max_error": 0.1, "zeros_distance": 0.2, "dc": 1.0})
    got = losses.loss_of(problem.loss_target, jnp.asarray(v, jnp.float32), jnp.asarray(h, jnp.float32),
                         losses.weight_vector(w), losses.active_terms(w))
    assert float(got) == pytest.approx(problem.loss(*problem.to_file_scale((v, h)), w), rel=1e-4)
