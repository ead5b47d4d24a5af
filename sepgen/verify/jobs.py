"""Run verification batches in parallel processes, each with its own runners (GL context, Vulkan device).

Almost all of a verification is the GL driver compiling shaders, and llvmpipe
compiles one shader on one core. With N worker processes N batches compile at
once. Each worker emits and runs its batch's variants exactly as a sequential run does
(`runfilter.run_variants`) and sends back the output images; the parent compares them with
the reference, so what is checked does not depend on the number of jobs.

Workers are spawned, not forked: the parent may already hold a GL context and
the driver's threads, which a fork would copy half-alive.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import TYPE_CHECKING, Any

import numpy as np

from .variant import Variant

if TYPE_CHECKING:  # pragma: no cover
    from ..filters.filterfile import SeparableFilter

Batch = tuple["SeparableFilter", Sequence[Variant]]  # variants of one filter, run together
Outcome = tuple[int, "list[np.ndarray | str]", "dict[str, str]"]  # batch index, per variant output or error, devices
_worker: dict[str, Any] = {}


VARIANTS_PER_WORKER = 4  # a worker costs a process start and a GL context (~1 s): not worth it for fewer


def default_jobs(variants: int) -> int:
    """One job per usable core, with at least `VARIANTS_PER_WORKER` variants each (1: no workers)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, variants // VARIANTS_PER_WORKER))


def cost(variants: Sequence[Variant]) -> int:
    """A rough rank of a batch's time: a browser start, then compute before fragment, per-component before mrt."""
    browser = any(v.backend == "webgl" for v in variants) * 8
    return browser + sum((v.options.get("stage") == "compute") * 2 + (v.options.get("strategy") == "per-component")
                         for v in variants)


def run_batch(batch: Batch, img: np.ndarray, runners: Any,
              templates_dir: str | os.PathLike | None) -> list[np.ndarray | str]:
    """One batch on `runners` (`runfilter.Runners`): per variant its output, or its one-line error."""
    from .runfilter import run_variants

    filt, variants = batch
    return [out if isinstance(out, np.ndarray) else first_line(out)
            for out in run_variants(filt, img, variants, runners, templates_dir)]


def first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def run_parallel(img: np.ndarray, batches: Sequence[Batch], jobs: int,
                 templates_dir: str | os.PathLike | None = None,
                 done: Callable[[int], None] | None = None) -> list[Outcome]:
    """Run each batch on a worker's runners; one outcome per batch (its index, its variants'
    outputs or one-line errors, and the devices they ran on by runner name).

    The caller checks beforehand that every driver exists. `done(index)` is called as
    each batch finishes. The slowest batches start first.
    """
    order = sorted(range(len(batches)), key=lambda i: cost(batches[i][1]), reverse=True)
    outcomes: list[Outcome] = []
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_init,
                             initargs=(img, None if templates_dir is None else str(templates_dir))) as pool:
        futures = [pool.submit(_run_one, i, batches[i][0], list(batches[i][1])) for i in order]
        for future in as_completed(futures):
            outcomes.append(future.result())
            if done:
                done(outcomes[-1][0])
    return outcomes


def _init(img: np.ndarray, templates_dir: str | None) -> None:
    _worker.update(img=img, templates_dir=templates_dir, runners=None)


def _run_one(index: int, filt: SeparableFilter, variants: list[Variant]) -> Outcome:
    from .runfilter import Runners

    if _worker["runners"] is None:  # the parent made sure every driver exists (`Runners.require`)
        _worker["runners"] = Runners()
    outs = run_batch((filt, variants), _worker["img"], _worker["runners"], _worker["templates_dir"])
    return index, outs, _worker["runners"].made()
