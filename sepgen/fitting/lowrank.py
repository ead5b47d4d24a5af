"""SVD low-rank approximation (NumPy): the initial guess of every fit.

K = U S Vᵀ; the rank-N approximation keeps the N largest singular values and
splits each evenly between the passes, vertical[k] = U[:, k]·√s_k and
horizontal[k] = Vᵀ[k]·√s_k, so both halves have the same scale (what plain
gradient descent needs to move them at the same speed).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..common.errors import SepgenError

# (set, get) symbol names of OpenBLAS builds NumPy ships with or links against.
_OPENBLAS_SYMBOLS = (
    ("scipy_openblas_set_num_threads64_", "scipy_openblas_get_num_threads64_"),
    ("scipy_openblas_set_num_threads", "scipy_openblas_get_num_threads"),
    ("openblas_set_num_threads64_", "openblas_get_num_threads64_"),
    ("openblas_set_num_threads", "openblas_get_num_threads"),
)


@functools.cache
def _openblas() -> tuple[Any, Any] | None:
    """NumPy's OpenBLAS thread controls, if this is Linux and NumPy uses OpenBLAS."""
    try:
        with open("/proc/self/maps", encoding="utf-8") as maps:
            paths = sorted({line.split()[-1] for line in maps
                            if "openblas" in line.lower() and line.split()[-1].startswith("/")})
        for path in paths:
            lib = ctypes.CDLL(path)
            for set_name, get_name in _OPENBLAS_SYMBOLS:
                if hasattr(lib, set_name) and hasattr(lib, get_name):
                    return getattr(lib, set_name), getattr(lib, get_name)
    except OSError:
        pass
    return None


@contextlib.contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Run small LAPACK calls on one thread.

    Once JAX's CPU thread pool exists, a multi-threaded OpenBLAS call on a
    50x50 matrix waits for its worker threads to be scheduled and takes ~45 ms
    instead of ~0.2 ms (measured on a 2-core machine); one thread avoids that.
    """
    controls = _openblas()
    if controls is None:
        yield
        return
    set_threads, get_threads = controls
    before = int(get_threads())
    set_threads(1)
    try:
        yield
    finally:
        set_threads(before)


def singular_values(kernel: np.ndarray) -> np.ndarray:
    """Singular values of `kernel`, largest first."""
    with single_threaded_blas():
        return np.linalg.svd(np.asarray(kernel, np.float64), compute_uv=False)


def energy(kernel: np.ndarray) -> np.ndarray:
    """Fraction of the kernel's energy (Σ s²) captured by ranks 1, 2, …, min(H, W)."""
    s2 = singular_values(kernel) ** 2
    total = s2.sum()
    return np.cumsum(s2) / total if total > 0 else np.zeros_like(s2)


def svd_components(kernel: np.ndarray, rank: int) -> tuple[np.ndarray, np.ndarray]:
    """The best rank-`rank` approximation as (vertical rank×H, horizontal rank×W).

    Signs are made deterministic: each horizontal vector sums to a non-negative
    value (ties broken by its largest-magnitude tap being positive).
    """
    k = np.asarray(kernel, np.float64)
    if not 1 <= rank <= min(k.shape):
        raise SepgenError(f"rank {rank} is outside 1..{min(k.shape)} for a {k.shape[0]}x{k.shape[1]} kernel")
    with single_threaded_blas():
        u, s, vt = np.linalg.svd(k, full_matrices=False)
    root = np.sqrt(s[:rank])
    vertical = (u[:, :rank] * root).T
    horizontal = vt[:rank] * root[:, None]
    for i in range(rank):
        total = horizontal[i].sum()
        largest = horizontal[i][np.argmax(np.abs(horizontal[i]))]
        flip = total < 0 if abs(total) > 1e-12 * np.abs(horizontal[i]).sum() else largest < 0
        if flip:
            vertical[i] *= -1
            horizontal[i] *= -1
    return np.ascontiguousarray(vertical), np.ascontiguousarray(horizontal)


def approximation(kernel: np.ndarray, rank: int) -> np.ndarray:
    """The SVD rank-`rank` approximation of `kernel` as a 2D array."""
    v, h = svd_components(kernel, rank)
    return v.T @ h
