"""An emitted folder (`manifest.json` + shaders) as a `GpuProgram` for the Vulkan runner.

Shader files by the manifest's `lang`: `wgsl` is read as text, `spirv` as SPIR-V bytes,
`hlsl` is compiled to SPIR-V by glslang with the shared binding scheme (sepgen.spirv), so
the HLSL's own SPIR-V runs: nothing is translated back to GLSL.

Resources: an input or output entry with `set` and `binding` is taken as written
(`sampler_binding` for its sampler); HLSL entries give register numbers, mapped as
texture tN -> N, sampler sN -> 64 + N, UAV uN -> 128 + N in set 0.
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Any

from .. import spirv
from ..errors import SepgenError
from .program import Binding, GpuPass, GpuProgram, Shader

MANIFEST = "manifest.json"
MANIFEST_FORMAT = "sepgen-manifest/1"
RUNNABLE_LANGS = ("wgsl", "spirv", "hlsl")

__all__ = ["load_program", "RUNNABLE_LANGS"]


@functools.lru_cache(maxsize=256)
def _hlsl_spirv(text: str, entry: str, stage: str, name: str) -> bytes:
    """Memoised on the text: passes share a vertex shader and variants share files."""
    return spirv.compile_hlsl(text, entry, stage, name)


class _Folder:
    def __init__(self, out_dir: str | os.PathLike) -> None:
        self.root = Path(out_dir)
        self.where = self.root / MANIFEST
        try:
            self.doc = json.loads(self.where.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise SepgenError(f"{self.where} does not exist (run `sepgen emit` first)") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise SepgenError(f"cannot read {self.where}: {getattr(exc, 'msg', None) or exc}") from None
        if not isinstance(self.doc, dict) or self.doc.get("format") != MANIFEST_FORMAT:
            raise SepgenError(f"{self.where} is not a {MANIFEST_FORMAT} manifest")
        files = self.doc.get("files")
        if not isinstance(files, list) or not all(isinstance(f, dict) and isinstance(f.get("path"), str) for f in files):
            raise SepgenError(f"{self.where}: 'files' must list objects with a 'path'")
        self.files = {f["path"]: f for f in files}

    def shader(self, rel: Any) -> Shader:
        if not isinstance(rel, str) or rel not in self.files:
            raise SepgenError(f"{self.where}: pass file {rel!r} is not listed in 'files'")
        entry = self.files[rel]
        lang, stage = entry.get("lang"), entry.get("stage")
        if lang not in RUNNABLE_LANGS:
            raise SepgenError(f"{self.where}: {rel} is {lang!r}; the Vulkan runner runs {', '.join(RUNNABLE_LANGS)}")
        path = (self.root / rel).resolve()
        if self.root.resolve() not in path.parents:
            raise SepgenError(f"{self.where}: file {rel!r} is outside the folder")
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise SepgenError(f"cannot read {path}: {exc.strerror or exc}") from None
        main = entry.get("entry") or "main"
        if lang == "spirv":
            return Shader(data, main, rel)
        text = data.decode("utf-8")
        if lang == "hlsl":
            return Shader(_hlsl_spirv(text, main, str(stage), rel), main, rel)
        return Shader(text, main, rel)


def _input_bindings(inp: dict[str, Any], where: str) -> list[Binding]:
    if not isinstance(inp, dict) or not isinstance(inp.get("binding"), int):
        raise SepgenError(f"{where}: every input needs an integer 'binding'")
    filt = "linear" if inp.get("filter") == "linear" else "nearest"
    group = int(inp.get("set", 0))
    out = [Binding(group, int(inp["binding"]), "texture", inp.get("texture"), filt)]
    if "sampler_binding" in inp:
        out.append(Binding(group, int(inp["sampler_binding"]), "sampler", filter=filt))
    elif inp.get("sampler") and "set" not in inp:  # HLSL: SamplerState register(sN)
        out.append(Binding(group, spirv.SAMPLER_BASE + int(inp["binding"]), "sampler", filter=filt))
    return out


def _storage_binding(out: dict[str, Any], access: str, where: str) -> Binding:
    if not isinstance(out, dict) or not isinstance(out.get("binding"), int):
        raise SepgenError(f"{where}: every compute output needs an integer 'binding'")
    if "set" in out:
        return Binding(int(out["set"]), int(out["binding"]), "storage", out.get("texture"), access=out.get("access", access))
    return Binding(0, spirv.STORAGE_BASE + int(out["binding"]), "storage", out.get("texture"), access=access)


def _pass(folder: _Folder, spec: dict[str, Any]) -> GpuPass:
    where = f"{folder.where}: pass {spec.get('name')!r}"
    for key in ("inputs", "outputs"):
        if not isinstance(spec.get(key), list) or not spec[key]:
            raise SepgenError(f"{where} has no {key}")
    bindings = [b for inp in spec["inputs"] for b in _input_bindings(inp, where)]
    blend = spec.get("blend", "none")
    if "compute" in spec:
        shader = folder.shader(spec["compute"])
        # glslang declares an HLSL RWTexture2D readable; GLSL/WGSL accumulate passes read their output.
        access = "read_write" if blend == "accumulate" or folder.files[spec["compute"]].get("lang") == "hlsl" else "write"
        bindings += [_storage_binding(o, access, where) for o in spec["outputs"]]
        wg = spec.get("workgroup_size")
        if not (isinstance(wg, list) and len(wg) >= 2 and all(isinstance(n, int) and n > 0 for n in wg)):
            raise SepgenError(f"{where} needs a positive 'workgroup_size'")
        return GpuPass(str(spec.get("name")), tuple(bindings), compute=shader, blend=blend, workgroup=(wg[0], wg[1]))
    locations = sorted((o.get("location"), o.get("texture")) for o in spec["outputs"] if isinstance(o, dict))
    if [loc for loc, _ in locations] != list(range(len(spec["outputs"]))):
        raise SepgenError(f"{where}: output locations are not 0..n-1")
    return GpuPass(str(spec.get("name")), tuple(bindings), vertex=folder.shader(spec.get("vertex")),
                   fragment=folder.shader(spec.get("fragment")), targets=tuple(t for _, t in locations), blend=blend)


def load_program(out_dir: str | os.PathLike) -> GpuProgram:
    """The folder's passes, shaders loaded (HLSL compiled to SPIR-V), ready for `VulkanRunner.run`."""
    folder = _Folder(out_dir)
    textures = folder.doc.get("textures")
    passes = folder.doc.get("passes")
    if not isinstance(textures, dict) or not isinstance(passes, list) or not passes:
        raise SepgenError(f"{folder.where}: 'textures' and 'passes' are missing or empty")
    roles = {t.get("role"): n for n, t in textures.items() if isinstance(t, dict)}
    for role in ("input", "output"):
        if role not in roles:
            raise SepgenError(f"{folder.where}: no texture with role {role!r}")
    formats = {n: (t.get("format") or "rgba32f") for n, t in textures.items()}
    return GpuProgram(formats, roles["input"], roles["output"], tuple(_pass(folder, p) for p in passes))
