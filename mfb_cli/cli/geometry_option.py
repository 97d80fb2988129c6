"""--geometry and --connectivity: each class's connected components, in the same pass."""

from __future__ import annotations

import functools
import importlib.util
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

from ..count.connectivity import (
    CONNECTIVITIES,
    DEFAULT_CONNECTIVITY,
    GEOMETRY_EXTRA_HINT,
    Connectivity,
)
from .options import apply_all, refuse_unused

if TYPE_CHECKING:
    from collections.abc import Callable

    from .options import ScanRequest

F = TypeVar("F", bound="Callable[..., Any]")


def _check_extra(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    # Not a usage error: the command is right, the environment lacks the extra.
    if value and importlib.util.find_spec("cc3d") is None:
        raise click.ClickException(f"--geometry needs the 'geometry' extra: {GEOMETRY_EXTRA_HINT}")
    return value


geometry_opt = click.option(
    "--geometry",
    is_flag=True,
    callback=_check_extra,
    help="Also measure each class's connected components in the same pass; an image is "
    "labelled whole (up to ~25 more bytes a pixel). Needs the 'geometry' extra.",
)
connectivity_opt = click.option(
    "--connectivity",
    type=click.Choice([str(n) for n in CONNECTIVITIES]),
    default=str(DEFAULT_CONNECTIVITY),
    show_default=True,
    metavar="N",
    help="Which neighbours join a component: 4 or 6 by a face, 18 and edges, 8 or 26 and corners.",
)


def geometry_options(function: F) -> F:
    """--geometry and --connectivity, put into ``request: ScanRequest``; below mask_options."""

    @functools.wraps(function)
    def wrapper(
        *args: Any, request: ScanRequest, geometry: bool, connectivity: str, **kwargs: Any
    ) -> Any:
        refuse_unused(
            click.get_current_context(), [("connectivity", geometry, "without --geometry")]
        )
        if geometry:
            request = replace(request, geometry=Connectivity.of(int(connectivity)))
        return function(*args, request=request, **kwargs)

    return apply_all(cast("F", wrapper), [geometry_opt, connectivity_opt])
