"""Statistics files: ClassCounts as plain JSON data, so a dataset is scanned once.

A statistics file holds the raw counts of a scan (no void/ignore choice is made yet), what
was scanned, and what the ids mean (``label_mapping``). Integers are exact. Loading checks
every invariant a scan guarantees, so a damaged or hand-edited file is refused with one
line naming it instead of producing wrong weights later.

The co-occurrence table is stored as ``[c, d, n]`` rows for its non-zero entries while it
is small, and past that as parallel lists or a whole matrix, whichever the share of
non-zero entries makes shorter (count/cooc_record.py); it is read and checked as one array.

The file list is summarised by an order-independent digest: the sum modulo 2**256 of the
SHA-256 of each path (as scanned, POSIX form). The digest of a merge is the sum of the
parts' digests, so merging the files of disjoint shards gives exactly the file of one scan
of their union. Equal digests mean equal file lists (not a security feature).
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._version import __version__
from ..errors import MfbError
from ..read.base.urls import named
from ..read.sources.textfiles import (
    INT64_MAX,
    INT64_MIN,
    MAX_STATS_BYTES,
    parse_structured,
    read_text,
    short,
)
from .cooc_record import DEFINITIONS as COOC_DEFINITIONS
from .cooc_record import VERSIONS as COOC_VERSIONS
from .cooc_record import CoocRecordError, cooc_from_value, cooc_layout, cooc_value
from .counts import MAX_DISTINCT_IDS, ClassCounts

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from ..read.sources.archives import LabelSource

#: Newest layout this mfb reads and writes; files from newer versions are refused. A file
#: says the oldest version that reads it: 1 unless its co-occurrence is pairs or a matrix.
FORMAT_VERSION = 2
#: The value of ``format`` that marks a statistics file (and not, say, a weights file).
FORMAT_NAME = "mfb-stats"
_DIGEST_PREFIX = "sha256-sum:"
_MODULUS = 1 << 256

DEFINITIONS = {
    "pixels": "pixels[i]: pixels with label ids[i], over all images",
    "images": "images[i]: images containing ids[i]",
    "cooc": COOC_DEFINITIONS["rows"],
    "files_digest": "sum modulo 2**256 of sha256(path) over the files scanned: equal for "
    "equal file lists, additive under mfb merge",
}


def files_digest(paths: Iterable[LabelSource | str]) -> str:
    """Order-independent digest of a list of file paths; additive over disjoint lists.

    Archive members count as 'archive:member', as the output names them. Paths are hashed
    as the file system's bytes (os.fsencode: UTF-8 for every valid name, and the original
    bytes of a name that is not UTF-8), so any name on disk has a digest.
    """
    total = 0
    for path in paths:
        text = path.as_posix() if isinstance(path, Path) else str(path)
        total += int.from_bytes(hashlib.sha256(_path_bytes(text)).digest(), "big")
    return _format_digest(total % _MODULUS)


def _path_bytes(text: str) -> bytes:
    import os

    try:
        return os.fsencode(text)
    except UnicodeEncodeError:  # a lone surrogate that no file system name decodes to
        return text.encode("utf-8", "surrogatepass")


def _format_digest(value: int) -> str:
    return f"{_DIGEST_PREFIX}{value:064x}"


@dataclass(frozen=True)
class StatsFile:
    """The content of a statistics file: counts plus where they come from."""

    counts: ClassCounts
    files: int
    files_digest: str
    source: dict[str, Any] = field(default_factory=dict)
    label_mapping: dict[str, Any] = field(default_factory=dict)


def stats_record(stats: StatsFile) -> dict[str, Any]:
    """The statistics as plain data (exact integers), ready for ``formats.to_json``."""
    counts = stats.counts
    ids = counts.ids.tolist()
    layout = cooc_layout(counts.cooc)
    record = {
        "format": FORMAT_NAME,
        "format_version": COOC_VERSIONS[layout],
        "mfb_version": __version__,
        "label_mapping": dict(stats.label_mapping),
        "num_images": counts.num_images,
        "total_pixels": counts.total_pixels,
        **_count_unit(counts),
        "files": stats.files,
        "files_digest": stats.files_digest,
        "ids": ids,
        "pixels": counts.pixels.tolist(),
        "images": counts.images.tolist(),
        "cooc": cooc_value(ids, counts.cooc, layout),
    }
    if counts.geometry is not None:
        from .geometry_counts import stats_geometry_record

        record["geometry"] = stats_geometry_record(counts.geometry)
    record.update(
        source=dict(stats.source),
        warnings=list(counts.warnings),
        definitions={**DEFINITIONS, "cooc": COOC_DEFINITIONS[layout]},
    )
    return record


def _count_unit(counts: ClassCounts) -> dict[str, Any]:
    """For physical counts (--count physical): what pixels and cooc count, exactly."""
    if counts.unit is None:
        return {}
    return {"count": "physical", "count_unit_mm3": str(counts.unit)}


def load_stats(path: Path | str) -> StatsFile:
    """Read and validate a statistics file, or raise MfbError naming it and the problem."""
    text = read_text(path, "statistics", MAX_STATS_BYTES)
    path = named(path)
    try:
        data = parse_structured(text, ".json")
    except ValueError as error:
        raise MfbError(f"{path}: {error}") from None
    try:
        return stats_from_record(data)
    except _Invalid as error:
        line = _line_of(text, error.key) if error.key else None
        raise MfbError(f"{path}:{line}: {error}" if line else f"{path}: {error}") from None


class _Invalid(Exception):
    """A problem in a statistics record; load_stats prefixes the file name, and the line
    of ``key`` when the problem lies in one value."""

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


def _line_of(text: str, key: str) -> int | None:
    """The line (1-based) where the file's top-level ``key`` first appears, if it does."""
    found = text.find(f'"{key}":')
    return text.count("\n", 0, found) + 1 if found >= 0 else None


