"""An emitted folder (`manifest.json` + shaders) as a `GpuProgram` for the Vulkan runners.

Shader files by their manifest `lang`: `wgsl` is read as text, `spirv` as SPIR-V bytes,
`hlsl` is compiled to SPIR-V by glslang with the shared binding scheme (sepgen.common.spirv), so
the HLSL's own SPIR-V runs: nothing is translated back to GLSL.

Resources: an input or output with `set` is taken as written (`sampler_binding` for its
sampler), and so is a scaled folder's uniform buffer (`scale.set`, `scale.binding`); HLSL gives
register numbers, mapped as tN -> N, sN -> 64 + N, uN -> 128 + N in set 0.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from ...plan import passmodel
from ...common import spirv
from ...common.errors import SepgenError
from ...plan.passmodel import Manifest, Pass, PassInput, PassOutput
from .program import Binding, GpuPass, GpuProgram, Shader

RUNNABLE_LANGS = ("wgsl", "spirv", "hlsl")

__all__ = ["load_program", "RUNNABLE_LANGS"]


@functools.lru_cache(maxsize=256)
def _hlsl_spirv(text: str, entry: str, stage: str, name: str) -> bytes:
    """glslang's module, checked by spirv-val; memoised: passes share a vertex shader, variants share files."""
    code = spirv.compile_hlsl(text, entry, stage, name)
    spirv.validate(code, name)
    return code


def _shader(root: Path, manifest: Manifest, rel: str | None) -> Shader:
    where = root / passmodel.MANIFEST
    entry = manifest.file(rel) if rel else None
    if entry is None:
        raise SepgenError(f"{where}: pass file {rel!r} is not listed in 'files'")
    if entry.lang not in RUNNABLE_LANGS:
        raise SepgenError(f"{where}: {rel} is {entry.lang!r}; the Vulkan runners run {', '.join(RUNNABLE_LANGS)}")
    path = (root / entry.path).resolve()
    if root.resolve() not in path.parents:
        raise SepgenError(f"{where}: file {rel!r} is outside the folder")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SepgenError(f"cannot read {path}: {exc.strerror or exc}") from None
    main = entry.entry or "main"
    if entry.lang == "spirv":
        return Shader(data, main, entry.path)
    text = data.decode("utf-8", "replace")
    if entry.lang == "hlsl":
        return Shader(_hlsl_spirv(text, main, entry.stage, entry.path), main, entry.path)
    return Shader(text, main, entry.path)


def _input_bindings(i: PassInput) -> list[Binding]:
    out = [Binding(i.set or 0, i.binding, "texture", i.texture, i.filter)]
    if i.set is not None and i.sampler_binding is not None:
        out.append(Binding(i.set, i.sampler_binding, "sampler", filter=i.filter))
    elif i.set is None and i.sampler:  # HLSL: SamplerState register(sN)
        out.append(Binding(0, spirv.SAMPLER_BASE + i.binding, "sampler", filter=i.filter))
    return out


def _storage_binding(o: PassOutput, access: str) -> Binding:
    if o.set is not None:
        return Binding(o.set, o.unit, "storage", o.texture, access=access)
    return Binding(0, spirv.STORAGE_BASE + o.unit, "storage", o.texture, access=access)


def _scale_bindings(root: Path, manifest: Manifest) -> list[Binding]:
    """The scale uniform buffer of scaled passes, where the manifest's `scale` puts it."""
    entry = manifest.scale
    if entry is None or entry.source != "uniform":
        return []
    if entry.set is None or entry.binding is None:
        raise SepgenError(f"{root / passmodel.MANIFEST}: the scale uniform has no set and binding; run it on the GL runner")
    return [Binding(entry.set, entry.binding, "uniform")]


def _pass(root: Path, manifest: Manifest, p: Pass) -> GpuPass:
    bindings = [b for i in p.inputs for b in _input_bindings(i)] + _scale_bindings(root, manifest)
    if p.is_compute:
        shader = _shader(root, manifest, p.compute)
        # glslang declares an HLSL RWTexture2D readable; accumulating passes read their output.
        hlsl = manifest.file(p.compute).lang == "hlsl"  # type: ignore[union-attr, arg-type]
        access = "read_write" if p.accumulate or hlsl else "write"
        bindings += [_storage_binding(o, access) for o in p.outputs]
        wg = p.workgroup_size or (1, 1)
        return GpuPass(p.name, tuple(bindings), compute=shader, blend=p.blend, workgroup=(wg[0], wg[1]))
    targets = tuple(o.texture for o in sorted(p.outputs, key=lambda o: o.location))
    return GpuPass(p.name, tuple(bindings), vertex=_shader(root, manifest, p.vertex),
                   fragment=_shader(root, manifest, p.fragment), targets=targets, blend=p.blend)


def load_program(out_dir: str | os.PathLike) -> GpuProgram:
    """The folder's passes with their shaders loaded (HLSL compiled to SPIR-V), for a Vulkan runner."""
    root = Path(out_dir)
    manifest = passmodel.load(root)
    formats = {t.name: (t.format or "rgba32f") for t in manifest.textures}
    return GpuProgram(formats, manifest.texture("input").name, manifest.texture("output").name,
                      tuple(_pass(root, manifest, p) for p in manifest.passes), manifest.scale)
