"""3D label volumes written by nibabel, pynrrd and SimpleITK, read slab by slab.

The 4x3x2 volume below is counted by hand: 13 voxels of 0, 4 of 1, 5 of 2 and 2 of 5.
"""

from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from mfb_cli.count.one_file import count_file, count_file_noted
from mfb_cli.errors import BadMaskError, MissingExtraError
from mfb_cli.read.base import chunks
from mfb_cli.read.decode.raw import read_raw
from mfb_cli.read.options import ReadOptions

nib = pytest.importorskip("nibabel", reason="the 'volumes' extra: nibabel")
nrrd = pytest.importorskip("nrrd", reason="the 'volumes' extra: pynrrd")
sitk = pytest.importorskip("SimpleITK", reason="the 'volumes' extra: SimpleITK")

# Axes (i, j, k): slices k = 0 and k = 1 of 4 x 3 voxels.
SLICE_0 = [[0, 0, 1], [0, 2, 2], [1, 1, 0], [5, 0, 0]]  # 0: 6, 1: 3, 2: 2, 5: 1
SLICE_1 = [[0, 0, 0], [2, 2, 2], [0, 1, 0], [0, 0, 5]]  # 0: 7, 1: 1, 2: 3, 5: 1
VOLUME = np.stack([np.array(SLICE_0), np.array(SLICE_1)], axis=-1)
BY_HAND = {0: 13, 1: 4, 2: 5, 5: 2}
SPACING = (0.5, 0.75, 2.0)


def histogram(path: Path, read: ReadOptions = ReadOptions(), data: bytes | None = None) -> dict:
    ids, counts = count_file(path, read, data)
    return dict(zip(ids.tolist(), counts.tolist(), strict=True))


def write_nifti(path: Path, values: np.ndarray, spacing=SPACING, two: bool = False) -> Path:
    kind = nib.Nifti2Image if two else nib.Nifti1Image
    steps = [*spacing, 1.0, 1.0, 1.0][:3]
    image = kind(values, np.diag([*steps, 1.0]))
    image.header.set_zooms([*spacing, 1.0, 1.0][: values.ndim])
    nib.save(image, path)
    return path


def write_nrrd(path: Path, values: np.ndarray, encoding: str = "gzip", **header) -> Path:
    fields = {"encoding": encoding, "space directions": np.diag(SPACING), "space": "RAS"}
    nrrd.write(str(path), values, {**fields, **header}, detached_header=path.suffix == ".nhdr")
    return path


def write_metaimage(path: Path, values: np.ndarray, compressed: bool = True) -> Path:
    image = sitk.GetImageFromArray(np.ascontiguousarray(values.T))  # ITK's arrays are (k, j, i)
    image.SetSpacing(SPACING)
    sitk.WriteImage(image, str(path), useCompression=compressed)
    return path


WRITERS = {
    "a.nii": lambda p, v: write_nifti(p, v),
    "a.nii.gz": lambda p, v: write_nifti(p, v),
    "nifti2.nii.gz": lambda p, v: write_nifti(p, v, two=True),
    "raw.nrrd": lambda p, v: write_nrrd(p, v, "raw"),
    "gzip.nrrd": lambda p, v: write_nrrd(p, v, "gzip"),
    "bzip2.nrrd": lambda p, v: write_nrrd(p, v, "bzip2"),
    "text.nrrd": lambda p, v: write_nrrd(p, v, "ascii"),
    "detached.nhdr": lambda p, v: write_nrrd(p, v, "gzip"),
    "zlib.mha": lambda p, v: write_metaimage(p, v, True),
    "plain.mha": lambda p, v: write_metaimage(p, v, False),
    "zlib.mhd": lambda p, v: write_metaimage(p, v, True),
    "plain.mhd": lambda p, v: write_metaimage(p, v, False),
}


