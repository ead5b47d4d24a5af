"""A loaded program (`sepgen.run.program.load`: manifest + pass files) as a `GpuProgram` for the
Vulkan runners.

Shader files by their manifest `lang`: `wgsl` is taken as text, `spirv` as SPIR-V bytes,
`hlsl` is compiled to SPIR-V by glslang with the shared binding scheme (sepgen.common.tools), so
the HLSL's own SPIR-V runs: nothing is translated back to GLSL.

Resources: an input or output with `set` is taken as written (`sampler_binding` for its
sampler), and so is a scaled folder's uniform buffer (`scale.set`, `scale.binding`); HLSL gives
register numbers, mapped as tN -> N, sN -> 64 + N, uN -> 128 + N in set 0 (plus the emit
options `binding_offset`, in set `descriptor_set`, when the manifest's options have them).
"""

from __future__ import annotations

import dataclasses
import functools
import os

from ...common import tools
from ...common.errors import SepgenError
from ...plan.passmodel import Pass, PassInput, PassOutput
from ..program import Program, as_program
from .program import Binding, GpuPass, GpuProgram, Shader

RUNNABLE_LANGS = ("wgsl", "spirv", "hlsl")

__all__ = ["load_program", "RUNNABLE_LANGS"]


@functools.lru_cache(maxsize=256)
def _hlsl_spirv(text: str, entry: str, stage: str, name: str) -> bytes:
    """glslang's module, checked by spirv-val; memoised: passes share a vertex shader, variants share files."""
    code = tools.compile_hlsl(text, entry, stage, name)
    tools.validate(code, name)
    return code


def _shader(program: Program, rel: str | None) -> Shader:
    entry = program.file(rel)
    if entry.lang not in RUNNABLE_LANGS:
        raise SepgenError(f"{program.where}: {rel} is {entry.lang!r}; "
                          f"the Vulkan runners run {', '.join(RUNNABLE_LANGS)}")
    main = entry.entry or "main"
    if entry.lang == "spirv":
        return Shader(program.data(rel), main, entry.path)
    text = program.text(rel)
    if entry.lang == "hlsl":
        return Shader(_hlsl_spirv(text, main, entry.stage, entry.path), main, entry.path)
    return Shader(text, main, entry.path)


def _hlsl_placement(program: Program) -> tuple[int, int]:
    """HLSL's (descriptor set, binding offset) of its `vk::binding`s: the emit options, 0 by default."""
    options = program.manifest.options
    return int(options.get("descriptor_set", 0)), int(options.get("binding_offset", 0))


def _input_bindings(i: PassInput, placement: tuple[int, int]) -> list[Binding]:
    if i.set is not None:
        out = [Binding(i.set, i.binding, "texture", i.texture, i.filter)]
        if i.sampler_binding is not None:
            out.append(Binding(i.set, i.sampler_binding, "sampler", filter=i.filter))
        return out
    set_, offset = placement  # HLSL: Texture2D register(tN), SamplerState register(sN)
    out = [Binding(set_, offset + i.binding, "texture", i.texture, i.filter)]
    if i.sampler:
        out.append(Binding(set_, offset + tools.SAMPLER_BASE + i.binding, "sampler", filter=i.filter))
    return out


def _storage_binding(o: PassOutput, access: str, placement: tuple[int, int]) -> Binding:
    if o.set is not None:
        return Binding(o.set, o.unit, "storage", o.texture, access=access)
    return Binding(placement[0], placement[1] + tools.STORAGE_BASE + o.unit, "storage", o.texture, access=access)


def _scale_bindings(program: Program) -> list[Binding]:
    """The scale uniform buffer of scaled passes, where the manifest's `scale` puts it."""
    entry = program.manifest.scale
    if entry is None or entry.source != "uniform":
        return []
    if entry.set is None or entry.binding is None:
        raise SepgenError(f"{program.where}: the scale uniform has no set and binding; run it on the GL runner")
    return [Binding(entry.set, entry.binding, "uniform")]


def _pass(program: Program, p: Pass) -> GpuPass:
    placement = _hlsl_placement(program)
    bindings = [b for i in p.inputs for b in _input_bindings(i, placement)] + _scale_bindings(program)
    if p.is_compute:
        shader = _shader(program, p.compute)
        # glslang declares an HLSL RWTexture2D readable; accumulating passes read their output.
        hlsl = program.file(p.compute).lang == "hlsl"
        access = "read_write" if p.accumulate or hlsl else "write"
        bindings += [_storage_binding(o, access, placement) for o in p.outputs]
        wg = p.workgroup_size or (1, 1)
        return GpuPass(p.name, tuple(bindings), compute=shader, blend=p.blend, workgroup=(wg[0], wg[1]))
    layered = {t.name for t in program.manifest.textures if t.layers}
    bindings = [dataclasses.replace(b, array=True) if b.kind == "texture" and b.texture in layered else b
                for b in bindings]
    outs = sorted(p.outputs, key=lambda o: o.location)
    return GpuPass(p.name, tuple(bindings), vertex=_shader(program, p.vertex),
                   fragment=_shader(program, p.fragment), targets=tuple(o.texture for o in outs), blend=p.blend,
                   target_layers=tuple(o.layer for o in outs))


def load_program(program: Program | GpuProgram | str | os.PathLike) -> GpuProgram:
    """The program's passes as a Vulkan runner takes them (HLSL compiled to SPIR-V); a folder is loaded first."""
    if isinstance(program, GpuProgram):
        return program
    program = as_program(program)
    manifest = program.manifest
    formats = {t.name: (t.format or "rgba32f") for t in manifest.textures}
    webgpu = any(f.lang == "wgsl" for f in manifest.files)  # other targets' extensions are no WebGPU features
    return GpuProgram(formats, manifest.texture("input").name, manifest.texture("output").name,
                      tuple(_pass(program, p) for p in manifest.passes), manifest.scale, program.where,
                      features=tuple(manifest.extensions) if webgpu else (), limits=dict(manifest.limits or {}),
                      layers={t.name: t.layers for t in manifest.textures if t.layers})
