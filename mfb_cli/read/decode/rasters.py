"""TIFF label rasters read tile by tile (tifffile): GeoTIFFs, and TIFFs past --max-pixels.

A land-cover map is one GeoTIFF of 10^8-10^9 pixels, tiled (a cloud-optimised GeoTIFF)
or in strips. Its header is read first (size, tiles, tags) and checked against the limits
before any pixel: ``--max-total-pixels`` guards the raster, ``--max-pixels`` one chunk.
The pixels then come as chunks, each a band of whole tile rows (or strips) of about
SLAB_BYTES, decoded by tifffile's own codecs: memory is bounded by a few bands, never by
the image. A tile the directory does not list, that ends past the file or holds fewer
bytes than its pixels need is damage, refused by header; never a fill value.

A small TIFF without GeoTIFF tags is left to Pillow (raw.py), read whole as before.
"""

from __future__ import annotations

import io
import logging
import os
from contextlib import contextmanager
from pathlib import PurePath
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from ...errors import BadMaskError, MfbError, MissingExtraError
from ..base.chunks import SLAB_BYTES, LabelChunk, LabelHeader, check_total, out_of_memory
from ..base.files import RangedFile, open_regular
from ..base.thumbnail import Thumbnail
from .codecs import TIFF_LOSSLESS_COMPRESSION
from .geotiff import FLOAT_NODATA_ID, GEO_TAGS, Nodata, geo_details, nodata_of
from .pillow import check_size
from .raw import RawLabels
from .tiff import check_block_places, directory
from .volumes.values import check_dtype, integer_labels

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    import numpy.typing as npt

    from ..._types import Int64Array
    from ..options import ReadOptions
    from .raw import ByteCounter

RASTERS_EXTRA_HINT = "pip install 'mfb-cli[rasters]' (imagecodecs)"
#: A compressed tile or strip may hold at most this many bytes more than twice its
#: pixels' bytes (no lossless codec grows data that much): a larger byte count is bogus.
_SEGMENT_SLACK = 1 << 16
#: The first bytes of a TIFF (classic or BigTIFF, either byte order).
_TIFF_MAGIC = (b"II*\0", b"MM\0*", b"II+\0", b"MM\0+")


#: The blocks of one band to decode: (block, its bytes, row in the band, column).
_Work = list[tuple[int, "bytes | memoryview", int, int]]

#: Bytes of blocks a thread decodes side by side before counting them at once
#: (count_bytes): 64 tiles of 256 x 256. Each count costs ~50 us beyond its pixels
#: (Pillow hands its 1,024 bins back as a Python list), 0.2 ns a pixel on one tile, so the
#: calls are few; 4 MiB a thread stays in the processor's last-level cache.
GROUP_BYTES = 1 << 22
#: Threads decoding one raster's tiles. 1 unless a scan of one file sets it (tile_threads):
#: the files of a larger scan are spread over the jobs already. Counts never depend on it.
TILE_THREADS = 1


@contextmanager
def tile_threads(threads: int) -> Iterator[None]:
    """Within the block, each raster's tiles are decoded on ``threads`` threads."""
    global TILE_THREADS
    saved, TILE_THREADS = TILE_THREADS, max(1, threads)
    try:
        yield
    finally:
        TILE_THREADS = saved


def read_raster(name: str, read: ReadOptions, data: bytes | RangedFile | None) -> RawLabels | None:
    """A GeoTIFF, or a TIFF past ``--max-pixels``, as chunks read lazily; None for any
    other TIFF (Pillow reads it whole, as any image)."""
    tifffile = _tifffile()
    stream = None
    kept = False
    try:
        stream = _stream(name, data)
        size = _size_of(stream, data)
        if stream.read(4) not in _TIFF_MAGIC:  # not a TIFF, whatever its name: Pillow's
            return None
        stream.seek(0)
        with tifffile.TiffFile(stream, name=PurePath(name).name) as tif:
            page = tif.pages.first
            tags = {code: page.tags.get(code).value for code in GEO_TAGS if code in page.tags}
            height, width = int(page.imagelength), int(page.imagewidth)
            small = read.max_pixels is None or height * width <= read.max_pixels
            if not tags and small:
                return None
            # A file read by ranges keeps its stream (and its read-ahead) for the tiles, so
            # no byte of it is requested twice.
            kept = isinstance(data, RangedFile)
            return _raster(name, read, tif, page, tags, size, data, stream if kept else None)
    except (BadMaskError, MfbError):
        raise
    except MemoryError as error:
        raise out_of_memory(name) from error
    except Exception as error:  # tifffile's refusals: a damaged or crafted file
        raise _failure(name, data, error) from error
    finally:
        if stream is not None and not kept:
            stream.close()


