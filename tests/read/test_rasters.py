"""Label rasters read tile by tile (read/decode/rasters.py): GeoTIFFs written by tifffile
in tmp_path, whose counts are worked out by construction and by a naive loop.

A 70 x 50 raster in 32 x 16 tiles has partial tiles on its right edge (50 = 3 x 16 + 2)
and bottom edge (70 = 2 x 32 + 6); values are ``(row // 10 + col // 7) % 5 + 1`` with a
nodata band (0) over rows 0..3.
"""

from __future__ import annotations

import json
import math
import struct
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mfb_cli.count.kernels import histogram_of_raw
from mfb_cli.count.one_file import count_file
from mfb_cli.errors import BadMaskError
from mfb_cli.read.decode.geotiff import FLOAT_NODATA_ID
from mfb_cli.read.decode.raw import read_raw
from mfb_cli.read.options import ReadOptions
from tests.conftest import run

tifffile = pytest.importorskip("tifffile")

HEIGHT, WIDTH = 70, 50
NODATA_ROWS = 4
#: GeoTIFF tags: 10 m pixels, origin (500000, 5000000), EPSG:32631, pixel is area.
GEO = [
    (33550, "d", 3, (10.0, 10.0, 0.0), True),
    (33922, "d", 6, (0.0, 0.0, 0.0, 500000.0, 5000000.0, 0.0), True),
    (34735, "H", 16, (1, 1, 0, 3, 1024, 0, 1, 1, 1025, 0, 1, 1, 3072, 0, 1, 32631), True),
]


