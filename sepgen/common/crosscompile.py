"""HLSL → SPIR-V → GLSL, so the GL runner executes the HLSL itself, not a GLSL twin.

    glslangValidator -D -V -e ENTRY -S STAGE -o shader.spv shader.hlsl
    spirv-cross shader.spv --version 450 --no-es --combined-samplers-inherit-bindings

Why these flags:
- SPIR-V keeps HLSL's separate Texture2D and SamplerState; GLSL has only combined
  samplers, so spirv-cross builds `SPIRV_Cross_Combined<texture><sampler>` uniforms
  (and a `SPIRV_Cross_DummySampler` partner for a texture read with `Load`, which
  needs no sampler). Those names are not the HLSL names, so the runner cannot bind
  by name. `--combined-samplers-inherit-bindings` gives each combined sampler the
  texture's `register(tN)` as `layout(binding = N)`, and GLSL 450 honours layout
  bindings, so binding by unit number works for every name spirv-cross invents.
- glslang maps `register(tN)`, `register(sN)` and `register(uN)` to binding N; GL
  keeps sampler units and image units apart, so `t0` and `u0` do not collide.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from .errors import SepgenError

TOOLS = {"glslangValidator": "glslang-tools", "spirv-cross": "spirv-cross"}
STAGES = {"vertex": "vert", "fragment": "frag", "compute": "comp"}
GLSL_VERSION = "450"

__all__ = ["hlsl_to_glsl", "hlsl_to_spirv", "spirv_to_glsl", "require_tool", "STAGES"]


def require_tool(name: str) -> str:
    """Path of a command-line tool, or a one-line SepgenError naming the Debian package."""
    path = shutil.which(name)
    if path is None:
        raise SepgenError(f"{name} not found on PATH (install the Debian package {TOOLS.get(name, name)})")
    return path


def _run(cmd: list[str], what: str) -> None:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    except OSError as exc:
        raise SepgenError(f"cannot run {cmd[0]}: {exc.strerror or exc}") from None
    except subprocess.TimeoutExpired:
        raise SepgenError(f"{Path(cmd[0]).name} timed out on {what}") from None
    if proc.returncode != 0:
        log = "\n".join(line for line in (proc.stdout + proc.stderr).splitlines() if line.strip())
        err = CompileError(f"{Path(cmd[0]).name} failed on {what}: {_first_error(log)}")
        err.log = log
        raise err


class CompileError(SepgenError):
    """A shader did not compile; `.log` holds the tool's full output."""

    log: str = ""


def _first_error(log: str) -> str:
    for line in log.splitlines():
        if "ERROR" in line.upper() and "compilation errors" not in line:
            return line.strip()
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def _stage(stage: str) -> str:
    if stage not in STAGES:
        raise SepgenError(f"unknown shader stage {stage!r} (known: {', '.join(STAGES)})")
    return STAGES[stage]


def hlsl_to_spirv(source: str, entry: str, stage: str, name: str = "shader.hlsl") -> bytes:
    """Compile HLSL text to a SPIR-V module (`glslangValidator -D -V`)."""
    stage_flag = _stage(stage)  # arguments first: a bad stage is an error with or without the tool
    tool = require_tool("glslangValidator")
    with tempfile.TemporaryDirectory(prefix="sepgen-hlsl-") as tmp:
        src = Path(tmp) / Path(name).name
        src.write_text(source, encoding="utf-8")
        spv = Path(tmp) / "out.spv"
        _run([tool, "-D", "-V", "-e", entry, "-S", stage_flag, "-o", str(spv), str(src)], Path(name).name)
        return spv.read_bytes()


def spirv_to_glsl(spirv: bytes, version: str = GLSL_VERSION, what: str = "shader") -> str:
    """Desktop GLSL from a SPIR-V module; combined samplers inherit the texture bindings."""
    tool = require_tool("spirv-cross")
    with tempfile.TemporaryDirectory(prefix="sepgen-spv-") as tmp:
        spv = Path(tmp) / "in.spv"
        spv.write_bytes(spirv)
        out = Path(tmp) / "out.glsl"
        _run(
            [tool, str(spv), "--version", version, "--no-es", "--combined-samplers-inherit-bindings", "--output", str(out)],
            what,
        )
        return out.read_text(encoding="utf-8")


def hlsl_to_glsl(source: str, entry: str, stage: str, name: str = "shader.hlsl", version: str = GLSL_VERSION) -> str:
    """HLSL text → GLSL text that runs the same code on an OpenGL driver."""
    return spirv_to_glsl(hlsl_to_spirv(source, entry, stage, name), version, Path(name).name)
