"""The external tools sepgen drives, behind one subprocess wrapper: glslang, spirv-cross,
spirv-val and headless Chromium (its executable; pages are in `browser`).

SPIR-V binding scheme for Vulkan (descriptor set 0), shared by HLSL, Vulkan GLSL and WGSL so
one manifest rule serves all three:

    sampled texture  k  -> binding k            (HLSL register(tk))
    sampler          k  -> binding 64 + k       (HLSL register(sk))
    storage texture  k  -> binding 128 + k      (HLSL register(uk))

A rank is at most 64, so the ranges never meet. Emitted HLSL says so itself: every resource
has `[[vk::binding(N, 0)]]` beside its register (what DXC and Slang read too). HLSL without
them (a template override written before) is shifted by glslang instead
(`--hlsl-iomap --shift-sampler-binding 64 --shift-UAV-binding 128`): D3D keeps t, s and u
registers apart, a Vulkan descriptor set does not. glslang adds the shifts to explicit
`vk::binding`s as well, so it gets one or the other, never both.

HLSL → SPIR-V → GLSL, so the GL runner executes the HLSL itself, not a GLSL twin:

    glslangValidator -V --target-env vulkan1.0 -D -e ENTRY -S STAGE -o shader.spv shader.hlsl
    spirv-cross shader.spv --version 450 --no-es --combined-samplers-inherit-bindings

- SPIR-V keeps HLSL's separate Texture2D and SamplerState; GLSL has only combined
  samplers, so spirv-cross builds `SPIRV_Cross_Combined<texture><sampler>` uniforms
  (and a `SPIRV_Cross_DummySampler` partner for a texture read with `Load`, which
  needs no sampler). Those names are not the HLSL names, so the runner cannot bind
  by name. `--combined-samplers-inherit-bindings` gives each combined sampler the
  texture's `register(tN)` as `layout(binding = N)`, and GLSL 450 honours layout
  bindings, so binding by unit number works for every name spirv-cross invents.
- Without the Vulkan shifts glslang maps `register(tN)`, `register(sN)` and `register(uN)`
  to binding N; GL keeps sampler units and image units apart, so `t0` and `u0` do not collide.
"""

from __future__ import annotations

import functools
import hashlib
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from . import spirv_cache
from .errors import CheckFailed, SepgenError

PACKAGES = {"glslangValidator": "glslang-tools", "spirv-cross": "spirv-cross", "spirv-val": "spirv-tools",
            "chromium": "chromium"}  # tool -> the Debian package that installs it
CROSS_TOOLS = ("glslangValidator", "spirv-cross")  # what running HLSL on GL needs
CHROMIUM_EXECUTABLES = ("chromium", "chromium-browser", "google-chrome")
STAGES = {"vertex": "vert", "fragment": "frag", "compute": "comp"}
TIMEOUT_S = 120
GLSL_VERSION = "450"
TEXTURE_BASE = 0
SAMPLER_BASE = 64
STORAGE_BASE = 128
UNIFORM_BASE = 192  # uniform buffers (the scale of scaled passes) in the shared Vulkan/WebGPU layout
TARGET_ENV = "vulkan1.0"  # SPIR-V 1.0: what every Vulkan driver and naga read
HLSL_SHIFTS = ("--hlsl-iomap", "--shift-texture-binding", str(TEXTURE_BASE),
               "--shift-sampler-binding", str(SAMPLER_BASE), "--shift-UAV-binding", str(STORAGE_BASE))

VK_BINDING = re.compile(r"\[\[vk::binding\([^)]*\)\]\]\s*")  # HLSL's Vulkan binding attribute

__all__ = ["require_tool", "find_chromium", "run", "first_error", "CompileError", "compile_glsl", "compile_hlsl",
           "hlsl_to_spirv", "spirv_to_glsl", "hlsl_to_glsl", "validate", "STAGES", "PACKAGES", "CROSS_TOOLS",
           "TEXTURE_BASE", "SAMPLER_BASE", "STORAGE_BASE", "UNIFORM_BASE"]


class CompileError(CheckFailed):
    """A shader did not compile (a tool or the driver rejected it); `.log` holds the full output."""

    log: str = ""


def require_tool(name: str) -> str:
    """Path of a command-line tool, or a one-line SepgenError naming the Debian package."""
    path = shutil.which(name)
    if path is None:
        raise SepgenError(f"{name} not found on PATH (install the Debian package {PACKAGES.get(name, name)})")
    return path


def find_chromium() -> str:
    """Path of a Chromium executable, or a one-line SepgenError naming the Debian package."""
    for name in CHROMIUM_EXECUTABLES:
        path = shutil.which(name)
        if path:
            return path
    raise SepgenError(f"chromium not found on PATH (install the Debian package {PACKAGES['chromium']})")


def run(cmd: list[str], what: str, timeout: float = TIMEOUT_S, cwd: str | None = None) -> subprocess.CompletedProcess:
    """Run a tool, capturing its text output; a tool that cannot start or hangs is a one-line SepgenError."""
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=cwd)
    except OSError as exc:
        raise SepgenError(f"cannot run {cmd[0]}: {exc.strerror or exc}") from None
    except subprocess.TimeoutExpired:
        raise SepgenError(f"{Path(cmd[0]).name} did not finish {what} within {timeout:g} s") from None


