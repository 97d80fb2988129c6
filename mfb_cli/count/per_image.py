"""Per-image statistics: one JSON line per image, streamed while scanning, read back lazily.

The file is JSON Lines. A header line ``{"mfb_per_image": 1, "label_mapping": {...}}``
records what the ids mean (colour map, remap); every other line is one image,
``{"image": "masks/a.png", "ids": [0, 3], "pixels": [120, 8]}``: the raw label ids present
(after mappings, before any void/ignore choice) and their pixel counts; a scan with
--geometry adds ``"components": [2, 1]``, the connected components of each id. A scan
with --patch writes one line per patch (count/patches.py) instead: its file in ``image``
and ``"window": {"row": 0, "col": 256, "height": 256, "width": 256}`` (``"slice": k``
first for a volume), and the header says ``"patch": {"size": 256, "stride": 256}``; a
raster whose decoder knows where it lies adds ``"geotransform"`` (GDAL's six numbers)
and ``"crs"``. Shards concatenate (``cat a.jsonl b.jsonl``): a header may repeat, and
every header must agree.
"""

from __future__ import annotations

import itertools
import json
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from ..errors import MfbError
from ..read.base.urls import shown_path
from .counts import MAX_COUNT, ClassCounts, CountsAccumulator

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence
    from types import TracebackType

    from .._types import Int64Array
    from ..read.base.chunks import LabelHeader

from .patches import Window

#: The header key and the version of the per-image format.
HEADER_KEY = "mfb_per_image"
VERSION = 1
#: The longest line read (bytes): an image line of every one of 4096 ids at 2**63 is ~200 kB,
#: so anything longer is not a per-image file, and memory stays bounded on a crafted one.
MAX_LINE_BYTES = 8 << 20


class PerImageError(MfbError):
    """A per-image statistics file that cannot be read; the message names file and line."""


@dataclass(frozen=True)
class ImageCounts:
    """The label ids present in one image and their pixels (sorted ids, counts > 0)."""

    image: str
    ids: tuple[int, ...]
    pixels: tuple[int, ...]
    #: The connected components of each id (a scan with --geometry), else None.
    components: tuple[int, ...] | None = None
    #: A volume's geometry (VOLUME_KEYS: shape, spacing in mm, exact voxel volume), else None.
    volume: dict[str, Any] | None = None
    #: The patch of the file these counts are of (a scan with --patch), else None.
    window: Window | None = None
    #: Where a raster lies (GEO_KEYS: geotransform, crs), when its decoder says, else None.
    geo: dict[str, Any] | None = None

    @property
    def key(self) -> tuple[str, Window | None]:
        """What names one line: the file, and the patch of it."""
        return self.image, self.window

    @property
    def shown(self) -> str:
        """The file, with the patch when there is one (for messages)."""
        return self.image if self.window is None else f"{self.image} ({self.window.label()})"


#: What a volume's line adds: its shape as stored, its spacing (mm per axis) and the exact
#: volume of one voxel in mm^3 as a fraction ('3/4'); 2D images have none of them.
VOLUME_KEYS = ("shape", "spacing", "voxel_mm3")
#: Where a raster lies, as its decoder reads it (LabelHeader.details): GDAL's geotransform
#: (x0, pixel width, row rotation, y0, column rotation, pixel height) and the CRS as text.
GEO_KEYS = ("geotransform", "crs")


def geo_fields(header: LabelHeader | None) -> dict[str, Any] | None:
    """A raster's geotransform and CRS from its header's details, None when unknown."""
    if header is None:
        return None
    found = {key: header.details[key] for key in GEO_KEYS if key in header.details}
    if "geotransform" in found:
        found["geotransform"] = [float(v) for v in found["geotransform"]]
    return found or None


def volume_fields(header: LabelHeader | None) -> dict[str, Any] | None:
    """The per-image fields of a volume's header (None for a 2D image)."""
    if header is None or not header.is_volume:
        return None
    fields: dict[str, Any] = {"shape": list(header.shape)}
    if header.spacing is not None:
        fields["spacing"] = list(header.spacing)
    if header.voxel_volume is not None:
        fields["voxel_mm3"] = str(header.voxel_volume)
    return fields


