"""`make demo` / `sepgen demo`: the seed's experiment end to end, as a report.

Fits the 50x50 bokeh disk at rank 4, sweeps the seed's loss weights, compares the
optimisers, emits GLSL and HLSL, verifies them on the GL driver and writes
pictures plus an index.html that shows them with their numbers, and a screenshot
of that page in headless Chromium (page.png: what a reader sees). Beside the separable
filters it shows the rows structure (issue 18): the best rows filter within the budget
(or, when none fits, the cheapest: the binary disk's exact run lengths), in the bokeh
comparisons, the frontier and a picture of its boxes.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import kernels
from ..common import atomic
from ..common.errors import SepgenError
from ..filters.filterfile import SeparableFilter
from ..filters.rowsfile import RowsFilter
from ..options import FitSettings
from . import FilterSection, bokeh_figure, figures, gpu_runner, number, render_html, scenes, write_filter_report

if TYPE_CHECKING:  # pragma: no cover
    from ..run.gl import GLRunner

NONNEG = (0.0, 0.5, 1.5)
ZEROS = (0.0, 0.3, 0.8)
RANK = 4
SIZE = 50
PAGE_SHOT = "page.png"
PAGE_WIDTH = 1280  # CSS pixels; the page is 1200 wide at most
MAX_SHOT_HEIGHT = 16384  # Chromium's largest window
BUDGET = 120  # fetches per pixel: the budget fit's example (issue 10)
OPTIMIZER_RATES = (("gd", 0.1), ("adam", 0.01), ("lbfgs", 1.0))  # lbfgs ignores lr (line search)


Log = Callable[[str], None]
Shown = tuple[str, RowsFilter]  # a rows filter and its panel label in the bokeh comparisons


def demo_settings(steps: int | None) -> tuple[FitSettings, FitSettings]:
    """The recommended settings (the CLI's) and the seed's, both with `steps` when given."""
    changes: dict[str, Any] = {} if steps is None else {"steps": steps}
    return FitSettings(**changes), FitSettings.seed_settings(**changes)


def run_demo(out_dir: str | os.PathLike = "demo-out", steps: int | None = None, use_gpu: bool = True,
             progress: Log | None = None) -> Path:
    """The whole demo into `out_dir`; returns its index.html."""
    log = _timed_log(progress or (lambda msg: None))
    atomic.check_writable(out_dir, f"cannot create folder {out_dir}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    recommended, seed = demo_settings(steps)
    spec = {"kernel": "disk", "size": SIZE}
    kernel = kernels.make(spec)
    filt = fit_recommended(kernel, spec, recommended, out, log)
    sweep = sweep_section(kernel, spec, seed, out, log)
    optimizer_figure(kernel, spec, seed, out, log)
    fetches = emit_shaders(filt, out, log)
    runner = gpu_runner(use_gpu)  # one GL context for verification and every figure
    verification, note = verify_section(filt, runner, use_gpu, log)
    shown, rows_fig = rows_section(kernel, spec, out, log)
    sec = filter_figures(filt, out, runner, log, [shown])
    frontier_fig = budget_section(kernel, spec, recommended, out, log, shown[1])
    index = out / "index.html"
    render_html({
        "title": "the seed's bokeh disk", "intro": _intro(recommended), "filters": [sec], "sweep": sweep,
        "figures": [{"heading": "Optimisers", "path": "optimizers.png",
                     "caption": "Loss against step for plain gradient descent (the seed's), Adam and L-BFGS."},
                    frontier_fig, rows_fig],
        "fetches": fetches, "verification": verification, "verification_note": note,
    }, index)
    screenshot_page(index, log)
    log(f"done: {index}")
    return index


def screenshot_page(index: Path, log: Log) -> None:
    """7. The page as a reader sees it: loaded in headless Chromium, saved as page.png; what
    did not load or logged an error is reported. Without Chromium, a note instead."""
    from ..common import browser

    try:
        browser.find_chromium()
    except SepgenError as exc:
        log(f"no {PAGE_SHOT}: {exc}")
        return
    log(f"loading index.html in headless Chromium for {PAGE_SHOT}")
    check = browser.inspect_page(index)
    broken = [i.src for i in check.images if not (i.width and i.height)] + list(check.failed) + list(check.errors)
    if broken:
        log(f"warning: the page has problems: {'; '.join(broken[:3])}")
    with atomic.atomic_path(index.parent / PAGE_SHOT) as tmp:
        browser.screenshot(index, tmp, (PAGE_WIDTH, min(check.height, MAX_SHOT_HEIGHT)))


def _timed_log(say: Log) -> Log:
    t0 = time.perf_counter()
    return lambda msg: say(f"[{time.perf_counter() - t0:5.1f}s] {msg}")


def fit_recommended(kernel: np.ndarray, spec: dict, settings: FitSettings, out: Path, log: Log) -> SeparableFilter:
    """1. The recommended fit, saved as disk50.json."""
    from ..fitting import fit_with

    log(f"fitting disk{SIZE} at rank {RANK} ({settings.optimizer}, {settings.steps} steps)")
    filt = fit_with(kernel, RANK, settings, name=f"disk{SIZE}", kernel_spec=spec)
    filt.save(out / f"{filt.name}.json")
    return filt


def sweep_section(kernel: np.ndarray, spec: dict, settings: FitSettings, out: Path, log: Log) -> dict:
    """2. The seed's sweep (plain GD, the seed's settings, no pruning: the post's figure)."""
    from ..fitting import sweep_with

    log("sweeping nonneg x zeros (3x3, vmapped)")
    sweep = sweep_with(kernel, RANK, settings, NONNEG, ZEROS, kernel_spec=spec, name=f"disk{SIZE}")
    (out / "sweep").mkdir(exist_ok=True)
    rows, labels = [], []
    for i, f in enumerate(sweep):
        f.save(out / "sweep" / f"{f.name}.json")
        m = f.metrics()
        labels.append(f"rel L2 {m['relative_l2']:.3f}  neg {m['negative_mass']:.3f}\n"
                      f"leak {m['leak']:.3f}  max {m['max_error']:.3f}")
        rows.append({"name": f.name, "file": f"sweep/{f.name}.json", "nonneg": NONNEG[i // len(ZEROS)],
                     "zeros": ZEROS[i % len(ZEROS)],
                     **{k: number(m[k]) for k in ("relative_l2", "negative_mass", "leak", "max_error")}})
    figures.sweep_sheet([f.reconstruct() for f in sweep], labels, [f"nonneg {n:g}" for n in NONNEG],
                        [f"zeros {z:g}" for z in ZEROS], out / "sweep.png")
    return {"path": "sweep.png", "rows": rows,
            "caption": f"Rank-{RANK} approximations after 5000 GD steps (lr 0.1, l2 = 1): "
                       "non-negativity weight by row, keep-zeros weight by column, as in the seed's post."}


def budget_section(kernel: np.ndarray, spec: dict, settings: FitSettings, out: Path, log: Log,
                   rows_filt: RowsFilter) -> dict:
    """7. The best filter for a budget of BUDGET fetches, and the frontier the search explored,
    with the rows filter (`rows_section`) beside it: what `--structure auto` compares."""
    from ..fitting import fit_searched
    from . import frontier

    log(f"searching ranks 1-8 for the best filter within {BUDGET} fetches per pixel")
    filt = fit_searched(kernel, settings, budget=BUDGET, name=f"disk{SIZE}_budget{BUDGET}", kernel_spec=spec)
    filt.save(out / f"{filt.name}.json")
    chosen = frontier.frontier_figure(filt, out / "frontier.png", [rows_filt])
    return {"heading": f"Frontier: the best filter for {BUDGET} fetches per pixel", "path": "frontier.png",
            "caption": f"{frontier.caption(chosen, filt)} {_auto_note(filt, rows_filt)} Filter files: "
                       f"{filt.name}.json (sepgen optimize --structure separable --budget {BUDGET}), "
                       f"{rows_filt.name}.json."}


def _auto_note(separable: SeparableFilter, rows_filt: RowsFilter) -> str:
    """Which structure `--structure auto` keeps within BUDGET: the lower relative L2 of those within it."""
    from ..fitting.rowsfit import choose, relative_l2

    best = choose([separable, rows_filt], BUDGET, None)
    fetches = rows_filt.structure.fetch_counts()["total"]
    rows_text = f"the rows filter ({fetches} fetches, relative L2 {relative_l2(rows_filt):.4g})"
    if fetches > BUDGET:
        return f"{rows_text[0].upper()}{rows_text[1:]} needs more than {BUDGET} fetches: auto keeps the separable one."
    return f"Within {BUDGET} fetches `--structure auto` keeps the {best.structure.name} filter, beside {rows_text}."


def rows_section(kernel: np.ndarray, spec: dict, out: Path, log: Log) -> tuple[Shown, dict]:
    """The rows structure of the same disk: the best rows filter within BUDGET fetches, or the
    cheapest one when none fits (a binary disk's exact run lengths); saved, its boxes drawn.
    Returns it with its bokeh panel label, and its figure for the page."""
    from ..fitting import rowsfit
    from ..fitting.core import Problem

    budget = max(BUDGET, rowsfit.cheapest(Problem(kernel, 1, spec).target))
    log(f"fitting the rows structure within {budget} fetches per pixel")
    filt = rowsfit.fit_rows_filter(kernel, budget=budget, name=f"disk{SIZE}_rows", kernel_spec=spec)
    filt.save(out / f"{filt.name}.json")
    fetches = filt.structure.fetch_counts()["total"]
    within = "" if fetches <= BUDGET else f" (over {BUDGET}: the cheapest rows filter)"
    label = f"rows, {fetches} fetches" + (f" (over {BUDGET})" if within else "")
    figures.rows_boxes(filt.layout, out / f"{filt.name}_boxes.png", f"{filt.name}: {filt.layout.boxes} boxes, "
                       f"{fetches} fetches{within}", target=filt.target)
    fig = {"heading": "Rows: the disk as boxes read from running sums", "path": f"{filt.name}_boxes.png",
           "caption": f"{filt.name}.json: {filt.layout.boxes} boxes along the kernel's {filt.layout.axis}, "
                      f"{fetches} fetches per pixel (scan included), relative L2 {filt.metrics()['relative_l2']:.3g}"
                      f"{within}; each line's boxes over the tap grid (dots: two lines read together), and the "
                      "line with the most boxes in detail (docs/rows.md)."}
    return (label, filt), fig


def optimizer_figure(kernel: np.ndarray, spec: dict, seed: FitSettings, out: Path, log: Log) -> None:
    """3. The optimisers on the same problem (the seed's weights, no pruning)."""
    from ..fitting import fit_with

    log("comparing optimisers gd / adam / lbfgs")
    curves = {}
    for opt, lr in OPTIMIZER_RATES:
        f = fit_with(kernel, RANK, seed.replace(optimizer=opt, lr=lr), kernel_spec=spec, name=f"disk{SIZE}_{opt}")
        curves[opt + (" (line search)" if opt == "lbfgs" else f" (lr {lr:g})")] = f.history
    figures.loss_curves(curves, out / "optimizers.png", f"disk{SIZE} rank {RANK}, weights l2=1 nonneg=1 zeros=1")


def emit_shaders(filt: SeparableFilter, out: Path, log: Log) -> list[dict]:
    """4. GLSL and HLSL into shaders/; returns the fetch-count table."""
    from .. import emit

    log("emitting GLSL and HLSL")
    for lang in ("glsl", "hlsl"):
        emit.write(emit.render(filt, {"lang": lang},
                               command=f"sepgen emit {filt.name}.json --lang {lang} -o shaders/{lang}"),
                   out / "shaders" / lang)
    return [
        {"name": "naive separable (2·50·rank)", "horizontal": SIZE * RANK, "vertical": SIZE * RANK,
         "total": 2 * SIZE * RANK},
        {"name": "shared horizontal fetches, zero taps skipped (--point-sampling)",
         **emit.fetch_counts(filt, linear_sampling=False)},
        {"name": "… and linear sampling (the default)", **emit.fetch_counts(filt, linear_sampling=True)},
    ]


def verify_section(filt: SeparableFilter, runner: GLRunner | None, use_gpu: bool, log: Log) -> tuple[dict | None, str]:
    """5. Every variant on the GL driver: (the table, or None, and a note on why not)."""
    if runner is None:
        return None, "Not verified: no GL driver was available." if use_gpu else "Not verified: run with --no-gpu."
    from ..verify import check as verify

    log("verifying the emitted shaders (GLSL on GL and WebGL2, HLSL as SPIR-V on Vulkan)")
    try:
        results = verify.verify(filt, langs=("glsl", "hlsl"), runner=runner, progress=lambda m: log("  " + m))
    except SepgenError as exc:
        return None, f"Not verified: {exc}"
    skipped = sorted({r.not_run for r in results if r.not_run is not None})
    ran = [r for r in results if r.not_run is None]
    return {"renderer": "; ".join(sorted({r.renderer for r in ran if r.backend})) or "?",
            "rows": [{"name": r.name, "max_abs": f"{r.max_abs:.3g}", "max_rel": f"{r.max_rel:.3g}",
                      "tolerance": f"{r.tolerance:.3g}", "ok": r.ok} for r in ran]}, \
        (f"Not run here ({len(results) - len(ran)} variants): {'; '.join(skipped)}" if skipped else "")


def filter_figures(filt: SeparableFilter, out: Path, runner: GLRunner | None, log: Log,
                   others: list[Shown]) -> FilterSection:
    """6. The filter's own figures and the two bokeh comparisons (with `others`: the rows filter)."""
    log("drawing the filter's figures")
    sec = write_filter_report(filt, out, file=f"{filt.name}.json", image=scenes.night_lights(),
                              image_name="procedural HDR night lights", gamma=1.0, runner=runner, progress=log,
                              others=others)
    log("bokeh comparison on the Hubble deep field photograph (γ = 8)")
    how = bokeh_figure(filt, scenes.hubble_photo(), 8.0, False, out / "bokeh_photo.png",
                       "Hubble deep field (scikit-image)", runner, log, others)
    shown = "".join(f", {label}" for label, _ in others)
    sec.figures.append({"path": "bokeh_photo.png",
                        "caption": f"Hubble deep field photograph with the seed's gamma boost γ = 8: exact 2D kernel, "
                                   f"SVD rank {RANK}, optimised{shown} (filtered by {how})."})
    return sec


def _intro(settings: FitSettings) -> str:
    weights = ", ".join(f"{k}={v:g}" for k, v in settings.weights.items() if v)
    return (f"The seed's {SIZE}x{SIZE} bokeh disk fitted as {RANK} separable passes with sepgen's recommended "
            f"settings ({settings.optimizer}, {settings.steps} steps, weights {weights}, prune {settings.prune:g}).")
