"""What every runner executes: an emitted folder loaded once (`load`), and the scale inputs of a run.

    program = load("out/")                      # manifest.json validated, pass files read
    program.text("h0.frag.glsl")                # a pass file's text (bytes: `program.data`)
    extra = program.scale_inputs(0.5, h, w)     # the scale uniform bytes or scale-map texture

The folder checks happen here, once, for every runner: each pass file is listed in the
manifest's `files` and lies inside the folder. So do the scale checks: a scaled program
(manifest `scale`) needs a scale, an unscaled one refuses any, a uniform source takes one
value, a texture source one value or an H×W map, every value in [0, 1] (0: in focus). Turning the files
into what a driver takes (GLSL text, SPIR-V, WGSL) is each runner's business.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..common.errors import SepgenError
from ..plan import passmodel
from ..plan.passmodel import MANIFEST, Manifest, ScaleEntry, ShaderFile

UNIFORM_BYTES = 16  # the scale uniform buffer: one float, padded to std140's 16 bytes
Scale = float | np.ndarray | None  # one value, an H×W map, or none (fixed taps)

__all__ = ["Program", "ScaleInputs", "load", "as_program", "scale_inputs", "UNIFORM_BYTES"]


@dataclass(frozen=True)
class ScaleInputs:
    """What a run of a scaled program uploads besides the source: the scale-map texture
    (name -> H×W×4 float32, scale in red) or the scale uniform's bytes."""

    textures: dict[str, np.ndarray] = field(default_factory=dict)
    uniform: bytes | None = None
    value: float | None = None  # the uniform's value


@dataclass(frozen=True, eq=False)
class Program:
    """An emitted folder ready to run: its validated manifest and its pass files' contents."""

    folder: Path
    manifest: Manifest
    sources: dict[str, bytes]  # pass file path (as the manifest lists it) -> contents

    @property
    def where(self) -> str:
        return str(self.folder / MANIFEST)

    def file(self, rel: str | None) -> ShaderFile:
        entry = self.manifest.file(rel) if rel else None
        if entry is None or rel not in self.sources:
            raise SepgenError(f"{self.where}: pass file {rel!r} is not listed in 'files'")
        return entry

    def data(self, rel: str | None) -> bytes:
        self.file(rel)
        assert rel is not None  # file() raised otherwise
        return self.sources[rel]

    def text(self, rel: str | None) -> str:
        return self.data(rel).decode("utf-8", "replace")

    def scale_inputs(self, scale: Scale, height: int, width: int) -> ScaleInputs:
        return scale_inputs(self.manifest.scale, scale, height, width, self.where)


def _read(root: Path, manifest: Manifest, rel: str | None) -> bytes:
    where = root / MANIFEST
    entry = manifest.file(rel) if rel else None
    if entry is None:
        raise SepgenError(f"{where}: pass file {rel!r} is not listed in 'files'")
    path = (root / entry.path).resolve()
    if root.resolve() not in path.parents:
        raise SepgenError(f"{where}: file {rel!r} is outside the folder")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise SepgenError(f"cannot read {path}: {exc.strerror or exc}") from None


def load(folder: str | os.PathLike) -> Program:
    """The emitted folder's manifest (validated by `passmodel.load`) and every pass file it runs."""
    root = Path(folder)
    manifest = passmodel.load(root)
    sources: dict[str, bytes] = {}
    for p in manifest.passes:
        for rel in (p.vertex, p.fragment, p.compute):
            if rel is not None and rel not in sources:
                sources[rel] = _read(root, manifest, rel)
    return Program(root, manifest, sources)


def as_program(program: Program | str | os.PathLike) -> Program:
    """A loaded program as it is; a folder loaded."""
    return program if isinstance(program, Program) else load(program)


def scale_inputs(entry: ScaleEntry | None, scale: Scale, height: int, width: int,
                 where: str = "this program") -> ScaleInputs:
    """The checked scale of one run of a program with manifest scale `entry` (None: fixed taps);
    the same one-line errors on every runner."""
    if entry is None:
        if scale is not None:
            raise SepgenError(f"{where} has fixed taps: it takes no scale")
        return ScaleInputs()
    if scale is None:
        raise SepgenError(f"{where} has scaled taps: give a scale")
    if entry.source == "texture":
        assert entry.texture is not None  # the manifest parser requires it for this source
        smap = np.broadcast_to(np.asarray(scale, np.float32), (height, width)) if np.ndim(scale) == 0 else scale
        rgba = np.zeros((height, width, 4), np.float32)
        rgba[:, :, 0] = _check_map(smap, height, width)
        return ScaleInputs(textures={entry.texture: rgba})
    if np.ndim(scale) != 0:
        raise SepgenError(f"{where} reads the scale from a uniform: give one value, not a map")
    value = _check_value(scale)
    return ScaleInputs(uniform=np.array([value, 0, 0, 0], np.float32).tobytes(), value=value)


def _check_value(scale: Any) -> float:
    try:
        value = float(np.asarray(scale))
    except (TypeError, ValueError):
        raise SepgenError(f"scale must be a number in [0, 1], got {scale!r}") from None
    if not (np.isfinite(value) and 0 <= value <= 1):  # 0: in focus, every tap at offset 0
        raise SepgenError(f"scale values must lie in [0, 1]: {value!r} is outside")
    return value


def _check_map(smap: Any, height: int, width: int) -> np.ndarray:
    try:
        arr = np.asarray(smap, np.float32)
    except (TypeError, ValueError):
        raise SepgenError(f"scale must be a number or an H×W map of numbers, got {type(smap).__name__}") from None
    if arr.shape != (height, width):
        size = f"{arr.shape[1]}x{arr.shape[0]}" if arr.ndim == 2 else f"shaped {arr.shape}"
        raise SepgenError(f"scale map is {size}, the image is {width}x{height}")
    bad = ~(np.isfinite(arr) & (arr >= 0) & (arr <= 1))
    if bad.any():
        y, x = (int(i) for i in np.argwhere(bad)[0])
        raise SepgenError(f"scale values must lie in [0, 1]: {float(arr[y, x])!r} at pixel ({y}, {x}) is outside")
    return arr
