"""NumPy reference filtering with the project's convention (kernel = PSF, clamp-to-edge).

    out[y,x] = Σ_i Σ_j K[i,j] · in[clamp(y − i + cy), clamp(x − j + cx)]

which equals `scipy.ndimage.convolve(img, K, mode="nearest")` for the default
origin (cy, cx) = (H//2, W//2). Separable filters run as the shaders do: a
horizontal pass per component, then the vertical passes summed.

Both paths pad the image by edge replication (that *is* the clamp) and convolve
the padded array with FFTs, keeping only the "valid" part, so no value wraps
around. FFTs keep a 1920x1080 RGB frame with a 50x50 kernel well under a few
seconds whatever the rank; results are float64 (rounding ~1e-15 of the
output scale, far below any shader's fp32 error).
"""

from __future__ import annotations

import numpy as np

from ..common.errors import SepgenError
from ..plan.taps import Pairs

__all__ = ["convolve2d", "convolve_separable", "apply_filter", "convolve_direct"]


def _fast_len(n: int) -> int:
    """Smallest 2^a·3^b·5^c ≥ n: FFT sizes with small prime factors are fast."""
    best = 1 << max(0, (n - 1).bit_length())
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            m = p35
            while m < n:
                m *= 2
            best = min(best, m)
            p35 *= 3
        p5 *= 5
    return best


