"""`sepgen apply --scale / --scale-map` with the NumPy backend: the scaled-tap model, bad scales, unscaled filters."""

from __future__ import annotations

import numpy as np
import pytest

from sepgen.cli import main
from sepgen.filters import scaling
from sepgen.filters.filterfile import SeparableFilter
from sepgen.verify import check as verify
from tests.support import dc_gain, in_focus_map, scalable


@pytest.fixture
def files(tmp_path):
    filt = scalable()
    filt.save(tmp_path / "s.json")
    np.save(tmp_path / "img.npy", verify.default_image(3, (20, 30)))
    np.save(tmp_path / "map.npy", np.full((20, 30), 0.5, np.float32))
    np.save(tmp_path / "map_small.npy", np.full((20, 29), 0.5, np.float32))
    neg = np.full((20, 30), 0.5, np.float32)
    neg[2, 3] = -0.25
    np.save(tmp_path / "map_neg.npy", neg)
    return tmp_path


def test_apply_scale_numpy_equals_model_and_map(files, capsys):
    assert main(["apply", str(files / "s.json"), "-i", str(files / "img.npy"), "-o", str(files / "a.npy"),
                 "--scale", "0.5"]) == 0
    assert main(["apply", str(files / "s.json"), "-i", str(files / "img.npy"), "-o", str(files / "b.npy"),
                 "--scale-map", str(files / "map.npy")]) == 0
    filt = SeparableFilter.load(files / "s.json")
    ref = scaling.apply_scaled(np.load(files / "img.npy"), filt.vertical, filt.horizontal, filt.origin, 0.5)
    np.testing.assert_allclose(np.load(files / "a.npy"), ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.load(files / "b.npy"), ref, rtol=1e-5, atol=1e-6)
    assert "warning" not in capsys.readouterr().err


def test_apply_at_scale_0_leaves_the_image_unblurred(files, capsys):
    """Scale 0 is the focal plane: every tap at offset 0, the pixel times the DC gain (issue 20)."""
    filt = SeparableFilter.load(files / "s.json")
    img = np.load(files / "img.npy")
    assert main(["apply", str(files / "s.json"), "-i", str(files / "img.npy"), "-o", str(files / "z.npy"),
                 "--scale", "0"]) == 0
    np.testing.assert_allclose(np.load(files / "z.npy"), img * dc_gain(filt), rtol=1e-5)
    smap = in_focus_map(img.shape[:2]).astype(np.float32)
    np.save(files / "focus.npy", smap)
    assert main(["apply", str(files / "s.json"), "-i", str(files / "img.npy"), "-o", str(files / "f.npy"),
                 "--scale-map", str(files / "focus.npy")]) == 0
    out = np.load(files / "f.npy")
    sharp = smap == 0
    np.testing.assert_allclose(out[sharp], (img * dc_gain(filt))[sharp], rtol=1e-5)
    assert np.abs(out[~sharp] - (img * dc_gain(filt))[~sharp]).max() > 1e-2  # blurred elsewhere
    assert "error" not in capsys.readouterr().err


@pytest.mark.parametrize("extra, message", [
    (["--scale", "-0.5"], "--scale -0.5 is outside [0, 1]"),
    (["--scale", "1.5"], "--scale 1.5 is outside [0, 1]"),
    (["--scale-map", "map_neg.npy"], "value -0.25 at pixel (2, 3) is outside [0, 1]"),
    (["--scale-map", "map_small.npy"], "is 29x20, the image is 30x20"),
    (["--scale", "0.5", "--scale-map", "map.npy"], "not both"),
    (["--scale", "0.5", "--backend", "gpu", "--linear-sampling"], "scaled taps are bilinear fetches already"),
])
def test_apply_bad_scales_exit_2_and_write_nothing(files, capsys, extra, message):
    extra = [str(files / e) if e.endswith(".npy") else e for e in extra]
    code = main(["apply", str(files / "s.json"), "-i", str(files / "img.npy"), "-o", str(files / "out.npy"), *extra])
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("sepgen: error")]
    assert code == 2 and len(errors) == 1 and message in errors[0]
    assert not (files / "out.npy").exists()


def test_apply_scale_on_an_unscaled_filter_warns(files, capsys):
    filt = scalable()
    SeparableFilter(filt.name, filt.target, filt.vertical, filt.horizontal,
                    provenance=filt.provenance).save(files / "u.json")
    assert main(["apply", str(files / "u.json"), "-i", str(files / "img.npy"), "-o", str(files / "u.npy"),
                 "--scale", "0.5"]) == 0
    assert "was fitted without scales" in capsys.readouterr().err
    assert (files / "u.npy").exists()
