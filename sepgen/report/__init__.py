"""Picture reports: `sepgen report FILTER.json` (one filter, either structure) and the demo's page.

`write_filter_report` makes the per-filter part (a rows filter gets a picture of its boxes
instead of pass taps); `sepgen.report.demo` adds the sweep, optimiser curves, bokeh comparisons
and the verification table, and both are rendered through one HTML template (`index.html.j2`,
beside this file).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
import numpy as np

from .._version import __version__
from ..common import atomic
from ..filters.filterfile import SeparableFilter
from ..filters.rowsfile import RowsFilter, load_filter
from . import figures, frontier

if TYPE_CHECKING:  # pragma: no cover
    from ..run.gl import GLRunner

Progress = Callable[[str], None]
AnyFilter = SeparableFilter | RowsFilter

# Order and names of the metrics shown for each filter (all from its metrics(): SeparableFilter's
# or RowsFilter's, which has boxes and gather reads instead of zero taps).
SHOWN_METRICS = ("relative_l2", "negative_mass", "leak", "max_error", "dc_gain", "zero_taps", "boxes",
                 "gather_reads", "loss")
SCALE_METRICS = ("relative_l2", "negative_mass", "leak")  # per fitted scale, for scalable filters


def number(value: float | int) -> dict[str, str]:
    """A value shown rounded, with its exact repr kept for machines (data-value)."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return {"exact": str(int(value)), "shown": str(int(value))}
    return {"exact": repr(float(value)), "shown": f"{float(value):.4g}"}


@dataclass
class FilterSection:
    name: str
    rank: int
    shape: tuple[int, int]
    file: str
    description: str
    metrics: list[tuple[str, dict[str, str]]]
    figures: list[dict[str, str]] = field(default_factory=list)
    summary: str = ""  # the heading's structure: "rank 4", "rows: 53 boxes, 128 fetches"


def summary(filt: AnyFilter) -> str:
    if isinstance(filt, RowsFilter):
        return f"rows: {filt.layout.boxes} boxes along the kernel's {filt.layout.axis}, " \
               f"{filt.structure.fetch_counts()['total']} fetches per pixel"
    return f"rank {filt.rank}"


def describe(filt: AnyFilter) -> str:
    """One sentence on how the filter was made, from its provenance (empty if unknown)."""
    if isinstance(filt, RowsFilter):
        return describe_rows(filt)
    p = filt.provenance
    if "optimizer" not in p:
        return str(p.get("method", ""))
    weights = ", ".join(f"{k}={v:g}" for k, v in p.get("weights", {}).items() if v)
    text = f"Fitted with {p['optimizer']}, {p.get('steps')} steps, lr {p.get('lr')}, weights {weights}"
    loss = p.get("loss", {})
    if {"initial", "fit"} <= set(loss):
        text += f"; loss {loss['initial']:.4g} at the {p.get('init', 'svd')} start, {loss['fit']:.4g} fitted"
        if "pruned" in loss:
            text += f", {loss['pruned']:.4g} after pruning at {p.get('prune_threshold_used', p.get('prune'))}"
        if "final" in loss and p.get("dc", {}).get("renormalised"):
            text += f", {loss['final']:.4g} with the DC gain made exact (it was {p['dc']['gain_fitted']:.6g})"
    search = p.get("search")
    if isinstance(search, dict) and "chosen" in search:
        request = ", ".join(f"{k} {search[k]}" for k in ("budget", "target_error") if k in search)
        text += f"; {request}: chose {search['chosen']} ({search.get('why', '')})"
    return text + "." + _rank_note(p)


def describe_rows(filt: RowsFilter) -> str:
    """A rows filter: its boxes, what they cost, and what it was fitted for."""
    lay, counts = filt.layout, filt.structure.fetch_counts()
    text = (f"Rows of boxes along the kernel's {lay.axis}, read from running sums: {lay.boxes} boxes, "
            f"{lay.reads(share=True)} gather reads; {counts['total']} fetches per pixel with `sepgen emit`'s "
            f"defaults (scan {counts['scan']} + gather {counts['gather']})")
    search = filt.provenance.get("search")
    if isinstance(search, dict):
        request = ", ".join(f"{k} {search[k]}" for k in ("budget", "target_error") if k in search)
        text += f"; fitted for {request}" if request else ""
    return text + "."


