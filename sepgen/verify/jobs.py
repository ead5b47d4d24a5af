"""Run verification variants in parallel processes, each with its own runners (GL context, Vulkan device).

Almost all of a verification is the GL driver compiling shaders, and llvmpipe
compiles one shader on one core. With N worker processes N variants compile at
once. Each worker emits and runs its variants exactly as a sequential run does
and sends back the output image; the parent compares it with the reference, so
what is checked does not depend on the number of jobs.

Workers are spawned, not forked: the parent may already hold a GL context and
the driver's threads, which a fork would copy half-alive.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np

from ..common.errors import SepgenError

if TYPE_CHECKING:  # pragma: no cover
    from ..filters.filterfile import SeparableFilter

Outcome = tuple[int, "np.ndarray | None", "str | None"]  # task index, output or None, error or None
_worker: dict[str, Any] = {}


VARIANTS_PER_WORKER = 4  # a worker costs a process start and a GL context (~1 s): not worth it for fewer


def default_jobs(variants: int) -> int:
    """One job per usable core, with at least `VARIANTS_PER_WORKER` variants each (1: no workers)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, variants // VARIANTS_PER_WORKER))


def run_parallel(img: np.ndarray, tasks: Sequence[tuple["SeparableFilter", dict[str, Any]]], jobs: int,
                 templates_dir: "str | os.PathLike | None" = None,
                 done: Callable[[int, int], None] | None = None) -> list[Outcome]:
    """Emit and run each (filter, emit options) task on a worker's runners; one outcome per task.

    A variant that fails to emit, compile or run gets its one-line error (the caller
    checks beforehand that every driver exists). `done(count, index)` is called as
    each task finishes. The slowest kinds of variant start first.
    """
    order = sorted(range(len(tasks)), key=lambda i: _cost(tasks[i][1]), reverse=True)
    outcomes: list[Outcome] = []
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_init,
                             initargs=(img, None if templates_dir is None else str(templates_dir))) as pool:
        futures = [pool.submit(_run_one, i, tasks[i][0], dict(tasks[i][1])) for i in order]
        for future in as_completed(futures):
            outcomes.append(future.result())
            if done:
                done(len(outcomes), outcomes[-1][0])
    return outcomes


def _cost(options: dict[str, Any]) -> int:
    """A rough rank of compile time: compute before fragment, per-component before mrt."""
    return (options.get("stage") == "compute") * 2 + (options.get("strategy") == "per-component")


def _init(img: np.ndarray, templates_dir: str | None) -> None:
    _worker.update(img=img, templates_dir=templates_dir, runners=None)


def _run_one(index: int, filt: "SeparableFilter", options: dict[str, Any]) -> Outcome:
    from .runfilter import Runners, run_filter

    if _worker["runners"] is None:  # the parent made sure every driver exists (`Runners.require`)
        _worker["runners"] = Runners()
    try:
        out, _ = run_filter(filt, _worker["img"], options, _worker["runners"], templates_dir=_worker["templates_dir"])
        return index, out, None
    except SepgenError as exc:
        return index, None, str(exc).splitlines()[0] if str(exc) else type(exc).__name__
