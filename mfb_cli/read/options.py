"""How label files become label ids: the reading options and the decoders."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import MissingExtraError, OptionError, Param
from .base.budget import DEFAULT_MAX_PIXELS as DEFAULT_MAX_PIXELS
from .base.chunks import DEFAULT_MAX_TOTAL_PIXELS as DEFAULT_MAX_TOTAL_PIXELS
from .decode.fast import fast_modules

if TYPE_CHECKING:
    from .labels.colormaps import ColorMap
    from .labels.datasets import DatasetLabels
    from .labels.remap import Remap

#: ``--decoder auto`` takes the fast decoder from this many files on; for fewer, importing
#: imagecodecs costs about what it saves.
AUTO_FAST_MIN_FILES = 8
#: How label files are decoded: the registry behind ``--decoder``.
DECODERS: dict[str, str] = {
    "auto": f"the fast decoder when installed and there are {AUTO_FAST_MIN_FILES} files or "
    "more, else Pillow",
    "pillow": "Pillow (and NumPy) only",
    "fast": "imagecodecs (libpng) for 8/16-bit greyscale PNGs, Pillow for the rest "
    "(palettes, 1-bit, interlaced, other formats); "
    "needs the 'fast' extra",
}
#: The counting modes behind ``--count``: how much one voxel adds to its class.
COUNT_MODES: dict[str, str] = {
    "voxels": "every pixel (voxel) counts 1, as a loss over the stored voxels sees it",
    "physical": "every voxel counts its volume in mm^3 (the product of its spacings), exactly; "
    "for cases of different spacing resampled to one spacing before training",
}
FAST_EXTRA_HINT = "pip install 'mfb-cli[fast]' (imagecodecs, and OpenCV for 16-bit counts)"


@dataclass(frozen=True)
class ReadOptions:
    """How label files become label ids; one object shared by every scanning command."""

    max_pixels: int | None = DEFAULT_MAX_PIXELS
    #: Colour -> id for RGB(A) and palette masks (palette indices only with ``palette_index``).
    colormap: ColorMap | None = None
    #: With a colour map, read palette ('P') images by index instead of by colour.
    palette_index: bool = False
    #: Id given to colours missing from the colour map; None: such a file is an error.
    unknown_color: int | None = None
    #: Id given to fully transparent RGBA pixels; None: any transparency is an error.
    transparent: int | None = None
    #: Old -> new ids, applied after the colour map.
    remap: Remap | None = None
    #: Id given to values the remap does not list; None: such a value is an error.
    unmapped: int | None = None
    #: Which decoder reads greyscale PNGs (DECODERS); the counts never depend on it.
    decoder: str = "auto"
    #: The most pixels (voxels) of one file read chunk by chunk (a volume); ``max_pixels``
    #: then guards one chunk (one slice).
    max_total_pixels: int | None = DEFAULT_MAX_TOTAL_PIXELS
    #: Which volume of a 4D file (time points or channels) is read; None: 4D files are refused.
    volume: int | None = None
    #: How much one voxel adds to its class: 'voxels' (1) or 'physical' (its volume in
    #: mm^3, exactly; count/physical.py). Not part of what the ids mean.
    count: str = "voxels"
    #: What an nnU-Net or MSD dataset.json says the ids are: class set, names, ignore value.
    dataset: DatasetLabels | None = None
    #: Count a raster's nodata pixels (GeoTIFF GDAL_NODATA) as the value they store
    #: (``--no-nodata``); by default they are left out of the counts, as GDAL masks them.
    count_nodata: bool = False
    #: Keep a decimated class map of each raster read tile by tile (base/thumbnail.py),
    #: taken in the same pass as the counts (``mfb report`` draws it). Not part of the ids.
    thumbnail: bool = False

    def __post_init__(self) -> None:
        if self.decoder not in DECODERS:
            raise OptionError(
                f"unknown decoder {self.decoder!r} (choose from {', '.join(DECODERS)})"
            )
        if self.decoder == "fast" and fast_modules() is None:
            raise MissingExtraError(
                Param("decoder", "fast"), f" needs the 'fast' extra: {FAST_EXTRA_HINT}"
            )
        if self.colormap is None:
            for name, value in (
                ("palette_index", self.palette_index or None),
                ("unknown_color", self.unknown_color),
                ("transparent", self.transparent),
            ):
                if value is not None:
                    raise OptionError(Param(name), " needs ", Param("colormap"))
        if self.remap is None and self.unmapped is not None:
            raise OptionError(Param("unmapped"), " needs ", Param("remap"))
        if self.count not in COUNT_MODES:
            raise OptionError(
                f"unknown count {self.count!r} (choose from {', '.join(COUNT_MODES)})"
            )
        if self.volume is not None and self.volume < 0:
            raise OptionError(Param("volume", self.volume), ": volumes are numbered from 0")

    @property
    def use_fast(self) -> bool:
        """Whether greyscale PNGs go through the fast decoder."""
        return self.decoder != "pillow" and fast_modules() is not None

    def label_mapping(self) -> dict[str, Any]:
        """What the ids mean after reading (colour maps, remaps): empty when ids are as stored.

        Statistics files record it, so counts whose ids mean different things never merge.
        """
        mapping: dict[str, Any] = {}
        if self.colormap is not None:
            mapping["colormap"] = self.colormap.describe()
            mapping["palette_index"] = self.palette_index
            mapping["unknown_color"] = self.unknown_color
            mapping["transparent"] = self.transparent
        if self.remap is not None:
            mapping["remap"] = self.remap.describe()
            mapping["unmapped"] = self.unmapped
        if self.dataset is not None:
            mapping["dataset"] = self.dataset.describe()
        if self.count_nodata:
            mapping["nodata"] = "counted"  # a raster's nodata pixels are counted as labels
        return mapping

    def class_names(self) -> dict[int, str]:
        """Names the colour table (or dataset.json) gives its class ids; none once --map
        renumbers them."""
        if self.remap is not None:
            return {}
        if self.colormap is None:
            return {} if self.dataset is None else dict(self.dataset.names)
        return dict(self.colormap.names)