def value(row: int, col: int) -> int:
    return 0 if row < NODATA_ROWS else (row // 10 + col // 7) % 5 + 1


def raster(dtype: Any = np.uint8) -> np.ndarray:
    return np.array([[value(r, c) for c in range(WIDTH)] for r in range(HEIGHT)], dtype=dtype)


def naive(rows: range = range(HEIGHT), skip: int | None = 0) -> dict[int, int]:
    """Pixels per value by a plain loop over every pixel (``skip``: the nodata value)."""
    found: Counter[int] = Counter()
    for r in rows:
        for c in range(WIDTH):
            if value(r, c) != skip:
                found[value(r, c)] += 1
    return dict(sorted(found.items()))


def write(
    path: Path, data: np.ndarray, nodata: str | None = "0", geo: bool = True, **kw: Any
) -> Path:
    tags = list(GEO) if geo else []
    if nodata is not None:
        tags.append((42113, "s", 0, nodata, True))
    tifffile.imwrite(path, data, extratags=tags, photometric="minisblack", **kw)
    return path


def counted(path: Path, read: ReadOptions = ReadOptions()) -> dict[int, int]:
    ids, pixels = count_file(path, read)
    return dict(zip(ids.tolist(), pixels.tolist(), strict=True))


def test_by_construction() -> None:
    # Columns 0..6 -> 0, 7..13 -> 1, ..., 49 -> 7; rows 4..9 -> 0, 10..19 -> 1, ..., 60..69
    # -> 6. Row group g (rows) x column group h (cols) has value (g + h) % 5 + 1.
    rows = {0: 6, 1: 10, 2: 10, 3: 10, 4: 10, 5: 10, 6: 10}
    cols = {h: 7 for h in range(7)} | {7: 1}
    expected: Counter[int] = Counter()
    for g, nr in rows.items():
        for h, nc in cols.items():
            expected[(g + h) % 5 + 1] += nr * nc
    assert dict(sorted(expected.items())) == naive()
    assert sum(expected.values()) == (HEIGHT - NODATA_ROWS) * WIDTH


@pytest.mark.parametrize(
    "layout",
    [
        {"tile": (32, 16), "compression": "zlib"},
        {"tile": (32, 16)},
        {"rowsperstrip": 16, "compression": "zlib"},
        {"rowsperstrip": 16},
        {},  # untiled, uncompressed: one strip
        {"tile": (16, 16), "compression": "zlib", "predictor": True},
    ],
    ids=["tiled-deflate", "tiled-raw", "strips-deflate", "strips-raw", "one-strip", "predictor"],
)
@pytest.mark.parametrize("max_pixels", [None, 3300], ids=["one-band", "bands"])
def test_tiled_striped_untiled(
    tmp_path: Path, layout: dict[str, Any], max_pixels: int | None
) -> None:
    path = write(tmp_path / "map.tif", raster(), **layout)
    read = ReadOptions(max_pixels=max_pixels)
    assert counted(path, read) == naive()
    raw = read_raw(path, read)
    chunks = list(raw.chunks())
    # The chunks tile the raster, bands of whole block rows, each within --max-pixels.
    assert [c.start[1] for c in chunks] == [0] * len(chunks)
    tops = [c.start[0] for c in chunks]
    heights = [c.extent[0] for c in chunks]
    assert tops == [sum(heights[:i]) for i in range(len(chunks))]
    assert sum(heights) == HEIGHT and {c.extent[1] for c in chunks} == {WIDTH}
    if max_pixels is not None:
        assert len(chunks) > 1
        assert all(math.prod(c.extent) <= max_pixels for c in chunks)
    whole = np.concatenate([c.values for c in chunks])
    assert np.array_equal(whole, raster())
    assert raw.nodata == 0


def test_bands_are_whole_tile_rows(tmp_path: Path) -> None:
    path = write(tmp_path / "map.tif", raster(), tile=(32, 16), compression="zlib")
    # One band of 32 rows x 50 columns = 1600 pixels fits 3300; two (3200) fit too.
    extents = [c.extent for c in read_raw(path, ReadOptions(max_pixels=3300)).chunks()]
    assert extents == [(64, 50), (6, 50)]
    extents = [c.extent for c in read_raw(path, ReadOptions(max_pixels=1700)).chunks()]
    assert extents == [(32, 50), (32, 50), (6, 50)]


def test_geo_metadata_in_the_source_record(tmp_path: Path) -> None:
    write(tmp_path / "map.tif", raster(), tile=(32, 16), compression="zlib")
    result = run("scan", "--glob", "*.tif", str(tmp_path))
    assert result.exit_code == 0, result.stderr
    stats = json.loads(result.stdout)
    assert dict(zip(stats["ids"], stats["pixels"], strict=True)) == naive()
    assert stats["source"]["rasters"] == [
        {
            "path": str(tmp_path / "map.tif"),
            "shape": [70, 50],
            "format": "GeoTIFF",
            "stored": "uint8",
            "kind": "tile",
            "block": [32, 16],
            "compression": "deflate",
            "crs": "EPSG:32631",
            "geotransform": [500000.0, 10.0, 0.0, 5000000.0, 0.0, -10.0],
            "pixel_area": 100.0,
            "pixel_is": "area",
            "nodata": "0",
        }
    ]
    warning = (
        "1 of 1 files are rasters with a nodata value (GDAL_NODATA; 1 uint8, nodata 0): their "
        "nodata pixels were left out of the counts, as GDAL masks them; pass --no-nodata to "
        "count them"
    )
    assert stats["warnings"] == [warning]
    assert f"warning: {warning}" in result.stderr


def test_model_transformation(tmp_path: Path) -> None:
    matrix = (2.0, 0.5, 0, 100.0, 0.25, -3.0, 0, 200.0, 0, 0, 0, 0, 0, 0, 0, 1)
    path = tmp_path / "map.tif"
    tifffile.imwrite(path, raster(), extratags=[(34264, "d", 16, matrix, True)])
    header = read_raw(path, ReadOptions()).described()
    assert header.details["geotransform"] == [100.0, 2.0, 0.5, 200.0, 0.25, -3.0]
    assert header.details["pixel_area"] == abs(2.0 * -3.0 - 0.5 * 0.25)
    assert "crs" not in header.details and "nodata" not in header.details


def test_no_nodata_counts_it(tmp_path: Path) -> None:
    path = write(tmp_path / "map.tif", raster(), tile=(32, 16), compression="zlib")
    assert counted(path, ReadOptions(count_nodata=True)) == naive(skip=None)
    result = run("scan", "--no-nodata", str(path))
    assert result.exit_code == 0, result.stderr
    stats = json.loads(result.stdout)
    assert dict(zip(stats["ids"], stats["pixels"], strict=True)) == naive(skip=None)
    assert stats["warnings"] == [] and stats["label_mapping"] == {"nodata": "counted"}


def test_signed_raster_with_negative_nodata(tmp_path: Path) -> None:
    data = raster(np.int16)
    data[data == 0] = -1
    path = write(tmp_path / "map.tif", data, nodata="-1", tile=(32, 16), compression="zlib")
    assert counted(path) == naive()


def test_float_raster_with_nan_nodata(tmp_path: Path) -> None:
    data = raster(np.float32)
    data[data == 0] = np.nan
    path = write(tmp_path / "map.tif", data, nodata="nan", tile=(32, 16), compression="zlib")
    assert counted(path) == naive()
    raw = read_raw(path, ReadOptions())
    assert raw.nodata == FLOAT_NODATA_ID
    with pytest.raises(BadMaskError, match="NaN"):
        counted(path, ReadOptions(count_nodata=True))


def test_float_raster_with_huge_nodata(tmp_path: Path) -> None:
    data = raster(np.float32)
    data[data == 0] = np.float32(-3.4028235e38)
    path = write(tmp_path / "map.tif", data, nodata="-3.4028235e+38", tile=(32, 16))
    assert counted(path) == naive()


@pytest.mark.parametrize("nodata", ["nan", "-3.4e38", "1.5", "300"])
def test_integer_raster_with_a_nodata_it_cannot_hold(tmp_path: Path, nodata: str) -> None:
    path = write(tmp_path / "map.tif", raster(), nodata=nodata, tile=(32, 16))
    result = run("scan", str(path))
    assert result.exit_code == 0, result.stderr
    stats = json.loads(result.stdout)
    assert dict(zip(stats["ids"], stats["pixels"], strict=True)) == naive(skip=None)
    assert stats["warnings"] == [
        "1 of 1 files are rasters whose nodata value no pixel of their type can hold "
        f"(1 uint8, nodata {nodata}): nothing was left out"
    ]


def test_nodata_that_is_not_a_number(tmp_path: Path) -> None:
    path = write(tmp_path / "map.tif", raster(), nodata="none", tile=(32, 16))
    result = run("scan", str(path))
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {path}: has a GDAL_NODATA tag that is not a number ('none'); pass "
        "--no-nodata to count every value\n"
    )
    assert counted(path, ReadOptions(count_nodata=True)) == naive(skip=None)