def _rank_note(p: dict[str, Any]) -> str:
    comps = p.get("components", {})
    dropped = comps.get("dropped", [])
    if not dropped:
        return ""
    shares = ", ".join(f"{d['energy']:.2g}" for d in dropped)
    return (f" Rank lowered from {comps['fitted']} to {comps['kept']}: {len(dropped)} component(s) carried no energy "
            f"(their share of the unpruned fit: {shares}).")


def filter_section(filt: AnyFilter, file: str, description: str = "") -> FilterSection:
    m = filt.metrics()
    rows = [(k, number(m[k])) for k in SHOWN_METRICS if k in m]
    rows += [(f"{k} at scale {row['scale']:g}", number(row[k])) for row in m.get("scales", []) for k in SCALE_METRICS]
    rank = 0 if isinstance(filt, RowsFilter) else filt.rank
    return FilterSection(filt.name, rank, filt.shape, file, description or describe(filt), rows, summary=summary(filt))


def svd_baseline(filt: SeparableFilter) -> SeparableFilter:
    """The plain SVD rank-N approximation of the same target (the seed's starting point)."""
    from ..fitting import lowrank  # NumPy only

    v, h = lowrank.svd_components(filt.target, filt.rank)
    return SeparableFilter(f"{filt.name}_svd", filt.target, v, h, filt.origin, {"method": f"SVD rank {filt.rank}"})


def baseline(filt: AnyFilter) -> tuple[SeparableFilter, str]:
    """The plain SVD to compare with, and its label: at the filter's rank, or for a rows filter the
    highest rank (up to 8) within its fetches (equal cost)."""
    if not isinstance(filt, RowsFilter):
        return svd_baseline(filt), f"SVD rank {filt.rank}"
    fetches = filt.structure.fetch_counts()["total"]
    svd = frontier.svd_points(filt)
    rank = max([r["rank"] for r in svd if r["fetches"] <= fetches] or [1])
    cost = next(r["fetches"] for r in svd if r["rank"] == rank)
    base = SeparableFilter(filt.name, filt.target, np.zeros((rank, filt.shape[0])), np.zeros((rank, filt.shape[1])),
                           filt.origin)
    return svd_baseline(base), f"SVD rank {rank}, {cost} fetches"


def panel_label(filt: AnyFilter) -> str:
    """A filter's panel in the bokeh comparison: separable "optimised NAME", rows with their fetches."""
    if isinstance(filt, RowsFilter):
        return f"rows {filt.name}, {filt.structure.fetch_counts()['total']} fetches"
    return f"optimised {filt.name}"


def gpu_runner(use_gpu: bool = True) -> GLRunner | None:
    """One GL runner for a whole report, or None (NumPy reference) without a GL driver."""
    if not use_gpu:
        return None
    from ..common.errors import SepgenError
    from ..run.gl import GLRunner

    try:
        return GLRunner()
    except SepgenError:
        return None  # no GL driver here: the NumPy reference is the same convolution


def filter_image(filt: AnyFilter, img: np.ndarray, runner: GLRunner | None) -> tuple[np.ndarray, str]:
    """Filter `img` with the emitted GLSL shaders on `runner`, or with the NumPy reference
    when there is none. Returns the result and what computed it."""
    from ..verify.apply import run_apply

    if runner is None:
        return run_apply(filt, img).image, "NumPy reference"
    applied = run_apply(filt, img, "gpu", runner=runner)
    return applied.image, applied.source


