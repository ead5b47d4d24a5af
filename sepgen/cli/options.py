"""Click decorators generated from the option tables, shared by every command."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from .. import kernels
from ..common.errors import SepgenError
from ..options import Option


def option_decorator(opt: Option, default: Any = None, **overrides: Any) -> Callable:
    """A click option for `opt`; `default` None keeps the table's default."""
    value = opt.default if default is None else default
    if opt.type is bool:
        return click.option(f"{opt.flag}/{opt.negative_flag}", opt.name, default=value, show_default=value is not None,
                            help=opt.help, **overrides)
    kind = click.Choice([str(c) for c in opt.choices]) if opt.choices else opt.type
    return click.option(opt.flag, opt.name, type=kind, default=value, show_default=True, help=opt.help, **overrides)


def table_options(table: dict[str, Option], skip: tuple[str, ...] = ()) -> Callable:
    """Apply one click option per table entry (in table order)."""

    def deco(f: Callable) -> Callable:
        for opt in reversed([o for o in table.values() if o.name not in skip]):
            f = option_decorator(opt)(f)
        return f

    return deco


def kernel_options(f: Callable) -> Callable:
    """--kernel NAME|file:PATH, --size S and every kernel type's own options."""
    opts = [
        click.option("--kernel", "kernel", default="disk", show_default=True,
                     help=f"kernel type ({', '.join(kernels.KERNELS)}) or file:PATH "
                          f"({', '.join(kernels.KERNEL_FILE_SUFFIXES)}; an aperture in alpha is used)"),
        click.option("--size", "size", type=int, default=50, show_default=True, help="kernel size in pixels"),
    ]
    for o in kernels.ALL_OPTIONS.values():
        if o.type is bool:
            opts.append(click.option(f"--{o.name.replace('_', '-')}", o.name, is_flag=True, default=None, help=o.help))
        else:
            opts.append(click.option(f"--{o.name.replace('_', '-')}", o.name, type=o.type, default=None, help=o.help))
    for deco in reversed(opts):
        f = deco(f)
    return f


def kernel_spec(params: dict[str, Any]) -> dict[str, Any]:
    """Pop the kernel options out of a command's params into a kernel spec.

    Options the chosen kernel does not take are rejected, so `--sigma` with
    `--kernel disk` is an error rather than silently ignored.
    """
    name = params.pop("kernel")
    size = params.pop("size")
    given = {n: params.pop(n) for n in list(kernels.ALL_OPTIONS) if n in params}
    given = {n: v for n, v in given.items() if v is not None}
    if name.startswith("file:"):
        if given:
            raise SepgenError(f"--{next(iter(given)).replace('_', '-')} does not apply to {name}")
        return {"kernel": name}
    ktype = kernels.KERNELS.get(name)
    if ktype is None:
        raise SepgenError(f"unknown kernel {name!r} (known: {', '.join(kernels.KERNELS)}, file:PATH)")
    allowed = {o.name for o in ktype.options}
    for n in given:
        if n not in allowed:
            raise SepgenError(f"--{n.replace('_', '-')} does not apply to kernel {name}")
    return {"kernel": name, "size": size, **given}