def test_plain_tiff_past_max_pixels_is_read_in_bands(tmp_path: Path) -> None:
    path = write(tmp_path / "map.tif", raster(), nodata=None, geo=False, tile=(32, 16))
    assert counted(path, ReadOptions(max_pixels=1700)) == naive(skip=None)
    raw = read_raw(path, ReadOptions(max_pixels=1700))
    assert raw.values is None and raw.described().format == "TIFF" and raw.note is None


def test_small_plain_tiff_stays_with_pillow(tmp_path: Path) -> None:
    path = write(tmp_path / "map.tif", raster(), nodata=None, geo=False, tile=(32, 16))
    raw = read_raw(path, ReadOptions())
    assert raw.values is not None and raw.header is None


def test_whole_raster_limit(tmp_path: Path) -> None:
    path = write(tmp_path / "map.tif", raster(), tile=(32, 16))
    result = run("scan", "--max-total-pixels", "3499", str(path))
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {path}: 70x50 = 3500 pixels exceeds the limit of 3499 for one file (a "
        "crafted header?); raise --max-total-pixels if the file is genuine\n"
    )


def test_one_band_beyond_max_pixels(tmp_path: Path) -> None:
    path = write(tmp_path / "map.tif", raster(), tile=(32, 16))
    with pytest.raises(BadMaskError, match=r"50x32 = 1600 pixels exceeds the limit of 1000"):
        counted(path, ReadOptions(max_pixels=1000))


