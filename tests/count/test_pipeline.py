"""The one scan pipeline (count/pipeline.py) and the one out-of-range rule (LabelCheck)."""

from __future__ import annotations

import zipfile
from io import BytesIO
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mfb_cli import ClassCounts, count_masks
from mfb_cli.count.label_check import LabelCheck
from mfb_cli.count.pipeline import scan_in_order
from mfb_cli.errors import LabelRangeError, spelled
from mfb_cli.read.options import ReadOptions
from mfb_cli.read.sources.archives import ArchiveMember
from mfb_cli.read.sources.find import find_label_sources
from mfb_cli.weigh.classes import class_stats
from mfb_cli.weigh.spec import LabelSpec

from ..conftest import save_mask


def png(labels: list[list[int]]) -> bytes:
    buffer = BytesIO()
    Image.fromarray(np.asarray(labels, dtype=np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def mixed_sources(tmp_path: Path) -> list:
    """Three files on disk, then a zip with two good members and one damaged one."""
    for index in range(3):
        save_mask(tmp_path / "d" / f"{index}.png", [[index, index + 1]])
    with zipfile.ZipFile(tmp_path / "z.zip", "w") as archive:
        archive.writestr("a.png", png([[7, 7, 7]]))
        archive.writestr("b.png", b"not a png")
        archive.writestr("c.png", png([[8]]))
    return find_label_sources([tmp_path / "d", tmp_path / "z.zip"])


@pytest.mark.parametrize("jobs", [1, 2, 5])
def test_scan_in_order_yields_every_source_in_order_with_its_bytes(tmp_path, jobs):
    sources = mixed_sources(tmp_path)

    def work(path, data):
        # Files on disk come without bytes (the worker opens them), members with theirs.
        assert (data is None) == (not isinstance(path, ArchiveMember))
        if data == b"not a png":
            raise ValueError("damaged")
        return str(path), None if data is None else len(data)

    def recover(path, error):
        return str(path), f"{type(error).__name__}: {error}"

    results = list(scan_in_order(sources, work, read=ReadOptions(), jobs=jobs, recover=recover))
    assert [name for name, _ in results] == [str(p) for p in sources]
    assert [extra for _, extra in results][:3] == [None, None, None]
    assert results[4][1] == "ValueError: damaged"
    assert results[3][1] == len(png([[7, 7, 7]]))


def test_scan_in_order_raises_without_recover(tmp_path):
    sources = mixed_sources(tmp_path)

    def work(path, data):
        if data == b"not a png":
            raise ValueError(str(path))
        return 0

    with pytest.raises(ValueError, match=r"b\.png"):
        list(scan_in_order(sources, work, read=ReadOptions(), jobs=2))


def test_counting_and_checking_read_the_same_sources(tmp_path):
    from mfb_cli.count.check import check_masks

    sources = mixed_sources(tmp_path)
    report = check_masks(sources, jobs=2)
    assert [path for path, _ in report.bad_files] == [str(sources[4])]
    counts = count_masks(sources, jobs=2, skip_bad=True)
    # 0 1 | 1 2 | 2 3 on disk, 7 7 7 and 8 in the zip.
    assert counts.ids.tolist() == [0, 1, 2, 3, 7, 8]
    assert counts.pixels.tolist() == [1, 2, 2, 1, 3, 1]
    assert counts.num_images == 5


@pytest.mark.parametrize(
    ("ids", "num_classes", "ignore", "expected"),
    [
        (
            [0, 3],
            3,
            (),
            "label 3 >= num_classes=3; pass ignore=[3] or void=[3], or raise num_classes",
        ),
        (
            [-1, 0],
            None,
            (),
            "label -1 is negative; pass ignore=[-1] if it marks pixels without a class",
        ),
        (
            [-1, 0, 5],
            3,
            (-1,),
            "label 5 >= num_classes=3; pass ignore=[5] or void=[5], or raise num_classes",
        ),
        ([0, 2, 255], 3, (255,), None),
    ],
)
def test_the_out_of_range_rule_is_worded_once_for_files_and_for_counts(
    tmp_path, ids, num_classes, ignore, expected
):
    rule = LabelCheck(num_classes, frozenset(ignore))
    problem = rule.problem(ids)
    assert (problem if problem is None else spelled(*problem)) == expected
    array = np.asarray(ids, dtype=np.int64)
    # Per file, as the scan checks it: the same words after the file's name.
    if expected is None:
        rule("f.png", array)
    else:
        with pytest.raises(LabelRangeError) as raised:
            rule("f.png", array)
        assert str(raised.value) == f"f.png: {expected}"
    # On the merged counts, as class_stats checks them: the same words.
    counts = ClassCounts.from_histogram(array, np.ones(len(ids), dtype=np.int64))
    spec = LabelSpec(num_classes, (), tuple(ignore))
    if expected is None:
        assert class_stats(counts, spec).num_classes == 3
    else:
        with pytest.raises(LabelRangeError) as raised:
            class_stats(counts, spec)
        assert str(raised.value) == expected
