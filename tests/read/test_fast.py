"""Every decoder and every -j give the same counts; the fast paths agree with plain NumPy."""

from __future__ import annotations

import struct
import sys
import zlib
from collections import Counter
from pathlib import Path
from unittest.mock import patch

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image

from mfb_cli.cli import cli
from mfb_cli.count import counts, kernels, scan
from mfb_cli.count.counts import ClassCounts, CountsAccumulator
from mfb_cli.count.kernels import bincount_uint8_pairs, histogram_fast, histogram_of_array
from mfb_cli.count.scan import count_masks
from mfb_cli.errors import BadMaskError, MissingExtraError, OptionError
from mfb_cli.read.decode import fast, raw
from mfb_cli.read.decode.png_fast import read_png_fast
from mfb_cli.read.options import DECODERS, ReadOptions

from ..conftest import save_mask

RNG = np.random.default_rng(7)
# Wide enough for the paired uint8 bincount (>= 65536 pixels), with an odd pixel count.
BIG = (RNG.integers(0, 4, (301, 255)) * 60).astype(np.uint8)


def write_png(path: Path, array: np.ndarray, interlaced: bool = False) -> Path:
    """A greyscale PNG written byte by byte (Pillow cannot write Adam7-interlaced files)."""
    height, width = array.shape
    depth = 16 if array.dtype == np.uint16 else 8
    rows = array.astype(">u2" if depth == 16 else np.uint8)
    # Adam7 passes as (x0, y0, dx, dy); a plain file is one pass over every pixel.
    passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2)]
    passes = [*passes, (0, 1, 1, 2)] if interlaced else [(0, 0, 1, 1)]
    raw = b""
    for x0, y0, dx, dy in passes:
        sub = rows[y0::dy, x0::dx]
        if sub.size:
            raw += b"".join(b"\0" + row.tobytes() for row in sub)

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    header = struct.pack(">IIBBBBB", width, height, depth, 0, 0, 0, int(interlaced))
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )
    return path


def naive_counts(arrays: list[np.ndarray]) -> dict[int, int]:
    """Pixels per value over all images, one Python integer at a time."""
    total: Counter[int] = Counter()
    for array in arrays:
        total.update(np.asarray(array).ravel().tolist())
    return dict(sorted(total.items()))


def as_dict(counts) -> dict[int, int]:
    return dict(zip(counts.ids.tolist(), counts.pixels.tolist(), strict=True))


def dataset(tmp_path: Path, kind: str) -> tuple[list[Path], dict[int, int]]:
    """Three files of one kind, and their counts worked out independently."""
    small = RNG.integers(0, 2 if kind == "1" else 3, (5, 7))
    folder = tmp_path / kind
    folder.mkdir()
    if kind in ("L", "P", "1", "I;16", "I"):
        suffix = ".tif" if kind == "I" else ".png"
        scale = {"1": 1, "I;16": 300, "I": -70_000}.get(kind, 1)
        wide = BIG.astype(np.int64)
        arrays = [small * scale, (wide > 100) * scale if kind == "1" else wide * scale]
        arrays.append(np.array([[1, 0], [1, 1]]) * scale)
        paths = [save_mask(folder / f"{i}{suffix}", a, kind) for i, a in enumerate(arrays)]
        return paths, naive_counts(arrays)
    if kind in ("interlaced-8", "interlaced-16", "big-endian-16"):
        dtype = np.uint8 if kind == "interlaced-8" else np.uint16
        scale = 1 if dtype == np.uint8 else 257
        arrays = [(small * 50 * scale).astype(dtype), (BIG.astype(int) * scale).astype(dtype)]
        arrays.append(np.array([[65535 if scale > 1 else 255]], dtype=dtype))
        interlaced = kind.startswith("interlaced")
        paths = [write_png(folder / f"{i}.png", a, interlaced) for i, a in enumerate(arrays)]
        return paths, naive_counts(arrays)
    if kind == "L-trns":
        arrays = [BIG, small.astype(np.uint8)]
        paths = []
        for i, array in enumerate(arrays):
            paths.append(folder / f"{i}.png")
            Image.fromarray(array).save(paths[-1], transparency=0)
        return paths, naive_counts(arrays)
    raise ValueError(kind)