def test_multi_sample_refused(tmp_path: Path) -> None:
    data = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    path = tmp_path / "rgb.tif"
    tifffile.imwrite(path, data, photometric="rgb", extratags=GEO, tile=(32, 16))
    with pytest.raises(BadMaskError, match="has 3 samples per pixel; mfb reads single-band"):
        counted(path)


# --- hostile files: one line naming the file, exit 1, no traceback, nothing read past the
# header where the header already shows the damage.


def _entry(path: Path, code: int) -> tuple[int, int]:
    """(offset of the IFD entry of tag ``code``, its type) in a little-endian TIFF."""
    with tifffile.TiffFile(path) as tif:
        tag = tif.pages.first.tags[code]
        return tag.offset, tag.dtype


def _set_long(path: Path, code: int, values: list[int] | int) -> None:
    """Rewrite a tag's LONG value(s) in place (inline or at its value offset)."""
    with tifffile.TiffFile(path) as tif:
        tag = tif.pages.first.tags[code]
        offset, count, fmt = tag.valueoffset, tag.count, tag.dtype
    data = bytearray(path.read_bytes())
    values = [values] * count if isinstance(values, int) else values
    char = {3: "H", 4: "I", 16: "Q"}[int(fmt)]
    struct.pack_into(f"<{count}{char}", data, offset, *values)
    path.write_bytes(bytes(data))


def _scan_error(path: Path) -> str:
    result = run("scan", str(path))
    assert result.exit_code == 1, result.stdout
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(f"Error: {path}: "), result.stderr
    return result.stderr


def test_truncated_tiles(tmp_path: Path) -> None:
    path = write(tmp_path / "map.tif", raster(), tile=(32, 16), compression="zlib")
    with tifffile.TiffFile(path) as tif:
        page = tif.pages.first
        last = max(o + c for o, c in zip(page.dataoffsets, page.databytecounts, strict=True))
    data = path.read_bytes()
    assert last == len(data)  # tifffile writes the tiles last: cut into the last one
    path.write_bytes(data[: last - 5])
    assert "past the end of the file" in _scan_error(path)


def test_tile_offset_past_the_end(tmp_path: Path) -> None:
    path = write(tmp_path / "map.tif", raster(), tile=(32, 16), compression="zlib")
    with tifffile.TiffFile(path) as tif:
        offsets = list(tif.pages.first.dataoffsets)
    offsets[3] = path.stat().st_size + 1000
    _set_long(path, 324, offsets)
    assert "tile 3 ends at byte" in _scan_error(path)
    assert "past the end of the file" in _scan_error(path)


@pytest.mark.parametrize("geo", [True, False], ids=["tifffile", "pillow"])
@pytest.mark.parametrize(
    ("place", "refusal"),
    [
        ("header", "tile 0 lies at bytes 0..512, over the file's header"),
        ("directory", "tile 0 lies at bytes 8..520, over the file's directory"),
        ("inside", "inside another tile"),
    ],
)
def test_tiles_over_the_header_directory_or_another_tile(
    tmp_path: Path, geo: bool, place: str, refusal: str
) -> None:
    # Uncompressed 32 x 16 tiles of 512 bytes: each one a valid size, but placed where
    # other bytes lie; both readers (tifffile for a GeoTIFF, Pillow for a small plain TIFF)
    # would decode those bytes as labels.
    path = write(tmp_path / "map.tif", raster(), geo=geo, tile=(32, 16))
    with tifffile.TiffFile(path) as tif:
        page = tif.pages.first
        offsets = list(page.dataoffsets)
        assert page.offset == 8 and min(offsets) > 8 + 2 + 12 * len(page.tags)
    if place == "inside":  # tile 1 starts 100 bytes into tile 0
        offsets[1] = offsets[0] + 100
        refusal = f"tile 1 starts at byte {offsets[1]}, inside another tile"
    else:
        offsets[0] = {"header": 0, "directory": 8}[place]
    _set_long(path, 324, offsets)
    assert refusal in _scan_error(path)


