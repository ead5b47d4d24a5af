"""Image input/output for `apply` and `verify`: float32 H×W or H×W×C arrays.

- PNG/JPG (anything imageio reads): integers scaled to [0, 1] by their type's
  maximum (8-bit /255, 16-bit /65535); float files kept as they are.
- `.npy`: float (or integer) H×W or H×W×C with 1..4 channels, kept as float32.
- Output `.npy` is float32 with the array's shape; PNG is 8-bit, clipped to [0, 1]
  and rounded. Both are written atomically and byte-deterministically.

Gamma helpers implement the seed's bokeh boost: filter img^G, then take ^(1/G),
so bright highlights dominate the blur like real out-of-focus light does. Both clamp
negative values to 0 first (the boost is defined on non-negative light).
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np

from . import atomic
from .errors import SepgenError

MAX_SIDE = 16384  # larger than any GL texture a driver is required to support
MAX_CHANNELS = 4
PNG_SUFFIXES = (".png",)
NPY_SUFFIXES = (".npy",)

__all__ = ["load_image", "save_image", "check_image", "gamma_encode", "gamma_decode", "check_gamma", "to_rgba",
           "MAX_SIDE"]


def check_image(arr: object, what: str = "image") -> np.ndarray:
    """Return `arr` as float32 H×W or H×W×C (C in 1..4), or raise a one-line SepgenError."""
    a = np.asarray(arr)
    if a.dtype == bool or not (np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.floating)):
        raise SepgenError(f"{what} must hold real numbers, got dtype {a.dtype}")
    if a.ndim not in (2, 3):
        raise SepgenError(f"{what} must be H×W or H×W×C, got shape {a.shape}")
    if a.ndim == 3 and not 1 <= a.shape[2] <= MAX_CHANNELS:
        raise SepgenError(f"{what} has {a.shape[2]} channels, expected 1 to {MAX_CHANNELS}")
    if a.shape[0] < 1 or a.shape[1] < 1:
        raise SepgenError(f"{what} is empty (shape {a.shape})")
    if a.shape[0] > MAX_SIDE or a.shape[1] > MAX_SIDE:
        raise SepgenError(f"{what} is {a.shape[1]}x{a.shape[0]}, larger than {MAX_SIDE} pixels on a side")
    with np.errstate(over="ignore", invalid="ignore"):
        out = a.astype(np.float32)
    if not np.all(np.isfinite(out)):
        raise SepgenError(f"{what} contains NaN or infinite values (or values beyond float32)")
    return out


def load_image(path: str | os.PathLike) -> np.ndarray:
    """Load a PNG/JPG (scaled to [0, 1]) or a `.npy` array as float32 H×W or H×W×C."""
    path = Path(path)
    if path.is_dir():
        raise SepgenError(f"image {path} is a directory, not a file")
    if not path.is_file():
        raise SepgenError(f"image {path} does not exist")
    if path.suffix.lower() in NPY_SUFFIXES:
        try:
            arr = np.load(path, allow_pickle=False)
        except Exception as exc:  # numpy raises many types for bad files
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise SepgenError(f"cannot read image {path}: {first}") from None
    else:
        arr = decode(path, "image")
    return check_image(arr, f"image {path}")


def decode(path: Path, what: str) -> np.ndarray:
    """An image file's pixels (all channels) as float64, integers scaled to [0, 1] by their
    type's maximum; a one-line SepgenError naming `what` and `path` when it cannot be read."""
    import warnings

    import imageio.v3 as iio

    try:
        raw = _png16(path)
        if raw is None:
            with warnings.catch_warnings():  # imageio tries every plugin on a bad file; some warn
                warnings.simplefilter("ignore")
                raw = np.asarray(iio.imread(path))
    except Exception as exc:  # imageio raises many types for bad files
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "Could not find a backend" in first:  # imageio's wording when no plugin decodes it
            first = "not an image file that can be decoded (PNG, JPEG, BMP, TIFF)"
        raise SepgenError(f"cannot read {what} {path}: {first}") from None
    scale = float(np.iinfo(raw.dtype).max) if np.issubdtype(raw.dtype, np.integer) else 1.0
    return raw.astype(np.float64) / scale


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png16(path: Path) -> np.ndarray | None:
    """A 16-bit PNG's samples as uint16 H×W (grey) or H×W×C, or None for any other file.

    Bit depth is byte 24 of the file (the IHDR chunk comes first)."""
    with open(path, "rb") as f:
        head = f.read(25)
    if len(head) < 25 or head[:8] != PNG_SIGNATURE or head[12:16] != b"IHDR" or head[24] != 16:
        return None
    import png  # pypng

    width, height, rows, info = png.Reader(filename=str(path)).asDirect()
    arr = np.vstack([np.asarray(row, np.uint16) for row in rows]).reshape(height, width, info["planes"])
    return arr[:, :, 0] if info["planes"] == 1 else arr


