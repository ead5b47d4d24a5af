"""`sepgen optimize` and `sepgen sweep`: fit kernels and write filter files.

JAX is imported only when a command runs (inside `sepgen.fitting`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from .. import kernels
from ..common import atomic
from ..common.errors import SepgenError
from ..common.identifiers import check_shader_name
from ..filters import scaling
from ..filters.filterfile import SeparableFilter
from ..filters.rowsfile import RowsFilter
from ..filters.rowsfilter import check_structure
from ..options import EMIT_OPTIONS, FIT_OPTIONS, SEARCH_OPTIONS, WEIGHT_OPTIONS, EmitOptions, FitSettings
from .options import kernel_options, kernel_spec, table_options

SUMMARY_COLUMNS = ("name", "nonneg", "zeros", "loss", "relative_l2", "negative_mass", "leak", "max_error", "dc_gain",
                   "zero_taps")


def progress_printer(label: str) -> Callable[[str, int, int, float], None]:
    """Progress on stderr: one line per chunk of optimiser steps."""

    def report(phase: str, step: int, total: int, loss: float) -> None:
        click.echo(f"{label}: {phase} {progress_count(phase, step, total)} loss {loss:.6g}", err=True)

    return report


def progress_count(phase: str, done: int, total: int) -> str:
    """'step 300/5000', or for a budget/target search (which counts candidate fits, each a
    whole optimisation) 'candidate fit 6/16'."""
    return f"candidate fit {done}/{total}" if phase.startswith("search") else f"step {done}/{total}"


def _float_list(text: str, flag: str) -> list[float]:
    try:
        values = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise SepgenError(f"{flag} must be a comma-separated list of numbers, got {text!r}") from None
    if not values:
        raise SepgenError(f"{flag} needs at least one value")
    return values


def rank_note(filt: SeparableFilter) -> str:
    """' (lowered from N: …)' when the fit dropped components that carried no energy, else ''."""
    comps = filt.provenance.get("components")
    if not isinstance(comps, dict) or comps.get("kept", filt.rank) >= comps.get("fitted", filt.rank):
        return ""
    dropped = comps["fitted"] - comps["kept"]
    return f" (lowered from {comps['fitted']}: {dropped} component{'s' if dropped > 1 else ''} carried no energy)"


def _summary_line(filt: SeparableFilter) -> str:
    m = filt.metrics()
    if isinstance(filt, RowsFilter):
        return (f"{filt.name}: rows ({filt.layout.axis}), {m['boxes']} boxes, {filt.shape[0]}x{filt.shape[1]}, "
                f"{filt.structure.fetch_counts()['total']} fetches per pixel (scan included), "
                f"relative L2 {m['relative_l2']:.4g}, negative mass {m['negative_mass']:.3g}, leak {m['leak']:.3g}")
    return (
        f"{filt.name}: rank {filt.rank}{rank_note(filt)} {filt.shape[0]}x{filt.shape[1]}, loss {m['loss']:.6g}, "
        f"relative L2 {m['relative_l2']:.4g}, negative mass {m['negative_mass']:.3g}, "
        f"leak {m['leak']:.3g}, zero taps {m['zero_taps']}{_prune_note(filt)}"
    )


def _prune_note(filt: SeparableFilter) -> str:
    """The pruning threshold the fit ended with (it may have been halved from --prune)."""
    asked, used = filt.provenance.get("prune"), filt.provenance.get("prune_threshold_used")
    if not asked or used is None:
        return ""
    return f", prune threshold {used:g}" + (f" (halved from {asked:g})" if 0 < used < asked else
                                            " (none kept the loss within 2%: unpruned)" if used == 0 else "")


TARGET_SKIP = ("scale_source", "descriptor_set", "binding_offset")  # a search fits one scale; bindings cost nothing
TARGET_NAMES = tuple(n for n in EMIT_OPTIONS if n not in TARGET_SKIP)


def search_target(ctx: click.Context, params: dict[str, Any], searching: bool) -> tuple[EmitOptions, int | None]:
    """The target a search counts fetches for (the emit flags given, popped from `params`) and
    its memory cap; target flags or a cap without --budget / --target-error are refused."""
    given = [n for n in (*TARGET_NAMES, "max_intermediate_bytes")
             if ctx.get_parameter_source(n) not in (click.core.ParameterSource.DEFAULT, None)]
    values = {n: params.pop(n) for n in TARGET_NAMES}
    cap = params.pop("max_intermediate_bytes")
    if given and not searching:
        raise SepgenError(f"--{given[0].replace('_', '-')} applies to --budget and --target-error only "
                          "(the target whose fetches they count)")
    return EmitOptions.from_dict(values).check_given([n for n in given if n in TARGET_NAMES]), cap


def cost_line(filt: SeparableFilter) -> str:
    """'N fetches per pixel, M B/px of intermediates (W written, R read) for <target>' of a search's
    dearest target, or '' for other fits."""
    search = filt.provenance.get("search")
    if not isinstance(search, dict) or not search.get("targets") or filt.structure.name != "separable":
        return ""
    from ..plan import taps

    costs = []
    for target in search["targets"]:
        opts = EmitOptions.from_dict(target)
        plan = filt.structure.plan(opts)
        costs.append((taps.counts(plan)["total"], taps.intermediate_cost(plan, opts), opts))
    total, memory, target = max(costs, key=lambda c: (c[0], c[1]["written"]))
    where = ", ".join(f"{k} {v}" for k, v in target.meaningful().items())
    return (f"{total} fetches per pixel, intermediates {memory['written']} B/px written + {memory['read']} B/px "
            f"read ({where})")


@click.command(help="Fit a kernel as N separable passes and write a filter file (JSON). "
                    "--budget N or --target-error E choose the rank, tap structure and pruning instead of --rank, "
                    "counting the fetches of the target the emit flags (--lang, --stage, …) name.")
@kernel_options
@table_options(FIT_OPTIONS)
@table_options(SEARCH_OPTIONS)
@table_options(EMIT_OPTIONS, skip=TARGET_SKIP)
@table_options(WEIGHT_OPTIONS)
@click.option("--name", default=None, help="filter name (an identifier; default from the kernel, e.g. disk50)")
@click.option("--scales", default=None, metavar="S,S,…",
              help="fit one scalable filter for these scales in (0, 1], e.g. 0.25,0.5,1 (taps fetched at offset·scale)")
@click.option("--structure", default=None, metavar="separable|rows|auto",
              help="separable passes (default with --rank), rows (boxes per kernel row read from a running sum) "
                   "or auto (default with --budget / --target-error: both searched, the better kept)")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="filter file to write (.json)")
@click.pass_context
def optimize(ctx: click.Context, **params: Any) -> None:
    rank_given = ctx.get_parameter_source("rank") not in (click.core.ParameterSource.DEFAULT, None)
    budget, target_error = params["budget"], params["target_error"]
    searching = budget is not None or target_error is not None
    if rank_given and searching:
        chooser = "--budget" if budget is not None else "--target-error"
        raise SepgenError(f"{chooser} chooses the rank itself: drop --rank")
    structure = check_structure(params.pop("structure"), rank_given, searching)
    if structure == "auto" and params["scales"] is not None:
        raise SepgenError("--scales needs --structure separable or rows (auto would search both), got auto")
    spec = kernel_spec(params)
    target, cap = search_target(ctx, params, searching)
    name, output = params["name"], Path(params["output"])
    if name is not None:
        check_shader_name(name)  # what `sepgen emit` would refuse, refused before the fit
    if output.suffix.lower() != ".json":  # a filter file is JSON: x.npy would hold JSON under a NumPy name
        raise SepgenError(f"output {output} must end in .json (a filter file is JSON)")
    atomic.check_file_writable(output)  # before any work: a bad output fails at once
    kernel = kernels.make(spec)
    spec = kernels.with_image_hash(spec)  # a file kernel's provenance names its image by hash
    settings = FitSettings.from_options(params)
    scales = scaling.parse_scales(params["scales"], "--scales") if params["scales"] is not None else None
    if scales is not None and searching and structure == "separable":
        raise SepgenError("--scales cannot be combined with --budget or --target-error (a search fits one scale)")
    from ..fitting import fit_scales_with, fit_searched, fit_with  # JAX only now
    from ..fitting.core import default_name

    progress = progress_printer(f"fit {name or default_name(spec)}")
    if structure != "separable":  # issue 18: rows, or both searched
        filt = _fit_structure(structure, kernel, settings, budget, target_error, spec, name, progress, target, cap)
        if scales is not None:  # rows scale analytically (sepgen.filters.rows_scaled): the fit at 1 serves all
            filt = filt.with_scales(scales)
    elif scales is not None:
        filt = fit_scales_with(kernel, params["rank"], scales, settings, kernel_spec=spec, name=name, progress=progress)
    elif not searching:
        filt = fit_with(kernel, params["rank"], settings, kernel_spec=spec, name=name, progress=progress)
    else:
        filt = fit_searched(kernel, settings, budget=budget, target_error=target_error, kernel_spec=spec, name=name,
                            progress=progress, targets=[target], max_intermediate_bytes=cap)
    filt.save(output)
    _warn_diverged([filt])
    search = filt.provenance.get("search")
    chosen = f"chose {search['chosen']} ({search['why']}); " if search and "chosen" in search else ""
    click.echo(f"wrote {output}  ({chosen}{_summary_line(filt)})")
    cost = cost_line(filt)
    if cost:
        click.echo(f"  {cost}")
    for row in filt.metrics().get("scales", []):
        click.echo(f"  scale {row['scale']:g}: relative L2 {row['relative_l2']:.4g}, "
                   f"negative mass {row['negative_mass']:.3g}, leak {row['leak']:.3g}, DC gain {row['dc_gain']:.6g}")


def _fit_structure(structure: str, kernel: Any, settings: FitSettings, budget: int | None,
                   target_error: float | None, spec: dict[str, Any], name: str | None, progress: Callable[..., None],
                   target: EmitOptions, cap: int | None) -> Any:
    """A rows filter, or the better of both structures (auto) for the shipped `target`."""
    from ..fitting import rowsfit

    if structure == "rows":
        if target != EmitOptions() or cap is not None:  # the rows fit counts emit's default target
            raise SepgenError("--structure rows counts fetches for `sepgen emit`'s default target and caps no "
                              "intermediates yet: drop the target flags / --max-intermediate-bytes, or use "
                              "--structure auto or separable")
        return rowsfit.fit_rows_filter(kernel, budget=budget, target_error=target_error, name=name, kernel_spec=spec,
                                       settings=settings, progress=progress)
    return rowsfit.fit_auto(kernel, settings, budget=budget, target_error=target_error, name=name, kernel_spec=spec,
                            progress=progress, targets=[target], max_intermediate_bytes=cap)


def _warn_diverged(filters: list[SeparableFilter]) -> None:
    for f in filters:
        if f.provenance.get("diverged"):
            click.echo(f"sepgen: warning: the fit of {f.name} diverged; kept its best finite iterate (lower --lr)",
                       err=True)


def summary_rows(filters: list[SeparableFilter]) -> list[dict[str, Any]]:
    rows = []
    for f in filters:
        m = f.metrics()
        w = f.provenance.get("weights", {})
        rows.append({
            "name": f.name, "nonneg": w.get("nonneg"), "zeros": w.get("zeros"), "loss": m.get("loss"),
            **{k: m[k] for k in SUMMARY_COLUMNS[4:]},
        })
    return rows


def _cell(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def summary_markdown(rows: list[dict[str, Any]]) -> str:
    lines = ["| " + " | ".join(SUMMARY_COLUMNS) + " |", "|" + "---|" * len(SUMMARY_COLUMNS)]
    lines += ["| " + " | ".join(_cell(r[c]) for c in SUMMARY_COLUMNS) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def summary_csv(rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(SUMMARY_COLUMNS)
    for r in rows:
        writer.writerow([repr(r[c]) if isinstance(r[c], float) else r[c] for c in SUMMARY_COLUMNS])
    return buf.getvalue()


@click.command(help="Fit a grid of loss weights (nonneg × zeros), vmapped (one jitted loop per core); "
                    "writes one filter file per cell plus summary.md and summary.csv to DIR.")
@kernel_options
@table_options(FIT_OPTIONS)
@table_options(WEIGHT_OPTIONS, skip=("nonneg", "zeros"))
@click.option("--nonneg", "nonneg", default="0,0.5,1.5", show_default=True,
              help="comma-separated nonneg weights (grid rows)")
@click.option("--zeros", "zeros", default="0,0.3,0.8", show_default=True,
              help="comma-separated zeros weights (grid columns)")
@click.option("--name", default=None, help="base name of the cells (default from the kernel, e.g. disk50)")
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False),
              help="folder to write the filter files and summary to")
def sweep(**params: Any) -> None:
    spec = kernel_spec(params)
    kernel = kernels.make(spec)
    nonneg = _float_list(params.pop("nonneg"), "--nonneg")
    zeros = _float_list(params.pop("zeros"), "--zeros")
    name, out_dir = params["name"], Path(params["output"])
    if name is not None:
        check_shader_name(name)  # each cell's name starts with it
    if out_dir.exists() and not out_dir.is_dir():
        raise SepgenError(f"output {out_dir} exists and is not a folder")
    atomic.check_writable(out_dir, f"cannot write to {out_dir}")  # before any work
    from ..fitting import sweep_with  # JAX only now
    from ..fitting.core import default_name
    from ..fitting.weight_sweep import check_grid

    check_grid(nonneg, zeros)  # before the other settings, as `sepgen.sweep` does
    settings = FitSettings.from_options(params)
    label = f"sweep {name or default_name(spec)} ({len(nonneg)}x{len(zeros)} cells)"
    filters = sweep_with(kernel, params["rank"], settings, nonneg, zeros, kernel_spec=spec, name=name,
                         progress=progress_printer(label))
    for f in filters:
        f.save(out_dir / f"{f.name}.json")
    _warn_diverged(filters)
    rows = summary_rows(filters)
    table = summary_markdown(rows)
    atomic.write_text(out_dir / "summary.md", table)
    atomic.write_text(out_dir / "summary.csv", summary_csv(rows))
    click.echo(table, nl=False)
    click.echo(f"wrote {len(filters)} filter files and summary.md/summary.csv to {out_dir}", err=True)