KINDS = ["L", "P", "1", "I;16", "I", "interlaced-8", "interlaced-16", "big-endian-16", "L-trns"]


def test_the_hand_written_pngs_are_read_by_pillow_as_written(tmp_path):
    for kind in ("interlaced-8", "interlaced-16", "big-endian-16"):
        paths, expected = dataset(tmp_path, kind)
        assert naive_counts([np.asarray(Image.open(p)) for p in paths]) == expected


@pytest.mark.parametrize("kind", KINDS)
def test_counts_identical_for_every_decoder_and_jobs(tmp_path, kind):
    paths, expected = dataset(tmp_path, kind)
    present = sum(len(np.unique(np.asarray(Image.open(p)))) for p in paths)
    for decoder in DECODERS:
        for jobs in (1, 2, 3):
            counts = count_masks(paths, jobs=jobs, read=ReadOptions(decoder=decoder))
            assert as_dict(counts) == expected, (decoder, jobs)
            assert counts.num_images == len(paths)
            assert counts.images.sum() == present


def test_fast_decoder_reads_only_what_it_decodes_exactly(tmp_path):
    grey = write_png(tmp_path / "g.png", BIG)
    deep = write_png(tmp_path / "d.png", np.array([[0, 65535], [258, 1]], dtype=np.uint16))
    assert np.array_equal(read_png_fast(grey, None), BIG)
    assert read_png_fast(deep, None).dtype == np.uint16
    assert read_png_fast(deep, None).tolist() == [[0, 65535], [258, 1]]
    # Left to Pillow: interlaced, palettes, 1-bit, alpha from tRNS, too large, not a PNG.
    assert read_png_fast(write_png(tmp_path / "a.png", BIG, interlaced=True), None) is None
    assert read_png_fast(save_mask(tmp_path / "p.png", [[0, 5]], "P"), None) is None
    assert read_png_fast(save_mask(tmp_path / "b.png", [[0, 1]], "1"), None) is None
    Image.fromarray(np.array([[0, 5]], dtype=np.uint8)).save(tmp_path / "t.png", transparency=5)
    assert read_png_fast(tmp_path / "t.png", None) is None
    assert read_png_fast(grey, max_pixels=1) is None
    assert read_png_fast(save_mask(tmp_path / "i.tif", [[0, 5]], "I"), None) is None


def test_fast_decoder_on_a_palette_png_gives_palette_indices(tmp_path):
    path = save_mask(tmp_path / "voc.png", [[0, 5], [255, 5]], "P")
    counts = count_masks([path], jobs=1, read=ReadOptions(decoder="fast"))
    assert as_dict(counts) == {0: 1, 5: 2, 255: 1}


def test_damaged_png_is_reported_by_pillow_with_the_fast_decoder(tmp_path):
    path = write_png(tmp_path / "t.png", np.arange(4096, dtype=np.uint16).reshape(64, 64))
    path.write_bytes(path.read_bytes()[:-40])
    with pytest.raises(BadMaskError, match=r"t\.png: cannot decode"):
        count_masks([path], jobs=1, read=ReadOptions(decoder="fast"))


def test_size_limit_applies_to_the_fast_decoder(tmp_path):
    path = write_png(tmp_path / "big.png", np.zeros((10, 10), dtype=np.uint8))
    with pytest.raises(BadMaskError, match="100 pixels exceeds the limit of 99"):
        count_masks([path], jobs=1, read=ReadOptions(max_pixels=99, decoder="fast"))


@pytest.fixture
def without_fast_extra(monkeypatch):
    """Make importing imagecodecs fail, as when the 'fast' extra is not installed."""
    monkeypatch.setitem(sys.modules, "imagecodecs", None)
    fast.fast_modules.cache_clear()
    yield
    fast.fast_modules.cache_clear()


def test_fast_decoder_without_the_extra_says_what_to_install(tmp_path, without_fast_extra):
    with pytest.raises(MissingExtraError, match=r"^decoder='fast' needs .*mfb-cli\[fast\]'"):
        ReadOptions(decoder="fast")
    path = save_mask(tmp_path / "m" / "a.png", [[0, 1]])
    result = CliRunner().invoke(cli, ["weights", str(path.parent), "-q", "--decoder", "fast"])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "Error: --decoder fast needs the 'fast' extra: pip install 'mfb-cli[fast]' "
        "(imagecodecs, and OpenCV for 16-bit counts)"
    ]
    # auto quietly uses Pillow.
    assert not ReadOptions(decoder="auto").use_fast
    counts = count_masks([path], jobs=1, read=ReadOptions(decoder="auto"))
    assert as_dict(counts) == {0: 1, 1: 1}


