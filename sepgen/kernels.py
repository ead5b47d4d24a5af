"""2D blur kernels (point-spread functions) as float64 arrays.

Shapes are sampled at pixel centres around the array's geometric centre and
scaled so that their peak is 1 (the seed's binary 50x50 circle is `disk(50)`).
Brightness normalisation (sum 1) happens when a filter is fitted, so the loss
weights keep the meaning they have in the seed's post.

Each kernel type declares its options once in `KERNELS`; the CLI, the build
config and the provenance in filter files all read them from there.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .common.errors import SepgenError

MAX_SIZE = 1025
_SUPERSAMPLE = 16  # sub-samples per axis for anti-aliased coverage


def _grid(size: int, sub: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Sample coordinates relative to the kernel centre, `sub` x `sub` per pixel."""
    offs = (np.arange(size * sub) + 0.5) / sub - size / 2.0
    return np.meshgrid(offs, offs, indexing="ij")


def _coverage(size: int, inside: Callable[[np.ndarray, np.ndarray], np.ndarray], antialias: bool) -> np.ndarray:
    sub = _SUPERSAMPLE if antialias else 1
    y, x = _grid(size, sub)
    mask = inside(y, x).astype(np.float64)
    return mask.reshape(size, sub, size, sub).mean(axis=(1, 3))


def _check_size(size: object) -> int:
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)):
        raise SepgenError(f"kernel size must be an integer, got {size!r}")
    if not 1 <= int(size) <= MAX_SIZE:
        raise SepgenError(f"kernel size {size} is outside 1..{MAX_SIZE}")
    return int(size)


Profile = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (y, x) pixels from the centre -> value


def _disk_profile(size: float) -> Profile:
    r2 = (size / 2.0) ** 2
    return lambda y, x: y * y + x * x <= r2


def disk(size: int, antialias: bool = False) -> np.ndarray:
    """Bokeh disk of diameter `size`; `antialias` gives fractional edge coverage."""
    size = _check_size(size)
    return validate(_coverage(size, _disk_profile(size), antialias), "disk")


def polygon(size: int, sides: int = 6, rotation: float = 0.0, antialias: bool = False) -> np.ndarray:
    """Regular polygon (aperture blades) inscribed in a circle of diameter `size`.

    `rotation` is in degrees; at 0 a vertex points along +x.
    """
    size = _check_size(size)
    if isinstance(sides, bool) or not isinstance(sides, (int, np.integer)) or not 3 <= sides <= 64:
        raise SepgenError(f"polygon sides must be an integer in 3..64, got {sides!r}")
    if not math.isfinite(rotation):
        raise SepgenError(f"polygon rotation must be finite, got {rotation!r}")
    return validate(_coverage(size, _polygon_profile(size, sides, rotation), antialias), "polygon")


def _polygon_profile(size: float, sides: int = 6, rotation: float = 0.0) -> Profile:
    apothem = size / 2.0 * math.cos(math.pi / sides)
    rot = math.radians(rotation)

    def inside(y: np.ndarray, x: np.ndarray) -> np.ndarray:
        ok = np.ones(np.broadcast_shapes(np.shape(y), np.shape(x)), dtype=bool)  # y, x may be a column and a row
        for k in range(sides):  # half-planes through the edge midpoints
            a = rot + (2 * k + 1) * math.pi / sides
            ok &= x * math.cos(a) + y * math.sin(a) <= apothem
        return ok

    return inside


def gaussian(size: int, sigma: float | None = None) -> np.ndarray:
    """Gaussian with standard deviation `sigma` pixels (default size/6), peak 1."""
    size = _check_size(size)
    sigma = size / 6.0 if sigma is None else sigma
    if not (isinstance(sigma, (int, float)) and math.isfinite(sigma) and sigma > 0):
        raise SepgenError(f"gaussian sigma must be a positive number, got {sigma!r}")
    g = _gaussian_profile(size, sigma)(*_grid(size))
    return validate(g / g.max(), "gaussian")


def _gaussian_profile(size: float, sigma: float | None = None) -> Profile:
    sigma = size / 6.0 if sigma is None else sigma
    inside = _box_profile(size)
    return lambda y, x: np.exp(-(x * x + y * y) / (2.0 * sigma * sigma)) * inside(y, x)


def box(size: int) -> np.ndarray:
    """Box filter: all ones."""
    return validate(np.ones((_check_size(size),) * 2), "box")


def _box_profile(size: float) -> Profile:
    half = size / 2.0
    return lambda y, x: (np.abs(y) <= half) & (np.abs(x) <= half)


def ring(size: int, inner: float = 0.6, antialias: bool = False) -> np.ndarray:
    """Annulus of outer diameter `size`; `inner` is the inner radius as a fraction of the outer."""
    size = _check_size(size)
    if not (isinstance(inner, (int, float)) and 0.0 <= inner < 1.0):
        raise SepgenError(f"ring inner must be a fraction in [0, 1), got {inner!r}")
    return validate(_coverage(size, _ring_profile(size, inner), antialias), "ring")