def image_line(
    image: str,
    ids: Iterable[int],
    pixels: Iterable[int],
    components: Iterable[int] | None = None,
    volume: dict[str, Any] | None = None,
    window: Window | None = None,
    geo: dict[str, Any] | None = None,
) -> str:
    """One image (or patch) as a JSON line (compact; ids sorted, zero counts left out)."""
    ids, pixels = list(ids), list(pixels)
    shapes = [0] * len(ids) if components is None else list(components)
    rows = sorted(
        (int(i), int(n), int(c)) for i, n, c in zip(ids, pixels, shapes, strict=True) if int(n) > 0
    )
    record: dict[str, Any] = {"image": image}
    if window is not None:
        record["window"] = window.record()
    record |= {
        "ids": [i for i, _, _ in rows],
        "pixels": [n for _, n, _ in rows],
    }
    if components is not None:
        record["components"] = [c for _, _, c in rows]
    if volume:
        record.update((key, volume[key]) for key in VOLUME_KEYS if key in volume)
    if geo:
        record.update((key, geo[key]) for key in GEO_KEYS if key in geo)
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False) + "\n"


def header_line(label_mapping: dict[str, Any], patch: dict[str, int] | None = None) -> str:
    """The header: format version, the label mapping the ids were read with, and the patch
    grid (size, stride) when the lines are patches."""
    record: dict[str, Any] = {HEADER_KEY: VERSION, "label_mapping": label_mapping}
    if patch is not None:
        record["patch"] = patch
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False) + "\n"


class PerImageWriter:
    """Streams image lines to a temporary file beside ``path``; renamed into place on success.

    Memory stays flat (one line at a time); a failed or interrupted scan leaves no file.
    """

    def __init__(
        self,
        path: Path,
        label_mapping: dict[str, Any] | None,
        *,
        direct: bool = False,
        patch: dict[str, int] | None = None,
    ) -> None:
        """Open the temporary file; write the header unless ``label_mapping`` is None.

        ``direct``: ``path`` is a device or FIFO (show/output.py's output_target says so),
        written through, never replaced by a file; ``path`` must be a link's final target.
        """
        self.path = path
        self.images = 0
        self._temporary = path if direct else path.with_name(f".{path.name}.{os.getpid()}.tmp")
        self._direct = direct
        # A file name that is not UTF-8 (a lone surrogate in Python) is written as the JSON
        # escape \udcff, as every other output writes it, and reads back as the same name.
        self._file: IO[str] = self._temporary.open("w", encoding="utf-8", errors="backslashreplace")
        if label_mapping is not None:
            self._file.write(header_line(label_mapping, patch))

    def write_line(self, line: str) -> None:
        """Write a line made by ``header_line`` or ``image_line``."""
        try:
            self._file.write(line)
        except OSError as failed:  # name the per-image file (an error without one means stdout)
            raise OSError(failed.errno, failed.strerror, str(self.path)) from failed

    def add(
        self,
        image: str,
        ids: Int64Array,
        pixels: Int64Array,
        components: Int64Array | None = None,
        header: LabelHeader | None = None,
    ) -> None:
        """Write one image's line (with its components per id when measured, and a
        volume's shape and spacing)."""
        shapes = None if components is None else components.tolist()
        line = image_line(image, ids.tolist(), pixels.tolist(), shapes, volume_fields(header))
        self.write_line(line)
        self.images += 1

    def add_patches(
        self,
        image: str,
        patches: Iterable[tuple[Window, Int64Array, Int64Array]],
        header: LabelHeader | None,
    ) -> None:
        """Write one line per patch of a file (its window, ids and pixels)."""
        volume, geo = volume_fields(header), geo_fields(header)
        for window, ids, pixels in patches:
            self.write_line(
                image_line(image, ids.tolist(), pixels.tolist(), None, volume, window, geo)
            )
            self.images += 1

    def __enter__(self) -> PerImageWriter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            self._file.close()  # a full disk or device fails here
        except OSError as failed:
            if not self._direct:
                self._temporary.unlink(missing_ok=True)
            if kind is None:  # name the per-image file (an error without one means stdout)
                raise OSError(failed.errno, failed.strerror, str(self.path)) from failed
            return
        if self._direct:
            return
        if kind is None:
            self._temporary.replace(self.path)
        else:
            self._temporary.unlink(missing_ok=True)


