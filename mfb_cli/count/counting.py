"""Count labels: one histogram per image, accumulated into a mergeable ClassCounts.

Counting never needs to know which ids are void or ignored. Besides per-id pixel and image
counts it keeps the co-occurrence totals ``cooc[c, d]`` (pixels of d summed over the images
that contain c), from which the exact median-frequency denominator follows for any choice
of void/ignore ids, so one scan serves every convention.
"""

from __future__ import annotations

import functools
import os
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
from PIL import Image

from ..errors import BadMaskError, LabelRangeError, MfbError, NoMasksFoundError
from ..read.archives import ArchiveReader, LabelSource, MemberBytes, decode_member
from ..read.decode import (
    AUTO_FAST_MIN_FILES,
    READ_NOTES,
    RawLabels,
    ReadOptions,
    map_histogram,
    mask_array,
    read_raw,
)

Int64Array = npt.NDArray[np.int64]

#: Beyond this many distinct values a file is not a semantic label map (instance ids,
#: a continuous raster) and the co-occurrence table would no longer fit in memory.
MAX_DISTINCT_IDS = 4096

# Spans up to this size are counted with one bincount; wider ones with np.unique.
_BINCOUNT_SPAN = 1 << 20

# From this many pixels on, uint8 labels are counted in pairs (see _bincount_uint8_pairs).
_PAIR_BINCOUNT_MIN = 1 << 16

# OpenCV returns float32 bins: exact while every count is below 2**24.
_CALCHIST_MAX_PIXELS = 1 << 24


@dataclass(frozen=True, eq=False)
class ClassCounts:
    """Pixel, image and co-occurrence counts of a set of label images, keyed by label id.

    ``ids`` are the sorted distinct label values seen; the other arrays are aligned with them.
    Adding two ClassCounts gives the counts of the union of their images. ``warnings`` are
    what the scan found worth telling (files skipped, colour maps that could not apply);
    they travel with the counts into every result, and do not take part in equality.
    """

    ids: Int64Array
    pixels: Int64Array
    images: Int64Array
    cooc: Int64Array
    num_images: int
    warnings: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def empty(cls) -> ClassCounts:
        none = np.zeros(0, dtype=np.int64)
        return cls(none, none, none, np.zeros((0, 0), dtype=np.int64), 0)

    @classmethod
    def from_histogram(cls, ids: Int64Array, counts: Int64Array) -> ClassCounts:
        """The counts of one image whose present ids and pixel counts are given."""
        ids = np.asarray(ids, dtype=np.int64)
        counts = np.asarray(counts, dtype=np.int64)
        keep = counts > 0
        ids, counts = ids[keep], counts[keep]
        order = np.argsort(ids)
        ids, counts = ids[order], counts[order]
        cooc = np.broadcast_to(counts, (len(ids), len(ids))).copy()
        return cls(ids, counts, np.ones(len(ids), dtype=np.int64), cooc, 1)

    @property
    def total_pixels(self) -> int:
        return sum(self.pixels.tolist())  # exact: a numpy sum would wrap past 2**63

    def __add__(self, other: ClassCounts) -> ClassCounts:
        # Every count is at most the total pixels (or images): checking the two totals
        # keeps every sum below exact in int64, so a merge never wraps to a negative count.
        for mine, theirs, what in (
            (self.total_pixels, other.total_pixels, "pixels"),
            (self.num_images, other.num_images, "images"),
        ):
            if mine + theirs > _MAX_COUNT:
                raise MfbError(
                    f"the counts add up to {mine + theirs} {what}, more than mfb counts "
                    f"exactly (2**63 - 1)"
                )
        ids = np.union1d(self.ids, other.ids).astype(np.int64)
        size = len(ids)
        pixels = np.zeros(size, dtype=np.int64)
        images = np.zeros(size, dtype=np.int64)
        cooc = np.zeros((size, size), dtype=np.int64)
        for part in (self, other):
            where = np.searchsorted(ids, part.ids)
            pixels[where] += part.pixels
            images[where] += part.images
            cooc[np.ix_(where, where)] += part.cooc
        warnings = tuple(dict.fromkeys((*self.warnings, *other.warnings)))
        return ClassCounts(ids, pixels, images, cooc, self.num_images + other.num_images, warnings)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ClassCounts):
            return NotImplemented
        return (
            self.num_images == other.num_images
            and np.array_equal(self.ids, other.ids)
            and np.array_equal(self.pixels, other.pixels)
            and np.array_equal(self.images, other.images)
            and np.array_equal(self.cooc, other.cooc)
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"ClassCounts(ids={self.ids.tolist()}, pixels={self.pixels.tolist()}, "
            f"images={self.images.tolist()}, num_images={self.num_images})"
        )


