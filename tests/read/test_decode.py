from __future__ import annotations

import numpy as np
import pytest
import tifffile
from PIL import Image

from mfb_cli.count.one_file import count_file
from mfb_cli.errors import BadMaskError
from mfb_cli.read.decode.pillow import open_mask
from mfb_cli.read.options import ReadOptions

from ..conftest import save_mask


def test_rgb_masks_are_refused_as_colour_coded(tmp_path):
    path = save_mask(tmp_path / "c.png", np.zeros((2, 2, 3)), "RGB")
    with pytest.raises(BadMaskError, match=r"c\.png: is a colour image \(mode RGB\)"):
        open_mask(path)


def test_jpeg_renamed_to_png_is_refused(tmp_path):
    path = tmp_path / "j.png"
    Image.fromarray(np.zeros((8, 8), dtype=np.uint8)).save(path, format="JPEG")
    with pytest.raises(BadMaskError, match="is a JPEG file: lossy compression"):
        open_mask(path)


def test_truncated_png(tmp_path):
    path = save_mask(tmp_path / "t.png", np.arange(4096).reshape(64, 64) % 7)
    path.write_bytes(path.read_bytes()[:-40])
    with pytest.raises(BadMaskError, match=r"t\.png: cannot decode"):
        open_mask(path)


def test_empty_and_text_files(tmp_path):
    (tmp_path / "e.png").write_bytes(b"")
    with pytest.raises(BadMaskError, match=r"e\.png: empty file \(0 bytes\)"):
        open_mask(tmp_path / "e.png")
    (tmp_path / "t.png").write_text("not an image")
    with pytest.raises(BadMaskError, match=r"t\.png: not an image file"):
        open_mask(tmp_path / "t.png")


def test_size_limit(tmp_path):
    path = save_mask(tmp_path / "big.png", np.zeros((10, 10)))
    with pytest.raises(BadMaskError, match="100 pixels exceeds the limit of 99"):
        open_mask(path, max_pixels=99)
    assert open_mask(path, max_pixels=100).size == (10, 10)


def test_two_channel_modes_are_refused(tmp_path):
    path = tmp_path / "la.png"
    Image.new("LA", (2, 2)).save(path)
    with pytest.raises(BadMaskError, match="image mode LA, which does not hold integer labels"):
        open_mask(path)


# TIFF rasters and .npy arrays ----------------------------------------------------------


def counts(path, **options) -> dict[int, int]:
    ids, pixels = count_file(path, ReadOptions(**options))
    return dict(zip(ids.tolist(), pixels.tolist(), strict=True))


RASTER = [[0, 3, 3], [-1, -1, 2]]


@pytest.mark.parametrize(
    ("dtype", "options"),
    [
        (np.int16, {}),
        (np.int16, {"compression": "zlib"}),
        (np.int16, {"tile": (16, 16)}),
        (np.int16, {"byteorder": ">"}),
        (np.int32, {}),
        (np.int8, {}),
    ],
)
def test_signed_tiff_keeps_negative_no_data(tmp_path, dtype, options):
    labels = np.zeros((20, 20), dtype=dtype)
    labels[:2, :3] = RASTER
    tifffile.imwrite(tmp_path / "r.tif", labels, **options)
    assert counts(tmp_path / "r.tif") == {-1: 2, 0: 395, 2: 1, 3: 2}


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.uint32])
def test_unsigned_tiff(tmp_path, dtype):
    labels = np.array([[0, 1], [1, 250]], dtype=dtype)
    if dtype != np.uint8:
        labels[1, 1] = 60000 if dtype == np.uint16 else 3_000_000_000
    tifffile.imwrite(tmp_path / "u.tif", labels, compression="zlib")
    assert counts(tmp_path / "u.tif") == {0: 1, 1: 2, int(labels[1, 1]): 1}


def test_lzw_tiff_written_by_pillow(tmp_path):
    Image.fromarray(np.array([[4, 4, 1]], dtype=np.uint8)).save(
        tmp_path / "l.tif", compression="tiff_lzw"
    )
    assert counts(tmp_path / "l.tif") == {1: 1, 4: 2}


def test_float_tiff_integral_accepted_fractional_and_nan_refused(tmp_path):
    tifffile.imwrite(tmp_path / "f.tif", np.array([[1.0, 1.0, -1.0]], dtype=np.float32))
    assert counts(tmp_path / "f.tif") == {-1: 1, 1: 2}
    tifffile.imwrite(tmp_path / "p.tif", np.array([[1.0, 0.5]], dtype=np.float32))
    with pytest.raises(BadMaskError, match=r"p\.tif: holds non-integer values \(e\.g\. 0\.5\)"):
        counts(tmp_path / "p.tif")
    tifffile.imwrite(tmp_path / "n.tif", np.array([[1.0, np.nan]], dtype=np.float32))
    with pytest.raises(BadMaskError, match=r"n\.tif: has 1 NaN or infinite pixels"):
        counts(tmp_path / "n.tif")


def test_multi_band_and_multi_page_tiffs_are_refused(tmp_path):
    tifffile.imwrite(
        tmp_path / "b.tif",
        np.zeros((4, 4, 2), np.uint8),
        photometric="minisblack",
        planarconfig="contig",
    )
    with pytest.raises(BadMaskError, match=r"b\.tif: has 2 samples per pixel"):
        counts(tmp_path / "b.tif")
    with tifffile.TiffWriter(tmp_path / "s.tif") as pages:
        for _ in range(3):
            pages.write(np.zeros((4, 5), np.uint8))
    with pytest.raises(BadMaskError, match=r"s\.tif: holds 3 images"):
        counts(tmp_path / "s.tif")


def test_npy_integer_arrays(tmp_path):
    np.save(tmp_path / "a.npy", np.array([[5, 5, -2], [0, 5, 0]], dtype=np.int64))
    assert counts(tmp_path / "a.npy") == {-2: 1, 0: 2, 5: 3}
    np.save(tmp_path / "u.npy", np.array([[70000, 1]], dtype=np.uint32))
    assert counts(tmp_path / "u.npy") == {1: 1, 70000: 1}


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.zeros((2, 2, 3), np.uint8), r"is a 3-D array of shape \(2, 2, 3\)"),
        (np.zeros((2, 2), np.float32), "holds float32 values; label arrays hold integers"),
        (np.array([[None]], dtype=object), "cannot read as a .npy array"),
    ],
)
def test_npy_refused(tmp_path, array, message):
    np.save(tmp_path / "x.npy", array, allow_pickle=True)
    with pytest.raises(BadMaskError, match=rf"x\.npy: {message}"):
        counts(tmp_path / "x.npy")


def test_npy_size_limit(tmp_path):
    np.save(tmp_path / "big.npy", np.zeros((10, 10), np.uint8))
    with pytest.raises(BadMaskError, match="100 pixels exceeds the limit of 99"):
        counts(tmp_path / "big.npy", max_pixels=99)
