"""`sepgen apply` (filter an image) and `sepgen verify` (prove the shaders on a GL driver)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable

import click
import numpy as np

from ..errors import CheckFailed, SepgenError
from ..options import EMIT_OPTIONS

if TYPE_CHECKING:  # pragma: no cover
    from ..filterfile import SeparableFilter

OUTPUT_SUFFIXES = (".npy", ".png")


def _explicit(ctx: click.Context, name: str) -> bool:
    return ctx.get_parameter_source(name) not in (click.core.ParameterSource.DEFAULT, None)


@click.command("apply")
@click.argument("filter_file", metavar="FILTER.json")
@click.option("-i", "--input", "input_path", required=True, metavar="IMG", help="PNG/JPG or .npy (float32 H×W or H×W×C).")
@click.option("-o", "--output", "output_path", required=True, metavar="OUT", help=".npy (float32, same shape) or .png (8-bit, clipped).")
@click.option("--backend", type=click.Choice(["numpy", "gpu"]), default="numpy", show_default=True,
              help="numpy: the reference convolution; gpu: emit the shaders and run them (GLSL on OpenGL, HLSL and SPIR-V on Vulkan, WGSL on WebGPU).")
@click.option("--lang", type=click.Choice(EMIT_OPTIONS["lang"].choices), default=None,
              help=f"Shader language to run (gpu backend only); {EMIT_OPTIONS['lang'].default} unless given.")
@click.option("--linear-sampling/--point-sampling", default=None,
              help="Run the bilinear-fetch or the point-fetch variant (--backend gpu; default: emit's default, bilinear).")
@click.option("--gamma", type=float, default=None, metavar="G",
              help="Bokeh boost: filter img^G, then take ^(1/G) (e.g. 3: highlights dominate); "
                   "negatives become 0 before each power.")
@click.option("-q", "--quiet", is_flag=True, help="No progress on stderr.")
@click.pass_context
def apply(ctx: click.Context, filter_file: str, input_path: str, output_path: str, backend: str, lang: str | None,
          linear_sampling: bool | None, gamma: float | None, quiet: bool) -> None:
    """Filter IMG with the separable approximation in FILTER.json and write OUT."""
    from .. import atomic, images
    from ..filterfile import SeparableFilter

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
    filt = SeparableFilter.load(filter_file)
    img = images.load_image(input_path)
    say(f"{input_path}: {img.shape[1]}x{img.shape[0]}, {1 if img.ndim == 2 else img.shape[2]} channel(s)")
    if gamma is not None:
        img = images.gamma_encode(img, gamma)
    out, where = _filter(filt, img, backend, {"lang": lang or EMIT_OPTIONS["lang"].default,
                                              "linear_sampling": linear_sampling}, say)
    if gamma is not None:
        out = images.gamma_decode(out, gamma)
    say(f"writing {output_path}")
    images.save_image(output_path, out)
    h, w = out.shape[:2]
    click.echo(f"wrote {output_path} ({w}x{h}, {1 if out.ndim == 2 else out.shape[2]} channel(s), {where})")


def _filter(filt: "SeparableFilter", img: np.ndarray, backend: str, options: dict,
            say: Callable[[str], None]) -> tuple[np.ndarray, str]:
    """The filtered image and what computed it; says each step (NumPy: one per channel)."""
    if backend == "gpu":
        from ..runfilter import run_filter

        say(f"emitting the {options['lang'].upper()} passes and running them on the GPU")
        return run_filter(filt, img, options)
    from .. import reference

    if img.ndim == 2:
        say(f"filtering with NumPy (rank {filt.rank}, {filt.shape[0]}x{filt.shape[1]} taps)")
        return reference.apply_filter(img, filt).astype(np.float32), "numpy"
    out = np.empty(img.shape, np.float32)
    for c in range(img.shape[2]):
        say(f"filtering channel {c + 1}/{img.shape[2]} with NumPy (rank {filt.rank}, {filt.shape[0]}x{filt.shape[1]} taps)")
        out[:, :, c] = reference.apply_filter(img[:, :, c], filt)
    return out, "numpy"


@click.command("verify")
@click.argument("filter_file", metavar="FILTER.json")
@click.option("--lang", type=click.Choice([*EMIT_OPTIONS["lang"].choices, "all"]), default="all", show_default=True,
              help="Which languages' variants to run (GLSL on OpenGL, GLSL ES 300 in WebGL2, HLSL and SPIR-V on Vulkan, WGSL on WebGPU).")
@click.option("--image", "image_path", default=None, metavar="IMG",
              help="Test image (PNG/JPG/.npy); default: a built-in 131x77 RGBA noise image with highlights.")
@click.option("--tolerance", type=float, default=None, metavar="T",
              help="Maximum relative error (of max|reference|) for every variant; default: derived per variant from its formats.")
@click.option("-q", "--quiet", is_flag=True, help="No progress on stderr.")
def verify(filter_file: str, lang: str, image_path: str | None, tolerance: float | None, quiet: bool) -> None:
    """Run every emitted variant of FILTER.json on its driver and compare with NumPy.

    Exit 0 when every variant is within tolerance, 1 otherwise.
    """
    from .. import images
    from .. import verify as verifying
    from ..filterfile import SeparableFilter
    from ..runfilter import Runners

    verifying.check_tolerance(tolerance)  # every argument before the GL context
    filt = SeparableFilter.load(filter_file)
    img = images.load_image(image_path) if image_path else None
    langs = EMIT_OPTIONS["lang"].choices if lang == "all" else (lang,)
    runner = Runners()

    def progress(message: str) -> None:
        click.echo(f"sepgen verify: {message}", err=True)

    results = verifying.verify(filt, langs=langs, image=img, tolerance=tolerance, runner=runner,
                               progress=None if quiet else progress)
    shown = img if img is not None else verifying.default_image()
    shape = "x".join(str(n) for n in (shown.shape[1], shown.shape[0]) + shown.shape[2:])
    for device in runner.devices():
        click.echo(f"runner {device}")
    click.echo(f"filter: {filt.name} ({filt.shape[0]}x{filt.shape[1]}, rank {filt.rank}, origin {list(filt.origin)}); "
               f"image {image_path or 'built-in'} {shape}")
    click.echo(verifying.format_table(results))
    failed = [r for r in results if not r.ok]
    click.echo(f"{len(results) - len(failed)} of {len(results)} variants within tolerance")
    if failed:
        shown = ", ".join(r.name for r in failed[:3]) + (", …" if len(failed) > 3 else "")
        raise CheckFailed(f"{len(failed)} of {len(results)} variants exceed tolerance or failed ({shown})")
