"""Hostile inputs found after the merge of issues 10 and 11: each counted exactly or refused.

Every expected count comes from an independent reader (tifffile for TIFFs, the bytes
written for PNGs), never from mfb.
"""

from __future__ import annotations

import struct
import zlib
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from mfb_cli.count.one_file import count_file
from mfb_cli.errors import BadMaskError
from mfb_cli.read.decode.fast import fast_modules
from mfb_cli.read.options import ReadOptions

from ..pngbytes import SIGNATURE, chunk, pack_rows

DECODERS = ["pillow", "fast"] if fast_modules() is not None else ["pillow"]


def _counts(path: Path | str, decoder: str = "pillow", data: bytes | None = None) -> dict[int, int]:
    ids, counts = count_file(str(path), ReadOptions(decoder=decoder), data=data)
    return dict(zip(ids.tolist(), counts.tolist(), strict=True))


@pytest.mark.parametrize("dtype", [">i2", ">i4", ">f4", "<i2", "<i4", ">u2"])
@pytest.mark.parametrize("compression", [None, "zlib", "lzw", "packbits"])
def test_compressed_big_endian_tiffs_are_counted_as_stored(
    tmp_path: Path, dtype: str, compression: str | None
) -> None:
    # Pillow applied its big-endian raw mode to what libtiff had already made native, so
    # a compressed big-endian int16 TIFF's 2 was counted as 512, silently.
    tifffile = pytest.importorskip("tifffile")
    values = np.array([[2, -7, 0, 300], [300, 1, 2, 2], [-32768 if "i2" in dtype else -9, 5, 5, 5]])
    if dtype == ">u2":
        values = np.abs(values)
    array = values.astype(dtype)
    path = tmp_path / "mask.tif"
    tifffile.imwrite(path, array, byteorder=dtype[0], compression=compression)
    expected = Counter(tifffile.imread(path).astype(np.int64).ravel().tolist())
    assert expected == Counter(values.ravel().tolist())
    assert _counts(path) == dict(expected)


def _ihdr(width: int, height: int) -> bytes:
    return chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))


def _fctl(sequence: int, width: int, height: int) -> bytes:
    return chunk(b"fcTL", struct.pack(">IIIIIHHBB", sequence, width, height, 0, 0, 1, 1, 0, 0))


@pytest.mark.parametrize("decoder", DECODERS)
def test_animated_pngs_are_refused_by_every_decoder(decoder: str) -> None:
    # libpng decodes only an APNG's default image: the fast decoder counted frame 1 and
    # silently left out the others, where Pillow refuses the file.
    first = pack_rows([[0, 1, 2, 3], [3, 3, 1, 0]], 8)
    second = pack_rows([[5, 5, 5, 5], [5, 5, 5, 5]], 8)
    apng = (
        SIGNATURE
        + _ihdr(4, 2)
        + chunk(b"acTL", struct.pack(">II", 2, 0))
        + _fctl(0, 4, 2)
        + chunk(b"IDAT", zlib.compress(first))
        + _fctl(1, 4, 2)
        + chunk(b"fdAT", struct.pack(">I", 2) + zlib.compress(second))
        + chunk(b"IEND", b"")
    )
    with pytest.raises(BadMaskError, match="holds 2 images"):
        _counts("anim.png", decoder, apng)
    # One frame only: the default image is the whole file, counted by both decoders.
    still = (
        SIGNATURE
        + _ihdr(4, 2)
        + chunk(b"acTL", struct.pack(">II", 1, 0))
        + _fctl(0, 4, 2)
        + chunk(b"IDAT", zlib.compress(first))
        + chunk(b"IEND", b"")
    )
    assert _counts("still.png", decoder, still) == {0: 2, 1: 2, 2: 1, 3: 3}


def _colour_options(tmp_path: Path, **options: int) -> ReadOptions:
    from mfb_cli.read.labels.colormaps import load_colormap

    table = tmp_path / "colours.csv"
    table.write_text("name,r,g,b\na,10,20,30\nb,40,50,60\nc,0,0,0\n")
    return ReadOptions(decoder="pillow", colormap=load_colormap(str(table)), **options)


