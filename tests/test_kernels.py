"""Kernels: shapes, scale, symmetry, files, and every rejected input."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sepgen import kernels
from sepgen.common.errors import SepgenError


def test_disk50_is_the_seeds_binary_circle():
    k = kernels.disk(50)
    assert k.shape == (50, 50) and k.dtype == np.float64
    assert set(np.unique(k)) == {0.0, 1.0}
    assert abs(k.sum() - math.pi * 25**2) < 0.02 * math.pi * 25**2
    assert np.array_equal(k, k[::-1]) and np.array_equal(k, k[:, ::-1]) and np.array_equal(k, k.T)
    assert k[0, 0] == 0.0 and k[25, 25] == 1.0 and k[25, 0] == 1.0


def test_antialiased_disk_has_fractional_edge_and_same_area():
    k = kernels.disk(21, antialias=True)
    assert k.max() == 1.0 and 0.0 <= k.min()
    assert np.any((k > 0) & (k < 1))
    assert k.sum() == pytest.approx(math.pi * 10.5**2, rel=0.01)


def test_polygon_hexagon():
    k = kernels.polygon(41)
    assert k.shape == (41, 41) and k.max() == 1.0
    r = 20.5
    assert k.sum() == pytest.approx(1.5 * math.sqrt(3) * r * r, rel=0.03)  # regular hexagon area
    assert not np.array_equal(k, kernels.polygon(41, rotation=30.0))
    assert np.array_equal(kernels.polygon(41, sides=6, rotation=60.0), k)  # 60° symmetric


def test_gaussian_box_ring():
    g = kernels.gaussian(15, 2.0)
    assert g.max() == pytest.approx(1.0) and np.argmax(g) == 7 * 15 + 7
    assert np.array_equal(kernels.box(4), np.ones((4, 4)))
    r = kernels.ring(30, inner=0.5)
    assert r[15, 15] == 0.0 and r[15, 1] == 1.0


def test_make_and_canonical_spec():
    assert np.array_equal(kernels.make({"kernel": "disk", "size": 9}), kernels.disk(9))
    assert kernels.canonical_spec({"kernel": "polygon", "size": 9}) == {
        "kernel": "polygon", "size": 9, "sides": 6, "rotation": 0.0, "antialias": False}


def test_from_file_npy_and_png(tmp_path):
    k = kernels.gaussian(9)
    np.save(tmp_path / "k.npy", k)
    assert np.array_equal(kernels.make({"kernel": f"file:{tmp_path / 'k.npy'}"}), k)
    imageio = pytest.importorskip("imageio.v3")
    img = (kernels.disk(12) * 255).astype(np.uint8)
    imageio.imwrite(tmp_path / "k.png", img)
    assert np.array_equal(kernels.from_file(tmp_path / "k.png"), kernels.disk(12))
    rgb = np.stack([img] * 3, axis=-1)
    imageio.imwrite(tmp_path / "rgb.png", rgb)
    assert np.allclose(kernels.from_file(tmp_path / "rgb.png"), kernels.disk(12))


@pytest.mark.parametrize(
    "array, words",
    [
        (np.ones(5), "2D"),
        (np.ones((2, 2, 2)), "2D"),
        (np.array([[1.0, np.nan]]), "NaN"),
        (np.array([[1.0, np.inf]]), "NaN or infinite"),
        (np.zeros((3, 3)), "all zero"),
        (np.ones((0, 3)), "outside 1..1025"),
        (np.ones((1026, 1)), "outside 1..1025"),
    ],
)
def test_validate_rejects(array, words):
    with pytest.raises(SepgenError, match=words) as err:
        kernels.validate(array)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    "spec, words",
    [
        ({"kernel": "disk", "size": 0}, "outside 1..1025"),
        ({"kernel": "disk", "size": 1026}, "outside 1..1025"),
        ({"kernel": "disk", "size": 2.5}, "integer"),
        ({"kernel": "disk"}, "needs a size"),
        ({"kernel": "blob", "size": 5}, "unknown kernel"),
        ({"kernel": "disk", "size": 5, "sigma": 2.0}, "no option 'sigma'"),
        ({"kernel": "polygon", "size": 5, "sides": 2}, "sides"),
        ({"kernel": "gaussian", "size": 5, "sigma": -1.0}, "sigma"),
        ({"kernel": "ring", "size": 5, "inner": 1.0}, "inner"),
        ({"kernel": "file:/nonexistent/k.npy"}, "does not exist"),
        ({"kernel": "file:k.npy", "size": 5}, "takes no options"),
    ],
)
def test_make_rejects(spec, words):
    with pytest.raises(SepgenError, match=words) as err:
        kernels.make(spec)
    assert "\n" not in str(err.value)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # imageio probing plugins on garbage
def test_bad_files_are_one_line_errors(tmp_path):
    (tmp_path / "bad.png").write_bytes(b"not a png at all")
    (tmp_path / "bad.npy").write_bytes(b"\x93NUMPY garbage")
    np.save(tmp_path / "str.npy", np.array([["a", "b"]]))
    np.save(tmp_path / "cube.npy", np.ones((2, 2, 2)))
    for name, words in (("bad.png", "cannot read"), ("bad.npy", "cannot read"), ("str.npy", "numbers"),
                        ("cube.npy", "2D")):
        with pytest.raises(SepgenError, match=words) as err:
            kernels.from_file(tmp_path / name)
        assert "\n" not in str(err.value)


# --- apertures drawn in alpha (issue 12, item 1) ----------------------------------------


def _rgba(colour: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """8-bit RGBA image from a colour (H×W gray or H×W×3) and an alpha in [0, 1]."""
    rgb = colour if colour.ndim == 3 else np.stack([colour] * 3, axis=-1)
    return np.round(np.concatenate([rgb, alpha[..., None]], axis=-1) * 255).astype(np.uint8)


@pytest.mark.parametrize("ink", [1.0, 0.0], ids=["white", "black"])
def test_aperture_in_alpha_is_the_kernel(tmp_path, ink):
    imageio = pytest.importorskip("imageio.v3")
    aperture = kernels.polygon(15)
    imageio.imwrite(tmp_path / "a.png", _rgba(np.full((15, 15), ink), aperture))
    k, channel = kernels.read_file(tmp_path / "a.png")
    assert channel == "alpha"
    np.testing.assert_allclose(k, aperture, atol=1 / 255)
    assert not np.allclose(k, 1.0)  # not the uniform box the colour alone would give


def test_aperture_in_la_png(tmp_path):
    imageio = pytest.importorskip("imageio.v3")
    aperture = kernels.disk(12, antialias=True)
    la = np.round(np.stack([np.ones((12, 12)), aperture], axis=-1) * 255).astype(np.uint8)
    imageio.imwrite(tmp_path / "la.png", la, mode="LA")
    k, channel = kernels.read_file(tmp_path / "la.png")
    assert channel == "alpha" and np.allclose(k, aperture, atol=1 / 255)


def test_alpha_times_varying_luminance(tmp_path):
    imageio = pytest.importorskip("imageio.v3")
    aperture = kernels.disk(13)
    shade = np.linspace(0.2, 1.0, 13)[None, :].repeat(13, axis=0)  # a gradient inside the disk
    imageio.imwrite(tmp_path / "g.png", _rgba(shade, aperture))
    k, channel = kernels.read_file(tmp_path / "g.png")
    assert channel == "alpha*luminance"
    np.testing.assert_allclose(k, aperture * shade, atol=2 / 255)


def test_opaque_alpha_keeps_luminance(tmp_path):
    imageio = pytest.importorskip("imageio.v3")
    shape = kernels.disk(11)
    imageio.imwrite(tmp_path / "o.png", _rgba(shape, np.ones((11, 11))))
    k, channel = kernels.read_file(tmp_path / "o.png")
    assert channel == "luminance" and np.allclose(k, shape, atol=1 / 255)


def test_provenance_names_the_channel(tmp_path, monkeypatch):
    imageio = pytest.importorskip("imageio.v3")
    imageio.imwrite(tmp_path / "a.png", _rgba(np.ones((9, 9)), kernels.disk(9)))
    imageio.imwrite(tmp_path / "g.png", (kernels.disk(9) * 255).astype(np.uint8))
    np.save(tmp_path / "k.npy", kernels.disk(9))
    monkeypatch.chdir(tmp_path)
    assert kernels.canonical_spec({"kernel": "file:a.png"}) == {"kernel": "file:a.png", "channel": "alpha"}
    assert kernels.canonical_spec({"kernel": "file:g.png"})["channel"] == "luminance"
    assert kernels.canonical_spec({"kernel": "file:k.npy"})["channel"] == "array"
    sub = {"kernel": "file:a.png"}
    monkeypatch.chdir("/")
    assert kernels.canonical_spec(sub, base_dir=tmp_path)["channel"] == "alpha"


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".bmp", ".tif"])
def test_accepted_image_types_read(tmp_path, suffix):
    imageio = pytest.importorskip("imageio.v3")
    imageio.imwrite(tmp_path / f"k{suffix}", (kernels.disk(16) * 255).astype(np.uint8))
    assert np.allclose(kernels.from_file(tmp_path / f"k{suffix}"), kernels.disk(16), atol=0.1)


def test_kernel_file_messages(tmp_path):
    (tmp_path / "k.json").write_text("{}")
    (tmp_path / "folder.png").mkdir()
    with pytest.raises(SepgenError, match=r"unsupported type '\.json' \(accepted: \.npy, \.png"):
        kernels.from_file(tmp_path / "k.json")
    with pytest.raises(SepgenError, match="is a directory"):
        kernels.from_file(tmp_path / "folder.png")


# --- issue 20 -----------------------------------------------------------------------------


def test_profiles_take_a_column_and_a_row():
    """target_at samples profiles at ys[:, None], xs[None, :] (the hexagon + --scales crash)."""
    for spec in ({"kernel": "polygon", "size": 41, "sides": 6}, {"kernel": "polygon", "size": 9, "sides": 5},
                 {"kernel": "disk", "size": 9}, {"kernel": "ring", "size": 9}):
        kernels.make(spec)
        y, x = kernels._grid(spec["size"])
        values = kernels.profile(spec)(y[:, :1], x[:1, :])
        assert values.shape == y.shape
        np.testing.assert_array_equal(values, kernels.profile(spec)(y, x))


def test_complex_kernels_are_refused_not_cut_to_their_real_part(tmp_path, recwarn):
    k = kernels.disk(7) * (1 + 0.5j)
    np.save(tmp_path / "c.npy", k)
    with pytest.raises(SepgenError, match=r"^kernel file .*c\.npy holds complex numbers: a kernel must be real"):
        kernels.from_file(tmp_path / "c.npy")
    with pytest.raises(SepgenError, match="kernel holds complex numbers"):
        kernels.validate(k)
    assert not [w for w in recwarn if "Complex" in type(w.message).__name__]


def _png16(path, samples: np.ndarray) -> None:
    """Write uint16 H×W×C samples as a 16-bit PNG (pypng: Pillow cannot write 16-bit RGBA)."""
    import png

    h, w, c = samples.shape
    mode = {2: "LA", 3: "RGB", 4: "RGBA"}[c]
    png.from_array(samples.reshape(h, w * c).tolist(), f"{mode};16").save(str(path))


@pytest.mark.parametrize("channels", [4, 3, 2])
def test_16_bit_colour_apertures_keep_their_precision(tmp_path, channels):
    """16-bit RGBA (and RGB, LA) PNGs are read at 16 bits, as 16-bit grey already was."""
    aperture = kernels.disk(15, antialias=True) * 0.999  # coverage values between 8-bit steps
    a16 = np.round(aperture * 65535).astype(np.uint16)
    if channels == 3:
        samples = np.stack([a16] * 3, axis=-1)
    else:
        samples = np.concatenate([np.full((15, 15, channels - 1), 65535, np.uint16), a16[..., None]], axis=-1)
    _png16(tmp_path / "a.png", samples)
    k, channel = kernels.read_file(tmp_path / "a.png")
    assert channel == ("luminance" if channels == 3 else "alpha")
    np.testing.assert_allclose(k, a16 / 65535.0, atol=1e-6 if channels != 3 else 2e-5)
    assert np.abs(k - aperture).max() < 1e-4  # an 8-bit read is off by up to 1/510


def test_messages_show_numpy_scalars_as_plain_numbers():
    """A value formatted with !r may be a NumPy scalar: SepgenError writes the number (issue 20)."""
    with pytest.raises(SepgenError, match=r"^polygon rotation must be finite, got nan$"):
        kernels.polygon(9, rotation=np.float64("nan"))
    with pytest.raises(SepgenError, match=r"^ring inner must be a fraction in \[0, 1\), got 1\.5$"):
        kernels.ring(9, inner=np.float64(1.5))
    assert str(SepgenError(f"{[np.float32(0.5), np.int64(3), np.True_]!r}")) == "[0.5, 3, True]"