def bokeh_figure(filt: AnyFilter, img: np.ndarray, gamma: float, hdr: bool, path: Path, label: str,
                 runner: GLRunner | None, progress: Progress | None = None,
                 others: Sequence[tuple[str, AnyFilter]] = ()) -> str:
    """Exact 2D kernel vs plain SVD (`baseline`) vs `filt` (and each of `others`: label, filter) on
    one image, with the seed's bokeh boost (img^γ, filter, ^(1/γ)); returns what computed the
    filtered results. Each filtering and the drawing is a progress step (they take seconds on big images)."""
    from ..common import images
    from ..filters import reference

    say = progress or (lambda msg: None)
    size = f"{img.shape[1]}x{img.shape[0]}"
    boosted = images.gamma_encode(img, gamma)
    say(f"  {size}: exact 2D kernel ({filt.shape[0]}x{filt.shape[1]}, FFT)")
    exact = images.gamma_decode(reference.convolve2d(boosted, filt.target, filt.origin), gamma)
    base, base_label = baseline(filt)
    say(f"  {size}: {base_label} baseline")
    svd_img, how = filter_image(base, boosted, runner)
    panels = [("exact 2D kernel", exact), (base_label, images.gamma_decode(svd_img, gamma))]
    for name, f in ((panel_label(filt), filt), *others):
        say(f"  {size}: {f.name}")
        panels.append((name, images.gamma_decode(filter_image(f, boosted, runner)[0], gamma)))
    say(f"  {size}: drawing {path.name}")
    crops = figures.error_crops_points(exact, size=int(max(filt.shape) * 2.2))
    figures.bokeh_comparison(panels, crops, hdr, path, title=f"{label}: γ = {gamma:g}; filtered by {how}")
    return how


def render_html(context: dict[str, Any], path: Path) -> None:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(Path(__file__).parent)),
        undefined=jinja2.StrictUndefined,
        autoescape=True,
        keep_trailing_newline=True,
    )
    base: dict[str, Any] = {"version": __version__, "intro": "", "filters": [], "sweep": None, "figures": [],
                            "fetches": [], "verification": None, "verification_note": ""}
    atomic.write_text(path, env.get_template("index.html.j2").render(**{**base, **context}))


def write_filter_report(filt: AnyFilter, out_dir: str | os.PathLike, file: str = "",
                        image: np.ndarray | None = None, image_name: str = "", gamma: float = 8.0,
                        runner: GLRunner | None = None, progress: Progress | None = None,
                        others: Sequence[tuple[str, AnyFilter]] = ()) -> FilterSection:
    """Kernel/approximation/error maps, pass profiles and SVD energy (a rows filter: its boxes),
    the frontier and a bokeh comparison for one filter, in `out_dir` (file names prefixed with the
    filter's name). `others` (label, filter of the same kernel) join the bokeh comparison and the frontier."""
    from . import scenes

    say = progress or (lambda msg: None)
    out = Path(out_dir)
    n = filt.name
    sec = filter_section(filt, file)
    say(f"{n}: kernel maps")
    figures.kernel_maps(filt.target, filt.reconstruct(), out / f"{n}_kernel.png", f"{n}: {sec.summary}")
    sec.figures.append({"path": f"{n}_kernel.png", "caption": f"Target kernel, "
                        f"{'rows' if isinstance(filt, RowsFilter) else 'separable'} approximation and their "
                        "difference (blue = negative)."})
    sec.figures += rows_figures(filt, out) if isinstance(filt, RowsFilter) else pass_figures(filt, out)
    say(f"{n}: frontier (quality against fetches per pixel)")
    chosen = frontier.frontier_figure(filt, out / f"{n}_frontier.png", [f for _, f in others])
    sec.figures.append({"path": f"{n}_frontier.png", "caption": frontier.caption(chosen, filt)})
    if image is None:
        image, image_name, hdr, g = scenes.night_lights(), "procedural HDR night lights", True, 1.0
    else:
        hdr, g = bool(np.max(image) > 1.0), gamma
    say(f"{n}: bokeh comparison on {image_name}")
    how = bokeh_figure(filt, image, g, hdr, out / f"{n}_bokeh.png", image_name, runner, say, others)
    shown = ", ".join([baseline(filt)[1], "this filter", *(label for label, _ in others)])
    sec.figures.append({"path": f"{n}_bokeh.png",
                        "caption": f"{image_name}, γ = {g:g}: exact 2D kernel, {shown} "
                                   f"(filtered by {how}); crops around the brightest spots."})
    if filt.scales is not None:
        assert isinstance(filt, SeparableFilter), "rows filters have no scales yet"
        sec.figures += scale_section(filt, out, image, image_name, g, hdr, runner, say)
    return sec