@pytest.mark.parametrize(("code", "geo"), [(322, True), (322, False), (323, True)])
def test_tiles_of_no_size(tmp_path: Path, code: int, geo: bool) -> None:
    # TileWidth or TileLength 0: tifffile fails on the header (a division by zero), Pillow
    # is refused by mfb's own check; both say the file is damaged, in one line.
    path = write(tmp_path / "map.tif", raster(), geo=geo, tile=(32, 16))
    _set_long(path, code, 0)
    error = _scan_error(path)
    assert "damaged file" in error, error


def test_a_bad_float_pixel_is_named_by_row_and_column(tmp_path: Path) -> None:
    data = raster(np.float32)
    data[5, 7] = 0.5
    path = write(tmp_path / "map.tif", data, tile=(32, 16))
    error = _scan_error(path)
    assert "(first: 0.5 at pixel (5, 7)): a probability map or a resampled (interpolated) " in error
    assert error.endswith("raster, not class ids\n")


def test_bigtiff_tile_inside_its_16_byte_header(tmp_path: Path) -> None:
    path = write(tmp_path / "map.tif", raster(), tile=(32, 16), bigtiff=True)
    with tifffile.TiffFile(path) as tif:
        offsets = list(tif.pages.first.dataoffsets)
    offsets[2] = 8  # past a classic header, inside a BigTIFF's
    _set_long(path, 324, offsets)
    assert "tile 2 lies at bytes 8..520, over the file's header" in _scan_error(path)


def test_identical_tiles_stored_once_are_read(tmp_path: Path) -> None:
    # A writer may store identical tiles once: same offset and byte count, not damage.
    data = np.full((64, 32), 3, np.uint8)
    path = write(tmp_path / "map.tif", data, nodata=None, tile=(32, 16))
    with tifffile.TiffFile(path) as tif:
        offsets = list(tif.pages.first.dataoffsets)
    _set_long(path, 324, [offsets[0]] * len(offsets))
    assert counted(path) == {3: 64 * 32}


def test_bogus_tile_byte_count(tmp_path: Path) -> None:
    path = write(tmp_path / "map.tif", raster(), tile=(32, 16), compression="zlib")
    with tifffile.TiffFile(path) as tif:
        counts = list(tif.pages.first.databytecounts)
    counts[0] = 150_000
    # The counts are SHORTs: write them as LONGs after 200 kB of padding (room for the
    # bogus count inside the file), and point the directory entry at them.
    data = bytearray(path.read_bytes() + bytes(200_000))
    where = len(data)
    data += struct.pack(f"<{len(counts)}I", *counts)
    offset, _ = _entry(path, 325)
    struct.pack_into("<HHII", data, offset, 325, 4, len(counts), where)
    path.write_bytes(bytes(data))
    message = _scan_error(path)
    assert "tile 0 claims 150000 bytes for pixels that take 512: a bogus byte count" in message


def test_missing_tile(tmp_path: Path) -> None:
    path = write(tmp_path / "map.tif", raster(), tile=(32, 16), compression="zlib")
    with tifffile.TiffFile(path) as tif:
        counts = list(tif.pages.first.databytecounts)
    counts[5] = 0
    _set_long(path, 325, counts)
    assert "tile 5 holds no bytes: its pixels are missing" in _scan_error(path)