def _ints(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(v, int) and not isinstance(v, bool) for v in value
    )


def _open(path: Path | str) -> IO[bytes]:
    """A local file, or a URL through fsspec (named without its secrets)."""
    from ..read.base.urls import is_url

    if is_url(path):
        assert isinstance(path, str)
        from ..errors import MfbError
        from ..read.sources.remote import open_url, reason

        try:
            # Read a bounded chunk at a time, through a buffered reader (read/sources/remote.py):
            # every line read is bounded (MAX_LINE_BYTES), as a local file's readline is.
            return open_url(path)  # type: ignore[return-value]
        except MfbError as error:
            raise PerImageError(str(error)) from error
        except Exception as error:  # each backend raises its own types
            raise PerImageError(
                f"{shown_path(path)}: cannot read ({reason(error, path)})"
            ) from error
    try:
        return Path(path).open("rb")
    except OSError as error:
        raise PerImageError(f"{path}: cannot read ({error.strerror or error})") from error


def _why(error: Exception, path: Path | str) -> str:
    """A read error in a few words: a remote one as read/sources/remote.py says it."""
    from ..read.base.urls import is_url

    if not is_url(path):
        return type(error).__name__
    from ..read.sources.remote import reason

    return reason(error, str(path))


#: No patch grid: the lines are whole images.
WHOLE_IMAGES: dict[str, int] = {}


def read_per_image(
    path: Path | str,
) -> Iterator[tuple[dict[str, Any], ImageCounts | None, str, dict[str, int]]]:
    """Yield ``(label_mapping, image, where, patch)`` per line; ``image`` is None on a
    header line, ``where`` names the file and line (``images.jsonl:7``) for messages about
    it, ``patch`` the header's patch grid (size, stride; WHOLE_IMAGES when none)."""
    mapping: dict[str, Any] | None = None
    patch: dict[str, int] | None = None
    handle = _open(path)
    with handle:
        for number in itertools.count(1):
            where = f"{shown_path(path)}:{number}"
            try:
                raw = handle.readline(MAX_LINE_BYTES + 1)
            except Exception as error:  # a local OSError, or a backend's own error type
                raise PerImageError(f"{where}: cannot read ({_why(error, path)})") from error
            if not raw:
                break
            if len(raw) > MAX_LINE_BYTES:
                raise PerImageError(
                    f"{where}: a line longer than {MAX_LINE_BYTES} bytes; not a per-image file"
                )
            if not raw.strip():
                continue
            try:
                record = json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError as error:
                raise PerImageError(f"{where}: not UTF-8 text") from error
            except ValueError as error:
                raise PerImageError(f"{where}: not JSON ({error})") from error
            if not isinstance(record, dict):
                raise PerImageError(f"{where}: expected a JSON object per line")
            if HEADER_KEY in record:
                if record[HEADER_KEY] != VERSION:
                    raise PerImageError(f"{where}: unknown per-image format {record[HEADER_KEY]}")
                found = record.get("label_mapping", {})
                if not isinstance(found, dict):
                    raise PerImageError(f"{where}: label_mapping must be an object")
                if mapping is not None and not _same(mapping, found):
                    raise PerImageError(
                        f"{where}: a shard read with a different label mapping; "
                        "concatenate only shards scanned with the same options"
                    )
                grid = _patch(record.get("patch"), where)
                if patch is not None and grid != patch:
                    raise PerImageError(
                        f"{where}: a shard with a different patch grid ({_grid_text(grid)} "
                        f"after {_grid_text(patch)})"
                    )
                mapping, patch = found, grid
                yield mapping, None, where, patch
                continue
            if mapping is None:
                raise PerImageError(
                    f"{where}: no header line; is this a file 'mfb scan --per-image' wrote?"
                )
            assert patch is not None
            image = _image(record, where)
            if (image.window is None) != (not patch):
                raise PerImageError(
                    f"{where}: "
                    + (
                        "a patch line in a file of whole images"
                        if not patch
                        else "no 'window' in a file of patches"
                    )
                )
            yield mapping, image, where, patch


