"""Colours packed into integers: RGB(A) pixels and palette entries."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import BadMaskError

if TYPE_CHECKING:
    import numpy.typing as npt
    from PIL import Image

    from .._types import Int64Array


def colour_codes(name: str, image: Image.Image, allow_transparent: bool) -> npt.NDArray[Any]:
    array = np.asarray(image)
    codes = pack_rgb(array[..., :3])
    if image.mode != "RGBA":
        return codes
    alpha = array[..., 3]
    if int(alpha.min()) == 255:
        return codes  # all opaque: the alpha channel says nothing
    clear = alpha == 0
    partial = int(np.count_nonzero(alpha != 255)) - int(np.count_nonzero(clear))
    if partial:
        raise BadMaskError(
            name,
            f"has {partial} partly transparent pixels (0 < alpha < 255), typical of "
            "anti-aliased or resized masks; such a pixel has no single class",
        )
    if not allow_transparent:
        raise BadMaskError(
            name,
            f"has {int(np.count_nonzero(clear))} fully transparent pixels; pass "
            "--transparent ID to give them an id (and --ignore ID to leave them out)",
        )
    codes[clear] = TRANSPARENT
    return codes


def palette_codes(image: Image.Image) -> Int64Array:
    palette = np.asarray(image.getpalette() or [], dtype=np.int64).reshape(-1, 3)[:256]
    codes = np.full(256, -1, dtype=np.int64)
    codes[: len(palette)] = pack_rgb(palette)
    return codes


#: Packed code of a fully transparent pixel: outside the 24-bit colour range on purpose.
TRANSPARENT = 1 << 24


def pack_rgb(rgb: npt.NDArray[np.integer]) -> npt.NDArray[np.uint32]:
    """Pack an (..., 3) array of 8-bit channels into 0xRRGGBB codes."""
    wide = rgb.astype(np.uint32, copy=False)
    packed = (wide[..., 0] << 16) | (wide[..., 1] << 8) | wide[..., 2]
    return packed.astype(np.uint32, copy=False)


def colour_name(code: int) -> str:
    """'#rrggbb' for a packed colour, 'transparent' for the transparent code."""
    return "transparent" if code == TRANSPARENT else f"#{code:06x}"
