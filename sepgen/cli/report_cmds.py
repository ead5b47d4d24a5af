"""`sepgen report` and `sepgen demo`."""

from __future__ import annotations

import click


def _progress(msg: str) -> None:
    click.echo(msg, err=True)


@click.command()
@click.argument("filter_path", metavar="FILTER.json", type=click.Path(dir_okay=False))
@click.option("--image", "image", type=click.Path(dir_okay=False), default=None,
              help="image to blur (PNG/JPG/.npy); default: a procedural HDR night scene")
@click.option("--gamma", type=float, default=8.0, show_default=True,
              help="bokeh boost for --image: img^γ, filter, ^(1/γ); negatives become 0 before each power")
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(file_okay=False), help="report folder")
@click.option("-q", "--quiet", is_flag=True, help="No progress on stderr (the index path still goes to stdout).")
def report(filter_path: str, image: str | None, gamma: float, out_dir: str, quiet: bool) -> None:
    """Write a picture report (PNG + index.html) for FILTER.json."""
    from .. import report as rep

    index = rep.report(filter_path, out_dir, image, gamma, progress=None if quiet else _progress)
    click.echo(str(index))


@click.command()
@click.option("-o", "--output", "out_dir", default="demo-out", show_default=True, type=click.Path(file_okay=False),
              help="report folder")
@click.option("--steps", type=click.IntRange(1, 100000), default=None,
              help="optimisation steps (default: the recommended)")
@click.option("--no-gpu", is_flag=True, help="skip the GL driver: NumPy reference images, no verification")
def demo(out_dir: str, steps: int | None, no_gpu: bool) -> None:
    """Fit, sweep, emit, verify and report the seed's 50x50 bokeh disk."""
    from ..report.demo import run_demo

    index = run_demo(out_dir, steps=steps, use_gpu=not no_gpu, progress=_progress)
    click.echo(f"open {index}")