# Totals past this would wrap in the int64 arrays ClassCounts keeps.
_MAX_COUNT = (1 << 63) - 1

# Distinct sets of present ids summed separately before CountsAccumulator flushes them.
_MAX_GROUPS = 1024


@dataclass
class _Group:
    """Running sums of the images whose present ids are the same set."""

    where: npt.NDArray[np.intp]
    pixels: Int64Array
    images: int = 0


class CountsAccumulator:
    """Adds per-image histograms in place: O(present) per image, co-occurrence at flush time.

    Images with the same set of present ids are summed into one group; each group adds
    its summed counts to the rows of its ids (O(present^2)) only when groups are flushed.
    """

    def __init__(self) -> None:
        self._index: dict[int, int] = {}
        self._ids: list[int] = []
        self._pixels = np.zeros(16, dtype=np.int64)
        self._images = np.zeros(16, dtype=np.int64)
        self._cooc = np.zeros((16, 16), dtype=np.int64)
        self.num_images = 0
        self._groups: dict[bytes, _Group] = {}

    def add(self, ids: Int64Array, counts: Int64Array) -> None:
        """Add one image given its present ids and their (non-zero) pixel counts."""
        key = np.asarray(ids, dtype=np.int64).tobytes()
        group = self._groups.get(key)
        if group is None:
            if len(self._groups) >= _MAX_GROUPS:
                self._flush()
            group = self._groups[key] = _Group(self._slots_of(ids), np.zeros(len(ids), np.int64))
        group.pixels += counts
        group.images += 1
        self.num_images += 1

    def _slots_of(self, ids: Int64Array) -> npt.NDArray[np.intp]:
        index = self._index
        new = [int(i) for i in ids.tolist() if i not in index]
        if new:
            self._register(new)
        return np.fromiter((index[i] for i in ids.tolist()), dtype=np.intp, count=len(ids))

    def _flush(self) -> None:
        for group in self._groups.values():
            where = group.where
            self._pixels[where] += group.pixels
            self._images[where] += group.images
            self._cooc[np.ix_(where, where)] += group.pixels
        self._groups.clear()

    def _register(self, new: list[int]) -> None:
        if len(self._ids) + len(new) > MAX_DISTINCT_IDS:
            raise MfbError(
                f"more than {MAX_DISTINCT_IDS} distinct label values: these are not semantic "
                "class ids (instance ids, a continuous raster, or colours read as values?)"
            )
        for value in new:
            self._index[value] = len(self._ids)
            self._ids.append(value)
        capacity = len(self._pixels)
        if len(self._ids) > capacity:
            grown = max(2 * capacity, len(self._ids))
            self._pixels = np.resize(self._pixels, grown)
            self._pixels[capacity:] = 0
            self._images = np.resize(self._images, grown)
            self._images[capacity:] = 0
            cooc = np.zeros((grown, grown), dtype=np.int64)
            cooc[:capacity, :capacity] = self._cooc
            self._cooc = cooc

    def result(self) -> ClassCounts:
        """The accumulated counts with ids sorted."""
        self._flush()
        size = len(self._ids)
        order = np.argsort(np.asarray(self._ids, dtype=np.int64), kind="stable")
        return ClassCounts(
            ids=np.asarray(self._ids, dtype=np.int64)[order],
            pixels=self._pixels[:size][order].copy(),
            images=self._images[:size][order].copy(),
            cooc=self._cooc[:size, :size][np.ix_(order, order)].copy(),
            num_images=self.num_images,
        )


