"""Issue 11: files that decode to silently wrong counts are read exactly or refused.

Each test builds its input by hand (tests/pngbytes.py) or with tifffile, and states the
expected counts worked out from the values written.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from mfb_cli.count.one_file import count_file
from mfb_cli.errors import BadMaskError, LabelRangeError
from mfb_cli.read.decode.fast import fast_modules
from mfb_cli.read.options import ReadOptions

from ..conftest import run
from ..pngbytes import grey_png

DECODERS = ["pillow", "fast"] if fast_modules() is not None else ["pillow"]


def counts(path: Path, decoder: str = "pillow", data: bytes | None = None) -> dict[int, int]:
    ids, pixels = count_file(path, ReadOptions(max_pixels=None, decoder=decoder), data)
    return dict(zip(ids.tolist(), pixels.tolist(), strict=True))


def tally(values: list[list[int]]) -> dict[int, int]:
    found: dict[int, int] = {}
    for row in values:
        for value in row:
            found[value] = found.get(value, 0) + 1
    return dict(sorted(found.items()))


# 1. Low bit depths ------------------------------------------------------------------------

LOW = [[0, 1, 2, 3, 3], [3, 2, 1, 0, 1]]


@pytest.mark.parametrize("decoder", DECODERS)
@pytest.mark.parametrize("bits", [1, 2, 4])
@pytest.mark.parametrize("trns", [False, True])
def test_low_bit_depth_png_counts_stored_samples(tmp_path, decoder, bits, trns):
    values = [[v % (1 << bits) for v in row] for row in LOW]
    path = tmp_path / "low.png"
    path.write_bytes(grey_png(values, bits, trns=b"\0\1" if trns else None))
    assert counts(path, decoder) == tally(values)


def test_two_bit_png_through_the_cli_archive_and_check(tmp_path):
    values = [[0, 1, 2, 3], [3, 3, 3, 3]]
    folder = tmp_path / "d"
    folder.mkdir()
    for index in range(8):  # enough files for --decoder auto to pick the fast decoder
        first = values[0][index % 4 :] + values[0][: index % 4]  # distinct files, same counts
        rows = [first, values[1]] if index < 4 else [values[1], first]
        (folder / f"m{index}.png").write_bytes(grey_png(rows, 2))
    with zipfile.ZipFile(tmp_path / "a.zip", "w") as archive:
        archive.writestr("m.png", grey_png(values, 2))
    for source in (folder, tmp_path / "a.zip"):
        for decoder in ["auto", *DECODERS]:
            result = run("histogram", source, "-f", "json", "--decoder", decoder)
            assert result.exit_code == 0, result.output
            record = json.loads(result.stdout)
            images = 8 if source == folder else 1
            assert record["num_classes"] == 4
            assert [row["pixels"] for row in record["classes"]] == [
                images,
                images,
                images,
                5 * images,
            ]
    # mfb check reads the same samples: 0-3 fit 4 classes, and 3 (not 255) is the top
    result = run("check", folder, "-f", "json", "--num-classes", "4")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["clean"] is True
    result = run("check", folder, "-f", "json", "--num-classes", "3")
    assert result.exit_code == 1
    assert [entry["label"] for entry in json.loads(result.stdout)["out_of_range"]] == [3]


@pytest.mark.parametrize("bits", [1, 2, 4, 8])
def test_tiff_low_depth_and_min_is_white_give_stored_samples(tmp_path, bits):
    values = (np.array(LOW) % (1 << bits)).astype(np.uint8)
    for photometric in ("minisblack", "miniswhite"):
        path = tmp_path / f"{photometric}.tif"
        data = values.astype(bool) if bits == 1 else values
        tifffile.imwrite(
            path, data, bitspersample=None if bits in (1, 8) else bits, photometric=photometric
        )
        assert counts(path) == tally(values.tolist()), photometric


# 2. Short image data ----------------------------------------------------------------------

SHORT = [[5, 6, 7, 8], [1, 1, 1, 1], [2, 2, 2, 2], [0, 0, 0, 0]]


@pytest.mark.parametrize("decoder", DECODERS)
@pytest.mark.parametrize("bits", [1, 2, 4, 8, 16])
@pytest.mark.parametrize("rows", [1, 2, 3])
def test_png_whose_data_ends_before_the_last_row_is_refused(tmp_path, decoder, bits, rows):
    values = [[v % (1 << bits) for v in row] for row in SHORT]
    row_bytes = 1 + (4 * bits + 7) // 8
    path = tmp_path / "short.png"
    path.write_bytes(grey_png(values, bits, keep=rows * row_bytes))
    with pytest.raises(BadMaskError, match=rf"short\.png: image data ends after {rows} of 4 rows"):
        counts(path, decoder)
    # the complete file, whose last row is all 0 as well, is read
    path.write_bytes(grey_png(values, bits))
    assert counts(path, decoder) == tally(values)


def test_short_palette_png_is_refused_and_check_reports_it(tmp_path):
    values = [[1, 2], [0, 0]]
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "p.png").write_bytes(grey_png(values, 8, color_type=3, plte=bytes(9), keep=3))
    result = run("weights", folder)
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {folder / 'p.png'}: image data ends after 1 of 2 rows (3 of 6 bytes): the "
        "file is truncated (Pillow would fill the rest in)\n"
    )
    result = run("check", folder, "-f", "json")
    assert result.exit_code == 1
    assert "image data ends after 1 of 2 rows" in result.stdout


def test_short_png_in_a_zip_is_refused(tmp_path):
    with zipfile.ZipFile(tmp_path / "a.zip", "w") as archive:
        archive.writestr("s.png", grey_png(SHORT, 8, keep=10))
    result = run("weights", tmp_path / "a.zip")
    assert result.exit_code == 1
    assert "s.png: image data ends after 2 of 4 rows" in result.stderr


def test_interlaced_png_size_is_measured_by_pass(tmp_path):
    from mfb_cli.read.decode.png_complete import png_data_size

    # 3x3 8-bit grey, Adam7: passes 1 (1x1), 4 (1x1: x=2,y=0), 5 (2x1: x=0,2 y=2),
    # 6 (1x2: x=1, y=0,2), 7 (3x1: y=1); each row has a filter byte.
    assert png_data_size(3, 3, 8, 0, True) == 2 + 2 + 3 + 2 * 2 + 4
    assert png_data_size(3, 3, 8, 0, False) == 3 * 4
    assert png_data_size(5, 2, 2, 0, False) == 2 * (1 + 2)


# 3. Lossy codecs inside containers --------------------------------------------------------

LABELS = (np.arange(64).reshape(8, 8) % 4).astype(np.uint8)


@pytest.mark.parametrize(
    "compression, accepted",
    [
        (None, True),
        ("zlib", True),
        ("lzw", True),
        ("packbits", True),
        ("zstd", True),
        ("lzma", True),
        ("jpeg", False),
    ],
)
def test_tiff_codec_is_judged_from_the_compression_tag(tmp_path, compression, accepted):
    path = tmp_path / "t.tif"
    tifffile.imwrite(path, LABELS, compression=compression)
    if accepted:
        assert counts(path) == {0: 16, 1: 16, 2: 16, 3: 16}
    else:
        with pytest.raises(BadMaskError, match=r"t\.tif: is a TIFF with JPEG compression"):
            counts(path)


def test_unknown_tiff_compression_is_refused(tmp_path):
    path = tmp_path / "t.tif"
    tifffile.imwrite(path, LABELS)
    with tifffile.TiffFile(path) as tif:
        offset = tif.pages[0].tags["Compression"].valueoffset
    data = bytearray(path.read_bytes())
    data[offset : offset + 2] = (34887).to_bytes(2, "little")  # LERC, lossy at MaxZError > 0
    path.write_bytes(bytes(data))
    # Pillow cannot open it; either way it is refused, never counted
    with pytest.raises(BadMaskError, match=r"t\.tif: (is a TIFF with code 34887|a TIFF Pillow)"):
        counts(path)


def webp(lossless: bool) -> bytes:
    buffer = io.BytesIO()
    rgb = np.stack([LABELS * 60] * 3, axis=-1)
    Image.fromarray(rgb).save(buffer, format="WEBP", lossless=lossless, quality=50)
    return buffer.getvalue()


def test_lossy_webp_is_refused_lossless_webp_is_read(tmp_path):
    (tmp_path / "l.webp").write_bytes(webp(lossless=True))
    (tmp_path / "q.webp").write_bytes(webp(lossless=False))
    table = tmp_path / "c.csv"
    table.write_text("id,r,g,b\n" + "".join(f"{i},{60 * i},{60 * i},{60 * i}\n" for i in range(4)))
    options = ReadOptions(max_pixels=None, colormap=None)
    from mfb_cli.read.labels.colormaps import load_colormap

    options = ReadOptions(colormap=load_colormap(str(table)))
    ids, pixels = count_file(tmp_path / "l.webp", options)
    assert dict(zip(ids.tolist(), pixels.tolist(), strict=True)) == {0: 16, 1: 16, 2: 16, 3: 16}
    with pytest.raises(BadMaskError, match=r"q\.webp: is a lossy WebP \(VP8  bitstream\)"):
        count_file(tmp_path / "q.webp", options)


def test_jpeg2000_and_unproven_formats_are_refused(tmp_path):
    Image.fromarray(LABELS).save(tmp_path / "j.jp2", irreversible=False)
    with pytest.raises(BadMaskError, match=r"j\.jp2: is a JPEG2000 file, whose codec can be lossy"):
        counts(tmp_path / "j.jp2")
    Image.fromarray(LABELS).convert("F").save(tmp_path / "x.spi", format="SPIDER")
    with pytest.raises(BadMaskError, match=r"x\.spi: is a SPIDER file, which mfb cannot prove"):
        counts(tmp_path / "x.spi")


def test_pgm_with_small_maxval_is_refused_not_rescaled(tmp_path):
    (tmp_path / "m.pgm").write_bytes(b"P5 2 1 3\n\x00\x03")
    with pytest.raises(BadMaskError, match=r"m\.pgm: is a PGM/PPM with maxval 3"):
        counts(tmp_path / "m.pgm")
    (tmp_path / "n.pgm").write_bytes(b"P5 2 1 255\n\x00\x03")
    assert counts(tmp_path / "n.pgm") == {0: 1, 3: 1}


# 4. Values that do not fit ----------------------------------------------------------------


def test_uint64_npy_above_int64_is_refused_not_negative(tmp_path):
    path = tmp_path / "u.npy"
    np.save(path, np.array([[0, 2**63]], dtype=np.uint64))
    with pytest.raises(LabelRangeError, match=r"u\.npy: value 9223372036854775808 does not fit"):
        counts(path)
    np.save(path, np.array([[0, 2**63 - 1]], dtype=np.uint64))
    assert counts(path) == {0: 1, 2**63 - 1: 1}


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_float_npy_is_refused(tmp_path, dtype):
    np.save(tmp_path / "f.npy", np.array([[1.0, 1.7]], dtype=dtype))
    with pytest.raises(BadMaskError, match=r"f\.npy: holds float"):
        counts(tmp_path / "f.npy")


def test_float_tiff_beyond_exact_float32_integers_is_refused(tmp_path):
    path = tmp_path / "f.tif"
    tifffile.imwrite(path, np.array([[1.0, 2.0**24]], dtype=np.float32))
    assert counts(path) == {1: 1, 2**24: 1}
    tifffile.imwrite(path, np.array([[1.0, 2.0**24 + 2]], dtype=np.float32))
    with pytest.raises(BadMaskError, match=r"f\.tif: holds 16777218\.0, beyond 2\*\*24"):
        counts(path)
    tifffile.imwrite(path, np.array([[1.0, 1e30]], dtype=np.float32))
    with pytest.raises(BadMaskError, match=r"beyond 2\*\*24"):
        counts(path)


def test_float64_tiff_is_refused_with_a_message(tmp_path):
    path = tmp_path / "d.tif"
    tifffile.imwrite(path, np.array([[1.0, 1.0000001]], dtype=np.float64))
    with pytest.raises(BadMaskError, match=r"d\.tif: "):
        counts(path)


# 6. Files that are not regular files ------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
@pytest.mark.parametrize("decoder", DECODERS)
def test_fifo_named_as_a_mask_is_refused_without_blocking(tmp_path, decoder):
    os.mkfifo(tmp_path / "f.png")
    with pytest.raises(BadMaskError, match=r"f\.png: is a FIFO \(named pipe\), not a regular file"):
        counts(tmp_path / "f.png", decoder)
    os.mkfifo(tmp_path / "f.npy")
    with pytest.raises(BadMaskError, match=r"f\.npy: is a FIFO"):
        counts(tmp_path / "f.npy", decoder)


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_device_named_as_a_mask_is_refused(tmp_path):
    # as if swapped in after the folder was listed: the open itself refuses it
    for name in ("/dev/zero", "/dev/null"):
        with pytest.raises(BadMaskError, match=f"{name}: is a device, not a regular file"):
            counts(Path(name))


# 5. Bounded memory for huge label values --------------------------------------------------


def test_one_huge_label_is_refused_before_a_vector_is_built(tmp_path):
    tifffile.imwrite(tmp_path / "h.tif", np.array([[0, 200_000_000], [1, 1]], dtype=np.int32))
    result = run("weights", tmp_path, "--glob", "*.tif")
    assert result.exit_code == 1
    assert result.stderr == (  # named with its file, as soon as it is read
        f"Error: {tmp_path / 'h.tif'}: label 200000000 would need a class vector of "
        "200,000,001 entries; mfb builds "
        "class vectors of at most 65,536 entries (instance ids or a depth map?); pass --ignore "
        "200000000 if it marks pixels without a class\n"
    )
    result = run("histogram", tmp_path, "--glob", "*.tif", "--ignore", "200000000", "-f", "json")
    assert result.exit_code == 0, result.output
    assert [row["pixels"] for row in json.loads(result.stdout)["classes"]] == [1, 2]
    # 'mfb check' lists it (it said "no problems found" while weights refused the file).
    result = run("check", tmp_path, "--glob", "*.tif", "-f", "json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["out_of_range"] == [
        {"label": 200_000_000, "files": [str(tmp_path / "h.tif")]}
    ]


def test_huge_vector_options_are_refused(tmp_path):
    (tmp_path / "m.png").write_bytes(grey_png([[0, 1]]))
    for value in ("65537", "1000000000"):  # a usage error, shown in --help as [1<=x<=65536]
        result = run("weights", tmp_path, "--num-classes", value)
        assert result.exit_code == 2
        assert f"{value} is not in the range 1<=x<=65536" in result.stderr
    result = run("weights", tmp_path, "--void", "1000000000")
    assert result.exit_code == 2  # the option alone is wrong, as for --num-classes
    assert result.stderr.endswith(
        "Error: --void 1000000000: mfb builds class vectors of at most 65,536 entries\n"
    )
    from mfb_cli.errors import OptionError
    from mfb_cli.weigh.spec import LabelSpec

    with pytest.raises(OptionError, match=r"^num_classes=65537: mfb builds class vectors"):
        LabelSpec.of(num_classes=65537)  # the library refuses it too


def test_the_largest_vector_is_accepted(tmp_path):
    from mfb_cli.class_set import MAX_CLASSES
    from mfb_cli.count.counts import ClassCounts
    from mfb_cli.weigh.classes import class_stats
    from mfb_cli.weigh.spec import LabelSpec

    counts = ClassCounts.from_histogram(np.array([0, MAX_CLASSES - 1]), np.array([3, 1]))
    stats = class_stats(counts, LabelSpec())
    assert stats.num_classes == MAX_CLASSES
    assert int(stats.pixels[MAX_CLASSES - 1]) == 1
    counts = ClassCounts.from_histogram(np.array([0, MAX_CLASSES]), np.array([3, 1]))
    with pytest.raises(LabelRangeError, match="label 65536 would need a class vector of 65,537"):
        class_stats(counts, LabelSpec())


# 7. Instance ids and depth maps (issue 10) ------------------------------------------------


@pytest.mark.parametrize("distinct, refused", [(1000, False), (1001, True)])
def test_file_with_more_than_1000_values_looks_like_instances_or_depth(tmp_path, distinct, refused):
    values = np.arange(distinct, dtype=np.uint16).reshape(1, distinct) * 7
    tifffile.imwrite(tmp_path / "depth.tif", values)
    if not refused:
        assert len(counts(tmp_path / "depth.tif")) == distinct
        return
    for extra in ([], ["--skip-bad"]):  # a LabelRangeError: never skipped
        result = run("weights", tmp_path, "--glob", "*.tif", *extra)
        assert result.exit_code == 1
        assert result.stderr == (
            f"Error: {tmp_path / 'depth.tif'}: 1001 distinct values (0..7000) in one mask, more "
            "than the 1000 a semantic label map holds: this looks like instance ids or a depth "
            "map, not class ids\n"
        )


def adam7_png(values: np.ndarray, keep: int | None = None) -> bytes:
    """An interlaced 8-bit greyscale PNG (filter 0 in every pass row)."""
    import struct
    import zlib

    from ..pngbytes import SIGNATURE, chunk

    height, width = values.shape
    rows = b""
    for x0, y0, dx, dy in (
        (0, 0, 8, 8),
        (4, 0, 8, 8),
        (0, 4, 4, 8),
        (2, 0, 4, 4),
        (0, 2, 2, 4),
        (1, 0, 2, 2),
        (0, 1, 1, 2),
    ):
        part = values[y0::dy, x0::dx]
        if part.size:
            rows += b"".join(b"\0" + bytes(row.tolist()) for row in part)
    if keep is not None:
        rows = rows[:keep]
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 1)
    return (
        SIGNATURE
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def test_interlaced_png_with_short_data_is_refused(tmp_path):
    values = (np.arange(35).reshape(5, 7) % 3 + 1).astype(np.uint8)
    path = tmp_path / "i.png"
    path.write_bytes(adam7_png(values))
    assert counts(path) == {1: 12, 2: 12, 3: 11}
    path.write_bytes(adam7_png(values, keep=30))  # the last passes are missing
    with pytest.raises(BadMaskError, match=r"i\.png: image data ends early \(30 of"):
        counts(path)


def test_compressed_tiff_strip_holding_too_few_rows_is_refused(tmp_path):
    import zlib

    values = (np.arange(256).reshape(16, 16) % 5 + 1).astype(np.uint8)
    path = tmp_path / "s.tif"
    tifffile.imwrite(path, values, compression="zlib", rowsperstrip=16)
    with tifffile.TiffFile(path) as tif:
        offset, length = tif.pages[0].dataoffsets[0], tif.pages[0].databytecounts[0]
    short = zlib.compress(values[:8].tobytes(), 9)  # a complete stream of 8 rows of 16
    data = bytearray(path.read_bytes())
    data[offset : offset + length] = short + bytes(length - len(short))
    path.write_bytes(bytes(data))
    with pytest.raises(BadMaskError, match=r"s\.tif: cannot decode"):
        counts(path)


def test_formats_pillow_would_narrow_are_refused(tmp_path):
    import struct

    from mfb_cli.read.decode.samples import check_not_narrowed

    # A 16-bit SGI file: Pillow reads 0, 300, 65535 as 0, 1, 255 (mode L).
    header = struct.pack(">hBBHHHH", 474, 0, 2, 2, 3, 1, 1) + struct.pack(">ii", 0, 65535)
    samples = np.array([[0, 300, 65535]], dtype=">u2").tobytes()
    (tmp_path / "x.sgi").write_bytes(header.ljust(512, b"\0") + samples)
    with pytest.raises(BadMaskError, match=r"x\.sgi: is a SGI file, which mfb cannot prove"):
        counts(tmp_path / "x.sgi")
    # the guard behind the whitelist: any raw mode wider than the image mode
    for mode, rawmode in (("L", "L;16B"), ("P", "P;16"), ("I", "I;32F"), ("F", "F;64F")):
        with pytest.raises(BadMaskError, match=f"narrow to mode {mode} \\(raw mode {rawmode}\\)"):
            check_not_narrowed("n.img", mode, rawmode)
    for mode, rawmode in (("I;16", "I;16B"), ("I", "I;16"), ("L", "L;2"), ("F", "F;32F")):
        check_not_narrowed("n.img", mode, rawmode)


@pytest.mark.parametrize("bits, sentinel", [(8, 0xA7), (16, 0xA7C3)])
def test_last_row_equal_to_the_sentinel_is_measured_not_trusted(tmp_path, bits, sentinel):
    values = [[1, 2, 3], [sentinel] * 3]
    path = tmp_path / "s.png"
    path.write_bytes(grey_png(values, bits))
    assert counts(path) == {1: 1, 2: 1, 3: 1, sentinel: 3}
    path.write_bytes(grey_png(values, bits, keep=1 + 3 * bits // 8))
    with pytest.raises(BadMaskError, match=r"s\.png: image data ends after 1 of 2 rows"):
        counts(path)


def test_a_last_row_of_zeros_is_not_inflated_twice(tmp_path, monkeypatch):
    import mfb_cli.read.decode.png_complete as decode

    def refuse(*args):
        raise AssertionError("measured although the decoder wrote the last row")

    path = tmp_path / "z.png"
    path.write_bytes(grey_png([[1, 2], [0, 0]], 8, color_type=3, plte=bytes(9)))
    monkeypatch.setattr(decode, "_inflated_idat_size", refuse)
    assert counts(path) == {0: 2, 1: 1, 2: 1}


@pytest.mark.parametrize("decoder", ["pillow", "fast"])
def test_png_image_data_that_fails_its_crc_is_refused(tmp_path, decoder):
    """A damaged IDAT byte that still inflates (valid zlib stream) must not be counted.

    Pillow streams IDAT to zlib without checking the chunk's CRC: the file below holds a
    valid zlib stream of a changed pixel (2 instead of 1) under the original chunk's CRC,
    so only the CRC tells the damage, and Pillow alone would count a 2 that is not there.
    """
    import struct
    import zlib

    from ..pngbytes import SIGNATURE, chunk, pack_rows

    good_rows = pack_rows([[0, 1], [1, 0]], 8)
    bad_rows = pack_rows([[0, 2], [1, 0]], 8)
    good_idat = zlib.compress(good_rows, level=0)  # stored blocks: equal lengths
    bad_idat = zlib.compress(bad_rows, level=0)
    assert len(good_idat) == len(bad_idat)
    original_crc = zlib.crc32(b"IDAT" + good_idat) & 0xFFFFFFFF
    header = struct.pack(">IIBBBBB", 2, 2, 8, 0, 0, 0, 0)
    damaged = (
        SIGNATURE
        + chunk(b"IHDR", header)
        + struct.pack(">I", len(bad_idat))
        + b"IDAT"
        + bad_idat
        + struct.pack(">I", original_crc)
        + chunk(b"IEND", b"")
    )
    path = tmp_path / "crc.png"
    path.write_bytes(damaged)
    with pytest.raises(BadMaskError, match=r"crc\.png: the PNG's IDAT chunk fails its CRC check"):
        counts(path, decoder)
    result = run("check", path)
    assert result.exit_code == 1
    assert "IDAT chunk fails its CRC check" in result.stdout