def test_unknown_decoder_is_refused():
    with pytest.raises(OptionError, match="unknown decoder 'png'"):
        ReadOptions(decoder="png")


def test_cli_output_is_identical_for_every_decoder(tmp_path):
    folder = tmp_path / "m"
    folder.mkdir()
    for i in range(4):
        write_png(folder / f"{i}.png", (BIG + i) % 12)
    outputs = {
        decoder: CliRunner().invoke(cli, ["weights", str(folder), "-q", "--decoder", decoder])
        for decoder in DECODERS
    }
    for decoder, result in outputs.items():
        assert result.exit_code == 0, (decoder, result.stderr)
    assert len({result.stdout for result in outputs.values()}) == 1


@settings(max_examples=60, deadline=None)
@given(arrays(np.uint8, st.integers(0, 3000)))
def test_paired_bincount_equals_bincount(flat):
    assert bincount_uint8_pairs(flat).tolist() == np.bincount(flat, minlength=256).tolist()


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from([np.uint8, np.uint16]).flatmap(
        lambda dtype: arrays(dtype, st.tuples(st.integers(1, 40), st.integers(1, 40)))
    )
)
def test_fast_histogram_equals_numpy(labels):
    expected_ids, expected_counts = histogram_of_array(labels)
    for opencv in (kernels._opencv, lambda: None):  # without OpenCV, NumPy counts 16-bit
        with patch.object(kernels, "_opencv", opencv):
            ids, counts = histogram_fast(labels)
        assert ids.tolist() == expected_ids.tolist()
        assert counts.tolist() == expected_counts.tolist()
    assert dict(zip(ids.tolist(), counts.tolist(), strict=True)) == naive_counts([labels])


def test_histogram_of_large_uint8_array_uses_pairs_and_stays_exact():
    ids, counts = histogram_of_array(BIG)
    assert dict(zip(ids.tolist(), counts.tolist(), strict=True)) == naive_counts([BIG])


@settings(max_examples=80, deadline=None)
@given(
    st.lists(arrays(np.int64, (2, 2), elements=st.integers(0, 5)), min_size=1, max_size=12),
    st.integers(1, 3),
)
def test_accumulator_groups_and_flushes_exactly(images, max_groups):
    # Few group slots force flushes mid-stream; the result must equal adding image by image.
    with patch.object(counts, "_MAX_GROUPS", max_groups):
        accumulator = CountsAccumulator()
        for image in images:
            accumulator.add(*histogram_of_array(image))
        first, second = accumulator.result(), accumulator.result()
    expected = sum(
        (ClassCounts.from_histogram(*histogram_of_array(im)) for im in images), ClassCounts.empty()
    )
    assert first == expected
    assert second == expected
    assert first.num_images == len(images)


def test_auto_takes_the_fast_decoder_only_for_enough_files(tmp_path, monkeypatch):
    calls: list[str] = []

    def spy(path, max_pixels, data=None):
        calls.append(str(path))
        return read_png_fast(path, max_pixels, data)

    monkeypatch.setattr(raw, "read_png_fast", spy)
    monkeypatch.setattr(scan, "AUTO_FAST_MIN_FILES", 3)
    paths = [write_png(tmp_path / f"{i}.png", np.full((2, 2), i, np.uint8)) for i in range(3)]
    expected = {0: 4, 1: 4, 2: 4}
    assert as_dict(count_masks(paths[:2], jobs=1)) == {0: 4, 1: 4}
    assert calls == []  # two files: Pillow, OpenCV not worth importing
    assert as_dict(count_masks(paths, jobs=1)) == expected
    assert calls == [str(p) for p in paths]
    calls.clear()
    assert as_dict(count_masks(paths, jobs=1, read=ReadOptions(decoder="pillow"))) == expected
    assert calls == []


