"""The user's cache folder (standard library only): `$XDG_CACHE_HOME`, else `~/.cache`.

`$XDG_CACHE_HOME` is used when it is an absolute path (the XDG spec ignores relative ones)
and is created when missing: the user asked for it. `~/.cache` is used only when the home
folder exists: with `HOME=/nonexistent` (a service account, a container running as root)
sepgen does not create a home folder; it then keeps no cache (the compiled-loop cache and the
no-op build record are off), unless `$XDG_CACHE_HOME` names one.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


def cache_root(environ: Mapping[str, str] = os.environ) -> Path | None:
    """The user's cache folder, or None when there is none to use (no existing home folder)."""
    base = environ.get("XDG_CACHE_HOME") or ""
    if os.path.isabs(base):
        return Path(base)
    try:
        home = Path(environ["HOME"]) if environ.get("HOME") else Path.home()
    except (RuntimeError, KeyError):  # no home folder can be determined
        return None
    return home / ".cache" if home.is_dir() else None
