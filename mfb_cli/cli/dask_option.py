"""--dask ADDRESS: run a command's scan on a Dask cluster (the optional 'dask' extra)."""

from __future__ import annotations

import functools
import importlib.util
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

from ..errors import MfbError

if TYPE_CHECKING:
    from collections.abc import Callable

    from .options import ScanRequest

F = TypeVar("F", bound="Callable[..., Any]")


def _check_address(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    from ..count.dask_cluster import DASK_EXTRA_HINT, parse_address

    try:
        parse_address(value)
    except MfbError as error:
        raise click.BadParameter(str(error).removeprefix(f"Dask address {value!r}: ")) from error
    # Not a usage error: the command is right, the environment lacks the extra.
    if importlib.util.find_spec("distributed") is None:
        raise click.ClickException(f"--dask needs the 'dask' extra: {DASK_EXTRA_HINT}")
    return value


def dask_option(function: F) -> F:
    """--dask ADDRESS, put into the command's ``request: ScanRequest``; apply below mask_options."""

    @functools.wraps(function)
    def wrapper(*args: Any, request: ScanRequest, dask: str | None, **kwargs: Any) -> Any:
        if dask is not None:
            ctx = click.get_current_context()
            if ctx.get_parameter_source("jobs") is not click.core.ParameterSource.DEFAULT:
                raise click.UsageError(
                    "-j/--jobs has no effect with --dask: each worker thread reads one file "
                    "at a time (size the cluster instead, e.g. --dask local:N)",
                    ctx,
                )
            request = replace(request, dask=dask)
        return function(*args, request=request, **kwargs)

    from ..count.dask_cluster import ADDRESS_HELP

    return click.option(
        "--dask",
        metavar="ADDRESS",
        default=None,
        callback=_check_address,
        help=f"Scan on a Dask cluster: {ADDRESS_HELP}. Outputs are byte-identical to a "
        "local scan. Needs: pip install 'mfb-cli[dask]'.",
    )(cast("F", wrapper))