def pass_figures(filt: SeparableFilter, out: Path) -> list[dict[str, str]]:
    """A separable filter's pass taps and the target's singular-value energy."""
    from ..fitting import lowrank  # NumPy only

    n = filt.name
    figures.pass_profiles(filt.vertical, filt.horizontal, filt.origin, out / f"{n}_passes.png")
    figures.singular_energy(lowrank.energy(filt.target), filt.rank, out / f"{n}_svd_energy.png")
    return [
        {"path": f"{n}_passes.png",
         "caption": "Taps of every vertical and horizontal pass; x marks exact zeros the shaders skip."},
        {"path": f"{n}_svd_energy.png",
         "caption": "Share of the kernel's energy captured by the first r singular values."},
    ]


def rows_figures(filt: RowsFilter, out: Path) -> list[dict[str, str]]:
    """A rows filter's boxes: every line's over the tap grid, and its busiest line in detail."""
    n, lay = filt.name, filt.layout
    figures.rows_boxes(lay, out / f"{n}_boxes.png", f"{n}: {summary(filt)}", target=filt.target)
    return [{"path": f"{n}_boxes.png",
             "caption": f"The {lay.boxes} boxes along the kernel's {lay.axis} (shade: weight; a dot: two adjacent "
                        "lines read together, one bilinear read between rows of the running sum), and the line with "
                        "the most boxes in detail: each box's weight over the taps it covers, fractional ends dotted, "
                        "the taps they sum to and the target's."}]


def scale_section(filt: SeparableFilter, out: Path, image: np.ndarray, image_name: str, gamma: float, hdr: bool,
                  runner: GLRunner | None, say: Progress) -> list[dict[str, str]]:
    """A scalable filter's figures: kernel, approximation and error per fitted scale; a bokeh strip."""
    from . import scale_figures

    assert filt.scales is not None, "only called for a filter fitted at several scales"
    n = filt.name
    say(f"{n}: kernels at scales {', '.join(f'{s:g}' for s in filt.scales)}")
    scale_figures.scale_maps(filt, filt.scales, out / f"{n}_scales.png")
    say(f"{n}: bokeh at several scales")
    how = scale_figures.bokeh_strip(filt, image, gamma, hdr, out / f"{n}_scale_strip.png", runner=runner)
    return [
        {"path": f"{n}_scales.png",
         "caption": "Per fitted scale s: the kernel rendered at size·s, what the taps fetched "
                                               "bilinearly at offset·s apply, and the difference."},
        {"path": f"{n}_scale_strip.png",
         "caption": f"{image_name}, γ = {gamma:g}, at scales "
                    f"{', '.join(f'{s:g}' for s in scale_figures.STRIP_SCALES)} and with a "
                    f"per-pixel scale ramp ({how})."},
    ]


def report(filter_path: str | os.PathLike, out_dir: str | os.PathLike, image_path: str | os.PathLike | None = None,
           gamma: float = 8.0, progress: Progress | None = None) -> Path:
    """`sepgen report`: the per-filter report and its index.html."""
    from ..common import images

    atomic.check_writable(out_dir, f"cannot create folder {out_dir}")
    images.check_gamma(gamma)
    filt = load_filter(filter_path)  # either structure (issue 18)
    img = images.load_image(image_path) if image_path else None
    out = Path(out_dir)
    sec = write_filter_report(filt, out, file=str(filter_path), image=img,
                              image_name=Path(image_path).name if image_path else "", gamma=gamma,
                              runner=gpu_runner(), progress=progress)
    index = out / "index.html"
    render_html({"title": filt.name, "filters": [sec],
                 "intro": f"Report of the filter file {Path(filter_path).name}."}, index)
    return index