def _as_hwc(img: np.ndarray) -> tuple[np.ndarray, bool]:
    """View `img` as H×W×C float64; True if it was H×W."""
    arr = np.asarray(img)
    if arr.ndim not in (2, 3) or arr.shape[0] == 0 or arr.shape[1] == 0 or (arr.ndim == 3 and arr.shape[2] == 0):
        raise SepgenError(f"image must be H×W or H×W×C and non-empty, got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
        raise SepgenError(f"image must hold real numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.float64, copy=False)
    if arr.ndim == 2:
        return arr[:, :, None], True
    return arr, False


def _origin(shape: tuple[int, int], origin: tuple[int, int] | None) -> tuple[int, int]:
    if origin is None:
        return (shape[0] // 2, shape[1] // 2)
    cy, cx = int(origin[0]), int(origin[1])
    if not (0 <= cy < shape[0] and 0 <= cx < shape[1]):
        raise SepgenError(f"origin {[cy, cx]} is outside the {shape[0]}x{shape[1]} kernel")
    return (cy, cx)


def _pad_edge(arr: np.ndarray, taps: tuple[int, int], origin: tuple[int, int]) -> np.ndarray:
    """Replicate edges so that tap (i, j) of output (y, x) reads padded[y + H−1−i, x + W−1−j].

    Tap i reads row y − i + cy: the lowest offset is cy − (H−1) (pad before: H−1−cy),
    the highest is cy (pad after: cy).
    """
    (kh, kw), (cy, cx) = taps, origin
    return np.pad(arr, ((kh - 1 - cy, cy), (kw - 1 - cx, cx), (0, 0)), mode="edge")


def _check_kernel(kernel: np.ndarray, ndim: int, what: str) -> np.ndarray:
    k = np.asarray(kernel, dtype=np.float64)
    if k.ndim != ndim or k.size == 0:
        raise SepgenError(f"{what} must be {ndim}D and non-empty, got shape {k.shape}")
    if not np.all(np.isfinite(k)):
        raise SepgenError(f"{what} contains NaN or infinite values")
    return k


def convolve2d(img: np.ndarray, kernel: np.ndarray, origin: tuple[int, int] | None = None) -> np.ndarray:
    """Full 2D convolution of an H×W or H×W×C image; float64, same shape as `img`."""
    arr, flat = _as_hwc(img)
    k = _check_kernel(kernel, 2, "kernel")
    org = _origin(k.shape, origin)
    h, w = arr.shape[:2]
    padded = _pad_edge(arr, k.shape, org)
    ny, nx = _fast_len(padded.shape[0]), _fast_len(padded.shape[1])
    spec = np.fft.rfft2(padded, s=(ny, nx), axes=(0, 1))
    spec *= np.fft.rfft2(k, s=(ny, nx))[:, :, None]
    full = np.fft.irfft2(spec, s=(ny, nx), axes=(0, 1))
    # Full convolution index n = (y + kh − 1): the first kh−1 rows/cols see wrapped data.
    out = full[k.shape[0] - 1 : k.shape[0] - 1 + h, k.shape[1] - 1 : k.shape[1] - 1 + w]
    return out[:, :, 0] if flat else np.ascontiguousarray(out)


def convolve_separable(
    img: np.ndarray, vertical: np.ndarray, horizontal: np.ndarray, origin: tuple[int, int] | None = None
) -> np.ndarray:
    """Σ_k vertical pass v_k of (horizontal pass h_k of img), the way the shaders run it.

    `vertical` is rank×H, `horizontal` rank×W (1D arrays mean rank 1). The vertical
    clamp can be applied before the horizontal pass because that pass works row by row.
    """
    arr, flat = _as_hwc(img)
    v = _check_kernel(np.atleast_2d(np.asarray(vertical, dtype=np.float64)), 2, "vertical")
    hz = _check_kernel(np.atleast_2d(np.asarray(horizontal, dtype=np.float64)), 2, "horizontal")
    if v.shape[0] != hz.shape[0]:
        raise SepgenError(f"vertical {v.shape} and horizontal {hz.shape} must be rank×H and rank×W with the same rank")
    taps = (v.shape[1], hz.shape[1])
    org = _origin(taps, origin)
    h, w = arr.shape[:2]
    padded = _pad_edge(arr, taps, org)
    ny, nx = _fast_len(padded.shape[0]), _fast_len(padded.shape[1])
    rows = np.fft.rfft(padded, n=nx, axis=1)  # shared by every horizontal pass
    h_spec = np.fft.rfft(hz, n=nx, axis=1)
    v_spec = np.fft.rfft(v, n=ny, axis=1)
    acc = None
    for k in range(v.shape[0]):
        # Horizontal pass of component k (valid columns only), still padded in y.
        t_k = np.fft.irfft(rows * h_spec[k][None, :, None], n=nx, axis=1)[:, taps[1] - 1 : taps[1] - 1 + w]
        term = np.fft.rfft(t_k, n=ny, axis=0) * v_spec[k][:, None, None]
        acc = term if acc is None else acc + term  # the vertical passes add up (linear)
    assert acc is not None  # a filter has at least one component
    out = np.fft.irfft(acc, n=ny, axis=0)[taps[0] - 1 : taps[0] - 1 + h]
    return out[:, :, 0] if flat else np.ascontiguousarray(out)


def apply_filter(img: np.ndarray, filt: Pairs) -> np.ndarray:
    """Filter `img` with the separable approximation of `filt` (a `SeparableFilter` or its
    structure: what the shaders compute)."""
    return convolve_separable(img, filt.vertical, filt.horizontal, filt.origin)


def convolve_direct(img: np.ndarray, kernel: np.ndarray, origin: tuple[int, int] | None = None) -> np.ndarray:
    """The convention formula evaluated tap by tap (slow; a cross-check for small cases)."""
    arr, flat = _as_hwc(img)
    k = _check_kernel(kernel, 2, "kernel")
    cy, cx = _origin(k.shape, origin)
    h, w = arr.shape[:2]
    ys, xs = np.arange(h), np.arange(w)
    out = np.zeros_like(arr)
    for i in range(k.shape[0]):
        rows = np.clip(ys - i + cy, 0, h - 1)
        for j in range(k.shape[1]):
            if k[i, j] != 0.0:
                cols = np.clip(xs - j + cx, 0, w - 1)
                out += k[i, j] * arr[rows][:, cols]
    return out[:, :, 0] if flat else out
