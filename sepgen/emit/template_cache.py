"""Compiled templates kept between processes (Jinja's bytecode cache).

Every process that renders or checks templates would otherwise compile them again: a
`sepgen build` checks all of them before it fits (about 0.35 s), and the first shader of
each target language a process renders compiles that target's templates (about 50 ms).
Jinja compiles a template to Python code; this keeps that code in
`<cache folder>/sepgen/templates/` (`common.cachedirs`), one file per template and
environment, and Jinja loads it when the template's source is unchanged (it compares a
checksum of the source on every load).

A file's name holds a digest of the installed sepgen (its sources, templates, Python and
Jinja: `cachedirs.installation_digest`) and of the environment's filters: Jinja folds
constant expressions while compiling, so compiled code may hold a filter's output. Editing
sepgen or upgrading either library therefore starts afresh; the oldest files beyond
`MAX_FILES` are removed.

Loading compiled code runs it, so as for the compiled-loop cache (`fitting.compile_cache`),
a folder or file owned by another user, or writable by group or others, is not used (one
warning line for the folder); a file that does not load is compiled again and replaced.
No cache folder (see `cachedirs`), or one that cannot be written: templates compile in memory
as before. Output does not depend on the cache: the same code runs either way.
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path
from typing import Any

import jinja2
from jinja2.bccache import Bucket

from ..common.cachedirs import installation_digest, private_folder, prune, unsafe

MAX_FILES = 1024  # 47 templates in about 6 environments use ~300, each a few kB


class _PrivateBytecodeCache(jinja2.FileSystemBytecodeCache):
    """Jinja's file cache that reads only files of the user's own, never fails a render, and prunes."""

    def load_bytecode(self, bucket: Bucket) -> None:
        try:
            with open(self._get_cache_filename(bucket), "rb") as f:
                if unsafe(os.fstat(f.fileno())) is None:  # of the file opened, not of a name
                    bucket.load_bytecode(f)
        except Exception:  # missing, truncated or not Jinja's: compile instead
            bucket.reset()

    def dump_bytecode(self, bucket: Bucket) -> None:
        try:
            super().dump_bytecode(bucket)
            prune(Path(self.directory), MAX_FILES)
        except OSError:  # a cache that cannot be written only costs the next process a compile
            pass


def bytecode_cache(filters: dict[str, Any], key: str = "") -> jinja2.BytecodeCache | None:
    """The cache for an environment with these filters (and `key`, what else sets them apart),
    or None when there is no usable cache folder."""
    folder = private_folder("templates", "template cache")
    if folder is None:
        return None
    names = sorted(f"{name}={getattr(f, '__module__', '')}.{getattr(f, '__qualname__', repr(f))}"
                   for name, f in filters.items())
    salt = "\n".join([_digest(), jinja2.__version__, key, *names])
    return _PrivateBytecodeCache(str(folder), hashlib.sha256(salt.encode()).hexdigest()[:20] + "-%s.cache")


@functools.cache
def _digest() -> str:
    return installation_digest()