def test_corrupt_tile_data(tmp_path: Path) -> None:
    path = write(tmp_path / "map.tif", raster(), tile=(32, 16), compression="zlib")
    with tifffile.TiffFile(path) as tif:
        offset, count = tif.pages.first.dataoffsets[2], tif.pages.first.databytecounts[2]
    data = bytearray(path.read_bytes())
    data[offset : offset + count] = b"\xff" * count
    path.write_bytes(bytes(data))
    assert "cannot decode tile 2" in _scan_error(path)


def test_short_uncompressed_strip(tmp_path: Path) -> None:
    path = write(tmp_path / "map.tif", raster(), rowsperstrip=16)
    with tifffile.TiffFile(path) as tif:
        counts = list(tif.pages.first.databytecounts)
    counts[1] -= 1
    _set_long(path, 279, counts)
    assert "strip 1 holds 799 bytes where its pixels need 800" in _scan_error(path)


def test_huge_declared_size_refused_from_the_header(tmp_path: Path) -> None:
    path = write(tmp_path / "map.tif", raster(), tile=(32, 16), compression="zlib")
    data = bytearray(path.read_bytes())
    for code in (256, 257):  # ImageWidth, ImageLength -> 2^31 (as LONG)
        offset, _ = _entry(path, code)
        struct.pack_into("<HHII", data, offset, code, 4, 1, 1 << 31)
    path.write_bytes(bytes(data))
    message = _scan_error(path)
    assert "2147483648x2147483648 = 4611686018427387904 pixels exceeds the limit" in message
    assert "--max-total-pixels" in message


def test_not_a_tiff(tmp_path: Path) -> None:
    path = tmp_path / "map.tif"
    path.write_bytes(b"II*\x00" + bytes(20))
    assert _scan_error(path).startswith(f"Error: {path}: ")


def test_histogram_of_raw_leaves_nodata_out(tmp_path: Path) -> None:
    path = write(tmp_path / "map.tif", raster(), tile=(32, 16))
    ids, pixels = histogram_of_raw(read_raw(path, ReadOptions()), ReadOptions())
    assert 0 not in ids.tolist()
    assert int(pixels.sum()) == (HEIGHT - NODATA_ROWS) * WIDTH


def test_threads_change_nothing(tmp_path: Path) -> None:
    path = write(tmp_path / "map.tif", raster(), tile=(16, 16), compression="zlib")
    from mfb_cli.read.decode.rasters import tile_threads

    read = ReadOptions(max_pixels=900)
    for threads in (1, 2, 3):
        with tile_threads(threads):
            assert counted(path, read) == naive()
            whole = np.concatenate([c.values for c in read_raw(path, read).chunks()])
        assert np.array_equal(whole, raster())


