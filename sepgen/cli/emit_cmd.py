"""`sepgen emit`: shaders and a manifest for a filter file (never imports JAX)."""

from __future__ import annotations

import json
from typing import Any

import click

from ..options import EMIT_OPTIONS
from .options import table_options


@click.command("emit")
@click.argument("filter_path", metavar="FILTER.json", type=click.Path(dir_okay=False))
@table_options(EMIT_OPTIONS)
@click.option("--templates", "templates_dir", type=click.Path(file_okay=False), default=None,
              help="folder of templates overriding the built-in ones (same relative names)")
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(file_okay=False),
              help="output folder (created; unchanged files are left alone, files its previous manifest.json "
                   "listed that this emit does not make are removed)")
@click.pass_context
def emit(ctx: click.Context, filter_path: str, templates_dir: str | None, out_dir: str, **options: Any) -> None:
    """Write GLSL, HLSL, WGSL or SPIR-V shaders and manifest.json for FILTER.json into -o DIR."""
    from .. import emit as emitter
    from ..filters.filterfile import far_from_target
    from ..filters.rowsfile import load_filter
    from ..options import EmitOptions

    given = [n for n in options if ctx.get_parameter_source(n) is not click.core.ParameterSource.DEFAULT]
    opts = EmitOptions.from_dict(options).check_given(given)
    filt = load_filter(filter_path)  # any structure (issue 18)
    command = emitter.default_command(filter_path, options, out_dir, templates_dir)
    if filt.scales is None and opts.scale_source != "auto":
        click.echo(f"sepgen: warning: {filt.name} was fitted without scales: its quality at other scales was not "
                   "fitted (fit with --scales)", err=True)
    far = far_from_target(filt)
    if far is not None:
        click.echo(f"sepgen: warning: {far}", err=True)
    files = emitter.render(filt, options, templates_dir=templates_dir, command=command)  # the flags as given
    written = emitter.write_output(files, out_dir)
    counts = json.loads(files["manifest.json"])["fetches_per_pixel"]  # of what was emitted (scaled taps included)
    removed = f", {len(written.removed)} removed (no longer emitted)" if written.removed else ""
    parts = ("scan", "gather") if "scan" in counts else ("horizontal", "vertical")
    click.echo(f"{out_dir}: {len(files)} files, {len(written.changed)} changed{removed}; fetches per pixel "
               f"{counts[parts[0]]} {parts[0]} + {counts[parts[1]]} {parts[1]} = {counts['total']}", err=True)
