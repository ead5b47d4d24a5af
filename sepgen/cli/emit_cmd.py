"""`sepgen emit`: shaders and a manifest for a filter file (never imports JAX)."""

from __future__ import annotations

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
    command = emitter.default_command(filter_path, opts, out_dir, templates_dir)  # the flags as given
    if filt.scales is None and opts.scale_source != "auto":
        click.echo(f"sepgen: warning: {filt.name} was fitted without scales: its quality at other scales was not "
                   "fitted (fit with --scales)", err=True)
    far = far_from_target(filt)
    if far is not None:
        click.echo(f"sepgen: warning: {far}", err=True)
    opts = emitter.for_filter(filt, opts, linear_asked=options["linear_sampling"] is True)
    rendered = emitter.render(filt, opts, templates_dir=templates_dir, command=command)
    written = emitter.write_output(rendered, out_dir)
    counts = rendered.manifest.fetches_per_pixel  # of what was emitted (scaled taps included)
    memory = rendered.manifest.intermediate_bytes_per_pixel
    removed = f", {len(written.removed)} removed (no longer emitted)" if written.removed else ""
    mem = f"; intermediates {memory['written']} B/px written + {memory['read']} B/px read" if memory else ""
    parts = ("scan", "gather") if "scan" in counts else ("horizontal", "vertical")  # rows: scan + gather
    click.echo(f"{out_dir}: {len(rendered)} files, {len(written.changed)} changed{removed}; fetches per pixel "
               f"{counts[parts[0]]} {parts[0]} + {counts[parts[1]]} {parts[1]} = {counts['total']}{mem}", err=True)
    for warning in over_request(filt, counts, memory):
        click.echo(f"sepgen: warning: {warning}", err=True)


def over_request(filt: Any, counts: dict[str, int], memory: dict[str, int] | None) -> list[str]:
    """What this variant costs beyond the budget (or memory cap) its filter was fitted for (the
    provenance's search request), one line each: the search counted other targets."""
    search = filt.provenance.get("search")
    if not isinstance(search, dict):
        return []
    out = []
    budget, cap = search.get("budget"), search.get("max_intermediate_bytes")
    fitted_for = "; ".join(_target_name(t) for t in search.get("targets", []) if isinstance(t, dict))
    fitted_for = f" (fitted for {fitted_for})" if fitted_for else ""
    if isinstance(budget, int) and counts["total"] > budget:
        out.append(f"{filt.name} reads {counts['total']} fetches per pixel with these options, over the budget of "
                   f"{budget} it was fitted for{fitted_for}: refit with these emit flags")
    if isinstance(cap, int) and memory and memory["written"] > cap:
        out.append(f"{filt.name} writes {memory['written']} intermediate bytes per pixel with these options, over "
                   f"the max_intermediate_bytes {cap} it was fitted for{fitted_for}")
    return out


def _target_name(target: dict[str, Any]) -> str:
    """A search target as `sepgen emit` flags: `--lang wgsl --precision fp16`."""
    from ..common.errors import SepgenError
    from ..options import EmitOptions

    try:
        opts = EmitOptions.from_dict(target)
    except SepgenError:
        return "?"
    flags = [f"--lang {opts.lang}"]
    for n, value in opts.non_default().items():
        if n != "lang":
            opt = EMIT_OPTIONS[n]
            flags.append((opt.flag if value else opt.negative_flag) if opt.type is bool else f"{opt.flag} {value}")
    return " ".join(flags)