@pytest.mark.parametrize("shape", [(1024, 1024), (97, 20_011), (4096, 301), (5, 3), (7, 1)])
def test_uint8_histogram_is_exact(shape: tuple[int, int]) -> None:
    from mfb_cli.count.kernels import histogram_fast

    rng = np.random.default_rng(shape[1])
    runs = np.repeat(rng.integers(0, 256, shape[0] * shape[1] // 50 + 1), 50)
    labels = runs[: shape[0] * shape[1]].astype(np.uint8).reshape(shape)
    labels[::7, ::3] = 255  # varied values too
    found = histogram_fast(labels)
    expected = np.bincount(labels.ravel().astype(np.int64), minlength=256)
    assert found[0].tolist() == np.flatnonzero(expected).tolist()
    assert found[1].tolist() == expected[expected > 0].tolist()


def test_a_png_named_tif_is_still_read_by_pillow(tmp_path: Path) -> None:
    from PIL import Image

    path = tmp_path / "mask.tif"
    Image.fromarray(raster()).save(path, format="PNG")
    assert counted(path) == naive(skip=None)


def test_report_and_check_on_a_raster(tmp_path: Path) -> None:
    path = write(tmp_path / "map.tif", raster(), tile=(32, 16), compression="zlib")
    report = run("report", path, "-o", tmp_path / "report.html")
    assert report.exit_code == 0, report.output
    html = (tmp_path / "report.html").read_text()
    assert "rasters with a nodata value" in html and "EPSG:32631" in html
    checked = run("check", path)
    assert checked.exit_code == 0, checked.output
    assert "uint8, nodata 0" in checked.stdout


def test_lzw_tiles_without_imagecodecs_name_the_extra(tmp_path: Path) -> None:
    import subprocess
    import sys

    pytest.importorskip("imagecodecs", reason="writing LZW tiles needs imagecodecs")
    path = write(tmp_path / "map.tif", raster(), tile=(32, 16), compression="lzw")
    assert counted(path) == naive()
    # The same file where imagecodecs is not installed (an import of it fails).
    program = (
        "import sys; sys.modules['imagecodecs'] = None; sys.argv = ['mfb', 'scan', sys.argv[1]]; "
        "from mfb_cli.cli import main; sys.exit(main())"
    )
    done = subprocess.run(
        [sys.executable, "-c", program, str(path)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 1, done.stderr
    assert done.stderr == (
        f"Error: {path}: its LZW tiles need imagecodecs: pip install 'mfb-cli[rasters]' "
        "(imagecodecs)\n"
    )


@pytest.mark.parametrize(
    ("dtype", "layout"),
    [
        (np.uint8, {"tile": (32, 16), "compression": "zlib"}),
        (np.uint8, {"rowsperstrip": 16, "compression": "zlib"}),  # the last strip is short
        (np.uint16, {"tile": (16, 16), "compression": "zlib"}),
        (">u2", {"tile": (16, 16), "compression": "zlib"}),  # big-endian: tifffile's decode
        (np.int32, {"tile": (16, 32), "compression": "zstd"}),
        (np.uint16, {"tile": (16, 16), "compression": "lzw"}),
        (np.uint8, {"rowsperstrip": 16, "compression": "packbits"}),
        (np.uint8, {"tile": (16, 16), "compression": "zlib", "predictor": True}),
    ],
    ids=[
        "u8-tiles",
        "u8-strips",
        "u16",
        "u16-big-endian",
        "i32-zstd",
        "lzw",
        "packbits",
        "predictor",
    ],
)
def test_direct_decoding_equals_tifffiles(
    tmp_path: Path, dtype: Any, layout: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Blocks decompressed straight into the reader's buffer give the pixels tifffile's
    page.decode gives, and the direct route is taken exactly where it is plain."""
    from mfb_cli.read.decode import rasters

    pytest.importorskip("imagecodecs")
    data = raster(np.dtype(dtype).newbyteorder("=")).astype(dtype)
    path = tmp_path / "map.tif"
    tifffile.imwrite(path, data, byteorder=">" if dtype == ">u2" else "<", **layout)
    read = ReadOptions(max_pixels=3300)
    with tifffile.TiffFile(path) as tif:
        page = tif.pages.first
        direct = rasters._direct_decompressor(page, page.dtype.newbyteorder(tif.byteorder))
    assert (direct is None) == (dtype == ">u2" or "predictor" in layout)
    bands = [c.values for c in read_raw(path, read).chunks()]
    monkeypatch.setattr(rasters, "_direct_decompressor", lambda page, dtype: None)
    by_tifffile = [c.values for c in read_raw(path, read).chunks()]
    assert len(bands) == len(by_tifffile) > 1
    for band, other in zip(bands, by_tifffile, strict=True):
        assert band.dtype == other.dtype and np.array_equal(band, other)
    assert np.array_equal(np.concatenate(bands), raster())


@pytest.mark.parametrize(
    ("layout", "group"),
    [
        ({"tile": (32, 16), "compression": "zlib"}, 1 << 18),  # partial tiles right, bottom
        ({"tile": (32, 16), "compression": "zlib"}, 2 * 32 * 16),  # groups of 2 blocks
        ({"tile": (16, 16), "compression": "zlib"}, 3 * 16 * 16),  # of 3: partial between
        ({"tile": (16, 16), "compression": "zlib"}, 1),  # every block alone
        ({"rowsperstrip": 16, "compression": "zlib"}, 1 << 18),  # the last strip is short
        ({"rowsperstrip": 3, "compression": "zlib"}, 2 * 3 * WIDTH),
    ],
    ids=["tiles", "tiles-by-2", "tiles-by-3", "tiles-alone", "strips", "strips-by-2"],
)
@pytest.mark.parametrize("threads", [1, 2, 3])
def test_blocks_counted_where_decoded_equal_the_chunks(
    tmp_path: Path,
    layout: dict[str, Any],
    group: int,
    threads: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A uint8 raster counted block by block where each is decoded (no band assembled)
    gives every pixel once, nodata included, as a naive count of the raster does; the
    histogram without nodata is the naive loop's."""
    from mfb_cli.read.decode import rasters

    pytest.importorskip("imagecodecs")
    monkeypatch.setattr(rasters, "GROUP_BYTES", group)
    path = write(tmp_path / "map.tif", raster(), **layout)
    calls: list[tuple[int, int]] = []

    def naive_bins(block: np.ndarray) -> np.ndarray:
        assert block.dtype == np.uint8 and block.flags.c_contiguous and block.ndim == 2
        calls.append(block.shape)
        return np.bincount(block.ravel(), minlength=256).astype(np.int64)

    read = ReadOptions(max_pixels=1700)  # bands of one or a few block rows
    with rasters.tile_threads(threads):
        raw = read_raw(path, read)
        assert raw.count_bytes is not None
        bins = raw.count_bytes(naive_bins)
        ids, pixels = histogram_of_raw(read_raw(path, read), read)
    assert np.array_equal(bins, np.bincount(raster().ravel(), minlength=256))
    assert dict(zip(ids.tolist(), pixels.tolist(), strict=True)) == naive()
    assert sum(rows * cols for rows, cols in calls) == HEIGHT * WIDTH


@pytest.mark.parametrize(
    ("dtype", "layout"),
    [
        (np.uint16, {"tile": (16, 16), "compression": "zlib"}),
        (np.uint8, {"tile": (16, 16), "compression": "zlib", "predictor": True}),
        (np.uint8, {"tile": (16, 16)}),  # uncompressed tiles: tifffile reads them
        (np.uint8, {"rowsperstrip": 16}),  # uncompressed strips: read by rows
    ],
    ids=["u16", "predictor", "raw-tiles", "raw-strips"],
)
def test_blocks_are_counted_where_decoded_only_for_plain_uint8(
    tmp_path: Path, dtype: Any, layout: dict[str, Any]
) -> None:
    path = write(tmp_path / "map.tif", raster(dtype), **layout)
    raw = read_raw(path, ReadOptions())
    assert raw.count_bytes is None
    assert counted(path) == naive()


def test_a_corrupt_tile_counted_where_decoded_is_named(tmp_path: Path) -> None:
    """The counting route refuses damage as the chunks do: the file and the tile named."""
    pytest.importorskip("imagecodecs")
    path = write(tmp_path / "map.tif", raster(), tile=(16, 16), compression="zlib")
    with tifffile.TiffFile(path) as tif:
        offset = int(tif.pages.first.dataoffsets[5])
    data = bytearray(path.read_bytes())
    data[offset : offset + 8] = b"\xff" * 8
    path.write_bytes(bytes(data))
    raw = read_raw(path, ReadOptions())
    assert raw.count_bytes is not None
    with pytest.raises(BadMaskError, match=r"map\.tif.*cannot decode tile 5"):
        raw.count_bytes(lambda block: np.zeros(256, dtype=np.int64))
