"""--patch SIZE[,STRIDE]: per-image statistics of patches instead of whole images."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from ..count.patches import PatchGrid


#: The patch grid, as the help of every command taking --patch defines it.
PATCH_DETAILS = """\
--patch SIZE[,STRIDE]: SIZE x SIZE windows every STRIDE pixels from the top-left pixel;
per axis ceil((length - SIZE) / STRIDE) + 1 of them, as torchgeo counts: the last may
cross the edge and holds only the pixels inside (one starting past the edge is left
out); an image smaller than SIZE has none; a volume's patches are windows of each slice
along its third axis.
"""


class PatchType(click.ParamType["PatchGrid"]):
    """``SIZE`` or ``SIZE,STRIDE`` in pixels, positive integers; anything else exits 2."""

    name = "SIZE[,STRIDE]"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> PatchGrid:
        from ..count.patches import PatchGrid  # imported here: --help needs no NumPy

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
