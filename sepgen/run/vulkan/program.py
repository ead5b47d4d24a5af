"""What the Vulkan runners execute: textures by name and passes with (group, binding) resources.

A `GpuProgram` is the Vulkan runners' view of a loaded program (see `folder.load_program`):
shader code already loaded (WGSL text or SPIR-V bytes), every resource at its final
(set/group, binding). Both runners (`sepgen.run.webgpu`, `raw`) take the same program.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...plan.passmodel import ScaleEntry
from ..program import UNIFORM_BYTES, Scale, ScaleInputs, scale_inputs

WGPU_FORMATS = {"rgba32f": "rgba32float", "rgba16f": "rgba16float", "r11g11b10f": "rg11b10ufloat"}
READ_DTYPES = {"rgba32f": np.float32, "rgba16f": np.float16, "r11g11b10f": np.uint32}
BYTES_PER_TEXEL = {"rgba32f": 16, "rgba16f": 8, "r11g11b10f": 4}
PACKED_FLOATS = {"r11g11b10f": ((0, 6), (11, 6), (22, 5))}  # per channel: (first bit, mantissa bits); 5-bit exponents


def decode_texels(data: bytes, fmt: str, height: int, width: int) -> np.ndarray:
    """Texels read back in format `fmt` as float32 H×W×4; a packed format without alpha
    (r11g11b10f: unsigned floats with a 5-bit exponent, bias 15) gets alpha 1, as shaders see it."""
    raw = np.frombuffer(data, dtype=READ_DTYPES[fmt])
    if fmt not in PACKED_FLOATS:
        return raw.reshape(height, width, 4).astype(np.float32)
    words = raw.reshape(height, width).astype(np.int64)
    out = np.ones((height, width, 4), np.float32)
    for c, (shift, mbits) in enumerate(PACKED_FLOATS[fmt]):
        m = (words >> shift) & ((1 << mbits) - 1)
        e = (words >> (shift + mbits)) & 31
        normal = np.ldexp(1.0 + m / (1 << mbits), e - 15)
        value = np.where(e == 0, np.ldexp(m / (1 << mbits), -14), normal)
        out[..., c] = np.where(e == 31, np.where(m == 0, np.inf, np.nan), value)
    return out

__all__ = ["Shader", "Binding", "GpuPass", "GpuProgram", "WGPU_FORMATS", "READ_DTYPES",
           "BYTES_PER_TEXEL", "UNIFORM_BYTES", "decode_texels"]


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
    array: bool = False  # texture: the whole of an array texture (intermediates="array"), sampled as one


@dataclass(frozen=True)
class GpuPass:
    name: str
    bindings: tuple[Binding, ...]
    compute: Shader | None = None
    vertex: Shader | None = None
    fragment: Shader | None = None
    targets: tuple[str, ...] = ()  # fragment: the texture at each colour location
    target_layers: tuple[int | None, ...] = ()  # fragment: the layer of each target (array textures), else None
    blend: str = "none"  # "none" | "additive" (fragment) | "accumulate" (compute, done by the shader)
    workgroup: tuple[int, int] = (1, 1)


@dataclass(frozen=True)
class GpuProgram:
    """Everything to run: texture formats by name (source and output included) and the passes."""

    textures: dict[str, str]
    source: str
    output: str
    passes: tuple[GpuPass, ...] = field(default_factory=tuple)
    scale: ScaleEntry | None = None  # scaled passes: the manifest's `scale` entry
    where: str = "this program"  # the manifest it came from, for messages
    features: tuple[str, ...] = ()  # WebGPU device features the passes need (the manifest's `extensions`, WGSL)
    limits: dict[str, int] = field(default_factory=dict)  # WebGPU limits above the defaults (the manifest's `limits`)
    layers: dict[str, int] = field(default_factory=dict)  # array textures: name -> layers (intermediates="array")

    def scale_inputs(self, scale: Scale, height: int, width: int) -> ScaleInputs:
        """The checked scale of one run (`sepgen.run.program.scale_inputs`: the same rules on every runner)."""
        return scale_inputs(self.scale, scale, height, width, self.where)
