"""`sepgen build CONFIG.toml [--check] [--depfile PATH] [--verify]`."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("build")
@click.argument("config", metavar="CONFIG.toml")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 naming every stale filter, 0 when all outputs are current.")
@click.option("--depfile", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write a Make-style depfile: the outputs depend on the config and every kernel file it reads.")
@click.option("-o", "--out-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output folder (overrides [output] dir; relative to the working folder).")
@click.option("--stamp", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="File touched after every successful build; the depfile's target when given (for build systems).")
@click.option("--verify", "then_verify", is_flag=True,
              help="Then run every variant the config emits on the GL driver against NumPy, as `sepgen verify --config` does.")
@click.option("-q", "--quiet", is_flag=True, help="No progress on stderr.")
def build(config: str, check: bool, depfile: Path | None, out_dir: Path | None, stamp: Path | None, then_verify: bool,
          quiet: bool) -> None:
    """Fit (cached) and emit every filter of CONFIG.toml.

    Refits only filters whose kernel or fit options changed, writes only files
    whose content changed, and imports JAX only when something must be fitted.
    With --verify, exit 1 also when a shipped variant fails verification.
    """
    from ..build import build as run_build

    def progress(message: str) -> None:
        click.echo(f"sepgen build: {message}", err=True)

    result = run_build(config, check=check, depfile=depfile, out_dir=out_dir, stamp=stamp,
                       progress=None if quiet else progress)
    if not quiet:
        if check:
            click.echo(f"sepgen build: all {len(result.up_to_date)} filter(s) up to date", err=True)
        else:
            click.echo(
                f"sepgen build: {len(result.fitted)} fitted, {len(result.emitted)} emitted, "
                f"{len(result.up_to_date)} up to date, {len(result.removed)} removed -> {result.out_dir}",
                err=True,
            )
    if then_verify:
        from .run_cmds import verify_config

        verify_config(config, out_dir, (), ("glsl", "hlsl"), None, None, 0, quiet)