def histogram_of_array(labels: npt.NDArray[np.integer]) -> tuple[Int64Array, Int64Array]:
    """Present ids and their pixel counts in an integer array, with one vectorised pass."""
    flat = labels.ravel()
    if flat.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    if flat.dtype == np.uint8 and flat.size >= _PAIR_BINCOUNT_MIN:
        counts = _bincount_uint8_pairs(flat)
        offset = 0
    elif flat.dtype.kind == "u" and flat.dtype.itemsize <= 2:
        counts = np.bincount(flat)
        offset = 0
    else:
        low, high = int(flat.min()), int(flat.max())
        if high - low >= _BINCOUNT_SPAN:
            ids, counts = np.unique(flat, return_counts=True)
            return ids.astype(np.int64), counts.astype(np.int64)
        counts = np.bincount((flat.astype(np.int64) - low) if low else flat)
        offset = low
    present = np.flatnonzero(counts)
    return (present + offset).astype(np.int64), counts[present].astype(np.int64)


def _bincount_uint8_pairs(flat: npt.NDArray[np.integer]) -> Int64Array:
    """np.bincount of a 1-D uint8 array, reading two pixels per element.

    np.bincount first casts its input to intp (8 bytes a pixel); viewing the bytes as
    uint16 halves that work, and the 256x256 table of pairs folds back into 256 bins.
    """
    even = flat.size - flat.size % 2
    pairs = np.bincount(flat[:even].view(np.uint16), minlength=1 << 16).reshape(256, 256)
    counts: Int64Array = (pairs.sum(axis=0) + pairs.sum(axis=1)).astype(np.int64)
    if even < flat.size:
        counts[flat[-1]] += 1
    return counts


@functools.cache
def _opencv() -> Any | None:
    """OpenCV, if installed: its calcHist counts 16-bit images without widening them."""
    try:
        import cv2
    except ImportError:
        return None
    return cv2


def histogram_fast(labels: npt.NDArray[np.integer]) -> tuple[Int64Array, Int64Array]:
    """Like histogram_of_array for the uint8/uint16 arrays of the fast decoder, counted in C.

    8-bit: Pillow's histogram over the array's own memory (no copy, GIL released). 16-bit:
    OpenCV's calcHist when installed, whose float32 bins are exact below 2**24 pixels.
    Anything else (or a 16-bit image without OpenCV) is counted by NumPy.
    """
    if type(labels) is not np.ndarray or labels.ndim != 2 or not labels.flags.c_contiguous:
        return histogram_of_array(labels)  # e.g. a memory-mapped .npy
    if labels.dtype == np.uint8:
        height, width = labels.shape
        image = Image.frombuffer("L", (width, height), labels, "raw", "L", 0, 1)
        counts = np.asarray(image.histogram(), dtype=np.int64)
        present = np.flatnonzero(counts)
        return present.astype(np.int64), counts[present]
    cv2 = _opencv()
    if cv2 is None or labels.dtype != np.uint16 or labels.size > _CALCHIST_MAX_PIXELS:
        return histogram_of_array(labels)
    floats: npt.NDArray[np.float32] = cv2.calcHist([labels], [0], None, [1 << 16], [0, 1 << 16])
    present = np.flatnonzero(floats.ravel())
    return present.astype(np.int64), floats.ravel()[present].astype(np.int64)


def histogram_of_image(image: Image.Image) -> tuple[Int64Array, Int64Array]:
    """Present ids and pixel counts of a decoded label image, by the cheapest exact route."""
    if image.mode in ("L", "P", "1"):
        # Pillow counts 8-bit images in C without building an array; for 'P' the bins are
        # palette indices (the labels), and for '1' the set value is stored as 255.
        counts = np.asarray(image.histogram(), dtype=np.int64)[:256]
        present = np.flatnonzero(counts)
        ids = present if image.mode != "1" else (present > 0).astype(np.int64)
        return ids.astype(np.int64), counts[present]
    # Pillow's histogram folds 16/32-bit values into 256 bins, so count the array instead.
    return histogram_of_array(mask_array(image))


def count_file(
    path: LabelSource, read: ReadOptions = ReadOptions(), data: bytes | None = None
) -> tuple[Int64Array, Int64Array]:
    """Present class ids and pixel counts of one label file (its bytes in ``data`` if given).

    Decoding, then the colour map, then the remap: ids are those after every mapping.
    """
    ids, counts, _ = count_file_noted(path, read, data)
    return ids, counts