def _png(width: int, bits: int, colour_type: int, rows: bytes, *extra: bytes) -> bytes:
    header = chunk(b"IHDR", struct.pack(">IIBBBBB", width, 1, bits, colour_type, 0, 0, 0))
    return (
        SIGNATURE
        + header
        + b"".join(extra)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("colour_type", [2, 6])
def test_16_bit_colour_masks_are_refused_not_narrowed(tmp_path: Path, colour_type: int) -> None:
    # Pillow keeps the high byte of each 16-bit channel: (2560, 5120, 7680) and
    # (2815, 5123, 7681) both became #0a141e, one class counted twice, silently.
    pixels = [(2560, 5120, 7680), (2815, 5123, 7681)]
    channels = [(*p, 65535) if colour_type == 6 else p for p in pixels]
    rows = b"\0" + b"".join(v.to_bytes(2, "big") for p in channels for v in p)
    data = _png(2, 16, colour_type, rows)
    with pytest.raises(BadMaskError, match="16-bit colour samples"):
        count_file("deep.png", _colour_options(tmp_path), data=data)


def test_palette_transparency_follows_the_rgba_rules(tmp_path: Path) -> None:
    # Saved as RGBA the transparent pixels need --transparent (and partly transparent
    # ones are refused); saved as a palette with tRNS they were counted by hidden colour.
    rows = pack_rows([[0, 1, 2, 2]], 8)
    plte = chunk(b"PLTE", bytes([10, 20, 30, 40, 50, 60, 0, 0, 0]))
    clear = _png(4, 8, 3, rows, plte, chunk(b"tRNS", b"\xff\xff\x00"))
    with pytest.raises(BadMaskError, match="2 fully transparent pixels"):
        count_file("clear.png", _colour_options(tmp_path), data=clear)
    ids, counts = count_file("clear.png", _colour_options(tmp_path, transparent=9), data=clear)
    assert dict(zip(ids.tolist(), counts.tolist(), strict=True)) == {0: 1, 1: 1, 9: 2}
    partial = _png(4, 8, 3, rows, plte, chunk(b"tRNS", b"\xff\x80\x00"))
    with pytest.raises(BadMaskError, match="1 partly transparent pixels"):
        count_file("partial.png", _colour_options(tmp_path, transparent=9), data=partial)
    # Transparent entries no pixel uses change nothing.
    unused = _png(4, 8, 3, pack_rows([[0, 0, 2, 2]], 8), plte, chunk(b"tRNS", b"\xff\x00"))
    ids, counts = count_file("unused.png", _colour_options(tmp_path), data=unused)
    assert dict(zip(ids.tolist(), counts.tolist(), strict=True)) == {0: 2, 2: 2}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--void", "-3"], "--void -3: class ids are >= 0"),
        (["--void", "3", "--ignore", "3"], "id 3 is given as both --void and --ignore"),
    ],
)
def test_contradicting_class_options_are_usage_errors_before_any_read(
    tmp_path: Path, options: list[str], message: str
) -> None:
    # They were exit 1 and only after every mask was read (hours, on a real dataset).
    from click.testing import CliRunner

    from mfb_cli.cli import cli

    (tmp_path / "broken.png").write_bytes(b"not a png")  # reading it would be a data error
    for command in ("weights", "histogram"):
        result = CliRunner().invoke(cli, [command, str(tmp_path), *options])
        assert result.exit_code == 2, result.stderr
        assert result.stderr.splitlines()[-1] == f"Error: {message}"