def _failure(name: str, data: bytes | RangedFile | None, error: Exception) -> Exception:
    """A failed read: the source's own judgement for a file read in place (a network
    failure is no bad file), else the file is damaged."""
    if isinstance(data, RangedFile):
        return data.failure(error)
    return BadMaskError(
        name, f"cannot be read as a TIFF, a damaged file (tifffile: {_reason(error)})"
    )


def _tifffile() -> Any:
    try:
        import tifffile
    except ImportError as error:
        raise MissingExtraError(
            "reading GeoTIFFs and large TIFFs needs tifffile: pip install tifffile"
        ) from error
    logger = logging.getLogger("tifffile")
    if not logger.handlers:
        # tifffile logs what it tolerates in a file; mfb refuses damage itself, and a
        # library never prints.
        logger.addHandler(logging.NullHandler())
        logger.propagate = False
    return tifffile


def _stream(name: str, data: bytes | RangedFile | None) -> IO[bytes]:
    if data is None:
        return open_regular(name)
    if isinstance(data, RangedFile):
        return data.open()
    return io.BytesIO(data)


def _size_of(stream: IO[bytes], data: bytes | RangedFile | None) -> int:
    if isinstance(data, RangedFile):
        return data.size
    if isinstance(data, bytes):
        return len(data)
    return os.fstat(stream.fileno()).st_size


def _reason(error: BaseException) -> str:
    return " ".join(str(error).split())[:200] or type(error).__name__


def _raster(
    name: str,
    read: ReadOptions,
    tif: Any,
    page: Any,
    tags: dict[int, Any],
    size: int,
    data: bytes | RangedFile | None,
    stream: IO[bytes] | None,
) -> RawLabels:
    """Check the header against every limit, then hand on the chunks, read lazily."""
    height, width = int(page.imagelength), int(page.imagewidth)
    if height <= 0 or width <= 0:
        raise BadMaskError(name, f"is a TIFF of {width}x{height} pixels: no pixels")
    check_total(name, (height, width), read.max_total_pixels)
    full = sum(1 for p in tif.pages if not getattr(p, "is_reduced", False))
    if full > 1:
        raise BadMaskError(name, f"holds {full} images (pages); mfb reads one")
    samples = int(page.samplesperpixel)
    if samples != 1:
        raise BadMaskError(
            name, f"has {samples} samples per pixel; mfb reads single-band label rasters"
        )
    bits = int(page.bitspersample)
    dtype = page.dtype
    if dtype is None or bits not in (8, 16, 32, 64) or dtype.kind == "b":
        raise BadMaskError(
            name,
            f"stores {bits}-bit samples; a TIFF read tile by tile holds 8, 16, 32 or "
            "64-bit integers (or whole floats)",
        )
    stored = check_dtype(name, dtype)
    dtype = dtype.newbyteorder(tif.byteorder)
    decode = _decoder(name, page)
    layout = _Layout.of(name, page, dtype.itemsize, read.max_pixels)
    layout.check(name, page, size)
    nodata = None if read.count_nodata else nodata_of(name, tags, dtype)
    details = {"kind": layout.kind, "block": [layout.rows, layout.cols]}
    details["compression"] = TIFF_LOSSLESS_COMPRESSION.get(int(page.compression), "?")
    details.update(geo_details(tags))
    thumbnail = Thumbnail((height, width)) if read.thumbnail else None
    header = LabelHeader(
        (height, width),
        format="GeoTIFF" if tags else "TIFF",
        stored=stored,
        details=details,
        thumbnail=thumbnail,
    )
    reader = _Reader(name, data, layout, decode, dtype, nodata, TILE_THREADS, stream)
    reader.thumbnail = thumbnail
    reader.direct = _direct_decompressor(page, dtype)
    note, mode = None, str(dtype.newbyteorder("="))
    if nodata is not None:
        note = "nodata" if nodata.id is not None else "nodata-unmatched"
        mode = f"{mode}, nodata {nodata.text[:40]}"
    return RawLabels(
        None,
        note=note,
        mode=mode,
        header=header,
        read_chunks=reader.chunks,
        count_bytes=reader.count_bytes if reader.direct and dtype == np.uint8 else None,
        nodata=None if nodata is None else nodata.id,
    )


