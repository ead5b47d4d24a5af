"""Test images for the bokeh comparison: a real photograph and a procedural HDR scene.

Both are linear float32 RGB. Nothing is downloaded: the photograph is the Hubble
deep field that scikit-image ships inside its wheel.
"""

from __future__ import annotations

import numpy as np

from ..common.errors import SepgenError


def hubble_photo(max_width: int = 1000) -> np.ndarray:
    """scikit-image's bundled `hubble_deep_field` in [0, 1], downscaled to `max_width`.

    Display-referred values, as the seed filtered them: its gamma boost (img^γ,
    filter, ^(1/γ)) is what makes the bright stars bloom into bokeh."""
    try:
        from skimage import data
    except ImportError:
        raise SepgenError("scikit-image is not installed (pip install scikit-image)") from None
    img = np.asarray(data.hubble_deep_field(), dtype=np.float32) / 255.0
    step = max(1, int(np.ceil(img.shape[1] / max_width)))
    if step > 1:  # box-downscale by an integer factor: deterministic, no resampler needed
        h, w = (img.shape[0] // step) * step, (img.shape[1] // step) * step
        img = img[:h, :w].reshape(h // step, step, w // step, step, 3).mean(axis=(1, 3))
    return np.ascontiguousarray(img, dtype=np.float32)


def night_lights(height: int = 360, width: int = 640, seed: int = 7) -> np.ndarray:
    """A dark street with point lights far brighter than 1 (HDR): where bokeh shows.

    Lights are single bright pixels, so a filtered light is the kernel itself, and
    ringing or corner leaks of an approximation show directly.
    """
    rng = np.random.default_rng(seed)
    y = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    img = np.broadcast_to(np.array([0.010, 0.012, 0.030], np.float32) * (1.0 - 0.6 * y), (height, width, 3)).copy()
    img[int(height * 0.72):, :, :] = np.array([0.02, 0.018, 0.015], np.float32)  # the street
    palette = np.array([[1.0, 0.75, 0.35], [1.0, 0.45, 0.2], [0.55, 0.75, 1.0], [1.0, 0.95, 0.85], [0.9, 0.2, 0.25]],
                       np.float32)
    for _ in range(70):
        py = int(rng.integers(int(height * 0.08), int(height * 0.70)))
        px = int(rng.integers(4, width - 4))
        img[py, px] += palette[rng.integers(len(palette))] * float(rng.uniform(20.0, 400.0))
    for k in range(12):  # a row of street lamps
        px = int((k + 0.5) * width / 12)
        img[int(height * 0.55), px] += np.array([1.0, 0.8, 0.5], np.float32) * 600.0
    return img
