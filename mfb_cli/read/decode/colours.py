"""Colours packed into integers: RGB(A) pixels and palette entries."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ...errors import BadMaskError, Param

if TYPE_CHECKING:
    import numpy.typing as npt
    from PIL import Image

    from ..._types import Int64Array


def colour_codes(name: str, image: Image.Image, allow_transparent: bool) -> npt.NDArray[Any]:
    array = np.asarray(image)
    codes = pack_rgb(array[..., :3])
    if image.mode != "RGBA":
        return _keyed_transparency(name, image, codes, allow_transparent)
    alpha = array[..., 3]
    if int(alpha.min()) == 255:
        return codes  # all opaque: the alpha channel says nothing
    clear = alpha == 0
    partial = int(np.count_nonzero(alpha != 255)) - int(np.count_nonzero(clear))
    if partial:
        raise _partly_transparent(name, partial, "0 < alpha < 255")
    if not allow_transparent:
        raise _fully_transparent(name, int(np.count_nonzero(clear)), "")
    codes[clear] = TRANSPARENT
    return codes


def _partly_transparent(name: str, pixels: int, how: str) -> BadMaskError:
    """Pixels with no single class: RGBA, tRNS and palette masks say it the same way."""
    return BadMaskError(
        name,
        f"has {pixels} partly transparent pixels ({how}), typical of anti-aliased or "
        "resized masks; such a pixel has no single class",
    )


def _fully_transparent(name: str, pixels: int, which: str) -> BadMaskError:
    """Fully transparent pixels need an id of their own (--transparent), in every format."""
    return BadMaskError(
        name,
        f"has {pixels} fully transparent pixels{which}; pass ",
        Param("transparent", metavar="ID"),
        " to give them an id (and ",
        Param("ignore", metavar="ID", item=True),
        " to leave them out)",
    )


def _keyed_transparency(
    name: str, image: Image.Image, codes: npt.NDArray[Any], allow_transparent: bool
) -> npt.NDArray[Any]:
    """An RGB PNG's tRNS colour is fully transparent, as an RGBA pixel of alpha 0 would be."""
    key = image.info.get("transparency")
    if not (isinstance(key, tuple) and len(key) == 3 and all(isinstance(v, int) for v in key)):
        return codes
    clear = codes == pack_rgb(np.asarray(key, dtype=np.int64))
    if not clear.any():
        return codes
    if not allow_transparent:
        colour = colour_name(int(pack_rgb(np.asarray(key, dtype=np.int64))))
        raise _fully_transparent(name, int(np.count_nonzero(clear)), f" (its tRNS colour {colour})")
    codes[clear] = TRANSPARENT
    return codes


def palette_codes(name: str, image: Image.Image, allow_transparent: bool) -> Int64Array:
    """The packed colour of each palette index, with its transparency (tRNS) as for RGBA.

    A palette file read by colour follows the RGBA rules: partly transparent pixels are
    an error, fully transparent ones need ``--transparent`` (otherwise the same mask
    saved as RGBA is refused and saved as a palette counted by its hidden colour).
    """
    palette = np.asarray(image.getpalette() or [], dtype=np.int64).reshape(-1, 3)[:256]
    codes = np.full(256, -1, dtype=np.int64)
    codes[: len(palette)] = pack_rgb(palette)
    alpha = _palette_alpha(image.info.get("transparency"))
    if alpha is None:
        return codes
    pixels = np.bincount(np.asarray(image).ravel(), minlength=256)[:256]
    partial = int(pixels[(alpha > 0) & (alpha < 255)].sum())
    clear = (alpha == 0) & (pixels > 0)
    if partial:
        raise _partly_transparent(name, partial, "palette alpha between 0 and 255")
    if clear.any() and not allow_transparent:
        raise _fully_transparent(name, int(pixels[clear].sum()), " (palette alpha 0)")
    codes[clear] = TRANSPARENT
    return codes


def _palette_alpha(transparency: object) -> npt.NDArray[np.uint8] | None:
    """Alpha of each palette index (tRNS bytes, or one transparent index), None if opaque."""
    alpha = np.full(256, 255, dtype=np.uint8)
    if isinstance(transparency, bytes):
        given = np.frombuffer(transparency[:256], dtype=np.uint8)
        alpha[: len(given)] = given
    elif isinstance(transparency, int) and 0 <= transparency < 256:
        alpha[transparency] = 0
    return None if bool((alpha == 255).all()) else alpha


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