def _patch(found: object, where: str) -> dict[str, int]:
    """A header's patch grid, checked (WHOLE_IMAGES without one)."""
    if found is None:
        return WHOLE_IMAGES
    if not (
        isinstance(found, dict) and all(_positive(found.get(key)) for key in ("size", "stride"))
    ):
        raise PerImageError(f"{where}: 'patch' must hold a positive size and stride")
    return {"size": found["size"], "stride": found["stride"]}


def _positive(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _grid_text(grid: dict[str, int]) -> str:
    return f"patches {grid['size']},{grid['stride']}" if grid else "whole images"


def concatenated_lines(paths: Sequence[Path | str]) -> Iterator[str]:
    """The shards as one file: one header, then every image line, each line checked.

    Shards read with different label mappings are refused; memory stays flat.
    """
    mapping: dict[str, Any] | None = None
    patches: dict[str, int] | None = None
    for path in paths:
        for found, image, _, grid in read_per_image(path):
            _agree(path, mapping, found, patches, grid)
            if image is None:
                if mapping is None:
                    yield header_line(found, grid or None)
                mapping, patches = found, grid
            else:
                yield image_line(
                    image.image,
                    image.ids,
                    image.pixels,
                    image.components,
                    image.volume,
                    image.window,
                    image.geo,
                )


def _agree(
    path: Path | str,
    mapping: dict[str, Any] | None,
    found: dict[str, Any],
    patches: dict[str, int] | None,
    grid: dict[str, int],
) -> None:
    """Refuse a shard whose ids mean something else, or that holds another patch grid."""
    if mapping is not None and not _same(mapping, found):
        raise PerImageError(
            f"{shown_path(path)}: read with a different label mapping than the files before it"
        )
    if patches is not None and patches != grid:
        raise PerImageError(
            f"{shown_path(path)}: holds {_grid_text(grid)}, the files before it "
            f"{_grid_text(patches)}"
        )


def _same(first: dict[str, Any], second: dict[str, Any]) -> bool:
    from ..read.labels.class_sets import same_mapping

    return first == second or same_mapping(first, second)


def _image(record: dict[str, Any], where: str) -> ImageCounts:
    image, ids, pixels = record.get("image"), record.get("ids"), record.get("pixels")
    if not isinstance(image, str):
        raise PerImageError(f"{where}: 'image' must be a string")
    if not _ints(ids) or not _ints(pixels):
        raise PerImageError(f"{where}: 'ids' and 'pixels' must be lists of integers")
    assert isinstance(ids, list) and isinstance(pixels, list)
    if len(ids) != len(pixels):
        raise PerImageError(f"{where}: 'ids' and 'pixels' differ in length")
    if any(b <= a for a, b in itertools.pairwise(ids)):
        raise PerImageError(f"{where}: 'ids' must be sorted and distinct")
    if any(n <= 0 for n in pixels):
        raise PerImageError(f"{where}: pixel counts must be positive")
    if any(n > MAX_COUNT for n in pixels) or any(not -MAX_COUNT - 1 <= i <= MAX_COUNT for i in ids):
        raise PerImageError(f"{where}: a count or id is outside what mfb counts (signed 64 bits)")
    volume = _volume(record, where)
    window, geo = _window(record, where), _geo(record, where)
    if "components" not in record:
        return ImageCounts(image, tuple(ids), tuple(pixels), None, volume, window, geo)
    components = record["components"]
    if not _ints(components) or len(components) != len(ids):
        raise PerImageError(f"{where}: 'components' must be a list of integers, one per id")
    if any(not 1 <= c <= n for c, n in zip(components, pixels, strict=True)):
        raise PerImageError(f"{where}: an id has no component, or more than its pixels")
    return ImageCounts(image, tuple(ids), tuple(pixels), tuple(components), volume, window, geo)


def _window(record: dict[str, Any], where: str) -> Window | None:
    """A patch line's window, checked (None for a whole image)."""
    found = record.get("window")
    if found is None:
        return None
    keys = ("row", "col", "height", "width")
    if not isinstance(found, dict) or set(found) - {"slice", *keys}:
        raise PerImageError(f"{where}: 'window' must hold row, col, height, width (and slice)")
    values = [found.get(key) for key in keys]
    index = found.get("slice")
    if not _ints(values) or (index is not None and not _ints([index])):
        raise PerImageError(f"{where}: 'window' must hold integers")
    row, col, height, width = (int(v) for v in values)  # type: ignore[arg-type]
    if min(row, col) < 0 or min(height, width) < 1 or (index is not None and index < 0):
        raise PerImageError(f"{where}: 'window' must start at 0 or more and hold a pixel")
    return Window(index, row, col, height, width)


def _geo(record: dict[str, Any], where: str) -> dict[str, Any] | None:
    """A raster line's geotransform and CRS, checked (None when the line has neither)."""
    found = {key: record[key] for key in GEO_KEYS if key in record}
    if not found:
        return None
    transform = found.get("geotransform")
    if transform is not None and not (
        isinstance(transform, list)
        and len(transform) == 6
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in transform)
    ):
        raise PerImageError(f"{where}: 'geotransform' must be GDAL's six numbers")
    if "crs" in found and not isinstance(found["crs"], str):
        raise PerImageError(f"{where}: 'crs' must be a string")
    return found


