"""Run verification variants in parallel processes, one GL context each.

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
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

import numpy as np

from .errors import SepgenError

if TYPE_CHECKING:  # pragma: no cover
    from .filterfile import SeparableFilter

Outcome = tuple[int, "np.ndarray | None", "str | None"]  # variant index, output image or None, error or None
_worker: dict[str, Any] = {}


def default_jobs(variants: int) -> int:
    """One job per usable core, never more than there are variants."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, variants))


def run_parallel(filt: "SeparableFilter", img: np.ndarray, options: Sequence[dict[str, Any]], jobs: int,
                 templates_dir: str | None = None, started: Callable[[int], None] | None = None) -> Iterator[Outcome]:
    """Emit and run each options dict on its own worker's GL context; yields outcomes as they finish.

    A variant that fails to emit, compile or run yields its one-line error; a worker
    without a GL context raises SepgenError here.
    """
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_init,
                             initargs=(filt, img, templates_dir)) as pool:
        futures = [pool.submit(_run_one, i, dict(o)) for i, o in enumerate(options)]
        for future in as_completed(futures):
            index, out, error, fatal = future.result()
            if fatal:
                for f in futures:
                    f.cancel()
                raise SepgenError(fatal)
            if started:
                started(index)
            yield index, out, error


def _init(filt: "SeparableFilter", img: np.ndarray, templates_dir: str | None) -> None:
    _worker.update(filt=filt, img=img, templates_dir=templates_dir, runner=None)


def _run_one(index: int, options: dict[str, Any]) -> tuple[int, np.ndarray | None, str | None, str | None]:
    from .glrun import GLRunner
    from .runfilter import run_filter

    try:
        if _worker["runner"] is None:
            _worker["runner"] = GLRunner()
    except SepgenError as exc:  # no GL context: the whole run fails, as it does in one process
        return index, None, None, str(exc)
    try:
        out, _ = run_filter(_worker["filt"], _worker["img"], options, _worker["runner"],
                            templates_dir=_worker["templates_dir"])
        return index, out, None, None
    except SepgenError as exc:
        return index, None, str(exc).splitlines()[0] if str(exc) else type(exc).__name__, None