def test_zip_members_under_dot_dot_are_counted_not_dropped_as_hidden(tmp_path: Path) -> None:
    # 'zip -r x.zip ../labels' stores '../labels/a.png': the '..' was taken for a hidden
    # dot-folder and the member left out without a word (4 of 8 pixels counted).
    import io
    import zipfile

    from PIL import Image

    from mfb_cli.count.scan import count_masks
    from mfb_cli.read.sources.find import find_label_sources

    def png(values: list[list[int]]) -> bytes:
        out = io.BytesIO()
        Image.fromarray(np.asarray(values, dtype=np.uint8)).save(out, "PNG")
        return out.getvalue()

    archive = tmp_path / "labels.zip"
    with zipfile.ZipFile(archive, "w") as opened:
        opened.writestr("../labels/a.png", png([[0, 1], [1, 1]]))
        opened.writestr("/abs/b.png", png([[2, 2], [2, 2]]))
        opened.writestr("labels/.cache/c.png", png([[5]]))  # a real dot-folder: debris
    counts = count_masks(find_label_sources([archive]), jobs=1)
    assert counts.num_images == 2
    assert dict(zip(counts.ids.tolist(), counts.pixels.tolist(), strict=True)) == {
        0: 1,
        1: 3,
        2: 4,
    }


@pytest.mark.parametrize(
    ("suffix", "text", "message"),
    [
        (".json", '{"1": 2, "1": 3}', "key '1' appears twice"),
        (".yaml", "1: 2\n1: 3\n", "key 1 appears twice, line 2"),
        (".yaml", "base: &b {1: 2}\nover:\n  <<: *b\n  1: 3\n", None),  # a merge may override
    ],
)
def test_tables_with_a_key_given_twice_are_refused(
    tmp_path: Path, suffix: str, text: str, message: str | None
) -> None:
    # json and PyYAML keep the last of two equal keys: the remap silently sent 1 to 3.
    from mfb_cli.errors import MfbError
    from mfb_cli.read.labels.remap import load_remap
    from mfb_cli.read.sources.textfiles import parse_structured

    if message is None:
        assert parse_structured(text, suffix) == {"base": {1: 2}, "over": {1: 3}}
        return
    path = tmp_path / f"map{suffix}"
    path.write_text(text)
    with pytest.raises(MfbError, match=message):
        load_remap(str(path))


def test_a_statistics_file_with_a_key_given_twice_is_refused(tmp_path: Path) -> None:
    # A hand-merged file with two "pixels" lists was read with the last one only.
    import json

    from mfb_cli.count.stats import load_stats
    from mfb_cli.errors import MfbError

    record = {
        "format": "mfb-stats",
        "format_version": 1,
        "mfb_version": "0",
        "label_mapping": {},
        "num_images": 1,
        "total_pixels": 4,
        "files": 1,
        "files_digest": "sha256-sum:" + "0" * 64,
        "ids": [0],
        "pixels": [4],
        "images": [1],
        "cooc": [[0, 0, 4]],
        "source": {},
    }
    text = json.dumps(record)
    path = tmp_path / "stats.json"
    path.write_text(text)
    assert load_stats(path).counts.pixels.tolist() == [4]
    path.write_text(text[:-1] + ', "pixels": [4]}')
    with pytest.raises(MfbError, match="key 'pixels' appears twice"):
        load_stats(path)


