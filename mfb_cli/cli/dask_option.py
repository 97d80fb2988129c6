"""--dask ADDRESS: run a command's scan on a Dask cluster (the optional 'dask' extra)."""

from __future__ import annotations

import functools
import importlib.util
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

from ..errors import MfbError
from ..show.output import one_line

if TYPE_CHECKING:
    from collections.abc import Callable

    from .options import ScanRequest

F = TypeVar("F", bound="Callable[..., Any]")


def _check_address(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    from ..count.dask_cluster import DASK_EXTRA_HINT, check_scheduler, parse_address

    if "@" in value.split("://", 1)[-1].split("/", 1)[0]:
        # Dask reads no user:password from an address (it fails deep in its parser): its
        # TLS security configuration is the way; the value is not echoed, it holds a secret.
        raise click.BadParameter(
            "a scheduler address takes no user:password@ (Dask authenticates with its TLS "
            "security configuration); give tcp://HOST:PORT or tls://HOST:PORT",
            ctx,
            param,
        )
    try:
        parse_address(value)
        # Not a usage error: the command is right, the environment lacks the extra.
        if importlib.util.find_spec("distributed") is None:
            raise click.ClickException(f"--dask needs the 'dask' extra: {DASK_EXTRA_HINT}")
        check_scheduler(value)
    except MfbError as error:
        # Click names --dask; the message names the address (one_line: it is the user's).
        problem = "".join(map(str, error.parts[1:]))
        raise click.BadParameter(one_line(value) + problem, ctx, param) from error
    return value


def _complete_address(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    """Shell completion of --dask: the local cluster's spellings (an address is the user's)."""
    from click.shell_completion import CompletionItem

    return [CompletionItem(word) for word in ("local", "local:") if word.startswith(incomplete)]


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

    return click.option(
        "--dask",
        metavar="ADDRESS",
        default=None,
        callback=_check_address,
        shell_complete=_complete_address,
        help="Scan on a Dask cluster: local, local:N (N processes here) or a scheduler's "
        "tcp://HOST:PORT; the same output. Needs the 'dask' extra.",
    )(cast("F", wrapper))
