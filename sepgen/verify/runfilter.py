"""Emit a filter and run it on the runner its target needs, in one call (the run stage's entry
for verify, `sepgen.apply` and the report). Sits above emit and the runners: the runners
themselves know nothing of emitting. Which runner runs which options: `routes.backend_for`.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import emit
from ..common.errors import SepgenError
from ..options import EmitOptions
from ..run.program import Scale, load
from ..run.registry import RUNNERS, BatchRunner, Runner, make
from .routes import HLSL_ON_GL, backend_for

if TYPE_CHECKING:  # pragma: no cover
    from ..filters.filterfile import SeparableFilter
    from ..filters.rowsfile import RowsFilter
    from .probe import BilinearProbe
    from .variant import Variant

__all__ = ["run_filter", "run_variants", "backend_for", "Runners", "BACKENDS", "HLSL_ON_GL"]

BACKENDS = RUNNERS  # runner name -> what it runs on


class Runners:
    """One runner per name ("gl", "webgl", "vulkan", "webgpu"): those given (`Runners(gl_runner)`,
    `put`), the others made on first use; `require` makes them up front (a missing driver raises),
    `missing` says which cannot be made; `bilinear` measures a runner's bilinear weights once."""

    def __init__(self, *given: Runner | None) -> None:
        self._runners: dict[str, Runner] = {}
        self._devices: dict[str, str] = {}  # devices worker processes ran on, by runner name
        self._probes: dict[str, BilinearProbe] = {}
        for runner in given:
            if runner is not None:
                self.put(runner)

    def put(self, runner: Runner, name: str | None = None) -> None:
        """Use `runner` for its name (`runner.name`, or `name`)."""
        key = name or runner.name
        if key not in RUNNERS:
            raise SepgenError(f"unknown runner {key!r} (known: {', '.join(RUNNERS)})")
        self._runners[key] = runner

    def get(self, name: str) -> Runner:
        if name not in self._runners:
            self._runners[name] = make(name)
        return self._runners[name]

    def require(self, names: set[str] | list[str]) -> None:
        for name in sorted(names):
            self.get(name)

    def missing(self, names: set[str] | list[str]) -> dict[str, str]:
        """The runners of these names that cannot be made (a driver, browser or Python package
        missing): name -> the one-line SepgenError, which names what to install."""
        out = {}
        for name in sorted(names):
            try:
                self.get(name)
            except SepgenError as exc:
                out[name] = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return out

    def bilinear(self, name: str, size: int) -> BilinearProbe:
        """Runner `name`'s bilinear weight error at texture width `size`, measured once per runner
        object and size (`sepgen.verify.probe`)."""
        from .probe import cached

        self._probes[name] = cached(self.get(name), size)
        return self._probes[name]

    def probes(self) -> dict[str, BilinearProbe]:
        """The bilinear probes run through `bilinear`, by runner name."""
        return dict(self._probes)

    def note(self, name: str, device: str) -> None:
        """A worker process ran `name` on `device` (what `device` reports from then on)."""
        self._devices[name] = device

    def device(self, name: str) -> str:
        """The runner and its device, e.g. "Vulkan: llvmpipe (LLVM 15.0.6, 256 bits) (Vulkan 1.3.230)"."""
        return self._devices.get(name) or self.get(name).device

    def made(self) -> dict[str, str]:
        """The devices of the runners made or given so far, by runner name."""
        return {name: self.device(name) for name in RUNNERS if name in self._runners}

    def devices(self) -> list[str]:
        return list(self.made().values())


def _runners(runner: Runner | Runners | None) -> Runners:
    return runner if isinstance(runner, Runners) else Runners(runner)


def run_filter(filt: SeparableFilter | RowsFilter, img: np.ndarray, options: dict[str, Any] | EmitOptions | None = None,
               runner: Runner | Runners | None = None,
               templates_dir: str | os.PathLike | None = None, scale: Scale = None) -> tuple[np.ndarray, str]:
    """Emit `filt` with these emit options (and template overrides, as `sepgen emit --templates`)
    into a temporary folder and run it on `img` (scaled shaders at `scale`: one value, or an H×W
    map with scale source "texture").

    Returns the float32 result (img's shape) and what computed it, e.g.
    "SPIRV shaders on Vulkan: llvmpipe (…)". Raises SepgenError without the driver.
    """
    runners = _runners(runner)
    opts = EmitOptions.from_dict(options)
    backend = backend_for(opts)
    with tempfile.TemporaryDirectory(prefix="sepgen-run-") as tmp:
        emit.write(emit.render(filt, opts, templates_dir=templates_dir), tmp)
        out = runners.get(backend).run(load(tmp), img, scale)
    return out, f"{opts.lang.upper()} shaders on {runners.device(backend)}"


def run_variants(filt: SeparableFilter, img: np.ndarray, variants: Sequence[Variant], runners: Runners,
                 templates_dir: str | os.PathLike | None = None) -> list[np.ndarray | SepgenError]:
    """Each variant of one filter emitted and run at its scale: its result, or the SepgenError its
    emit or run raised. Variants of a runner with `run_many` (WebGL2: a browser start costs
    seconds) run in one call."""
    outs: list[Any] = [None] * len(variants)
    with tempfile.TemporaryDirectory(prefix="sepgen-variants-") as tmp:
        programs: dict[str, list[tuple[int, Any, Scale]]] = {}
        for i, v in enumerate(variants):
            try:
                emit.write(emit.render(filt, v.emit_options, templates_dir=templates_dir), f"{tmp}/{i}")
                programs.setdefault(backend_for(v.options), []).append((i, load(f"{tmp}/{i}"), v.scale_for(img.shape)))
            except SepgenError as exc:
                outs[i] = exc
        for backend, todo in programs.items():
            runner = runners.get(backend)
            if isinstance(runner, BatchRunner) and len(todo) > 1:
                ran = runner.run_many([p for _, p, _ in todo], img, [s for _, _, s in todo])
                for (i, _, _), out in zip(todo, ran):
                    outs[i] = out
                continue
            for i, program, scale in todo:
                try:
                    outs[i] = runner.run(program, img, scale)
                except SepgenError as exc:
                    outs[i] = exc
    return outs