def test_a_tiff_pillow_cannot_decode_is_named_as_such_without_python_warnings(
    tmp_path: Path,
) -> None:
    # A big-endian BigTIFF: Pillow printed "UserWarning: Corrupt EXIF data" (two lines of
    # Python warning on stderr, in no output's warnings) and mfb blamed the extension.
    import subprocess
    import sys

    tifffile = pytest.importorskip("tifffile")
    tifffile.imwrite(tmp_path / "m.tif", np.zeros((3, 4), ">u2"), byteorder=">", bigtiff=True)
    result = subprocess.run(
        [sys.executable, "-m", "mfb_cli", "histogram", str(tmp_path / "m.tif"), "-q"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr == (
        f"Error: {tmp_path / 'm.tif'}: a TIFF Pillow cannot decode (damaged, or a layout it "
        "does not read: sample size, byte order, photometric); save it as a PNG or an "
        "8/16/32-bit integer TIFF\n"
    )


def _stats_record(images: list[dict[int, int]]) -> dict[str, object]:
    from mfb_cli.count.counts import ClassCounts
    from mfb_cli.count.stats import StatsFile, stats_record

    total = ClassCounts.empty()
    for image in images:
        ids = np.asarray(sorted(image), dtype=np.int64)
        total = total + ClassCounts.from_histogram(
            ids, np.asarray([image[i] for i in ids.tolist()], dtype=np.int64)
        )
    return stats_record(StatsFile(total, len(images), "sha256-sum:" + "0" * 64))


def test_real_statistics_always_load_and_impossible_edits_do_not() -> None:
    # Hand-edited files that pass every per-field check could still invent co-occurrence:
    # an id in every image with a partial row, all of an id's pixels in fewer images than
    # it is in, two ids that must share an image with no row, more images than files.
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from mfb_cli.count.stats import _Invalid, stats_from_record

    image = st.dictionaries(st.integers(0, 5), st.integers(1, 9), min_size=1, max_size=4)

    @settings(max_examples=60, deadline=None)
    @given(st.lists(image, min_size=1, max_size=5))
    def real(images: list[dict[int, int]]) -> None:
        stats_from_record(_stats_record(images))

    real()
    # Image 1: ids 0 (3 px), 1 (1 px); image 2: ids 0 (2 px), 2 (4 px); image 3: id 1 (2 px).
    base = _stats_record([{0: 3, 1: 1}, {0: 2, 2: 4}, {1: 2}])
    assert base["cooc"] == [
        [0, 0, 5],
        [0, 1, 1],
        [0, 2, 4],
        [1, 0, 3],
        [1, 1, 3],
        [2, 0, 2],
        [2, 2, 4],
    ]
    stats_from_record(base)

    def edited(**changes: object) -> dict[str, object]:
        return {**base, **changes}

    cases = [
        (edited(num_images=3, files=2), "'num_images' 3 is more than the 2 'files' scanned"),
        # id 2 (1 image) claimed to share an image with all 3 pixels of id 1 (2 images)
        (
            edited(
                cooc=[
                    [0, 0, 5],
                    [0, 1, 1],
                    [0, 2, 4],
                    [1, 0, 3],
                    [1, 1, 3],
                    [2, 0, 2],
                    [2, 1, 3],
                    [1, 2, 4],
                    [2, 2, 4],
                ]
            ),
            "'cooc' puts all 3 pixels of id 1 in the 1 images of id 2, but id 1 is in 2 images",
        ),
        # ids 0 and 1 are in 2 of 3 images each: they must share one
        (
            edited(cooc=[[0, 0, 5], [0, 2, 4], [1, 1, 3], [2, 0, 2], [2, 2, 4]]),
            "'cooc' has no row for ids 0 and 1, which are in 2 and 2 of 3 images",
        ),
    ]
    for record, message in cases:
        with pytest.raises(_Invalid, match=message):
            stats_from_record(record)
    # An id in every image: its row must be the pixels of every id.
    every = _stats_record([{0: 1, 1: 2}, {0: 3, 2: 1}])
    assert every["cooc"][:3] == [[0, 0, 4], [0, 1, 2], [0, 2, 1]]
    broken = [row for row in every["cooc"] if row != [0, 2, 1] and row != [2, 0, 3]]
    with pytest.raises(_Invalid, match="'cooc' row of id 0 is not 'pixels'"):
        stats_from_record({**every, "cooc": broken})


def test_16_bit_ppm_colours_are_refused_grey_pgm_is_exact(tmp_path: Path) -> None:
    # Pillow scales 16-bit PPM colours to 8 bits: (2560, 5120, 7680) and (2560, 5120, 7936)
    # both came out #000000, counted as one colour (two classes merged, or one invented).
    pixels = np.array([[10, 20, 30, 10, 20, 31]], ">u2") * 256
    with pytest.raises(BadMaskError, match="16-bit PPM"):
        count_file("c.ppm", _colour_options(tmp_path), data=b"P6\n2 1\n65535\n" + pixels.tobytes())
    grey = np.array([1, 300, 65535], ">u2").tobytes()
    ids, counts = count_file("g.pgm", ReadOptions(decoder="pillow"), b"P5\n3 1\n65535\n" + grey)
    assert dict(zip(ids.tolist(), counts.tolist(), strict=True)) == {1: 1, 300: 1, 65535: 1}


@pytest.mark.parametrize(
    ("file", "text", "message"),
    [
        ("n.yaml", '0: "road\\nX"\n', r"class 0: name 'road\\nX' holds the control character"),
        ("n.json", '["\\u001b[31mred"]', r"class 0: name '\\x1b\[31mred' holds"),
        ("n.txt", "sky\nro\x0cad\n", r"line 2: name 'ro\\x0cad' holds"),
    ],
)
def test_class_names_with_control_characters_are_refused(
    tmp_path: Path, file: str, text: str, message: str
) -> None:
    # A newline split the table row in two, an escape sequence reached the terminal raw,
    # and a form feed in a text file started a new line (every later id named wrongly).
    from mfb_cli.errors import MfbError
    from mfb_cli.read.labels.names import load_class_names

    path = tmp_path / file
    path.write_text(text)
    with pytest.raises(MfbError, match=message):
        load_class_names(path)


def test_text_names_keep_their_line_numbers_with_any_line_ending(tmp_path: Path) -> None:
    from mfb_cli.read.labels.names import load_class_names

    for ending in ("\n", "\r\n", "\r"):
        (tmp_path / "n.txt").write_bytes(ending.join(["sky", "", "road", ""]).encode())
        assert load_class_names(tmp_path / "n.txt") == {0: "sky", 2: "road"}


def test_colour_table_names_with_control_characters_are_refused(tmp_path: Path) -> None:
    from mfb_cli.errors import MfbError
    from mfb_cli.read.labels.colormaps import load_colormap

    table = tmp_path / "c.json"
    table.write_text('[{"name": "sky\\nX", "color": [0, 0, 0]}]')
    with pytest.raises(MfbError, match=r"c\.json: class 0: name 'sky\\nX' holds"):
        load_colormap(str(table))


def test_an_rgb_pngs_trns_colour_follows_the_rgba_rules(tmp_path: Path) -> None:
    # A tRNS chunk on an RGB PNG marks one colour fully transparent; it was counted as that
    # colour's class, where the same mask saved as RGBA is refused without --transparent.
    rows = b"\0" + bytes([10, 20, 30, 40, 50, 60, 0, 0, 0, 0, 0, 0])
    data = _png(4, 8, 2, rows, chunk(b"tRNS", struct.pack(">HHH", 0, 0, 0)))
    with pytest.raises(
        BadMaskError, match=r"2 fully transparent pixels \(its tRNS colour #000000\)"
    ):
        count_file("key.png", _colour_options(tmp_path), data=data)
    ids, counts = count_file("key.png", _colour_options(tmp_path, transparent=9), data=data)
    assert dict(zip(ids.tolist(), counts.tolist(), strict=True)) == {0: 1, 1: 1, 9: 2}
    # A key colour no pixel has changes nothing.
    other = _png(4, 8, 2, rows, chunk(b"tRNS", struct.pack(">HHH", 7, 7, 7)))
    ids, counts = count_file("other.png", _colour_options(tmp_path), data=other)
    assert dict(zip(ids.tolist(), counts.tolist(), strict=True)) == {0: 1, 1: 1, 2: 2}


def test_missing_colours_are_reported_once_each_with_their_pixels(tmp_path: Path) -> None:
    # A palette of 2 entries and indices 0-3: each index without a colour was listed as a
    # colour of its own ("4 colour(s) not in the colour map: a palette index without
    # colour (1 pixels), a palette index without colour (1 pixels), ...").
    rows = pack_rows([[2, 3, 3, 0, 5, 5]], 8)
    data = _png(6, 8, 3, rows, chunk(b"PLTE", bytes([1, 2, 3, 10, 20, 30])))
    with pytest.raises(BadMaskError) as error:
        count_file("short.png", _colour_options(tmp_path), data=data)
    assert "2 colour(s) not in the colour map: a palette index without colour (5 pixels), " in (
        str(error.value)
    )
    assert "#010203 (1 pixels);" in str(error.value)


def _npy(shape: tuple[int, ...], body: bytes) -> bytes:
    header = repr({"descr": "<u1", "fortran_order": False, "shape": shape}).encode()
    header += b" " * (63 - (10 + len(header)) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header + body


@pytest.mark.parametrize("where", ["disk", "archive"])
@pytest.mark.parametrize(
    ("shape", "message"),
    [
        (
            (2**31, 2**31),
            "the header promises 4611686018427387904 bytes of data, the file holds 16",
        ),
        ((10**30, 1), "the header promises 10000000000000000000000000000"),
        ((3, -1), r"the header gives a negative size \(3, -1\)"),
        ((2, 9), "the header promises 18 bytes of data, the file holds 16"),
    ],
)
def test_npy_headers_are_checked_before_any_memory_is_taken(
    tmp_path: Path, where: str, shape: tuple[int, int], message: str
) -> None:
    # A 100-byte .npy in a zip claiming 2^31 x 2^31 had NumPy allocate exabytes
    # (MemoryError, a traceback); 10^30 rows was an OverflowError traceback.
    data = _npy(shape, bytes(range(16)))
    path = tmp_path / "h.npy"
    path.write_bytes(data)
    read = ReadOptions(max_pixels=None)
    with pytest.raises(BadMaskError, match=message):
        count_file(str(path), read, data=data if where == "archive" else None)
    ids, counts = count_file(str(path), read, data=_npy((2, 8), bytes(range(16))))
    assert ids.tolist() == list(range(16)) and counts.tolist() == [1] * 16


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[background, on, road]", "class 1: True was read as a bool, not text"),
        ("{0: sky, 1: 1.10}", "class 1: 1.1 was read as a float, not text"),
    ],
)
def test_yaml_names_that_are_not_text_are_refused(tmp_path: Path, text: str, message: str) -> None:
    # YAML 1.1 reads 'on' as true and 1.10 as 1.1: the class was named 'True' or '1.1'.
    from mfb_cli.errors import MfbError
    from mfb_cli.read.labels.names import load_class_names

    (tmp_path / "n.yaml").write_text(text)
    with pytest.raises(MfbError, match=message):
        load_class_names(tmp_path / "n.yaml")
    (tmp_path / "n.yaml").write_text("[background, 'on', 7]")  # quoted text and ints are names
    assert load_class_names(tmp_path / "n.yaml") == {0: "background", 1: "on", 2: "7"}


@pytest.mark.parametrize(
    ("text", "shown"), [("010: 3\n", "010"), ("1: 010\n", "010"), ("1:30: 2\n", "1:30")]
)
def test_yaml_octal_and_base_60_numbers_are_refused(tmp_path: Path, text: str, shown: str) -> None:
    # PyYAML (YAML 1.1) read the remap '010: 3' as 8 -> 3 and '1:30' as 90, silently.
    from mfb_cli.errors import MfbError
    from mfb_cli.read.labels.remap import load_remap
    from mfb_cli.read.sources.textfiles import parse_structured

    (tmp_path / "m.yaml").write_text(text)
    with pytest.raises(MfbError, match=f"{shown} is octal or base 60 in YAML 1.1"):
        load_remap(str(tmp_path / "m.yaml"))
    assert parse_structured("0: 1\n10: 0x10\n-3: 1_000\n", ".yaml") == {0: 1, 10: 16, -3: 1000}


# --- TIFFs whose strips do not hold the image ---------------------------------------------


def _tiff(
    width: int, height: int, pixels: bytes, rows_per_strip: int, strips: list[tuple[int, int]]
) -> bytes:
    """A little-endian 8-bit uncompressed TIFF: pixels after the header, then the directory;
    ``strips`` (offset from the pixels' start, byte count) as listed, whatever they cover."""
    entries = [(256, 4, 1, width), (257, 4, 1, height), (258, 3, 1, 8), (259, 3, 1, 1)]
    entries += [(262, 3, 1, 1), (277, 3, 1, 1), (278, 4, 1, rows_per_strip)]
    directory = 8 + len(pixels)
    arrays = directory + 2 + 12 * 9 + 4  # two arrays when more than one strip is listed
    if len(strips) == 1:
        entries += [(273, 4, 1, 8 + strips[0][0]), (279, 4, 1, strips[0][1])]
    else:
        entries += [(273, 4, len(strips), arrays), (279, 4, len(strips), arrays + 4 * len(strips))]
    entries.sort()
    body = struct.pack("<H", len(entries))
    body += b"".join(struct.pack("<HHII", tag, kind, n, value) for tag, kind, n, value in entries)
    body += b"\0" * 4
    if len(strips) > 1:
        body += struct.pack(f"<{len(strips)}I", *(8 + offset for offset, _ in strips))
        body += struct.pack(f"<{len(strips)}I", *(count for _, count in strips))
    return b"II*\0" + struct.pack("<I", directory) + pixels + body


@pytest.mark.parametrize(
    ("layout", "problem"),
    [
        # 7 of 10 rows of data, the strip says so: Pillow read the directory as 3 more rows.
        (
            (12, 10, b"\x01" * 84, 10, [(0, 84)]),
            "is an uncompressed TIFF whose strip 0 holds 84 bytes where its pixels need 120",
        ),
        # 4 strips of 3 rows needed, 2 listed: Pillow left rows 6-9 as class 0.
        (
            (12, 10, b"\x01" * 72, 3, [(0, 36), (36, 36)]),
            "is a TIFF listing 2 strips where its size needs 4",
        ),
        # The last strip runs past the end of the file.
        (
            (4, 4, b"\x01" * 16, 2, [(0, 8), (8, 900)]),
            "is a TIFF whose strip 1 ends at byte 916, past the end of the file",
        ),
    ],
)
def test_a_tiff_whose_strips_do_not_hold_the_image_is_refused(
    tmp_path: Path, layout: tuple[int, int, bytes, int, list[tuple[int, int]]], problem: str
) -> None:
    path = tmp_path / "m.tif"
    path.write_bytes(_tiff(*layout))
    with pytest.raises(BadMaskError) as raised:
        count_file(path)
    assert problem in str(raised.value)


def test_a_tiff_whose_strips_hold_the_image_is_counted(tmp_path: Path) -> None:
    path = tmp_path / "m.tif"  # the same writer, strips complete: 3 + 3 + 3 + 1 rows
    pixels = bytes([1] * 36 + [2] * 36 + [3] * 36 + [4] * 12)
    path.write_bytes(_tiff(12, 10, pixels, 3, [(0, 36), (36, 36), (72, 36), (108, 12)]))
    ids, counts = count_file(path)
    assert dict(zip(ids.tolist(), counts.tolist(), strict=True)) == {1: 36, 2: 36, 3: 36, 4: 12}


def test_a_boolean_npy_is_a_binary_mask_and_any_true_byte_is_one(tmp_path: Path) -> None:
    path = tmp_path / "m.npy"
    np.save(path, np.array([[True, False, True], [False, False, False]]))
    ids, counts = count_file(path)
    assert ids.tolist() == [0, 1] and counts.tolist() == [4, 2]
    data = bytearray(path.read_bytes())
    data[-6] = 7  # the first pixel's byte: NumPy reads 7 as True, so it is class 1
    path.write_bytes(bytes(data))
    ids, counts = count_file(path)
    assert ids.tolist() == [0, 1] and counts.tolist() == [4, 2]
