"""SPIR-V modules for Vulkan: glslang compiles Vulkan GLSL 450 and HLSL, spirv-val checks them.

Binding scheme (descriptor set 0), shared by HLSL, Vulkan GLSL and WGSL so one manifest
rule serves all three:

    sampled texture  k  -> binding k            (HLSL register(tk))
    sampler          k  -> binding 64 + k       (HLSL register(sk))
    storage texture  k  -> binding 128 + k      (HLSL register(uk))

A rank is at most 64, so the ranges never meet. HLSL registers are shifted by glslang
(`--hlsl-iomap --shift-sampler-binding 64 --shift-UAV-binding 128`): D3D keeps t, s and u
registers apart, a Vulkan descriptor set does not.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import tempfile
from pathlib import Path

from .errors import CheckFailed, SepgenError

STAGES = {"vertex": "vert", "fragment": "frag", "compute": "comp"}
PACKAGES = {"glslangValidator": "glslang-tools", "spirv-val": "spirv-tools"}
TEXTURE_BASE = 0
SAMPLER_BASE = 64
STORAGE_BASE = 128
UNIFORM_BASE = 192  # uniform buffers (the scale of scaled passes) in the shared Vulkan/WebGPU layout
TARGET_ENV = "vulkan1.0"  # SPIR-V 1.0: what every Vulkan driver and naga read
HLSL_SHIFTS = ("--hlsl-iomap", "--shift-texture-binding", str(TEXTURE_BASE),
               "--shift-sampler-binding", str(SAMPLER_BASE), "--shift-UAV-binding", str(STORAGE_BASE))

__all__ = ["compile_glsl", "compile_hlsl", "validate", "require_tool", "TEXTURE_BASE", "SAMPLER_BASE", "STORAGE_BASE", "UNIFORM_BASE"]


def require_tool(name: str) -> str:
    """Path of glslangValidator or spirv-val, or a one-line SepgenError naming the Debian package."""
    path = shutil.which(name)
    if path is None:
        raise SepgenError(f"{name} not found on PATH (install the Debian package {PACKAGES[name]})")
    return path


def _tool(cmd: list[str], what: str) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    except OSError as exc:
        raise SepgenError(f"cannot run {cmd[0]}: {exc.strerror or exc}") from None
    except subprocess.TimeoutExpired:
        raise SepgenError(f"{Path(cmd[0]).name} timed out on {what}") from None


def _first_error(log: str) -> str:
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    for line in lines:
        if "error" in line.lower() and "compilation errors" not in line.lower():
            return line
    return lines[-1] if lines else "no output"


def _compile(source: str, name: str, extra: list[str]) -> bytes:
    tool = require_tool("glslangValidator")
    with tempfile.TemporaryDirectory(prefix="sepgen-spv-") as tmp:
        src = Path(tmp) / Path(name).name
        src.write_text(source, encoding="utf-8")
        out = Path(tmp) / "out.spv"
        proc = _tool([tool, "-V", "--target-env", TARGET_ENV, *extra, "-o", str(out), str(src)], Path(name).name)
        if proc.returncode != 0:
            raise CheckFailed(f"{name}: glslangValidator: {_first_error(proc.stdout + proc.stderr)}")
        return out.read_bytes()


@functools.lru_cache(maxsize=512)
def compile_glsl(source: str, stage: str, name: str) -> bytes:
    """A Vulkan GLSL (`#version 450`) shader → SPIR-V words (memoised: variants share files)."""
    if stage not in STAGES:
        raise SepgenError(f"unknown shader stage {stage!r} (known: {', '.join(STAGES)})")
    return _compile(source, name, ["-S", STAGES[stage]])


def compile_hlsl(source: str, entry: str, stage: str, name: str) -> bytes:
    """An HLSL shader → SPIR-V with the shared binding scheme (the module doc)."""
    if stage not in STAGES:
        raise SepgenError(f"unknown shader stage {stage!r} (known: {', '.join(STAGES)})")
    return _compile(source, name, ["-D", "-e", entry, "-S", STAGES[stage], *HLSL_SHIFTS])


def validate(data: bytes, name: str) -> None:
    """`spirv-val` for Vulkan; a rejected module raises CheckFailed with the validator's first message."""
    tool = require_tool("spirv-val")
    with tempfile.TemporaryDirectory(prefix="sepgen-val-") as tmp:
        path = Path(tmp) / "module.spv"
        path.write_bytes(data)
        proc = _tool([tool, "--target-env", TARGET_ENV, str(path)], name)
    if proc.returncode != 0:
        raise CheckFailed(f"{name}: spirv-val: {_first_error(proc.stdout + proc.stderr)}")
