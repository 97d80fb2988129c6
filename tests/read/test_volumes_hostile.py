"""Label volumes made hostile: headers that point elsewhere, lie about sizes or spacing,
or carry bombs. Each is refused in one line naming the file, or counted exactly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mfb_cli.errors import BadMaskError

from .test_volumes import VOLUME, histogram

pytest.importorskip("nibabel", reason="the 'volumes' extra: nibabel")
pytest.importorskip("nrrd", reason="the 'volumes' extra: pynrrd")
pytest.importorskip("SimpleITK", reason="the 'volumes' extra: SimpleITK")

#: 24 bytes outside the dataset that a crafted header must never make mfb read.
OUTSIDE = bytes(range(100, 124))


def _nhdr(data_file: str) -> bytes:
    return (
        "NRRD0004\ntype: uint8\ndimension: 3\nsizes: 4 3 2\nencoding: raw\n"
        f"data file: {data_file}\n\n"
    ).encode()


def _mhd(data_file: str) -> bytes:
    return (
        "ObjectType = Image\nNDims = 3\nDimSize = 4 3 2\nElementType = MET_UCHAR\n"
        f"ElementDataFile = {data_file}\n"
    ).encode()


@pytest.mark.parametrize("header", [_nhdr, _mhd], ids=["nhdr", "mhd"])
@pytest.mark.parametrize(
    ("data_file", "said"),
    [
        ("../secret.raw", "outside its own folder"),
        ("{outside}", "outside its own folder"),
        ("http://127.0.0.1:9/x.raw", "outside its own folder"),
        ("/dev/zero", "outside its own folder"),
        ("LIST", "several data files"),
        ("x%03d.raw 1 2 1", "several data files"),
    ],
)
def test_a_detached_header_reads_no_data_file_outside_its_folder(
    tmp_path: Path, header, data_file: str, said: str
) -> None:
    secret = tmp_path / "secret.raw"
    secret.write_bytes(OUTSIDE)
    folder = tmp_path / "labels"
    folder.mkdir()
    suffix = ".nhdr" if header is _nhdr else ".mhd"
    path = folder / f"case{suffix}"
    path.write_bytes(header(data_file.format(outside=secret)) + b"../secret.raw\n")
    with pytest.raises(BadMaskError, match=said) as caught:
        histogram(path)
    assert str(path) in str(caught.value)


@pytest.mark.parametrize("header", [_nhdr, _mhd], ids=["nhdr", "mhd"])
def test_a_data_file_below_the_header_is_read_and_a_device_link_refused(
    tmp_path: Path, header
) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "v.raw").write_bytes(VOLUME.astype(np.uint8).tobytes(order="F"))
    suffix = ".nhdr" if header is _nhdr else ".mhd"
    good = tmp_path / f"good{suffix}"
    good.write_bytes(header("data/v.raw"))
    assert histogram(good) == {0: 13, 1: 4, 2: 5, 5: 2}
    (tmp_path / "zero.raw").symlink_to("/dev/zero")
    linked = tmp_path / f"linked{suffix}"
    linked.write_bytes(header("zero.raw"))
    with pytest.raises(BadMaskError, match="not a regular file"):
        histogram(linked)