def _decoder(name: str, page: Any) -> Callable[..., Any]:
    """tifffile's decoder of the page's tiles, or why they cannot be decoded."""
    code = int(page.compression)
    if code not in TIFF_LOSSLESS_COMPRESSION:
        labels = {6: "old-style JPEG", 7: "JPEG", 34712: "JPEG 2000", 34892: "lossy JPEG"}
        raise BadMaskError(
            name,
            f"is a TIFF with {labels.get(code, f'code {code}, not known to be lossless')} "
            "compression, which may change label values; save it with a lossless one "
            "(deflate, LZW, zstd, none)",
        )
    import tifffile

    try:
        tifffile.TIFF.DECOMPRESSORS[code]
    except KeyError as error:
        raise MissingExtraError(
            f"{name}: its {TIFF_LOSSLESS_COMPRESSION[code]} tiles need imagecodecs: "
            f"{RASTERS_EXTRA_HINT}"
        ) from error
    return page.decode  # type: ignore[no-any-return]


def _direct_decompressor(page: Any, dtype: np.dtype[Any]) -> Callable[..., Any] | None:
    """imagecodecs' decompressor of the page's blocks when it alone makes their pixels
    (no predictor, bit order or byte swap to undo), else None (tifffile decodes them).

    It writes each block straight into a buffer the reader reuses: tifffile's page.decode
    allocates and wraps a new array per block, a third of the decoding time of a 256 x 256
    deflate tile (benchmarks/rasters.py).
    """
    import tifffile

    code = int(page.compression)
    decompress = tifffile.TIFF.DECOMPRESSORS.get(code) if code != 1 else None
    plain = int(getattr(page, "predictor", 1)) == 1 and int(getattr(page, "fillorder", 1)) == 1
    native = dtype.itemsize == 1 or dtype.byteorder in ("=", "|", "<" if _LITTLE else ">")
    module = getattr(decompress, "__module__", "") or ""
    if decompress is None or not plain or not native or not module.startswith("imagecodecs"):
        return None
    return decompress


_LITTLE = np.little_endian