def first_error(log: str) -> str:
    """The first line of a compiler log that names an error (else its last line)."""
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    for line in lines:
        low = line.lower()
        if ("error" in low and "compilation errors" not in low
                and not low.startswith(("glsl compiler failed", "compilation failed"))):
            return line
    return lines[-1] if lines else "no output"


def _checked(cmd: list[str], what: str) -> None:
    proc = run(cmd, what)
    if proc.returncode != 0:
        log = "\n".join(line for line in (proc.stdout + proc.stderr).splitlines() if line.strip())
        err = CompileError(f"{what}: {Path(cmd[0]).name}: {first_error(log)}")
        err.log = log
        raise err


def _stage(stage: str) -> str:
    if stage not in STAGES:
        raise SepgenError(f"unknown shader stage {stage!r} (known: {', '.join(STAGES)})")
    return STAGES[stage]


def _glslang(source: str, name: str, args: list[str]) -> bytes:
    return _glslang_memo(source, name, tuple(args))


# The same pass is compiled again by every variant and build that emits it: kept in memory for
# this process and on disk for the next ones (`spirv_cache`).
@functools.lru_cache(maxsize=512)
def _glslang_memo(source: str, name: str, args: tuple[str, ...]) -> bytes:
    tool = require_tool("glslangValidator")
    options = ["-V", "--target-env", TARGET_ENV, *args]

    def compile_() -> bytes:
        with tempfile.TemporaryDirectory(prefix="sepgen-spv-") as tmp:
            src = Path(tmp) / Path(name).name
            src.write_text(source, encoding="utf-8")
            out = Path(tmp) / "out.spv"
            _checked([tool, *options, "-o", str(out), str(src)], name)
            return out.read_bytes()

    return spirv_cache.cached(tool, options, name, source, compile_)


def compile_glsl(source: str, stage: str, name: str) -> bytes:
    """A Vulkan GLSL (`#version 450`) shader → SPIR-V words (memoised, as every glslang call: variants share files)."""
    return _glslang(source, name, ["-S", _stage(stage)])


def hlsl_to_spirv(source: str, entry: str, stage: str, name: str = "shader.hlsl", vulkan: bool = False) -> bytes:
    """HLSL text → a SPIR-V module; `vulkan`: with the shared Vulkan binding scheme (the module doc),
    else with register numbers as bindings (what spirv-cross turns into GL units)."""
    args = ["-D", "-e", entry, "-S", _stage(stage)]  # arguments first: a bad stage is an error with or without the tool
    if vulkan:  # glslang adds its shifts to [[vk::binding]] too: shift only HLSL that has none (older templates)
        return _glslang(source, name, args if VK_BINDING.search(source) else [*args, *HLSL_SHIFTS])
    # D3D semantics: registers only (glslang would honour the Vulkan bindings, 128 + K is no GL image unit)
    return _glslang(VK_BINDING.sub("", source), name, args)


def compile_hlsl(source: str, entry: str, stage: str, name: str) -> bytes:
    """An HLSL shader → SPIR-V with the shared Vulkan binding scheme."""
    return hlsl_to_spirv(source, entry, stage, name, vulkan=True)


_VALID: set[bytes] = set()  # sha256 of the modules spirv-val accepted in this process


def validate(data: bytes, name: str) -> None:
    """`spirv-val` for Vulkan; a rejected module raises CheckFailed with the validator's first message.
    A module accepted once is not validated again (the same bytes give the same verdict)."""
    digest = hashlib.sha256(data).digest()
    if digest in _VALID:
        return
    _run_validator(data, name)
    _VALID.add(digest)


def _run_validator(data: bytes, name: str) -> None:
    tool = require_tool("spirv-val")
    with tempfile.TemporaryDirectory(prefix="sepgen-val-") as tmp:
        path = Path(tmp) / "module.spv"
        path.write_bytes(data)
        _checked([tool, "--target-env", TARGET_ENV, str(path)], name)


def spirv_to_glsl(spirv: bytes, version: str = GLSL_VERSION, what: str = "shader") -> str:
    """Desktop GLSL from a SPIR-V module; combined samplers inherit the texture bindings."""
    tool = require_tool("spirv-cross")
    with tempfile.TemporaryDirectory(prefix="sepgen-spv-") as tmp:
        spv = Path(tmp) / "in.spv"
        spv.write_bytes(spirv)
        out = Path(tmp) / "out.glsl"
        _checked([tool, str(spv), "--version", version, "--no-es", "--combined-samplers-inherit-bindings",
                  "--output", str(out)], what)
        return out.read_text(encoding="utf-8")


def hlsl_to_glsl(source: str, entry: str, stage: str, name: str = "shader.hlsl", version: str = GLSL_VERSION) -> str:
    """HLSL text → GLSL text that runs the same code on an OpenGL driver."""
    return spirv_to_glsl(hlsl_to_spirv(source, entry, stage, name), version, Path(name).name)
