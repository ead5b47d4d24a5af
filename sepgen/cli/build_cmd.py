"""`sepgen build CONFIG.toml [--check] [--depfile PATH] [--verify]`."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("build")
@click.argument("config", metavar="CONFIG.toml")
@click.option("--check", is_flag=True,
              help="Write nothing; exit 1 naming every stale filter, 0 when all outputs are current.")
@click.option("--depfile", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write a Make-style depfile: the outputs depend on the config and every kernel file it reads.")
@click.option("-o", "--out-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output folder (overrides [output] dir; relative to the working folder).")
@click.option("--stamp", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="File touched after every successful build; the depfile's target when given (for build systems).")
@click.option("--verify", "then_verify", is_flag=True,
              help="Then run every variant the config emits on its driver (OpenGL, Vulkan, WebGPU, WebGL2) against "
                   "NumPy, as `sepgen verify --config` does.")
@click.option("-q", "--quiet", is_flag=True, help="No progress on stderr.")
def build(config: str, check: bool, depfile: Path | None, out_dir: Path | None, stamp: Path | None, then_verify: bool,
          quiet: bool) -> None:
    """Fit (cached) and emit every filter of CONFIG.toml.

    Refits only filters whose kernel or fit options changed, writes only files
    whose content changed, and imports JAX only when something must be fitted.
    With --verify, exit 1 also when a shipped variant fails verification.
    """
    from ..build import state  # standard library only: NumPy, Jinja and the emitter wait for a real build

    def progress(message: str) -> None:
        click.echo(f"sepgen build: {message}", err=True)

    inv = state.Invocation(config, *(None if p is None else str(p) for p in (out_dir, depfile, stamp)))
    known = state.up_to_date(inv, check)  # a no-op answered from the last build's record
    if known is not None:
        counts, up_to_date, out = (0, 0, 0), known.filters, known.out_dir
        for name in [] if quiet else known.filters:
            progress(f"{name}: up to date")
    else:
        from ..build import build as run_build

        result = run_build(config, check=check, depfile=depfile, out_dir=out_dir, stamp=stamp,
                           progress=None if quiet else progress)
        if not check:
            state.record_build(inv, result)
        counts = (len(result.fitted), len(result.emitted), len(result.removed))
        up_to_date, out = result.up_to_date, str(result.out_dir)
    if not quiet:
        if check:
            progress(f"all {len(up_to_date)} filter(s) up to date")
        else:
            fitted, emitted, removed = counts
            progress(f"{fitted} fitted, {emitted} emitted, {len(up_to_date)} up to date, {removed} removed -> {out}")
    if then_verify:
        from ..options import EMIT_OPTIONS
        from .run_cmds import verify_config

        langs = EMIT_OPTIONS["lang"].choices
        assert langs is not None  # the lang option lists its choices
        verify_config(config, out_dir, (), langs, None, None, 0, quiet)  # every language it emits