@pytest.mark.parametrize("name", list(WRITERS))
@pytest.mark.parametrize("dtype", ["uint8", "int16", "uint16", "float32"])
def test_the_4x3x2_volume_counts_by_hand_in_every_format_and_type(
    tmp_path: Path, name: str, dtype: str
) -> None:
    path = WRITERS[name](tmp_path / name, VOLUME.astype(dtype))
    assert histogram(path) == BY_HAND
    header = read_raw(str(path), ReadOptions()).described()
    assert header.shape == (4, 3, 2)
    assert header.spacing == SPACING
    assert header.voxel_volume == Fraction(3, 4)  # 0.5 * 0.75 * 2.0, exactly


def test_signed_and_wide_values_keep_their_value(tmp_path: Path) -> None:
    signed = np.where(VOLUME == 5, -1, VOLUME).astype(np.int16)
    wide = np.where(VOLUME == 5, 40000, VOLUME).astype(np.uint16)
    for name in ("s.nii.gz", "s.nrrd", "s.mha"):
        writer = WRITERS[
            {"nii.gz": "a.nii.gz", "nrrd": "gzip.nrrd", "mha": "zlib.mha"}[name.split(".", 1)[1]]
        ]
        assert histogram(writer(tmp_path / name, signed)) == {-1: 2, 0: 13, 1: 4, 2: 5}
        assert histogram(writer(tmp_path / f"w{name}", wide)) == {0: 13, 1: 4, 2: 5, 40000: 2}


def test_big_endian_nrrd_and_metaimage(tmp_path: Path) -> None:
    values = VOLUME.astype(">i2")
    assert histogram(write_nrrd(tmp_path / "b.nrrd", values, "raw")) == BY_HAND
    image = sitk.GetImageFromArray(np.ascontiguousarray(VOLUME.astype(np.int16).T))
    path = tmp_path / "msb.mha"
    sitk.WriteImage(image, str(path))
    text = path.read_bytes()
    header_end = text.index(b"ElementDataFile = LOCAL\n") + len(b"ElementDataFile = LOCAL\n")
    swapped = text[:header_end].replace(
        b"BinaryDataByteOrderMSB = False", b"BinaryDataByteOrderMSB = True"
    ) + VOLUME.astype(">i2").tobytes(order="F")
    path.write_bytes(swapped)
    assert histogram(path) == BY_HAND


@pytest.mark.parametrize("name", ["a.nii.gz", "gzip.nrrd", "zlib.mha", "plain.mha"])
def test_a_float_volume_with_a_half_is_refused_naming_the_first_voxel(
    tmp_path: Path, name: str
) -> None:
    values = VOLUME.astype(np.float32)
    values[2, 1, 1] = 0.5  # slice 1; earlier voxels in storage order are whole
    path = WRITERS[name](tmp_path / name, values)
    with pytest.raises(BadMaskError) as caught:
        histogram(path)
    assert str(caught.value).startswith(
        f"{path}: holds non-integer values (first: 0.5 at voxel (2, 1, 1))"
    )


def test_nan_and_floats_beyond_exact_integers_are_refused(tmp_path: Path) -> None:
    values = VOLUME.astype(np.float32)
    values[0, 0, 0] = np.nan
    with pytest.raises(BadMaskError, match=r"holds nan at voxel \(0, 0, 0\)"):
        histogram(write_nifti(tmp_path / "nan.nii.gz", values))
    values[0, 0, 0] = 2.0**25
    with pytest.raises(BadMaskError, match="beyond 2\\*\\*24"):
        histogram(write_nifti(tmp_path / "big.nii.gz", values))