def count_file_noted(
    path: LabelSource, read: ReadOptions = ReadOptions(), data: bytes | None = None
) -> tuple[Int64Array, Int64Array, tuple[str, str] | None]:
    """``count_file``, and (note, how it was stored) when the file was read in a way worth a
    warning (READ_NOTES), else None."""
    raw = read_raw(path, read, data)
    ids, counts = map_histogram(str(path), raw, *histogram_of_raw(raw, read), read)
    if raw.note is None:
        return ids, counts, None
    return ids, counts, (raw.note, raw.mode or _stored_as(str(path), raw.values))


#: The Pillow mode of a greyscale PNG the fast decoder read, by its array's type.
_PNG_MODES = {"uint8": "L", "uint16": "I;16"}


def _stored_as(name: str, values: object) -> str:
    """How a file was stored, named as Pillow would (for warnings)."""
    if isinstance(values, Image.Image):
        return values.mode
    dtype = str(getattr(values, "dtype", ""))
    if name.lower().endswith(".npy"):
        return f".npy {dtype}"
    return _PNG_MODES.get(dtype, dtype)


def histogram_of_raw(raw: RawLabels, read: ReadOptions) -> tuple[Int64Array, Int64Array]:
    """Present raw values (ids, colour codes or palette indices) and their pixel counts."""
    if isinstance(raw.values, Image.Image):
        return histogram_of_image(raw.values)
    if read.use_fast:
        return histogram_fast(raw.values)
    return histogram_of_array(raw.values)


def with_archive_bytes(
    paths: Iterable[LabelSource], reader: ArchiveReader, read: ReadOptions
) -> Iterator[tuple[LabelSource, MemberBytes | BadMaskError | None]]:
    """Each source with its bytes if it is an archive member (None for files on disk).

    Archive members are read here, in the one thread that feeds the workers (archive
    handles are not thread-safe), and decoded by the workers, which take the bytes with
    archives.member_bytes; files on disk are opened by the workers themselves. The bytes
    held at once are bounded for the whole run by the reader's budget. An unreadable
    member comes out as its BadMaskError, for the worker to raise in file order (raising
    here, files ahead of the results, could hide an earlier file's error and make the one
    reported depend on -j). A member is read whole, so one larger than the largest mask
    ``read.max_pixels`` allows (8 bytes a pixel, as an int64 .npy, plus 1 MiB of headers)
    is refused unread.
    """
    max_bytes = None if read.max_pixels is None else 8 * read.max_pixels + (1 << 20)
    return reader.lend(paths, max_bytes)


@dataclass(frozen=True)
class LabelCheck:
    """Which label values a scan accepts, so a bad file is named the moment it is read."""

    num_classes: int | None = None
    ignore: frozenset[int] = frozenset()

    def outside(self, ids: Iterable[int]) -> list[int]:
        """The values that have no class: not ignored, and negative or >= num_classes."""
        top = self.num_classes
        return [
            v for v in ids if v not in self.ignore and (v < 0 or (top is not None and v >= top))
        ]

    def __call__(self, path: LabelSource, ids: Int64Array) -> None:
        """Raise LabelRangeError naming the file and its first value without a class."""
        bad = self.outside(ids.tolist())
        if not bad:
            return
        value = bad[0]
        if value < 0:
            raise LabelRangeError(
                f"{path}: label {value} is negative; pass --ignore {value} "
                "if it marks pixels without a class"
            )
        raise LabelRangeError(
            f"{path}: label {value} >= --num-classes {self.num_classes}; pass "
            f"--ignore {value} or --void {value}, or raise --num-classes"
        )


