"""SVD low-rank approximation (NumPy): the initial guess of every fit.

K = U S Vᵀ; the rank-N approximation keeps the N largest singular values and
splits each evenly between the passes, vertical[k] = U[:, k]·√s_k and
horizontal[k] = Vᵀ[k]·√s_k, so both halves have the same scale (what plain
gradient descent needs to move them at the same speed).
"""

from __future__ import annotations

import numpy as np

from ..errors import SepgenError


def singular_values(kernel: np.ndarray) -> np.ndarray:
    """Singular values of `kernel`, largest first."""
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
    u, s, vt = np.linalg.svd(k, full_matrices=False)
    root = np.sqrt(s[:rank])
    vertical = (u[:, :rank] * root).T
    horizontal = vt[:rank] * root[:, None]
    for i in range(rank):
        total = horizontal[i].sum()
        flip = total < 0 if abs(total) > 1e-12 * np.abs(horizontal[i]).sum() else horizontal[i][np.argmax(np.abs(horizontal[i]))] < 0
        if flip:
            vertical[i] *= -1
            horizontal[i] *= -1
    return np.ascontiguousarray(vertical), np.ascontiguousarray(horizontal)


def approximation(kernel: np.ndarray, rank: int) -> np.ndarray:
    """The SVD rank-`rank` approximation of `kernel` as a 2D array."""
    v, h = svd_components(kernel, rank)
    return v.T @ h
