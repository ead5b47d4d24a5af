"""The `sepgen` command line.

Subcommands live beside the stage they drive and are imported only when run,
so `sepgen emit` or `sepgen build` with nothing to fit never imports JAX.
Errors are one line and an exit code (2 bad input, 1 a failed check);
`--debug` shows the traceback instead.
"""

from __future__ import annotations

import importlib
import os
import sys

import click

from .._version import __version__
from ..common.errors import SepgenError

# name -> "module:attribute"; each module owns its commands.
# name -> ("module:attribute", one-line help shown by `sepgen --help` without importing).
COMMANDS = {
    "optimize": ("sepgen.cli.fit_cmds:optimize", "Fit a kernel as N separable passes and write a filter file."),
    "sweep": ("sepgen.cli.fit_cmds:sweep", "Fit a grid of loss weights in one call; one filter file per cell."),
    "emit": ("sepgen.cli.emit_cmd:emit", "Write GLSL, HLSL, WGSL or SPIR-V shaders and a manifest for a filter file."),
    "apply": ("sepgen.cli.run_cmds:apply", "Filter an image with a filter file (NumPy or GPU)."),
    "verify": ("sepgen.cli.run_cmds:verify",
               "Run the emitted shaders (OpenGL, Vulkan, WebGPU, WebGL2) against the NumPy reference."),
    "runners": ("sepgen.cli.run_cmds:runners",
                "List the runners and tools found and the Debian packages for the rest."),
    "build": ("sepgen.cli.build_cmd:build", "Fit (cached) and emit everything a config file asks for."),
    "report": ("sepgen.cli.report_cmds:report", "Write a picture report for a filter file."),
    "demo": ("sepgen.cli.report_cmds:demo", "Fit, sweep, emit, verify and report the seed's bokeh disk."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        entry = COMMANDS.get(name)
        if entry is None:
            return None
        module, attr = entry[0].split(":")
        return getattr(importlib.import_module(module), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, COMMANDS[name][1]) for name in self.list_commands(ctx)])


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sepgen")
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """sepgen: fit 2D blur kernels as separable passes and emit shaders for them."""
    ctx.obj = {"debug": debug}


def main(argv: list[str] | None = None) -> int:
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        cli.main(args=argv, prog_name="sepgen", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("sepgen: aborted", err=True)
        return 130
    except click.ClickException as exc:
        if exc.exit_code == 0:
            return 0
        msg = exc.format_message().splitlines()[0] if exc.format_message() else "usage error"
        click.echo(f"sepgen: error: {msg}", err=True)
        return 2
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except SepgenError as exc:
        if debug:
            raise
        click.echo(f"sepgen: error: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}", err=True)
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("sepgen: interrupted", err=True)
        return 130
    except Exception as exc:  # a bug: still one line unless --debug
        if debug:
            raise
        first_line = str(exc).splitlines()[0] if str(exc) else ""
        click.echo(f"sepgen: internal error: {type(exc).__name__}: {first_line} (rerun with --debug)", err=True)
        return 3
    return 0


def run() -> None:
    code = main()
    if "jax" in sys.modules:
        # A command that fitted is done and its files are closed (all writes are atomic);
        # JAX's interpreter teardown (backends, thread pools) would add ~0.3 s for nothing.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)