def stats_from_record(data: Any) -> StatsFile:
    """Validate a parsed statistics record (raises _Invalid, wrapped by load_stats)."""
    if not isinstance(data, dict) or data.get("format") != FORMAT_NAME:
        raise _Invalid("not an mfb statistics file (write one with: mfb scan PATH... -o FILE)")
    version = data.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise _Invalid(f"invalid format_version {version!r}")
    if version > FORMAT_VERSION:
        raise _Invalid(
            f"statistics format version {version} is newer than this mfb reads "
            f"({FORMAT_VERSION}); upgrade mfb (pip install -U mfb-cli)"
        )
    unit = _unit(data)
    num_images = _count(data, "num_images")
    total_pixels = _count(data, "total_pixels", bounded=unit is None)
    files = _count(data, "files")
    digest = data.get("files_digest")
    if not (
        isinstance(digest, str)
        and digest.startswith(_DIGEST_PREFIX)
        and len(digest) == len(_DIGEST_PREFIX) + 64
        and all(ch in "0123456789abcdef" for ch in digest[len(_DIGEST_PREFIX) :])
    ):
        raise _Invalid(f"'files_digest' is not a {_DIGEST_PREFIX} digest")
    for key in ("label_mapping", "source"):
        if not isinstance(data.get(key), dict):
            raise _Invalid(f"'{key}' must be an object")

    ids = _int_list(data, "ids")
    if len(ids) > MAX_DISTINCT_IDS:  # a scan never writes more; the dense table would not fit
        raise _Invalid(
            f"{len(ids)} label ids, more than a scan keeps ({MAX_DISTINCT_IDS} distinct label "
            "values)",
            key="ids",
        )
    pixels = _int_list(data, "pixels")
    images = _int_list(data, "images")
    if any(b <= a for a, b in itertools.pairwise(ids)):
        raise _Invalid("'ids' must be sorted and distinct")
    for key, values in (("pixels", pixels), ("images", images)):
        if len(values) != len(ids):
            raise _Invalid(f"'{key}' has {len(values)} entries for {len(ids)} ids")
        if any(v < 0 for v in values):
            raise _Invalid(f"negative count in '{key}'")
        if any(v > INT64_MAX for v in values) and (unit is None or key == "images"):
            raise _Invalid(f"a count in '{key}' is more than mfb counts (2**63 - 1)")
    if any(not INT64_MIN <= i <= INT64_MAX for i in ids):
        raise _Invalid("an id in 'ids' does not fit a 64-bit label")
    for label, n, k in zip(ids, pixels, images, strict=True):
        if not 1 <= k <= min(n, num_images):
            raise _Invalid(
                f"id {label}: {k} images for {n} pixels and {num_images} images is impossible"
            )
    if sum(pixels) != total_pixels:
        raise _Invalid(
            f"'total_pixels' {short(total_pixels)} is not the sum of 'pixels' {short(sum(pixels))}"
        )

    if num_images > files:
        raise _Invalid(f"'num_images' {num_images} is more than the {files} 'files' scanned")
    try:
        cooc = cooc_from_value(data.get("cooc"), ids, pixels, exact=unit is not None)
    except CoocRecordError as error:
        raise _Invalid(str(error)) from None
    _check_presence(cooc, ids, pixels, images, num_images)
    warnings = data.get("warnings", [])  # absent from files written before mfb kept them
    if not isinstance(warnings, list) or not all(isinstance(w, str) for w in warnings):
        raise _Invalid("'warnings' must be a list of strings")
    geometry = None
    if "geometry" in data:  # written by 'mfb scan --geometry' only
        from .geometry_counts import GeometryRecordError, geometry_from_record

        try:
            geometry = geometry_from_record(data["geometry"], ids, pixels, images, num_images)
        except GeometryRecordError as error:
            raise _Invalid(str(error)) from None
    counts = ClassCounts(
        ids=np.asarray(ids, dtype=np.int64).reshape(-1),
        pixels=_array(pixels, exact=unit is not None),
        images=np.asarray(images, dtype=np.int64).reshape(-1),
        cooc=cooc,
        num_images=num_images,
        warnings=tuple(warnings),
        geometry=geometry,
        unit=unit,
    )
    return StatsFile(counts, files, digest, dict(data["source"]), dict(data["label_mapping"]))


