"""Label volumes made hostile: headers that point elsewhere, lie about sizes or spacing,
or carry bombs. Each is refused in one line naming the file, or counted exactly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mfb_cli.errors import BadMaskError, MfbError

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


def _patched_nifti(path: Path, **floats: float) -> Path:
    """A 4x3x2 NIfTI-1 with header fields overwritten as stored (nibabel would fix them)."""
    import struct

    from .test_volumes import write_nifti

    write_nifti(path, VOLUME.astype(np.uint8), spacing=(1.0, 1.0, 1.0))
    data = bytearray(path.read_bytes())
    offsets = {"pixdim3": 88, "scl_slope": 112, "scl_inter": 116}
    for field, value in floats.items():
        struct.pack_into("<f", data, offsets[field], value)
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("stored", [0.0, float("nan"), float("inf")])
def test_a_spacing_that_is_no_size_still_counts_voxels_but_never_physically(
    tmp_path: Path, stored: float
) -> None:
    from mfb_cli.read.decode.raw import read_raw
    from mfb_cli.read.options import ReadOptions

    path = _patched_nifti(tmp_path / "s.nii", pixdim3=stored)
    assert histogram(path) == {0: 13, 1: 4, 2: 5, 5: 2}
    header = read_raw(str(path), ReadOptions()).described()
    assert header.voxel_volume is None  # never the 1 mm nibabel's check puts for a 0
    assert header.spacing == ((1.0, 1.0, 0.0) if stored == 0 else None)


def test_a_negative_spacing_counts_by_its_size(tmp_path: Path) -> None:
    from fractions import Fraction

    from mfb_cli.read.decode.raw import read_raw
    from mfb_cli.read.options import ReadOptions

    path = _patched_nifti(tmp_path / "n.nii", pixdim3=-2.0)
    header = read_raw(str(path), ReadOptions()).described()
    assert header.spacing == (1.0, 1.0, 2.0) and header.voxel_volume == Fraction(2)


def test_physical_counts_name_a_zero_spacing(tmp_path: Path) -> None:
    from ..conftest import run

    path = _patched_nifti(tmp_path / "z.nii", pixdim3=0.0)
    result = run("histogram", path, "--count", "physical")
    assert result.exit_code == 1 and result.stderr.count("\n") == 1, result.stderr
    assert f"{path}: has voxel spacing [1.0, 1.0, 0.0] (mm), not three positive" in result.stderr
    assert "setting" not in result.stderr  # nibabel's own log stays quiet


@pytest.mark.parametrize(
    ("slope", "inter", "expected"),
    [
        (0.0, 5.0, {0: 13, 1: 4, 2: 5, 5: 2}),  # slope 0: no scaling (NIfTI)
        (float("nan"), 0.0, {0: 13, 1: 4, 2: 5, 5: 2}),
        (float("inf"), 0.0, {0: 13, 1: 4, 2: 5, 5: 2}),
        (2.0, 1.0, {1: 13, 3: 4, 5: 5, 11: 2}),
    ],
)
def test_scaling_fields_that_mean_none(tmp_path: Path, slope, inter, expected) -> None:
    path = _patched_nifti(tmp_path / "k.nii", scl_slope=slope, scl_inter=inter)
    assert histogram(path) == expected


def test_a_scaling_with_no_intercept_is_refused(tmp_path: Path) -> None:
    path = _patched_nifti(tmp_path / "k.nii", scl_slope=1.0, scl_inter=float("nan"))
    with pytest.raises(BadMaskError, match="scl_inter nan, which no label can be"):
        histogram(path)


@pytest.mark.parametrize("kind", ["nii.gz", "nrrd"])
def test_a_compressed_volume_with_a_bomb_past_its_voxels_is_refused(
    tmp_path: Path, kind: str
) -> None:
    import gzip

    from mfb_cli.read.decode.volumes.read import TRAILING_BYTES

    from .test_volumes import write_nifti

    voxels = VOLUME.astype(np.uint8)
    if kind == "nrrd":
        head = b"NRRD0004\ntype: uint8\ndimension: 3\nsizes: 4 3 2\nencoding: gzip\n\n"
        body = voxels.tobytes(order="F")
    else:
        plain = write_nifti(tmp_path / "p.nii", voxels)
        head, body = b"", plain.read_bytes()
    padded, bomb = tmp_path / f"padded.{kind}", tmp_path / f"bomb.{kind}"
    padded.write_bytes(head + gzip.compress(body + bytes(1000)))
    bomb.write_bytes(head + gzip.compress(body + bytes(TRAILING_BYTES + 1)))
    assert histogram(padded) == {0: 13, 1: 4, 2: 5, 5: 2}
    with pytest.raises(BadMaskError, match="decompression bomb"):
        histogram(bomb)


@pytest.mark.parametrize(
    ("labels", "said"),
    [
        ({"0": "background", "1": "a", "1.0": "b"}, "key '1.0' is no integer id"),
        ({"0": "background", "01": "a", "1": "b"}, "label 1 is named twice"),
        ({"background": 0, "a": 1, "b": 1}, "id 1 is named twice"),
        ({"background": 0, "a": 1.5}, "label 'a': 1.5 is not an integer id"),
        ({"background": 0, "a": True}, "label 'a': True is not an integer id"),
        ({"background": 0, "r": []}, "region 'r' lists no id"),
    ],
)
def test_a_dataset_json_that_cannot_be_labels_is_named(tmp_path: Path, labels, said) -> None:
    import json

    from mfb_cli.errors import MfbError
    from mfb_cli.read.labels.datasets import load_dataset_json

    path = tmp_path / "dataset.json"
    path.write_text(json.dumps({"labels": labels}))
    with pytest.raises(MfbError, match=said):
        load_dataset_json(path)


def _mha(keys: str, data: bytes) -> bytes:
    return f"ObjectType = Image\n{keys}ElementDataFile = LOCAL\n".encode() + data


@pytest.mark.parametrize(
    ("keys", "data", "said"),
    [
        ("NDims = 3\nDimSize = abc\nElementType = MET_UCHAR\n", bytes(24), "DimSize 'abc'"),
        ("NDims = 99\nDimSize = 4 3 2\nElementType = MET_UCHAR\n", bytes(24), "NDims '99'"),
        ("NDims = 3\nDimSize = 4 3 -2\nElementType = MET_UCHAR\n", bytes(24), "'4 3 -2'"),
        ("NDims = 3\nDimSize = 4 3 2\nElementType = MET_UCHAR\n", bytes(5), "ends after 5 of"),
        ("NDims = 3\nDimSize = 4 3 2\n", bytes(24), "MetaImage type ''"),
    ],
)
def test_a_damaged_metaimage_is_named_in_one_line_before_itk_reads_it(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], keys: str, data: bytes, said: str
) -> None:
    path = tmp_path / "bad.mha"
    path.write_bytes(_mha(keys, data))
    with pytest.raises(BadMaskError, match=said):
        histogram(path)
    assert capfd.readouterr().err == ""  # ITK's MetaIO printed nothing on stderr


@pytest.mark.parametrize("spacing", ["0 1 1", "nan 1 1"])
def test_a_metaimage_whose_spacing_is_no_size_still_counts_voxels(
    tmp_path: Path, spacing: str
) -> None:
    from mfb_cli.read.decode.raw import read_raw
    from mfb_cli.read.options import ReadOptions

    path = tmp_path / "s.mha"
    keys = f"NDims = 3\nDimSize = 4 3 2\nElementSpacing = {spacing}\nElementType = MET_UCHAR\n"
    path.write_bytes(_mha(keys, VOLUME.astype(np.uint8).tobytes(order="F")))
    assert histogram(path) == {0: 13, 1: 4, 2: 5, 5: 2}
    assert read_raw(str(path), ReadOptions()).described().voxel_volume is None


def test_an_nrrd_number_past_64_bits_is_a_bad_header(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "big.nrrd"
    path.write_bytes(
        b"NRRD0004\ntype: uint8\ndimension: 3\nsizes: 99999999999999999999999 1 1\n"
        b"encoding: raw\n\n" + bytes(24)
    )
    with pytest.raises(BadMaskError, match="a number out of range"):
        histogram(path)
    assert capfd.readouterr().err == ""


def test_out_of_memory_in_a_slab_is_not_a_bad_file(tmp_path: Path, monkeypatch) -> None:
    from mfb_cli.read.decode.volumes import read

    path = tmp_path / "a.nrrd"
    head = b"NRRD0004\ntype: uint8\ndimension: 3\nsizes: 4 3 2\nencoding: raw\n\n"
    path.write_bytes(head + bytes(24))

    def no_memory(*args: object) -> None:
        raise MemoryError

    monkeypatch.setattr(read, "integer_labels", no_memory)
    with pytest.raises(MfbError) as caught:
        histogram(path)
    assert not isinstance(caught.value, BadMaskError)  # so --skip-bad never drops it
    assert str(caught.value) == f"{path}: out of memory while decoding; lower jobs"


@pytest.mark.parametrize("field", ["data file", "datafile"])
def test_an_nhdr_listing_its_data_files_after_the_header_is_named_so(
    tmp_path: Path, field: str
) -> None:
    """NRRD's 'data file: LIST' puts the file names on the header's last lines, which
    pynrrd would read as fields ('not enough values to unpack'): refused by name."""
    (tmp_path / "a.raw").write_bytes(bytes(12))
    (tmp_path / "b.raw").write_bytes(bytes(12))
    path = tmp_path / "case.nhdr"
    path.write_text(
        "NRRD0004\ntype: uint8\ndimension: 3\nsizes: 4 3 2\nencoding: raw\n"
        f"{field}: LIST 2\na.raw\nb.raw\n"
    )
    with pytest.raises(BadMaskError, match=r"several data files \('LIST 2'\)") as caught:
        histogram(path)
    assert str(path) in str(caught.value)
