"""--patch SIZE[,STRIDE]: per-image statistics of patches instead of whole images."""

from __future__ import annotations

from typing import Any

import click

from ..count.patches import PatchGrid


class PatchType(click.ParamType[PatchGrid]):
    """``SIZE`` or ``SIZE,STRIDE`` in pixels, positive integers; anything else exits 2."""

    name = "SIZE[,STRIDE]"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> PatchGrid:
        if isinstance(value, PatchGrid):
            return value
        try:
            return PatchGrid.parse(str(value))
        except ValueError as error:
            self.fail(str(error), param, ctx)


patch_option = click.option(
    "--patch",
    type=PatchType(),
    default=None,
    metavar="SIZE[,STRIDE]",
    help="Per-image statistics of SIZE x SIZE patches every STRIDE pixels (default SIZE), "
    "each patch an 'image' (defined below).",
)


def refuse_patch_with(ctx: click.Context, patch: PatchGrid | None, dask: str | None) -> None:
    """Usage errors for what --patch cannot be combined with."""
    if patch is None:
        return
    if dask is not None:
        raise click.UsageError("--patch counts on this machine; drop --dask", ctx)
    if ctx.params.get("geometry"):
        raise click.UsageError("--patch and --geometry cannot be combined", ctx)
