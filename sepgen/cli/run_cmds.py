"""`sepgen apply` (filter an image) and `sepgen verify` (prove the shaders on OpenGL, Vulkan, WebGPU, WebGL2)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click

from ..common.errors import CheckFailed, SepgenError
from ..common.tools import PACKAGES, require_tool
from ..options import EMIT_OPTIONS

OUTPUT_SUFFIXES = (".npy", ".png")
LANGS: tuple[str, ...] = EMIT_OPTIONS["lang"].choices or ()  # the table always lists them


def _explicit(ctx: click.Context, name: str) -> bool:
    return ctx.get_parameter_source(name) not in (click.core.ParameterSource.DEFAULT, None)


@click.command("apply")
@click.argument("filter_file", metavar="FILTER.json")
@click.option("-i", "--input", "input_path", required=True, metavar="IMG",
              help="PNG/JPG or .npy (float32 H×W or H×W×C).")
@click.option("-o", "--output", "output_path", required=True, metavar="OUT",
              help=".npy (float32, same shape) or .png (8-bit, clipped).")
@click.option("--backend", type=click.Choice(["numpy", "gpu"]), default="numpy", show_default=True,
              help="numpy: the reference convolution; gpu: emit the shaders and run them "
                   "(GLSL on OpenGL, HLSL and SPIR-V on Vulkan, WGSL on WebGPU).")
@click.option("--lang", type=click.Choice(LANGS), default=None,
              help=f"Shader language to run (gpu backend only); {EMIT_OPTIONS['lang'].default} unless given.")
@click.option("--linear-sampling/--point-sampling", default=None,
              help="Run the bilinear-fetch or the point-fetch variant "
                   "(--backend gpu; default: emit's default, bilinear).")
@click.option("--gamma", type=float, default=None, metavar="G",
              help="Bokeh boost: filter img^G, then take ^(1/G) (e.g. 3: highlights dominate); "
                   "negatives become 0 before each power.")
@click.option("--scale", type=float, default=None, metavar="S",
              help="Run the taps at offset·S, S in [0, 1] (0: in focus, the input unblurred; "
                   "filters fitted with --scales; other separable filters warn, other rows filters are refused).")
@click.option("--scale-map", "scale_map_path", default=None, metavar="IMG",
              help="Per-pixel scales in [0, 1] (0 in the focal plane) from IMG's first channel (.npy, or PNG/JPG "
                   "scaled to 0..1), IMG's size (CoC).")
@click.option("-q", "--quiet", is_flag=True, help="No progress on stderr.")
@click.pass_context
def apply(ctx: click.Context, filter_file: str, input_path: str, output_path: str, backend: str, lang: str | None,
          linear_sampling: bool | None, gamma: float | None, scale: float | None, scale_map_path: str | None,
          quiet: bool) -> None:
    """Filter IMG with the filter in FILTER.json (separable passes or rows of boxes) and write OUT."""
    from ..common import atomic, images
    from ..filters.rowsfile import load_filter
    from ..verify.apply import run_apply

    if Path(output_path).suffix.lower() not in OUTPUT_SUFFIXES:
        raise SepgenError(f"--output {output_path} must end in .npy or .png")
    if backend == "numpy":
        for name in ("lang", "linear_sampling"):
            if _explicit(ctx, name):
                raise SepgenError(f"--{name.replace('_', '-')} applies only to --backend gpu")
    if gamma is not None:
        images.check_gamma(gamma)
    atomic.check_file_writable(output_path)  # before any work: a bad output fails at once
    say = (lambda message: None) if quiet else (lambda message: click.echo(f"sepgen apply: {message}", err=True))
    filt = load_filter(filter_file)  # either structure (issue 18)
    img = images.load_image(input_path)
    say(f"{input_path}: {img.shape[1]}x{img.shape[0]}, {1 if img.ndim == 2 else img.shape[2]} channel(s)")
    how = _scale_for(filt, img, scale, scale_map_path)
    options: dict[str, Any] | None = None
    if backend == "gpu":
        options = {"lang": lang or EMIT_OPTIONS["lang"].default, "linear_sampling": linear_sampling}
    applied = run_apply(filt, img, backend, options, how, gamma=gamma, progress=say)
    out, where = applied.image, applied.source
    say(f"writing {output_path}")
    images.save_image(output_path, out)
    h, w = out.shape[:2]
    click.echo(f"wrote {output_path} ({w}x{h}, {1 if out.ndim == 2 else out.shape[2]} channel(s), {where})")


def _scale_for(filt, img, scale: float | None, map_path: str | None):
    """None (fixed taps), one scale, or an H×W scale map; one-line errors, a warning for unscaled filters."""
    from ..common import images
    from ..filters import scaling
    from ..verify.apply import unscaled_warning

    if scale is not None and map_path is not None:
        raise SepgenError("give --scale or --scale-map, not both")
    if scale is None and map_path is None:
        return None
    if scale is not None:
        value: Any = scaling.check_scale(scale, "--scale", allow_zero=True)
    else:
        assert map_path is not None
        raw = images.load_image(map_path)
        value = scaling.check_scale_map(raw if raw.ndim == 2 else raw[:, :, 0], img.shape, f"--scale-map {map_path}")
    warning = unscaled_warning(filt)
    if warning:
        click.echo(f"sepgen: warning: {warning}", err=True)
    return value


@click.command("verify")
@click.argument("filter_file", metavar="[FILTER.json]", required=False)
@click.option("--config", "config_path", default=None, metavar="CONFIG.toml",
              help="Verify exactly the variants a build config emits, for every filter in it "
                   "(fitted by `sepgen build`).")
@click.option("-o", "--out-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="With --config: the build's output folder, if `sepgen build -o` moved it.")
@click.option("--variant", "names", multiple=True, metavar="NAME",
              help='Only this variant, named as the table prints it, e.g. "glsl330 fragment mrt fp32 point" '
                   '(repeatable).')
@click.option("--lang", type=click.Choice([*LANGS, "all"]), default="all", show_default=True,
              help="Which languages' variants to run (GLSL on OpenGL, GLSL ES 300 in WebGL2, "
                   "HLSL and SPIR-V on Vulkan, WGSL on WebGPU).")
@click.option("--image", "image_path", default=None, metavar="IMG",
              help="Test image (PNG/JPG/.npy); default: a built-in 131x77 RGBA noise image with highlights.")
@click.option("--tolerance", type=float, default=None, metavar="T",
              help="Maximum relative error (of max|reference|) for every variant; "
                   "default: derived per variant from its formats.")
@click.option("-j", "--jobs", type=click.IntRange(min=0), default=0, show_default=True,
              help="Worker processes, each with its own runners "
                   "(0: one per usable core, at most one per 4 variants; 1: this process only).")
@click.option("-q", "--quiet", is_flag=True, help="No progress on stderr.")
def verify(filter_file: str | None, config_path: str | None, out_dir: Path | None, names: tuple[str, ...], lang: str,
           image_path: str | None, tolerance: float | None, jobs: int, quiet: bool) -> None:
    """Run the emitted variants of FILTER.json (every one, or those --variant names) on their
    drivers and compare with NumPy; or, with --config, those a build config ships.

    Exit 0 when every variant is within tolerance, 1 otherwise.
    """
    from ..filters.rowsfile import load_filter

    if (filter_file is None) == (config_path is None):
        raise SepgenError("give a filter file or --config CONFIG.toml (one of them)")
    if out_dir is not None and config_path is None:
        raise SepgenError("--out-dir applies only to --config")
    langs = LANGS if lang == "all" else (lang,)
    if config_path is not None:
        verify_config(config_path, out_dir, names, langs, image_path, tolerance, jobs, quiet)
        return
    from ..verify import check as verifying

    verifying.check_tolerance(tolerance)  # every argument before the GL context
    assert filter_file is not None  # exactly one of the two, checked above
    filt = load_filter(filter_file)  # any structure (issue 18)
    scaled = filt.scales is not None
    todo = verifying.select(names, langs, scaled) if names else verifying.variants_for(filt, langs)
    report_verification([(filt, todo)], image_path, tolerance, jobs, quiet)


def verify_config(config: str | os.PathLike, out_dir: Path | None, names: Iterable[str], langs: Iterable[str],
                  image_path: str | None, tolerance: float | None, jobs: int, quiet: bool) -> None:
    """Verify what a build config ships (each filter's emitted variants, optionally only `names`)."""
    from ..build.targets import targets
    from ..verify import check as verifying

    found = targets(config, out_dir)
    langs = tuple(langs)
    wanted = {name for n in names for name in _variant_names(verifying, n)} if names else None
    emitted = [(t.filter, verifying.scaled_targets(t.variants) if t.filter.scales is not None else list(t.variants))
               for t in found]
    items = [(f, [v for v in todo if v.options["lang"] in langs and (wanted is None or v.name in wanted)])
             for f, todo in emitted]
    items = [(f, todo) for f, todo in items if todo]
    if not items:
        asked = ", ".join(names) or "the languages " + ", ".join(langs)
        raise SepgenError(f"{config}: no variant of its filters matches {asked}")
    templates = {t.templates_dir for t in found}
    report_verification(items, image_path, tolerance, jobs, quiet,
                        templates_dir=templates.pop() if len(templates) == 1 else None)


def _variant_names(verifying, name: str) -> set[str]:
    """The variant `name` names: a fixed-tap one, or a scalable filter's ("… scale 0.5")."""
    try:
        return {v.name for v in verifying.select([name])}
    except SepgenError:
        try:
            return {v.name for v in verifying.select([name], scaled=True)}
        except SepgenError:
            pass
        raise


def report_verification(items: list, image_path: str | None, tolerance: float | None, jobs: int, quiet: bool,
                        templates_dir: Path | None = None) -> None:
    """Run `verify_set`, print the runners and a table per filter; CheckFailed when a variant fails."""
    from ..common import images
    from ..verify import check as verifying
    from ..verify.jobs import default_jobs
    from ..verify.runfilter import Runners

    img = images.load_image(image_path) if image_path else None

    def progress(message: str) -> None:
        click.echo(f"sepgen verify: {message}", err=True)

    count = sum(len(todo) for _, todo in items)
    runners = Runners()
    per_filter = verifying.verify_set(items, image=img, tolerance=tolerance, runner=runners,
                                      progress=None if quiet else progress,
                                      jobs=jobs or default_jobs(count), templates_dir=templates_dir)
    shown = img if img is not None else verifying.default_image()
    shape = "x".join(str(n) for n in (shown.shape[1], shown.shape[0]) + shown.shape[2:])
    probes = runners.probes()
    for name, device in runners.made().items():
        click.echo(f"runner {device}" + (f"; {probes[name].describe()}" if name in probes else ""))
    for (filt, _), results in zip(items, per_filter):
        kind = f"rank {filt.rank}" if hasattr(filt, "rank") else f"{filt.structure.name}, {filt.layout.boxes} boxes"
        click.echo(f"filter: {filt.name} ({filt.shape[0]}x{filt.shape[1]}, {kind}, "
                   f"origin {list(filt.origin)}); image {image_path or 'built-in'} {shape}")
        click.echo(verifying.format_table(results))
    everything = [r for rs in per_filter for r in rs]
    failed = [r for r in everything if not r.ok and r.not_run is None]
    skipped = [r for r in everything if r.not_run is not None]
    click.echo(f"{count - len(failed) - len(skipped)} of {count} variants within tolerance")
    for line in not_run_lines(skipped):
        click.echo(line)
    if failed or skipped:
        names = ", ".join(r.name for r in failed[:3]) + (", …" if len(failed) > 3 else "")
        what: list[str] = [f"{len(failed)} of {count} variants exceed tolerance or failed ({names})"] if failed else []
        runners_missing = ", ".join(sorted({r.backend or "-" for r in skipped}))
        what += [f"{len(skipped)} of {count} variants not run ({runners_missing})"] if skipped else []
        raise CheckFailed("; ".join(what))


def not_run_lines(skipped: list) -> list[str]:
    """What did not run, per reason, and the Debian packages that would run it."""
    from ..run.registry import DEBIAN_PACKAGES

    by_reason: dict[str, list] = {}
    for r in skipped:
        by_reason.setdefault(r.not_run, []).append(r)
    lines: list[str] = []
    packages: set[str] = set()
    for reason, results in by_reason.items():
        backends = sorted({r.backend for r in results if r.backend})
        lines.append(f"not run: {len(results)} variant(s) on {', '.join(backends) or '-'}: {reason}")
        tools = [tool for tool in PACKAGES if reason.startswith(f"{tool} not found")]
        packages.update(PACKAGES[t] for t in tools)
        if not tools:
            packages.update(p for b in backends for p in DEBIAN_PACKAGES.get(b, ()))
    if packages:
        lines.append(f"to run them: apt-get install {' '.join(sorted(packages))} (see `sepgen runners`)")
    return lines


@click.command("runners")
@click.option("--config", "config_path", default=None, metavar="CONFIG.toml",
              help="Only the runners and tools the variants of this build config need.")
@click.option("--packages", is_flag=True,
              help="Print only the Debian packages of what is missing, on one line "
                   "(for `apt-get install $(sepgen runners --packages --config CONFIG.toml)`).")
@click.option("--probe", is_flag=True,
              help="Also measure each runner's bilinear weight error (what verify's linear tolerance uses) "
                   "at texture width 131.")
def runners(config_path: str | None, packages: bool, probe: bool) -> None:
    """List the runners and tools found here and the Debian packages for the rest."""
    from ..run.registry import DEBIAN_PACKAGES, PYTHON_PACKAGES
    from ..verify.needs import needed, packages_for
    from ..verify.probe import cached
    from ..verify.runfilter import Runners

    names, tools = needed(_config_variants(config_path) if config_path else None)
    found = Runners()
    if packages:
        click.echo(" ".join(packages_for(found, names, tools)))
        return
    missing = found.missing(set(names))
    for name in names:
        if name in missing:
            pip = f", Python package {PYTHON_PACKAGES[name]}" if PYTHON_PACKAGES[name] else ""
            click.echo(f"{name:<16} missing: {missing[name]} (Debian: {' '.join(DEBIAN_PACKAGES[name])}{pip})")
            continue
        extra = f"; {cached(found.get(name), 131).describe()}" if probe else ""
        click.echo(f"{name:<16} found: {found.device(name)}{extra}")
    for tool in tools:
        try:
            click.echo(f"{tool:<16} found: {require_tool(tool)}")
        except SepgenError:
            click.echo(f"{tool:<16} missing (Debian: {PACKAGES[tool]})")
    rest = packages_for(found, names, tools)
    click.echo(f"install the rest: apt-get install {' '.join(rest)}" if rest else "nothing missing")


def _config_variants(config: str | os.PathLike) -> list:
    """The variants a build config emits, as `verify --config` runs them (nothing fitted or read
    from the cache: the options alone say which runner runs them)."""
    from ..build.config import load_config
    from ..verify.check import Variant, scaled_targets

    out: list = []
    for f in load_config(config).filters:
        emitted = [Variant(f.emit_options(lang)) for lang in f.langs]
        out += scaled_targets(emitted) if f.scales is not None else emitted
    return out