def test_files_libpng_would_tolerate_but_pillow_refuses_go_to_pillow(tmp_path):
    good = write_png(tmp_path / "good.png", BIG).read_bytes()
    ihdr_end = 8 + 25
    bad_crc = good[:ihdr_end] + struct.pack(">I", 4) + b"tEXt" + b"a\0bc" + b"\0\0\0\0"  # CRC 0
    (tmp_path / "crc.png").write_bytes(bad_crc + good[ihdr_end:])
    # A chunk after the image data whose length runs past the end of the file.
    iend = good.rindex(b"IEND") - 4
    cut = good[:iend] + struct.pack(">I", 10_000) + b"teXt" + b"x" * 8 + good[iend:]
    (tmp_path / "cut.png").write_bytes(cut)
    for name in ("crc.png", "cut.png"):
        assert read_png_fast(tmp_path / name, None) is None
        for decoder in DECODERS:
            with pytest.raises(BadMaskError, match=name):
                count_masks([tmp_path / name], jobs=1, read=ReadOptions(decoder=decoder))


def test_archive_members_decode_the_same_with_every_decoder(tmp_path):
    import zipfile

    from mfb_cli.read.sources.find import find_label_sources

    arrays = [BIG, (BIG // 60).astype(np.uint16) * 1000]
    with zipfile.ZipFile(tmp_path / "set.zip", "w") as archive:
        for index, array in enumerate(arrays):
            archive.writestr(f"m/{index}.png", write_png(tmp_path / "x.png", array).read_bytes())
    members = find_label_sources([tmp_path / "set.zip"])
    assert len(members) == 2
    for decoder in DECODERS:
        counts = count_masks(members, jobs=2, read=ReadOptions(decoder=decoder))
        assert as_dict(counts) == naive_counts(arrays), decoder


def test_files_libpng_only_warns_about_go_to_pillow_silently(tmp_path, capsys):
    good = write_png(tmp_path / "good.png", np.zeros((4, 4), np.uint8)).read_bytes()

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    # Pillow refuses a pHYs chunk cut short; libpng warns and decodes. A bad sBIT: both read.
    (tmp_path / "phys.png").write_bytes(good[:33] + chunk(b"pHYs", b"\0\0") + good[33:])
    (tmp_path / "sbit.png").write_bytes(good[:33] + chunk(b"sBIT", b"\0") + good[33:])
    for decoder in DECODERS:
        with pytest.raises(BadMaskError, match=r"phys\.png"):
            count_masks([tmp_path / "phys.png"], jobs=1, read=ReadOptions(decoder=decoder))
        counts = count_masks([tmp_path / "sbit.png"], jobs=2, read=ReadOptions(decoder=decoder))
        assert as_dict(counts) == {0: 16}
    assert read_png_fast(tmp_path / "sbit.png", None) is None
    assert np.array_equal(read_png_fast(tmp_path / "good.png", None), np.zeros((4, 4)))
    assert "PNG warning" not in capsys.readouterr().err
    assert fast.LIBPNG_WARNINGS.warned == {}


def test_image_data_longer_than_any_deflate_of_the_image_goes_to_pillow(tmp_path):
    """A 10x10 PNG whose IDAT inflates far past its 110 bytes of rows: libpng would inflate
    all of it before warning; such a file is left to Pillow, which stops at the last row."""
    pytest.importorskip("imagecodecs")
    rows = b"".join(b"\0" + bytes([i % 3] * 10) for i in range(10))
    stream = zlib.compressobj(9)  # the rows, then 64 MiB of zeros (64 KiB compressed)
    data = stream.compress(rows) + stream.compress(bytes(64 << 20)) + stream.flush()
    assert len(data) > 110 + 13  # more than the deflate bound of the rows

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", 10, 10, 8, 0, 0, 0, 0)
    path = tmp_path / "bomb.png"
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )
    codecs = fast.fast_modules()
    assert codecs is not None
    with patch.object(codecs, "png_decode", side_effect=AssertionError("inflated by libpng")):
        assert read_png_fast(path, None) is None
    fast_counts = count_masks([path], read=ReadOptions(decoder="fast"))
    assert fast_counts.pixels.tolist() == [40, 30, 30]  # rows 0, 3, 6, 9 hold 0; read by Pillow
    plain = tmp_path / "plain.png"  # the same rows, compressed as a writer would
    plain.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )
    assert read_png_fast(plain, None) is not None