def _volume(record: dict[str, Any], where: str) -> dict[str, Any] | None:
    """A volume line's geometry, checked (None for an image line)."""
    found = {key: record[key] for key in VOLUME_KEYS if key in record}
    if not found:
        return None
    shape, spacing, volume = found.get("shape"), found.get("spacing"), found.get("voxel_mm3")
    if shape is not None and not (_ints(shape) and all(n >= 0 for n in shape)):
        raise PerImageError(f"{where}: 'shape' must be a list of sizes")
    if spacing is not None and not (
        isinstance(spacing, list)
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in spacing)
    ):
        raise PerImageError(f"{where}: 'spacing' must be a list of numbers")
    if volume is not None:
        from fractions import Fraction

        try:
            if not isinstance(volume, str) or Fraction(volume) <= 0:
                raise ValueError(volume)
        except (ValueError, ZeroDivisionError) as error:
            raise PerImageError(f"{where}: 'voxel_mm3' must be a positive fraction") from error
    return found


@dataclass(frozen=True)
class PerImageStats:
    """The images of one or more per-image files, their total counts and label mapping."""

    images: tuple[ImageCounts, ...]
    counts: ClassCounts
    label_mapping: dict[str, Any]
    warnings: tuple[str, ...] = ()
    #: The patch grid (size, stride) when the lines are patches, else None.
    patch: dict[str, int] | None = None


def load_per_image(paths: Sequence[Path | str]) -> PerImageStats:
    """Read per-image files (shards in the order given) into images and their totals."""
    import numpy as np

    images: list[ImageCounts] = []
    accumulator = CountsAccumulator()
    mapping: dict[str, Any] | None = None
    patches: dict[str, int] | None = None
    for path in paths:
        for found, image, where, grid in read_per_image(path):
            _agree(path, mapping, found, patches, grid)
            mapping, patches = found, grid
            if image is not None:
                images.append(image)
                try:
                    accumulator.add(
                        np.asarray(image.ids, dtype=np.int64), np.asarray(image.pixels, np.int64)
                    )
                except MfbError as error:  # past the distinct-id limit: at this line
                    raise PerImageError(f"{where}: {image.shown}: ", *error.parts) from error
    if not images:
        raise PerImageError(f"{', '.join(shown_path(p) for p in paths)}: no image lines")
    warnings = repeated_images(images)
    counts = replace(accumulator.result(), warnings=warnings)  # travel into every result
    return PerImageStats(tuple(images), counts, mapping or {}, warnings, patches or None)


def repeated_images(images: Sequence[ImageCounts]) -> tuple[str, ...]:
    """A warning when an image is listed twice (one shard concatenated twice?)."""
    seen: set[tuple[str, Window | None]] = set()
    repeated: list[str] = []
    for one in images:
        if one.key in seen:
            repeated.append(one.shown)
        seen.add(one.key)
    if not repeated:
        return ()
    return (
        f"{len(repeated)} images are listed more than once (first: {repeated[0]}): one shard "
        "given twice? They count (and are drawn) once per line",
    )