class _Layout:
    """Where a raster's pixels are: blocks (tiles or strips) of ``rows`` x ``cols``, and how
    many block rows one chunk (a band) holds."""

    def __init__(
        self, kind: str, rows: int, cols: int, shape: tuple[int, int], itemsize: int
    ) -> None:
        self.kind, self.rows, self.cols, self.shape = kind, rows, cols, shape
        self.itemsize = itemsize
        self.across = -(-shape[1] // cols)
        self.down = -(-shape[0] // rows)
        self.band = 1  # block rows per chunk
        self.offsets: npt.NDArray[np.int64] = np.zeros(0, np.int64)
        self.counts: npt.NDArray[np.int64] = np.zeros(0, np.int64)
        self.raw = False  # uncompressed strips: read by rows, whatever their size

    @classmethod
    def of(cls, name: str, page: Any, itemsize: int, max_pixels: int | None) -> _Layout:
        height, width = int(page.imagelength), int(page.imagewidth)
        if page.is_tiled:
            if int(getattr(page, "tiledepth", 1)) > 1:
                raise BadMaskError(name, "is a TIFF with 3-D tiles; mfb reads 2D rasters")
            rows, cols, kind = int(page.tilelength), int(page.tilewidth), "tile"
            if rows <= 0 or cols <= 0:
                raise BadMaskError(name, "is a TIFF with tiles of no size (a damaged file)")
        else:
            rows, cols, kind = min(int(page.rowsperstrip or height), height), width, "strip"
            if rows <= 0:
                raise BadMaskError(name, "is a TIFF with strips of no rows (a damaged file)")
        layout = cls(kind, rows, cols, (height, width), itemsize)
        layout.raw = kind == "strip" and int(page.compression) == 1 and page.predictor == 1
        # One chunk: a band of whole block rows (uncompressed strips: of rows), at least one;
        # a block is decoded whole, so it too is within --max-pixels.
        unit = width if layout.raw else width * rows
        check_size(name, (width, 1 if layout.raw else rows), max_pixels)
        if not layout.raw:
            check_size(name, (cols, rows), max_pixels)
        fits = SLAB_BYTES // max(layout.across * cols * (1 if layout.raw else rows) * itemsize, 1)
        if max_pixels is not None:
            fits = min(fits, max_pixels // max(unit, 1))
        layout.band = max(1, fits)
        return layout

    def check(self, name: str, page: Any, size: int) -> None:
        """Refuse, by header, blocks that are not listed, end past the file, or hold too
        few (uncompressed) or too many bytes for their pixels."""
        needed = self.across * self.down
        offsets = np.asarray(page.dataoffsets, dtype=np.int64).ravel()
        counts = np.asarray(page.databytecounts, dtype=np.int64).ravel()
        listed = min(offsets.size, counts.size)
        if listed < needed:
            raise BadMaskError(
                name,
                f"is a TIFF listing {listed} {self.kind}s where its size needs {needed}: "
                "the pixels without data would be read as a fill value (a damaged file)",
            )
        offsets, counts = offsets[:needed], counts[:needed]
        ends = offsets + counts
        past = np.flatnonzero((ends > size) | (offsets < 0))
        if past.size:
            i = int(past[0])
            raise BadMaskError(
                name,
                f"is a TIFF whose {self.kind} {i} ends at byte {int(ends[i])}, past the end "
                f"of the file ({size} bytes): truncated",
            )
        need = self.need()
        empty = np.flatnonzero(counts == 0)
        if empty.size:
            raise BadMaskError(
                name,
                f"is a TIFF whose {self.kind} {int(empty[0])} holds no bytes: its pixels "
                "are missing (a damaged file)",
            )
        if int(page.compression) == 1:
            short = np.flatnonzero(counts < need)
            if short.size:
                i = int(short[0])
                raise BadMaskError(
                    name,
                    f"is an uncompressed TIFF whose {self.kind} {i} holds {int(counts[i])} "
                    f"bytes where its pixels need {int(need[i])} (a damaged file)",
                )
        bogus = np.flatnonzero(counts > 2 * need + _SEGMENT_SLACK)
        if bogus.size:
            i = int(bogus[0])
            raise BadMaskError(
                name,
                f"is a TIFF whose {self.kind} {i} claims {int(counts[i])} bytes for pixels "
                f"that take {int(need[i])}: a bogus byte count (a damaged file)",
            )
        places = directory(bool(page.parent.is_bigtiff), int(page.offset), len(page.tags))
        check_block_places(name, self.kind, offsets, counts, places)
        self.offsets, self.counts = offsets, counts

    def need(self) -> npt.NDArray[np.int64]:
        """Bytes each block's pixels take, decoded (tiles are whole, the last strip not)."""
        block = self.rows * self.cols * self.itemsize
        need = np.full(self.across * self.down, block, dtype=np.int64)
        if self.kind == "strip":
            need[-1] = (self.shape[0] - (self.down - 1) * self.rows) * self.cols * self.itemsize
        return need


class _Reader:
    """Reads a raster's chunks: bands of block rows, decoded on ``threads`` threads while
    the previous band is counted."""

    def __init__(
        self,
        name: str,
        data: bytes | RangedFile | None,
        layout: _Layout,
        decode: Callable[..., Any],
        dtype: np.dtype[Any],
        nodata: Nodata | None,
        threads: int,
        stream: IO[bytes] | None = None,
    ) -> None:
        self.name, self.data, self.layout, self.decode = name, data, layout, decode
        self.dtype, self.nodata, self.threads = dtype, nodata, threads
        #: The stream the header was read from, kept for the first reading of the tiles.
        self.stream = stream
        #: imagecodecs' decompressor, called straight into a reused buffer (see
        #: _direct_decompressor); None: tifffile's page.decode for each block.
        self.direct: Callable[..., Any] | None = None
        #: The class map taken from each block as it is decoded (ReadOptions.thumbnail).
        self.thumbnail: Thumbnail | None = None

    def _open(self) -> IO[bytes]:
        stream, self.stream = self.stream, None
        return stream if stream is not None else _stream(self.name, self.data)

    def chunks(self) -> Iterator[LabelChunk]:
        from concurrent.futures import ThreadPoolExecutor

        pool = ThreadPoolExecutor(self.threads, "mfb-tiles") if self.threads > 1 else None
        with self._failures(pool), self._open() as stream:
            pending: tuple[int, npt.NDArray[Any], list[Any]] | None = None
            for top, bottom, blocks in self._bands():
                band = np.empty((bottom - top, self.layout.shape[1]), self.dtype)
                work = self._read(stream, blocks, top)
                if pool is None:
                    self._place(band, work)
                    futures: list[Any] = []
                else:
                    parts = [work[i :: self.threads] for i in range(self.threads)]
                    futures = [pool.submit(self._place, band, part) for part in parts]
                if pending is not None:
                    yield self._finished(*pending)
                pending = (top, band, futures)
                del band, work
            if pending is not None:
                yield self._finished(*pending)
        if self.thumbnail is not None:
            self.thumbnail.complete = True

    @contextmanager
    def _failures(self, pool: Any | None) -> Iterator[None]:
        """Every failure of reading the blocks as one error naming the file; the decoding
        threads stopped (queued blocks cancelled) however the reading ends."""
        try:
            yield
        except (BadMaskError, MfbError):
            raise
        except MemoryError as error:
            raise out_of_memory(self.name) from error
        except Exception as error:
            raise _failure(self.name, self.data, error) from error
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)

    def _bands(self) -> Iterator[tuple[int, int, list[int]]]:
        """(first row, end row, blocks) of each band; uncompressed strips: rows, no blocks."""
        layout = self.layout
        height = layout.shape[0]
        if layout.raw:
            for top in range(0, height, layout.band):
                yield top, min(top + layout.band, height), []
            return
        for first in range(0, layout.down, layout.band):
            last = min(first + layout.band, layout.down)
            blocks = list(range(first * layout.across, last * layout.across))
            yield first * layout.rows, min(last * layout.rows, height), blocks

    def _read(self, stream: IO[bytes], blocks: list[int], top: int) -> _Work:
        """The bytes of a band's blocks, read in one request when they lie together:
        (block, bytes, row in the band, column); uncompressed strips as row pieces."""
        layout = self.layout
        if layout.raw:
            return self._raw_rows(stream, top)
        offsets, counts = layout.offsets[blocks], layout.counts[blocks]
        start, end = int(offsets.min()), int((offsets + counts).max())
        spans: list[tuple[int, int]]
        if end - start <= 2 * int(counts.sum()) + _SEGMENT_SLACK:
            spans = [(start, end)]
        else:  # scattered blocks (an odd writer): one read each
            spans = [(int(o), int(o + c)) for o, c in zip(offsets, counts, strict=True)]
        buffers = [(s, memoryview(_read_at(self.name, stream, s, e - s))) for s, e in spans]
        work: _Work = []
        for block, offset, count in zip(blocks, offsets, counts, strict=True):
            first, buffer = next((s, b) for s, b in buffers if s <= offset < s + len(b))
            at = int(offset) - first
            row = (block // layout.across) * layout.rows - top
            col = (block % layout.across) * layout.cols
            work.append((block, buffer[at : at + int(count)], row, col))
        return work

    def _raw_rows(self, stream: IO[bytes], top: int) -> _Work:
        """Rows ``top``.. of uncompressed strips, each strip's part read where it lies."""
        layout = self.layout
        height, width = layout.shape
        bottom = min(top + layout.band, height)
        row_bytes = width * layout.itemsize
        work: _Work = []
        for strip in range(top // layout.rows, -(-bottom // layout.rows)):
            first = strip * layout.rows
            lo, hi = max(top, first), min(bottom, first + layout.rows)
            offset = int(layout.offsets[strip]) + (lo - first) * row_bytes
            rows = _read_at(self.name, stream, offset, (hi - lo) * row_bytes)
            work.append((-1, rows, lo - top, 0))
        return work

    def _place(self, band: npt.NDArray[Any], work: _Work) -> None:
        """Decode blocks into their place in the band (blocks past the edges are cut)."""
        layout = self.layout
        # One block's pixels, decoded here and copied into the band: a buffer per call
        # (per thread), reused for each of its blocks.
        block_buffer = np.empty(layout.rows * layout.cols, self.dtype) if self.direct else None
        for block, data, row, col in work:
            if block < 0:  # uncompressed rows, read exactly
                rows = len(data) // (layout.shape[1] * layout.itemsize)
                band[row : row + rows] = np.frombuffer(data, self.dtype).reshape(rows, -1)
                continue
            rows = min(layout.rows, band.shape[0] - row)
            cols = min(layout.cols, layout.shape[1] - col)
            segment = self._decoded(data, block, rows, cols, block_buffer)
            band[row : row + rows, col : col + cols] = segment[:rows, :cols]

    def count_bytes(self, counter: ByteCounter) -> Int64Array:
        """The 256 bins of every pixel of a uint8 raster whose blocks imagecodecs
        decompresses directly: each thread decodes its blocks side by side into a buffer of
        about GROUP_BYTES and counts them there with ``counter``, in the cache, with no band
        assembled and no pixel copied (a block cut by the image's edge is counted alone)."""
        from concurrent.futures import ThreadPoolExecutor

        assert self.direct is not None and self.dtype == np.uint8
        threads = self.threads
        pool = ThreadPoolExecutor(threads, "mfb-tiles") if threads > 1 else None
        total = np.zeros(256, dtype=np.int64)
        with self._failures(pool), self._open() as stream:
            pending: list[Any] = []
            for top, _, blocks in self._bands():
                work = self._read(stream, blocks, top)
                if pool is None:
                    total += self._count_blocks(work, top, counter)
                    continue
                parts = [work[i::threads] for i in range(threads)]
                submitted = [pool.submit(self._count_blocks, p, top, counter) for p in parts]
                for future in pending:  # the band before, while this one is decoded
                    total += future.result()
                pending = submitted
                del work, parts
            for future in pending:
                total += future.result()
        if self.thumbnail is not None:
            self.thumbnail.complete = True
        return total

    def _count_blocks(self, work: _Work, top: int, counter: ByteCounter) -> Int64Array:
        """The 256 bins of the pixels of ``work``'s blocks (of the band at row ``top``)."""
        layout = self.layout
        height, width = layout.shape
        block_pixels = layout.rows * layout.cols
        group = max(1, GROUP_BYTES // block_pixels)
        buffer = np.empty(group * block_pixels, dtype=np.uint8)
        counts = np.zeros(256, dtype=np.int64)
        filled = 0
        for block, data, row, col in work:
            rows = min(layout.rows, height - top - row)
            cols = min(layout.cols, width - col)
            slot = buffer[filled * block_pixels : (filled + 1) * block_pixels]
            segment = self._decoded(data, block, rows, cols, slot)
            if self.thumbnail is not None:  # before the slot is decoded over
                self.thumbnail.take(segment[:rows, :cols], top + row, col)
            if rows < layout.rows or cols < layout.cols:
                counts += counter(np.ascontiguousarray(segment[:rows, :cols]))
                continue
            filled += 1
            if filled == group:
                counts += counter(buffer.reshape(-1, layout.cols))
                filled = 0
        if filled:
            counts += counter(buffer[: filled * block_pixels].reshape(-1, layout.cols))
        return counts

    def _decoded(
        self,
        data: bytes | memoryview,
        block: int,
        rows: int,
        cols: int,
        buffer: npt.NDArray[Any] | None,
    ) -> npt.NDArray[Any]:
        """One block decoded (into ``buffer`` by the direct decompressor, else by tifffile),
        whole: its first ``rows`` x ``cols`` pixels are the image's; damage is refused."""
        layout = self.layout
        try:
            if buffer is not None:
                segment = self._decode_direct(data, buffer, rows)
            else:
                segment = self.decode(data, block)[0]
        except MemoryError:
            raise
        except Exception as error:
            raise BadMaskError(
                self.name, f"cannot decode {layout.kind} {block} ({_reason(error)})"
            ) from error
        if (
            segment is None
            or segment.ndim != 4
            or segment.shape[1] < rows
            or segment.shape[2] < cols
        ):
            shape = None if segment is None else tuple(segment.shape)
            raise BadMaskError(
                self.name,
                f"gave {layout.kind} {block} of shape {shape} where its header says "
                f"{rows}x{cols} (a damaged file)",
            )
        return segment[0, :, :, 0]

    def _decode_direct(
        self, data: bytes | memoryview, out: npt.NDArray[Any], rows: int
    ) -> npt.NDArray[Any] | None:
        """One block decompressed into ``out``, shaped as page.decode shapes it; None when
        it holds fewer bytes than its pixels (a whole tile; a strip's ``rows`` rows): damage,
        refused by the caller."""
        assert self.direct is not None
        layout = self.layout
        decoded = np.frombuffer(self.direct(data, out=out.view(np.uint8)), np.uint8)
        whole = layout.rows if layout.kind == "tile" else rows
        if decoded.size < whole * layout.cols * layout.itemsize:
            return None
        return out.reshape(1, layout.rows, layout.cols, 1)

    def _finished(self, top: int, band: npt.NDArray[Any], futures: list[Any]) -> LabelChunk:
        for future in futures:
            future.result()
        if band.dtype.byteorder not in ("=", "|"):
            band = band.astype(band.dtype.newbyteorder("="))
        labels = self._labels(band, top)
        if self.thumbnail is not None:
            # The band is whole rows of the raster, its labels as the counts see them (a
            # float raster's nodata as FLOAT_NODATA_ID): taken here once, in the consumer's
            # thread, whatever the layout (tiles, strips, rows of uncompressed strips).
            self.thumbnail.take(labels, top, 0)
        return LabelChunk(labels, (top, 0))

    def _labels(self, band: npt.NDArray[Any], top: int) -> npt.NDArray[np.integer]:
        """A band's labels as integers; a float raster's nodata pixels (NaN, -3.4e38...)
        become FLOAT_NODATA_ID, left out of the counts."""
        nodata = self.nodata
        if band.dtype.kind != "f":
            return integer_labels(self.name, band, (top, 0))
        missing = None
        if nodata is not None and nodata.id == FLOAT_NODATA_ID:
            missing = np.isnan(band) if np.isnan(nodata.value) else band == nodata.value
            if missing.any():
                band = np.where(missing, 0, band)
            else:
                missing = None
        labels = integer_labels(self.name, band, (top, 0))
        if missing is not None:
            labels = labels.astype(np.int64)
            labels[missing] = FLOAT_NODATA_ID
        return labels


def _read_at(name: str, stream: IO[bytes], offset: int, size: int) -> bytes:
    """``size`` bytes at ``offset``, or BadMaskError if the file ends first."""
    stream.seek(offset)
    data = stream.read(size)
    if len(data) != size:
        raise BadMaskError(
            name, f"ends after {offset + len(data)} bytes where its tiles need {offset + size}"
        )
    return data