def _unit(data: Mapping[str, Any]) -> Fraction | None:
    """The unit (mm^3) of physical counts, None for voxel counts."""
    if data.get("count", "voxels") == "voxels" and "count_unit_mm3" not in data:
        return None
    text = data.get("count_unit_mm3")
    try:
        if data.get("count") != "physical" or not isinstance(text, str):
            raise ValueError(text)
        unit = Fraction(text)
    except (ValueError, ZeroDivisionError):
        raise _Invalid("'count' physical needs 'count_unit_mm3' as a fraction ('1/1024')") from None
    if unit <= 0 or unit.numerator != 1:
        raise _Invalid(f"'count_unit_mm3' {text!r} is not 1/D mm^3")
    return unit


def _array(values: list[int], *, exact: bool) -> np.ndarray[Any, Any]:
    """int64, or (physical counts) Python integers of any size."""
    if not exact:
        return np.asarray(values, dtype=np.int64).reshape(-1)
    array = np.zeros(len(values), dtype=object)
    array[:] = values
    return array


def _check_presence(
    table: np.ndarray[Any, Any], ids: list[int], pixels: list[int], images: list[int], n: int
) -> None:
    """Refuse co-occurrence counts that the image counts make impossible.

    An id in every image shares an image with every pixel, so its row must be 'pixels'; an
    id whose every pixel lies in images of another is in no more images than that one; two
    ids in more images together than there are images share at least one. A hand-edited
    file breaking either would give median-frequency weights from invented image sizes.
    """
    present = np.asarray(images, dtype=np.int64)
    everywhere = np.flatnonzero(present == n)
    expected = _array(pixels, exact=table.dtype == object)
    for row in everywhere[(table[everywhere] != expected).any(axis=1)][:1]:
        raise _Invalid(
            f"'cooc' row of id {ids[row]} is not 'pixels', though id {ids[row]} is in all {n} "
            "images (every pixel shares an image with it)"
        )
    # All of d's pixels in images holding c puts every image of d among those of c.
    inside = (table == expected[None, :]) & (present[None, :] > present[:, None])
    for c, d in np.argwhere(inside)[:1]:
        raise _Invalid(
            f"'cooc' puts all {pixels[d]} pixels of id {ids[d]} in the {images[c]} images of "
            f"id {ids[c]}, but id {ids[d]} is in {images[d]} images"
        )
    overlap = (present[:, None] + present[None, :] > n) & (table == 0)
    for c, d in np.argwhere(overlap)[:1]:
        raise _Invalid(
            f"'cooc' has no row for ids {ids[c]} and {ids[d]}, which are in {images[c]} and "
            f"{images[d]} of {n} images, so share at least one"
        )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _count(data: Mapping[str, Any], key: str, *, bounded: bool = True) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Invalid(f"'{key}' must be an integer, not {value!r}")
    if value < 0:
        raise _Invalid(f"negative count in '{key}'")
    if value > INT64_MAX and bounded:
        raise _Invalid(f"'{key}' {short(value)} is more than mfb counts (2**63 - 1)")
    return value