def _ring_profile(size: float, inner: float = 0.6) -> Profile:
    r2 = (size / 2.0) ** 2
    i2 = (inner * size / 2.0) ** 2
    return lambda y, x: (y * y + x * x <= r2) & (y * y + x * x >= i2)


KERNEL_FILE_SUFFIXES = (".npy", ".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
LUMA = np.array([0.2126, 0.7152, 0.0722])  # Rec. 709 luminance of linear RGB


def from_file(path: str | os.PathLike) -> np.ndarray:
    """Kernel from a `.npy` array or an image (PNG, JPEG, BMP, TIFF); `read_file` gives the channel rule."""
    return read_file(path)[0]


def file_channel(path: str | os.PathLike) -> str:
    """Which part of a kernel file becomes the kernel: "array", "luminance", "alpha" or
    "alpha*luminance" (the `channel` that the provenance of a file kernel records)."""
    return read_file(path)[1]


def read_file(path: str | os.PathLike) -> tuple[np.ndarray, str]:
    """A kernel file as (float64 kernel, channel used).

    Images are scaled to [0, 1] by their integer type's maximum. Without alpha, or with an
    alpha channel that is fully opaque, the kernel is the luminance (Rec. 709 for colour).
    With a not fully opaque alpha channel, the aperture is drawn in alpha: the kernel is
    alpha, times the colour's luminance where that luminance varies across the visible
    pixels (alpha > 0); a constant colour (white or black ink) gives alpha alone.
    """
    path = _check_kernel_path(Path(path))
    try:
        if path.suffix.lower() == ".npy":
            arr, channel = np.load(path, allow_pickle=False), "array"
        else:
            arr, channel = _image_kernel(path)
    except SepgenError:
        raise
    except Exception as exc:  # imageio/numpy raise many types for bad files
        raise SepgenError(f"cannot read kernel file {path}: {exc}".splitlines()[0]) from None
    if not np.issubdtype(np.asarray(arr).dtype, np.number):
        raise SepgenError(f"kernel file {path} does not hold numbers")
    return validate(arr, f"kernel file {path}"), channel


def _check_kernel_path(path: Path) -> Path:
    if path.is_dir():
        raise SepgenError(f"kernel file {path} is a directory, not a file")
    if not path.is_file():
        raise SepgenError(f"kernel file {path} does not exist")
    if path.suffix.lower() not in KERNEL_FILE_SUFFIXES:
        raise SepgenError(
            f"kernel file {path} has an unsupported type {path.suffix or '(no suffix)'!r} "
            f"(accepted: {', '.join(KERNEL_FILE_SUFFIXES)})"
        )
    return path


def _image_kernel(path: Path) -> tuple[np.ndarray, str]:
    from .common.images import decode

    img = np.asarray(decode(path, "kernel file"), dtype=np.float64)
    if img.ndim != 3:
        return img, "luminance"
    if img.shape[-1] not in (2, 4):  # gray or RGB(+extra): no alpha
        return (img[..., :3] @ LUMA if img.shape[-1] >= 3 else img[..., 0]), "luminance"
    colour, alpha = img[..., :-1], img[..., -1]
    lum = colour @ LUMA if colour.shape[-1] == 3 else colour[..., 0]
    if np.all(alpha >= 1.0):
        return lum, "luminance"
    visible = lum[alpha > 0]
    if visible.size == 0 or np.ptp(visible) == 0:
        return alpha, "alpha"
    return alpha * lum, "alpha*luminance"


def validate(kernel: Any, what: str = "kernel") -> np.ndarray:
    """Return `kernel` as a float64 2D array or raise a one-line SepgenError."""
    if np.iscomplexobj(kernel):  # float64 would drop the imaginary part (NumPy only warns)
        raise SepgenError(f"{what} holds complex numbers: a kernel must be real (save its real part or its magnitude)")
    try:
        arr = np.asarray(kernel, dtype=np.float64)
    except (TypeError, ValueError):
        raise SepgenError(f"{what} is not a numeric array") from None
    if arr.ndim != 2:
        raise SepgenError(f"{what} must be 2D, got shape {arr.shape}")
    if not all(1 <= n <= MAX_SIZE for n in arr.shape):
        raise SepgenError(f"{what} size {arr.shape[0]}x{arr.shape[1]} is outside 1..{MAX_SIZE}")
    if not np.all(np.isfinite(arr)):
        raise SepgenError(f"{what} contains NaN or infinite values")
    if not np.any(arr):
        raise SepgenError(f"{what} is all zero")
    return arr


@dataclass(frozen=True)
class KernelOption:
    """One option of a kernel type, as the CLI and the build config spell it."""

    name: str
    type: type
    default: Any
    help: str


@dataclass(frozen=True)
class KernelType:
    name: str
    make: Callable[..., np.ndarray]
    help: str
    options: tuple[KernelOption, ...] = field(default_factory=tuple)
    # The continuous shape behind `make`: profile(size, **options) -> Profile, for any real size.
    profile: Callable[..., Profile] | None = None


_AA = KernelOption("antialias", bool, False, "fractional coverage at the edge")

KERNELS: dict[str, KernelType] = {
    k.name: k
    for k in (
        KernelType("disk", disk, "bokeh disk", (_AA,), _disk_profile),
        KernelType(
            "polygon",
            polygon,
            "regular polygon (hexagon by default)",
            (
                KernelOption("sides", int, 6, "number of polygon sides"),
                KernelOption("rotation", float, 0.0, "polygon rotation in degrees"),
                _AA,
            ),
            _polygon_profile,
        ),
        KernelType(
            "gaussian", gaussian, "Gaussian",
            (KernelOption("sigma", float, None, "Gaussian sigma in pixels (default size/6)"),), _gaussian_profile,
        ),
        KernelType("box", box, "box filter", (), _box_profile),
        KernelType("ring", ring, "annulus",
                   (KernelOption("inner", float, 0.6, "ring inner radius / outer radius"), _AA), _ring_profile),
    )
}

ALL_OPTIONS: dict[str, KernelOption] = {o.name: o for k in KERNELS.values() for o in k.options}


def make(spec: dict[str, Any], base_dir: str | os.PathLike | None = None) -> np.ndarray:
    """Build a kernel from a spec: {"kernel": "disk", "size": 50, "antialias": true}
    or {"kernel": "file:path.png"}. Unknown options are rejected."""
    name = spec.get("kernel")
    if not isinstance(name, str):
        raise SepgenError(f"kernel must be a name, got {name!r}")
    if name.startswith("file:"):
        extra = sorted(set(spec) - {"kernel"})
        if extra:
            raise SepgenError(f"kernel {name} takes no options, got {', '.join(extra)}")
        path = Path(name[5:])
        if base_dir is not None and not path.is_absolute():
            path = Path(base_dir) / path
        return from_file(path)
    ktype = KERNELS.get(name)
    if ktype is None:
        raise SepgenError(f"unknown kernel {name!r} (known: {', '.join(KERNELS)}, file:PATH)")
    known = {o.name for o in ktype.options}
    extra = sorted(set(spec) - known - {"kernel", "size"})
    if extra:
        raise SepgenError(f"kernel {name} has no option {extra[0]!r}")
    if "size" not in spec:
        raise SepgenError(f"kernel {name} needs a size")
    kwargs = {o.name: spec[o.name] for o in ktype.options if spec.get(o.name) is not None}
    return ktype.make(spec["size"], **kwargs)


def canonical_spec(spec: dict[str, Any], base_dir: str | os.PathLike | None = None) -> dict[str, Any]:
    """The spec with every option of its kernel type filled in, for provenance and hashing.

    A file kernel also records the `channel` that `read_file` used when the file can be
    read (relative paths resolve against `base_dir`, default the working folder)."""
    name = spec["kernel"]
    if name.startswith("file:"):
        return _file_spec(spec, base_dir)
    out: dict[str, Any] = {"kernel": name, "size": spec["size"]}
    for opt in KERNELS[name].options:
        out[opt.name] = spec.get(opt.name, opt.default)
    return out


def _file_spec(spec: dict[str, Any], base_dir: str | os.PathLike | None) -> dict[str, Any]:
    """{"kernel", "channel"} (and "sha256" when given: see `with_image_hash`)."""
    if "channel" in spec:  # already canonical
        return {k: spec[k] for k in ("kernel", "channel", "sha256") if k in spec}
    path = Path(spec["kernel"][5:])
    if base_dir is not None and not path.is_absolute():
        path = Path(base_dir) / path
    try:
        return {"kernel": spec["kernel"], "channel": file_channel(path)}
    except SepgenError:  # provenance of a kernel passed as an array: the file may be gone
        return {"kernel": spec["kernel"]}


def with_image_hash(spec: dict[str, Any], base_dir: str | os.PathLike | None = None) -> dict[str, Any]:
    """The canonical spec, plus the file's SHA-256 for a file kernel (provenance: which image)."""
    out = canonical_spec(spec, base_dir)
    if "channel" in out and "sha256" not in out:
        path = Path(spec["kernel"][5:])
        path = Path(base_dir) / path if base_dir is not None and not path.is_absolute() else path
        try:
            out["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError:
            pass
    return out


def profile(spec: dict[str, Any]) -> Profile | None:
    """The continuous shape of a named kernel spec, value at (y, x) pixels from its centre
    (what `make` samples at pixel centres, or covers when anti-aliased); None for files.
    Call `make(spec)` first: it validates the spec."""
    ktype = KERNELS.get(str(spec.get("kernel")))
    if ktype is None or ktype.profile is None:
        return None
    kwargs = {o.name: spec[o.name] for o in ktype.options if o.name != "antialias" and spec.get(o.name) is not None}
    return ktype.profile(float(spec["size"]), **kwargs)
