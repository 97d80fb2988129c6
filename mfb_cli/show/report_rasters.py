"""The report's Rasters section: each raster's class map as a small palette PNG, inline.

The map is the raster's thumbnail (read/base/thumbnail.py): a decimation, pixel (i, j)
is the raster's pixel (i*B, j*B), so every pixel shows an exact class, never a blend.
Each class takes the report's colour (``--colormap``); a class without one takes a
colour of THUMBNAIL_COLOURS by its rank among the classes the maps show, so one class has
one colour across the page. Nodata is transparent (the page's grey shows through).
"""

from __future__ import annotations

import base64
import io
from html import escape
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from ..read.base.thumbnail import Thumbnail
    from .records import Record

#: Colours of classes without a colour table (Kelly's colours of maximum contrast).
THUMBNAIL_COLOURS = (
    "#f3c300", "#875692", "#f38400", "#a1caf1", "#be0032", "#c2b280", "#848482",
    "#008856", "#e68fac", "#0067a5", "#f99379", "#604e97", "#f6a600", "#b3446c",
    "#dcd300", "#882d17", "#8db600", "#654522", "#e25822", "#2b3d26",
)  # fmt: skip
#: The colour of the classes past the 254 a palette PNG can name (a map of >254 classes).
OTHER_COLOUR = "#000000"
#: Palette entries for classes: index 0 is nodata, 255 the classes past the first 254.
_PALETTE_CLASSES = 254

DEFINITION = (
    "each map is a decimation of its raster, not a resampling: map pixel (i, j) is the "
    "raster's pixel (i*B, j*B), its exact class, with B = ceil(max(height, width) / 512); "
    "nodata is transparent (grey)"
)


def rasters_record(
    rasters: Sequence[tuple[str, tuple[int, ...], Thumbnail]],
    colours: Sequence[str | None],
) -> list[Record]:
    """Each raster's map as a PNG data URI, with the classes it shows and their colours."""
    shown = sorted({int(c) for _, _, t in rasters for c in np.unique(_kept(t)).tolist()})
    rank = {c: i for i, c in enumerate(shown)}

    def colour(label: int) -> str:
        given = colours[label] if 0 <= label < len(colours) else None
        return given or THUMBNAIL_COLOURS[rank[label] % len(THUMBNAIL_COLOURS)]

    return [_raster(path, shape, thumbnail, colour) for path, shape, thumbnail in rasters]


def _kept(thumbnail: Thumbnail) -> Any:
    values = thumbnail.values
    return values if thumbnail.nodata is None else values[~thumbnail.nodata]


def _raster(
    path: str, shape: tuple[int, ...], thumbnail: Thumbnail, colour: Callable[[int], str]
) -> Record:
    from PIL import Image

    ids, pixels = np.unique(_kept(thumbnail), return_counts=True)
    # The classes with most pixels in the map get an entry each; any others share one.
    by_size = sorted(range(len(ids)), key=lambda k: (-int(pixels[k]), int(ids[k])))
    entry = np.full(len(ids), 255, dtype=np.uint8)
    named = sorted(by_size[:_PALETTE_CLASSES])
    entry[named] = np.arange(1, len(named) + 1, dtype=np.uint8)
    index = np.zeros(thumbnail.shape, dtype=np.uint8)
    kept = np.ones(thumbnail.shape, dtype=bool) if thumbnail.nodata is None else ~thumbnail.nodata
    index[kept] = entry[np.searchsorted(ids, thumbnail.values[kept])]
    palette = ["#000000", *(colour(int(ids[k])) for k in named)]
    if len(named) < len(ids):
        palette += ["#000000"] * (255 - len(palette)) + [OTHER_COLOUR]
    height, width = thumbnail.shape
    image = Image.frombytes("P", (width, height), index.tobytes())
    image.putpalette(b"".join(bytes.fromhex(c[1:]) for c in palette))
    buffer = io.BytesIO()
    options: dict[str, Any] = {"compress_level": 9}
    if thumbnail.nodata is not None and thumbnail.nodata.any():
        options["transparency"] = 0
    image.save(buffer, "PNG", **options)
    others = [int(ids[k]) for k in sorted(by_size[_PALETTE_CLASSES:])]
    return {
        "path": path,
        "shape": list(shape),
        "step": thumbnail.step,
        "thumbnail_shape": [height, width],
        "png": "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii"),
        "classes": [
            {"id": int(ids[k]), "colour": colour(int(ids[k])), "pixels": int(pixels[k])}
            for k in named
        ],
        "other_classes": others,
        "nodata_pixels": 0 if thumbnail.nodata is None else int(thumbnail.nodata.sum()),
    }


def rasters_section(record: Record, name: Callable[[Record, int], str]) -> str:
    """The section's HTML; empty when no raster was read (PATH... of masks, or --from)."""
    section = record.get("rasters") or {"rasters": [], "left_out": 0}
    rasters: list[Record] = section["rasters"]
    if not rasters:
        return ""
    figures = "".join(_figure(record, one, name) for one in rasters)
    left_out = section["left_out"]
    more = (
        f'<p class="meta">{left_out:,} more raster{"s" if left_out > 1 else ""} without a map '
        f"here (the page draws the first {len(rasters)}).</p>"
        if left_out
        else ""
    )
    return (
        '<section id="rasters"><h2>Rasters</h2>'
        '<p class="meta">Where the classes lie. '
        f"{escape(DEFINITION[0].upper() + DEFINITION[1:])}. Classes without a colour from "
        "--colormap take one of 20 colours by their rank among the classes shown.</p>"
        f'<div class="rasters">{figures}</div>{more}</section>'
    )


def _figure(record: Record, raster: Record, name: Callable[[Record, int], str]) -> str:
    height, width = raster["shape"]
    step = raster["step"]
    items = "".join(
        f'<li data-id="{c["id"]}"><span class="swatch" style="background:{c["colour"]}">'
        f"</span>{escape(name(record, c['id']))}</li>"
        for c in raster["classes"]
    )
    others = raster["other_classes"]
    if others:
        items += (
            f'<li data-id="other"><span class="swatch" style="background:{OTHER_COLOUR}">'
            f"</span>{len(others):,} other classes</li>"
        )
    if raster["nodata_pixels"]:
        items += '<li data-id="nodata"><span class="swatch nodata"></span>nodata</li>'
    thumb_height, thumb_width = raster["thumbnail_shape"]
    scale = "every pixel" if step == 1 else f"1 pixel in {step} along each axis"
    return (
        f'<figure class="raster" data-path="{escape(raster["path"])}" data-step="{step}">'
        f'<img class="thumbnail" src="{raster["png"]}" width="{thumb_width}" '
        f'height="{thumb_height}" alt="class map of {escape(raster["path"])}">'
        f"<figcaption><code>{escape(raster['path'])}</code>: {height:,} x {width:,} pixels, "
        f'{scale}<ul class="legend">{items}</ul></figcaption></figure>'
    )