def _int_list(data: Mapping[str, Any], key: str) -> list[int]:
    values = data.get(key)
    if not isinstance(values, list) or not all(_is_int(v) for v in values):
        raise _Invalid(f"'{key}' must be a list of integers")
    return list(values)


def merge_stats(parts: Sequence[tuple[str, StatsFile]]) -> StatsFile:
    """The statistics of the union of disjoint shards, each given with its file name.

    Counts, files and digests add up. Sources combine key by key: lists (``paths``,
    ``skipped_files``) are concatenated in argument order, integers (``files``) summed, any
    other value kept when every part agrees and otherwise listed as the distinct values in
    order. Parts whose ids mean different things (different ``label_mapping``) are refused.
    """
    if not parts:
        raise MfbError("nothing to merge")
    from ..read.labels.class_sets import same_mapping

    first_name, first = parts[0]
    for name, part in parts[1:]:
        if not same_mapping(part.label_mapping, first.label_mapping):
            raise MfbError(
                f"{name}: its label mapping differs from {first_name}'s, so the same id means "
                "different classes; merge only statistics scanned with the same colour map "
                "and remap"
            )
    files = sum(part.files for _, part in parts)
    if files > INT64_MAX:  # each part's is checked on loading; so is their sum
        raise MfbError(f"the files add up to {files}, more than mfb counts exactly (2**63 - 1)")
    counts = ClassCounts.empty()
    digest = 0
    for name, part in parts:
        try:
            counts = counts + part.counts
        except MfbError as error:
            raise MfbError(f"{name}: added to the shards before it: {error}") from error
        digest += int(part.files_digest[len(_DIGEST_PREFIX) :], 16)
    return StatsFile(
        counts=counts,
        files=files,
        files_digest=_format_digest(digest % _MODULUS),
        source=_merge_sources([part.source for _, part in parts]),
        label_mapping=dict(first.label_mapping),
    )


def _merge_sources(sources: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for key in dict.fromkeys(k for source in sources for k in source):
        values = [source[key] for source in sources if key in source]
        if all(isinstance(v, list) for v in values):
            merged[key] = [item for value in values for item in value]
        elif all(_is_int(v) for v in values):
            merged[key] = sum(values)
        elif all(v == values[0] for v in values) and len(values) == len(sources):
            merged[key] = values[0]
        else:
            distinct: list[Any] = []
            for value in values:
                if value not in distinct:
                    distinct.append(value)
            merged[key] = distinct
    return merged


def repeated_shards(parts: Sequence[tuple[str, StatsFile]]) -> list[tuple[str, str]]:
    """Pairs of parts with the same file-list digest: probably one shard given twice."""
    first_with: dict[str, str] = {}
    pairs: list[tuple[str, str]] = []
    for name, part in parts:
        if part.files_digest in first_with:
            pairs.append((first_with[part.files_digest], name))
        else:
            first_with[part.files_digest] = name
    return pairs