def test_nifti_scaling_applied_only_where_every_result_is_an_integer(tmp_path: Path) -> None:
    image = nib.Nifti1Image(VOLUME.astype(np.int16), np.eye(4))
    image.header.set_slope_inter(2, 1)
    nib.save(image, tmp_path / "scaled.nii.gz")
    ids, counts, note, _, _ = count_file_noted(tmp_path / "scaled.nii.gz")
    assert dict(zip(ids.tolist(), counts.tolist(), strict=True)) == {1: 13, 3: 4, 5: 5, 11: 2}
    assert note == ("scaled", "NIfTI-1 int16")
    image.header.set_slope_inter(0.5, 0)
    nib.save(image, tmp_path / "halves.nii.gz")
    ids, counts, note, _, _ = count_file_noted(tmp_path / "halves.nii.gz")
    assert dict(zip(ids.tolist(), counts.tolist(), strict=True)) == BY_HAND  # stored values
    assert note == ("unscaled", "NIfTI-1 int16")


@pytest.mark.parametrize("name", ["a.nii.gz", "gzip.nrrd", "zlib.mha", "plain.mha"])
def test_a_4d_file_is_refused_unless_volume_picks_one(tmp_path: Path, name: str) -> None:
    four = np.stack([VOLUME, VOLUME + 10, np.zeros_like(VOLUME)], axis=-1).astype(np.uint8)
    if name.endswith(".mha"):
        image = sitk.JoinSeries(
            [
                sitk.GetImageFromArray(np.ascontiguousarray(v.T))
                for v in (
                    VOLUME.astype(np.uint8),
                    VOLUME.astype(np.uint8) + 10,
                    np.zeros_like(VOLUME, np.uint8),
                )
            ]
        )
        sitk.WriteImage(image, str(tmp_path / name), useCompression=name.startswith("zlib"))
        path = tmp_path / name
    else:
        path = WRITERS[name](tmp_path / name, four)
    with pytest.raises(BadMaskError, match=r"is 4-D \(4x3x2x3: 3 volumes"):
        histogram(path)
    assert histogram(path, ReadOptions(volume=1)) == {k + 10: n for k, n in BY_HAND.items()}
    assert histogram(path, ReadOptions(volume=2)) == {0: 24}
    with pytest.raises(BadMaskError, match="holds 3 volumes"):
        histogram(path, ReadOptions(volume=3))


