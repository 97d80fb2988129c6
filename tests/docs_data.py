"""Small stand-ins for the datasets the documentation's commands name, laid out as each
dataset lays out its files, so that every documented command runs as written.

``make_example_data(root)`` writes, under ``root``: ``sample_masks/`` (a copy of the
repository's), and tiny masks in the folder layouts of CamVid (SegNet's ``trainannot``
and ``train.txt``, the 32-class colour renderings), Cityscapes (trainIds, labelIds and
colour renderings, and the zip as downloaded), Pascal VOC (palette PNGs and a split
file), ADE20K, a colour-coded set with ``class_dict.csv``, GeoTIFF tiles with -1 as no
data, NumPy arrays, parquet shards, WebDataset tar shards, and ``labels/``, ``train/``
and ``val/`` folders of CamVid-like grey masks. Every file is made from arithmetic, so
the data, and the commands' outputs, are the same on every run.
"""

from __future__ import annotations

import io
import shutil
import tarfile
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

from mfb_cli.read.labels import tables

ROOT = Path(__file__).resolve().parent.parent
SIZE = (12, 16)  # rows, columns of every generated mask


def _ids(index: int, classes: int, extra: tuple[int, ...] = ()) -> np.ndarray:
    """A mask of ``classes`` ids in bands, different for each index, with ``extra`` values
    (void, ignore) along its last column."""
    rows, cols = np.mgrid[0 : SIZE[0], 0 : SIZE[1]]
    mask = ((rows // 3) * 5 + cols // 4 + index * 3) % classes
    for offset, value in enumerate(extra):
        mask[offset::3, -1] = value
    return mask


def _png(path: Path, array: np.ndarray) -> None:
    """An 8-bit greyscale PNG, or an RGB one for an array of colours."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array.astype(np.uint8)).save(path)


def _png_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array.astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def _coloured(ids: np.ndarray, colours: list[tuple[int, int, int]]) -> np.ndarray:
    return np.array(colours, dtype=np.uint8)[ids]


def _grey_set(folder: Path, count: int, first: int = 0) -> None:
    """CamVid's layout: ids 0-10, 11 = void."""
    for index in range(first, first + count):
        _png(folder / f"frame_{index:03d}.png", _ids(index, 11, extra=(11,)))


def _camvid(root: Path) -> None:
    annot = root / "CamVid" / "trainannot"
    _grey_set(annot, 4)
    lines = [
        f"/SegNet/CamVid/train/{p.name} /SegNet/CamVid/trainannot/{p.name}"
        for p in sorted(annot.iterdir())
    ]
    (root / "CamVid" / "train.txt").write_text("\n".join(lines) + "\n")
    colours = [colour for _, colour in tables.CAMVID32]
    for index in range(3):
        ids = _ids(index, 30, extra=(30,))  # 30 = Void
        _png(root / "LabeledApproved_full" / f"0001TP_{index:06d}_L.png", _coloured(ids, colours))


def _cityscapes(root: Path) -> None:
    trained = sorted({t for _, _, t, _ in tables.CITYSCAPES if 0 <= t < 255})
    colour_of = {t: c for _, _, t, c in tables.CITYSCAPES if 0 <= t < 255}
    label_of = {t: label for _, label, t, _ in tables.CITYSCAPES if 0 <= t < 255}
    city = root / "gtFine" / "train" / "aachen"
    archive = zipfile.ZipFile(root / "gtFine_trainvaltest.zip", "w")
    with archive:
        for index in range(3):
            name = f"aachen_{index:06d}_000019_gtFine"
            train_ids = np.array(trained)[_ids(index, 15)]  # a subset: trainIds 0-14
            train_ids[::4, 0] = 255
            _png(city / f"{name}_labelTrainIds.png", train_ids)
            label_ids = np.vectorize(lambda t: label_of.get(t, 0))(train_ids)
            _png(city / f"{name}_labelIds.png", label_ids)
            rgb = np.zeros((*SIZE, 3), dtype=np.uint8)
            for train_id, colour in colour_of.items():
                rgb[train_ids == train_id] = colour
            _png(city / f"{name}_color.png", rgb)
            member = f"gtFine/train/aachen/{name}_labelTrainIds.png"
            archive.writestr(member, (city / f"{name}_labelTrainIds.png").read_bytes())


def _voc(root: Path) -> None:
    folder = root / "VOC2012" / "SegmentationClass"
    folder.mkdir(parents=True)
    palette = bytearray(768)
    for index in range(256):  # the VOC palette: bits of the index spread over r, g, b
        r = g = b = 0
        c = index
        for shift in range(8):
            r |= ((c >> 0) & 1) << (7 - shift)
            g |= ((c >> 1) & 1) << (7 - shift)
            b |= ((c >> 2) & 1) << (7 - shift)
            c >>= 3
        palette[3 * index : 3 * index + 3] = bytes((r, g, b))
    names = ["2007_000032", "2007_000039", "2007_000063"]
    for index, name in enumerate(names):
        ids = _ids(index, 21, extra=(255,))
        image = Image.fromarray(ids.astype(np.uint8), mode="P")
        image.putpalette(bytes(palette))
        image.save(folder / f"{name}.png")
    split = root / "VOC2012" / "ImageSets" / "Segmentation"
    split.mkdir(parents=True)
    (split / "train.txt").write_text("\n".join(names[:2]) + "\n")


def _ade(root: Path) -> None:
    folder = root / "ADEChallengeData2016" / "annotations" / "training"
    for index in range(3):
        _png(folder / f"ADE_train_{index + 1:08d}.png", _ids(index, 151))


def _colour_coded(root: Path) -> None:
    classes = [("Sky", (128, 128, 128)), ("Road", (128, 64, 128)), ("Car", (64, 0, 128))]
    table = "name,r,g,b\n" + "".join(f"{n},{r},{g},{b}\n" for n, (r, g, b) in classes)
    (root / "class_dict.csv").write_text(table)
    for index in range(2):
        ids = _ids(index, len(classes))
        _png(root / "colour_masks" / f"mask_{index}.png", _coloured(ids, [c for _, c in classes]))


def _tiles(root: Path) -> None:
    import tifffile

    (root / "tiles").mkdir()
    for index in range(2):
        tile = _ids(index, 6).astype(np.int16)
        tile[:2, :3] = -1  # no data
        tifffile.imwrite(root / "tiles" / f"tile_{index}.tif", tile)


def _arrays(root: Path) -> None:
    (root / "arrays").mkdir()
    for index in range(2):
        np.save(root / "arrays" / f"labels_{index}.npy", _ids(index, 5).astype(np.int32))


def _parquet(root: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    (root / "data").mkdir()
    image = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    for shard in range(2):
        names = [f"ADE_train_{shard * 2 + i + 1:08d}.png" for i in range(2)]
        cells = [
            {"bytes": _png_bytes(_ids(shard * 2 + i, 151)), "path": name}
            for i, name in enumerate(names)
        ]
        table = pa.table({"annotation": pa.array(cells, type=image)})
        pq.write_table(table, root / "data" / f"train-{shard:05d}-of-00002.parquet")


def _webdataset(root: Path) -> None:
    (root / "shards").mkdir()
    for shard in range(2):
        with tarfile.open(root / "shards" / f"train-{shard:06d}.tar", "w") as tar:
            for i in range(2):
                key = f"sample{shard * 2 + i:04d}"
                for suffix, data in (
                    ("seg.png", _png_bytes(_ids(shard * 2 + i, 11, extra=(11,)))),
                    ("jpg", b"not a mask: the photograph"),
                ):
                    info = tarfile.TarInfo(f"{key}.{suffix}")
                    info.size, info.mtime = len(data), 0
                    tar.addfile(info, io.BytesIO(data))


def make_example_data(root: Path) -> None:
    """Write every example dataset under ``root`` (an empty or new folder)."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(ROOT / "sample_masks", root / "sample_masks")
    _grey_set(root / "labels", 4)
    _grey_set(root / "train", 3)
    _grey_set(root / "val", 2, first=3)
    _camvid(root)
    _cityscapes(root)
    _voc(root)
    _ade(root)
    _colour_coded(root)
    _tiles(root)
    _arrays(root)
    _parquet(root)
    _webdataset(root)