def count_masks(
    paths: Sequence[LabelSource],
    *,
    jobs: int | None = None,
    read: ReadOptions = ReadOptions(),
    check: Callable[[LabelSource, Int64Array], None] | None = None,
    on_file: Callable[[LabelSource, int], None] | None = None,
    skip_bad: bool = False,
    on_skip: Callable[[LabelSource, BadMaskError], None] | None = None,
) -> ClassCounts:
    """Count every label file in ``paths``, reading ``jobs`` files at a time.

    The result is identical for any ``jobs``: integer counts are added exactly and files
    are taken in the given order, so the first bad file reported is the first in the list.
    ``check`` can reject a file's labels; ``on_file(path, pixels)`` reports progress.
    With ``skip_bad``, files that cannot be read as masks (BadMaskError) are left out and
    passed to ``on_skip`` instead of stopping the run; label values ``check`` rejects are
    never skipped, since they mean the options do not fit the data, not a broken file.
    """
    if read.decoder == "auto" and len(paths) < AUTO_FAST_MIN_FILES:
        read = replace(read, decoder="pillow")
    accumulator = CountsAccumulator()
    skipped: list[LabelSource] = []
    notes: dict[str, dict[str, int]] = {}  # note -> how the files were stored -> files

    def count(
        item: tuple[LabelSource, MemberBytes | BadMaskError | None],
    ) -> tuple[Int64Array, Int64Array, tuple[str, str] | None] | BadMaskError:
        path, lent = item
        try:
            # A member's read error is raised here, so in file order.
            return decode_member(lent, lambda data: count_file_noted(path, read, data))
        except BadMaskError as error:
            if skip_bad:
                return error
            raise
        except MfbError:
            raise
        except Exception as error:
            # A bug (ours or a decoder's) must still name the file, and never leave the
            # other threads running or print a bare traceback; --debug shows the cause.
            raise MfbError(
                f"{path}: unexpected {type(error).__name__} while reading ({error}); "
                "please report it with the output of --debug"
            ) from error

    with (
        ArchiveReader() as reader,
        closing(_ordered_map(count, with_archive_bytes(paths, reader, read), jobs)) as results,
    ):
        for path, result in zip(paths, results, strict=True):
            if isinstance(result, BadMaskError):
                skipped.append(path)
                if on_skip is not None:
                    on_skip(path, result)
                continue
            ids, counts, note = result
            if note is not None:
                stored = notes.setdefault(note[0], {})
                stored[note[1]] = stored.get(note[1], 0) + 1
            if check is not None:
                check(path, ids)
            try:
                accumulator.add(ids, counts)
            except MfbError as error:
                raise MfbError(f"{path}: {error}") from error
            if on_file is not None:
                on_file(path, int(counts.sum()))
    if skipped and len(skipped) == len(paths):
        raise NoMasksFoundError(f"all {len(skipped)} label files were bad and skipped")
    return replace(accumulator.result(), warnings=scan_warnings(len(paths), skipped, notes))


def scan_warnings(
    total: int, skipped: Sequence[LabelSource], notes: dict[str, dict[str, int]]
) -> tuple[str, ...]:
    """The scan's warnings: files read in a way worth knowing (READ_NOTES), files skipped."""
    messages = [
        READ_NOTES[note].format(
            files=sum(stored.values()),
            total=total,
            modes=", ".join(f"{n} {mode}" for mode, n in sorted(stored.items())),
        )
        for note, stored in sorted(notes.items())
    ]
    if skipped:
        names = ", ".join(str(path) for path in skipped[:2])
        more = f" and {len(skipped) - 2} more" if len(skipped) > 2 else ""
        messages.append(
            f"{len(skipped)} of {total} files skipped as bad (--skip-bad): {names}{more}"[:200]
        )
    return tuple(messages)


def default_jobs() -> int:
    """The number of cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


_Item = TypeVar("_Item")
_Result = TypeVar("_Result")


def _ordered_map(
    function: Callable[[_Item], _Result], items: Iterable[_Item], jobs: int | None
) -> Generator[_Result, None, None]:
    """Like map(), on a thread pool with a bounded number of items in flight.

    Pillow and NumPy release the GIL while decoding and counting, so threads use every core
    without pickling images between processes; at most a few items per thread are pending,
    so memory stays flat however many files there are. Close the generator when stopping
    early (an error, Ctrl-C): that cancels the queued items, and the threads end as soon
    as their current file is done.
    """
    jobs = default_jobs() if jobs is None else jobs
    if jobs <= 1:
        yield from map(function, items)
        return
    pending: deque[Future[_Result]] = deque()
    iterator = iter(items)
    executor = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="mfb-count")
    try:
        for item in iterator:
            pending.append(executor.submit(function, item))
            if len(pending) >= 2 * jobs:
                break
        while pending:
            result = pending.popleft().result()
            for item in iterator:
                pending.append(executor.submit(function, item))
                break
            yield result
    finally:
        executor.shutdown(wait=False, cancel_futures=True)