@pytest.mark.parametrize(
    "name", ["a.nii.gz", "a.nii", "gzip.nrrd", "raw.nrrd", "zlib.mha", "plain.mha"]
)
def test_slabs_add_up_and_stay_within_the_slab_size(
    tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(3)
    values = rng.integers(0, 7, (9, 5, 11), dtype=np.uint8)
    path = WRITERS[name](tmp_path / name, values)
    monkeypatch.setattr(chunks, "SLAB_BYTES", 2 * 9 * 5)  # two slices a slab
    raw = read_raw(str(path), ReadOptions())
    extents = [(chunk.start, chunk.extent) for chunk in raw.chunks()]
    assert extents == [((0, 0, k), (9, 5, min(2, 11 - k))) for k in range(0, 11, 2)]
    found, counts = np.unique(values, return_counts=True)
    assert histogram(path) == dict(zip(found.tolist(), counts.tolist(), strict=True))


def test_a_bad_voxel_in_a_later_slab_is_named_by_its_place_in_the_volume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    values = np.zeros((4, 3, 6), np.float32)
    values[3, 2, 5] = 1.25
    path = write_nifti(tmp_path / "late.nii.gz", values)
    monkeypatch.setattr(chunks, "SLAB_BYTES", 4 * 3 * 4)  # one slice a slab
    with pytest.raises(BadMaskError, match=r"1\.25 at voxel \(3, 2, 5\)"):
        histogram(path)


@pytest.mark.parametrize("name", ["a.nii.gz", "a.nii", "gzip.nrrd", "zlib.mha", "plain.mha"])
def test_bytes_lent_by_an_archive_or_url_read_as_the_file(tmp_path: Path, name: str) -> None:
    path = WRITERS[name](tmp_path / name, VOLUME.astype(np.uint8))
    assert histogram(Path("elsewhere") / name, data=path.read_bytes()) == BY_HAND


def test_detached_data_from_bytes_is_refused_naming_the_data_file(tmp_path: Path) -> None:
    path = WRITERS["detached.nhdr"](tmp_path / "d.nhdr", VOLUME.astype(np.uint8))
    with pytest.raises(BadMaskError, match="detached NRRD header"):
        histogram(path, data=path.read_bytes())


def test_truncated_and_damaged_files_are_bad_files(tmp_path: Path) -> None:
    for name in ("a.nii", "a.nii.gz", "raw.nrrd", "gzip.nrrd", "zlib.mha"):
        path = WRITERS[name](tmp_path / name, VOLUME.astype(np.int16))
        data = path.read_bytes()
        path.write_bytes(data[: len(data) - 7])
        with pytest.raises(BadMaskError) as caught:
            histogram(path)
        assert str(caught.value).startswith(str(path))
    (tmp_path / "junk.nii.gz").write_bytes(b"not a volume at all")
    with pytest.raises(BadMaskError, match=r"junk\.nii\.gz: "):
        histogram(tmp_path / "junk.nii.gz")


def test_sizes_are_checked_from_the_header_first(tmp_path: Path) -> None:
    path = write_nifti(tmp_path / "a.nii.gz", VOLUME.astype(np.uint8))
    with pytest.raises(BadMaskError, match="exceeds the limit of 20 for one file"):
        histogram(path, ReadOptions(max_total_pixels=20))
    with pytest.raises(BadMaskError, match="4x3 = 12 pixels exceeds the limit of 10"):
        histogram(path, ReadOptions(max_pixels=10))
    assert histogram(path, ReadOptions(max_pixels=12, max_total_pixels=24)) == BY_HAND
    header = tmp_path / "huge.nii"
    hdr = nib.Nifti2Header()
    hdr.set_data_shape((2**20, 2**20, 2**20))
    hdr.set_data_dtype(np.uint8)
    header.write_bytes(hdr.binaryblock + b"\0" * 4)
    with pytest.raises(BadMaskError, match="exceeds the limit"):
        histogram(header)


def test_spacing_units_and_a_2d_nifti(tmp_path: Path) -> None:
    image = nib.Nifti1Image(VOLUME.astype(np.uint8), np.eye(4))
    image.header.set_zooms((0.5, 0.5, 1.0))
    image.header.set_xyzt_units("micron")
    nib.save(image, tmp_path / "micro.nii.gz")
    header = read_raw(str(tmp_path / "micro.nii.gz"), ReadOptions()).described()
    assert header.voxel_volume == Fraction(1, 4) / 10**9  # µm^3 in mm^3, exactly
    flat = write_nifti(tmp_path / "flat.nii.gz", np.array(SLICE_0, np.uint8), spacing=(1.0, 1.0))
    assert histogram(flat) == {0: 6, 1: 3, 2: 2, 5: 1}
    assert read_raw(str(flat), ReadOptions()).described().voxel_volume is None


def test_components_and_non_label_types_are_refused(tmp_path: Path) -> None:
    vector = sitk.GetImageFromArray(np.zeros((2, 3, 4, 3), np.uint8), isVector=True)
    sitk.WriteImage(vector, str(tmp_path / "rgb.mha"))
    with pytest.raises(BadMaskError, match="3 components per voxel"):
        histogram(tmp_path / "rgb.mha")
    complex_volume = nib.Nifti1Image(np.zeros((2, 2, 2), np.complex64), np.eye(4))
    nib.save(complex_volume, tmp_path / "c.nii.gz")
    with pytest.raises(BadMaskError, match="stores complex voxels"):
        histogram(tmp_path / "c.nii.gz")


def test_a_missing_reader_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_nifti(tmp_path / "a.nii.gz", VOLUME.astype(np.uint8))
    monkeypatch.setitem(sys.modules, "nibabel", None)
    with pytest.raises(
        MissingExtraError, match=r"'volumes' extra: pip install 'mfb-cli\[volumes\]'"
    ):
        histogram(path)
