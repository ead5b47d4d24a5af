"""Slang's compiler (PyPI `slangpy`, a test-only dependency) driven through its C API: HLSL → SPIR-V.

slangpy ships the compiler library (libslang-compiler) but no `slangc`, and its own devices
need a Vulkan driver newer than lavapipe 22.3; the compile-request API takes slangc's
command-line arguments and needs no device. `compile_hlsl` returns the module and Slang's
diagnostics (warnings included), or raises `SlangError` with them.
"""

from __future__ import annotations

import ctypes
import functools
import glob
import os
import struct

SPIRV_MAGIC = 0x07230203
OP_SOURCE = 3


class SlangError(Exception):
    pass


@functools.lru_cache(maxsize=1)
def _library() -> tuple[ctypes.CDLL, int]:
    import slangpy  # ImportError: the caller skips (or fails under CI=true)

    path = sorted(glob.glob(os.path.join(os.path.dirname(slangpy.__file__), "libslang-compiler.so*")))
    if not path:
        raise ImportError("slangpy has no libslang-compiler")
    lib = ctypes.CDLL(path[0])
    lib.spCreateSession.restype, lib.spCreateSession.argtypes = ctypes.c_void_p, [ctypes.c_char_p]
    lib.spCreateCompileRequest.restype, lib.spCreateCompileRequest.argtypes = ctypes.c_void_p, [ctypes.c_void_p]
    lib.spDestroyCompileRequest.argtypes = [ctypes.c_void_p]
    lib.spProcessCommandLineArguments.restype = ctypes.c_int32
    lib.spProcessCommandLineArguments.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_char_p), ctypes.c_int]
    lib.spCompile.restype, lib.spCompile.argtypes = ctypes.c_int32, [ctypes.c_void_p]
    lib.spGetDiagnosticOutput.restype, lib.spGetDiagnosticOutput.argtypes = ctypes.c_char_p, [ctypes.c_void_p]
    lib.spGetCompileRequestCode.restype = ctypes.c_void_p
    lib.spGetCompileRequestCode.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_size_t)]
    return lib, lib.spCreateSession(None)


def available() -> bool:
    try:
        _library()
    except ImportError:
        return False
    return True


def compile_file(path: str, *args: str) -> tuple[bytes, str]:
    """`slangc path -target spirv ARGS...`: (SPIR-V bytes, diagnostics)."""
    lib, session = _library()
    request = lib.spCreateCompileRequest(session)
    try:
        argv = [path, "-target", "spirv", "-fvk-use-entrypoint-name", *args]
        array = (ctypes.c_char_p * len(argv))(*[a.encode() for a in argv])
        if lib.spProcessCommandLineArguments(request, array, len(argv)) < 0:
            raise SlangError(f"bad arguments {argv}")
        result = lib.spCompile(request)
        log = (lib.spGetDiagnosticOutput(request) or b"").decode("utf-8", "replace")
        if result < 0:
            raise SlangError(log)
        size = ctypes.c_size_t()
        code = lib.spGetCompileRequestCode(request, ctypes.byref(size))
        if not code or size.value == 0:
            raise SlangError(f"no code\n{log}")
        return ctypes.string_at(code, size.value), log
    finally:
        lib.spDestroyCompileRequest(request)


def without_source_language(code: bytes) -> bytes:
    """The module with OpSource's language set to Unknown: Debian's spirv-tools (2023) do not know
    Slang's number (11) and stop there; nothing else changes."""
    words = list(struct.unpack(f"<{len(code) // 4}I", code))
    if words[0] != SPIRV_MAGIC:
        raise SlangError("not a SPIR-V module")
    i = 5
    while i < len(words):
        count, op = words[i] >> 16, words[i] & 0xFFFF
        if op == OP_SOURCE:
            words[i + 1] = 0
        i += max(count, 1)
    return struct.pack(f"<{len(words)}I", *words)
