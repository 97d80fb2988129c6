from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from mfb_cli.decode import open_mask
from mfb_cli.errors import BadMaskError

from .conftest import save_mask


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
