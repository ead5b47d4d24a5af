"""SPIR-V modules glslang compiled, kept between processes.

glslang is deterministic: one binary, the same arguments and source give the same bytes. Each
start costs 60–80 ms on the 2-core machine, most of it glslang building its built-in symbol
tables, whatever the shader. A build that re-emits unchanged passes, a verify run after an
emit, or the next variant's process reads the module instead of starting glslang again
(`tools` keeps one more copy in memory per process).

Where: `<cache folder>/sepgen/spirv/` (`cachedirs`: none without a home folder or
`$XDG_CACHE_HOME`), created 0700, files 0600, the `MAX_FILES` most recently used kept. A file
is named by the SHA-256 of the tool's path, size and modification time (an upgrade changes
them), its arguments, the shader's file name and source. Only successful compiles are stored.
A file is used when it is the user's own, writable only by them, and a whole SPIR-V module
(magic number, whole words); otherwise glslang runs and the file is replaced. SPIR-V is
data: a stored module is never executed by sepgen, only handed on as the compile's output.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence

from .cachedirs import private_folder, read_private, write_private

MAX_FILES = 4096  # modules are 2-60 kB
MAGIC = (0x07230203).to_bytes(4, "little")  # glslang writes the host's order: little-endian here


def cached(tool: str, args: Sequence[str], name: str, source: str, compile_: Callable[[], bytes]) -> bytes:
    """`compile_()`'s module, or the one stored for the same tool, arguments, name and source."""
    folder = private_folder("spirv", "SPIR-V cache")
    if folder is None:
        return compile_()
    path = folder / _key(tool, args, name, source)
    data = read_private(path)
    if data is not None and data[:4] == MAGIC and len(data) % 4 == 0 and len(data) > 20:
        return data
    data = compile_()
    write_private(path, data, MAX_FILES)
    return data


def _key(tool: str, args: Sequence[str], name: str, source: str) -> str:
    st = os.stat(tool)
    h = hashlib.sha256(repr((os.path.realpath(tool), st.st_size, st.st_mtime_ns, tuple(args), name)).encode())
    h.update(source.encode())
    return h.hexdigest()
