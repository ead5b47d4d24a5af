"""What a SPIR-V module declares: entry points and descriptor bindings (kind, storage format).

A Vulkan driver is not required to survive a pipeline whose shader disagrees with its
layout (lavapipe crashes), so the raw runner checks each module against the pass's
bindings first. Only the few instructions needed are decoded (SPIR-V 1.x binary layout:
a 5-word header, then instructions whose first word is `word_count << 16 | opcode`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...common.errors import CheckFailed

MAGIC = 0x07230203
OP_ENTRY_POINT, OP_TYPE_IMAGE, OP_TYPE_SAMPLER, OP_TYPE_SAMPLED_IMAGE = 15, 25, 26, 27
OP_TYPE_STRUCT, OP_TYPE_POINTER, OP_VARIABLE, OP_DECORATE = 30, 32, 59, 71
DECORATION_BINDING, DECORATION_SET = 33, 34
MODELS = {0: "vertex", 4: "fragment", 5: "compute"}
IMAGE_FORMATS = {0: "unknown", 1: "rgba32f", 2: "rgba16f", 8: "r11g11b10f"}  # SPIR-V ImageFormat

__all__ = ["Reflection", "reflect"]


@dataclass(frozen=True)
class Reflection:
    entry_points: dict[str, str]  # name -> "vertex" | "fragment" | "compute"
    resources: dict[tuple[int, int], tuple[str, str | None]]  # (set, binding) -> (kind, storage format)


def _string(words: np.ndarray) -> str:
    raw = words.astype("<u4").tobytes()
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace")


def _instructions(code: bytes, label: str):
    if len(code) % 4 or len(code) < 20:
        raise CheckFailed(f"{label}: not a SPIR-V module ({len(code)} bytes)")
    words = np.frombuffer(code, dtype="<u4")
    if int(words[0]) != MAGIC:
        raise CheckFailed(f"{label}: not a SPIR-V module (bad magic number)")
    i = 5
    while i < len(words):
        count, op = int(words[i]) >> 16, int(words[i]) & 0xFFFF
        if count == 0 or i + count > len(words):
            raise CheckFailed(f"{label}: truncated SPIR-V instruction at word {i}")
        yield op, words[i + 1: i + count]
        i += count


def _kind(types: dict[int, tuple], type_id: int) -> tuple[str, str | None]:
    t = types.get(type_id, ("other",))
    if t[0] == "image":
        return ("storage", IMAGE_FORMATS.get(t[2], "other")) if t[1] == 2 else ("texture", None)
    return (t[0], None)


def reflect(code: bytes, label: str) -> Reflection:
    """Entry points and (set, binding) resources of a SPIR-V module."""
    entries: dict[str, str] = {}
    types: dict[int, tuple] = {}
    pointers: dict[int, int] = {}
    variables: dict[int, int] = {}
    sets: dict[int, int] = {}
    bindings: dict[int, int] = {}
    for op, a in _instructions(code, label):
        if op == OP_ENTRY_POINT:
            entries[_string(a[2:])] = MODELS.get(int(a[0]), "other")
        elif op == OP_TYPE_IMAGE:
            types[int(a[0])] = ("image", int(a[6]), int(a[7]))  # (…, sampled: 1 texture / 2 storage, format)
        elif op == OP_TYPE_SAMPLER:
            types[int(a[0])] = ("sampler",)
        elif op == OP_TYPE_SAMPLED_IMAGE:
            types[int(a[0])] = ("combined",)
        elif op == OP_TYPE_STRUCT:
            types[int(a[0])] = ("uniform",)  # a block: sepgen's modules declare only uniform buffers
        elif op == OP_TYPE_POINTER:
            pointers[int(a[0])] = int(a[2])
        elif op == OP_VARIABLE:
            variables[int(a[1])] = int(a[0])
        elif op == OP_DECORATE and int(a[1]) in (DECORATION_SET, DECORATION_BINDING):
            (sets if int(a[1]) == DECORATION_SET else bindings)[int(a[0])] = int(a[2])
    resources = {(sets.get(v, 0), b): _kind(types, pointers.get(variables.get(v, -1), -1)) for v, b in bindings.items()}
    return Reflection(entries, resources)