def save_image(path: str | os.PathLike, arr: np.ndarray) -> None:
    """Save float32 `.npy` (same shape) or 8-bit PNG (clipped to [0, 1]); atomic."""
    path = Path(path)
    img = check_image(arr, "output image")
    suffix = path.suffix.lower()
    if suffix in NPY_SUFFIXES:
        buf = io.BytesIO()
        np.save(buf, np.ascontiguousarray(img), allow_pickle=False)
        atomic.write_bytes(path, buf.getvalue())
    elif suffix in PNG_SUFFIXES:
        atomic.write_bytes(path, encode_png(img))
    else:
        raise SepgenError(f"cannot write {path}: output must end in .npy or .png")


def encode_png(img: np.ndarray) -> bytes:
    """8-bit PNG bytes of a float image in [0, 1] (values outside are clipped)."""
    import imageio.v3 as iio

    q = np.round(np.clip(img, 0.0, 1.0) * 255.0).astype(np.uint8)
    if q.ndim == 3 and q.shape[2] == 1:
        q = q[:, :, 0]
    return iio.imwrite("<bytes>", q, extension=".png")


def gamma_encode(img: np.ndarray, gamma: float) -> np.ndarray:
    """max(img, 0)^G: the boost is defined on non-negative light. An HDR image whose
    brightest pixel^G passes float32's largest number is refused, naming γ as the cause."""
    g = check_gamma(gamma)
    a = np.maximum(np.asarray(img, dtype=np.float64), 0.0)
    peak = float(np.max(a)) if a.size else 0.0
    top = float(np.finfo(np.float32).max)
    if peak > 1.0 and np.isfinite(peak) and g * np.log(peak) > np.log(top) - np.log(4.0):  # headroom for the sums
        most = (np.log(top) - np.log(4.0)) / np.log(peak)
        raise SepgenError(f"gamma {g:g} overflows float32: the brightest pixel {peak:.4g} to the power {g:g} is "
                          f"{_power_text(peak, g)}; use a gamma of at most {most:.3g} for this image "
                          "(or scale it down)")
    return (a**g).astype(np.float32)


def _power_text(base: float, exponent: float) -> str:
    """base**exponent written without overflowing (1e+48)."""
    e = exponent * np.log10(base)
    return f"{10 ** (e - np.floor(e)):.3g}e+{int(np.floor(e)):02d}"


def gamma_decode(img: np.ndarray, gamma: float) -> np.ndarray:
    """max(img, 0)^(1/G): undoes `gamma_encode`. A fit's small negative lobes leave tiny
    negative pixels, which the root would blow up into dark specks (−1e-6 → −0.18 at G = 8),
    so they become 0 first."""
    return _clamped_power(img, 1.0 / check_gamma(gamma))


def check_gamma(gamma: float) -> float:
    """`gamma` as a float, or a one-line SepgenError when it is not in 0.01..100."""
    g = float(gamma)
    if not np.isfinite(g) or not 0.01 <= g <= 100.0:
        raise SepgenError(f"gamma must be in 0.01..100, got {gamma!r}")
    return g


def _clamped_power(img: np.ndarray, p: float) -> np.ndarray:
    a = np.maximum(np.asarray(img, dtype=np.float64), 0.0)
    return (a**p).astype(np.float32)


def to_rgba(img: np.ndarray) -> np.ndarray:
    """H×W×4 float32 for the GPU: gray fills channel 0, missing channels are 0."""
    a = check_image(img)
    if a.ndim == 2:
        a = a[:, :, None]
    out = np.zeros(a.shape[:2] + (4,), dtype=np.float32)
    out[:, :, : a.shape[2]] = a
    return out
