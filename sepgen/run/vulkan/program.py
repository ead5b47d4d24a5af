"""What the Vulkan runners execute: textures by name and passes with (group, binding) resources.

A `GpuProgram` is the runner-side view of an emitted folder (see `folder.load_program`):
shader code already loaded (WGSL text or SPIR-V bytes), every resource at its final
(set/group, binding). Both runners (`webgpu`, `raw`) take the same program.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...common.errors import SepgenError
from ...filters.scaling import check_scale, check_scale_map
from ...plan.passmodel import ScaleEntry

WGPU_FORMATS = {"rgba32f": "rgba32float", "rgba16f": "rgba16float"}
READ_DTYPES = {"rgba32f": np.float32, "rgba16f": np.float16}
BYTES_PER_TEXEL = {"rgba32f": 16, "rgba16f": 8}

UNIFORM_BYTES = 16  # the scale uniform buffer: one float, padded to std140's 16 bytes

__all__ = ["Shader", "Binding", "GpuPass", "GpuProgram", "ScaleInputs", "scale_inputs", "WGPU_FORMATS", "READ_DTYPES",
           "BYTES_PER_TEXEL", "UNIFORM_BYTES"]


@dataclass(frozen=True)
class Shader:
    """One shader module and the entry point to run: WGSL text or SPIR-V bytes."""

    code: str | bytes
    entry: str
    label: str  # the file it came from, for messages


@dataclass(frozen=True)
class Binding:
    """One resource of a pass at (group, binding): a sampled texture, a sampler, a storage texture
    or the uniform buffer holding the scale of scaled passes."""

    group: int
    binding: int
    kind: str  # "texture" | "sampler" | "storage" | "uniform"
    texture: str | None = None  # texture and storage entries
    filter: str = "nearest"  # texture and sampler: "nearest" | "linear"
    access: str = "write"  # storage: "write" | "read_write"


@dataclass(frozen=True)
class GpuPass:
    name: str
    bindings: tuple[Binding, ...]
    compute: Shader | None = None
    vertex: Shader | None = None
    fragment: Shader | None = None
    targets: tuple[str, ...] = ()  # fragment: the texture at each colour location
    blend: str = "none"  # "none" | "additive" (fragment) | "accumulate" (compute, done by the shader)
    workgroup: tuple[int, int] = (1, 1)


@dataclass(frozen=True)
class GpuProgram:
    """Everything to run: texture formats by name (source and output included) and the passes."""

    textures: dict[str, str]
    source: str
    output: str
    passes: tuple[GpuPass, ...] = field(default_factory=tuple)
    scale: "ScaleEntry | None" = None  # scaled passes: the manifest's `scale` entry


@dataclass(frozen=True)
class ScaleInputs:
    """What a run of a scaled program uploads besides the source: texture name -> H×W×4 data, uniform bytes."""

    textures: dict[str, np.ndarray] = field(default_factory=dict)
    uniform: bytes | None = None


def scale_inputs(program: GpuProgram, scale: "float | np.ndarray | None", height: int, width: int) -> ScaleInputs:
    """The scale map texture (scale source "texture") or the uniform buffer bytes ("uniform") for `scale`."""
    entry = program.scale
    if entry is None:
        if scale is not None:
            raise SepgenError("this program has fixed taps: it takes no scale")
        return ScaleInputs()
    if scale is None:
        raise SepgenError("this program has scaled taps: give a scale")
    if entry.source == "texture":
        smap = np.broadcast_to(np.asarray(scale, np.float32), (height, width)) if np.ndim(scale) == 0 else scale
        rgba = np.zeros((height, width, 4), np.float32)
        rgba[:, :, 0] = check_scale_map(smap, (height, width))
        return ScaleInputs(textures={entry.texture: rgba})
    if np.ndim(scale) != 0:
        raise SepgenError("this program reads the scale from a uniform: give one value, not a map")
    value = check_scale(float(np.asarray(scale)))
    return ScaleInputs(uniform=np.array([value, 0, 0, 0], np.float32).tobytes())
