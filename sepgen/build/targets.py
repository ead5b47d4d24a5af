"""What a build config ships, for `sepgen verify --config` and `sepgen build --verify`.

Each `[[filter]]` of the config with its fitted filter (from the build cache, so
nothing is fitted here and JAX is never imported) and the emit variants the
config writes for it: one per language, with the config's emit options.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..common.errors import SepgenError
from ..filters.filterfile import SeparableFilter
from ..verify.check import Variant
from . import cache
from .config import load_config

__all__ = ["Target", "targets"]


@dataclass(frozen=True)
class Target:
    """One filter of a build config as built."""

    name: str
    filter: SeparableFilter
    variants: tuple[Variant, ...]  # one per language the config emits, named as `sepgen verify` prints
    templates_dir: Path | None  # the config's template overrides


def targets(config_path: str | os.PathLike, out_dir: str | os.PathLike | None = None) -> list[Target]:
    """Every filter of the config with its cached fit; a filter not fitted yet is a one-line error."""
    cfg = load_config(config_path, out_dir)
    found = []
    for f in cfg.filters:
        path = cache.cache_path(cfg.out_dir, f.name, cache.cache_key(cache.fit_inputs(f)))
        filt = cache.load_cached(path, f.name)
        if filt is None:
            raise SepgenError(f"{cfg.path}: filter {f.name!r} is not built (or its config changed): "
                              f"run `sepgen build {cfg.path}` first")
        found.append(Target(f.name, filt, tuple(Variant(f.emit_options(lang)) for lang in f.langs), cfg.templates_dir))
    return found
