from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest

from mfb_cli.count.scan import count_masks
from mfb_cli.errors import MfbError, NoMasksFoundError
from mfb_cli.read.sources.archives import ArchiveMember
from mfb_cli.read.sources.find import find_label_files, find_label_sources
from mfb_cli.read.sources.lists import read_list_file

from ..conftest import save_mask


def names(paths, root):
    return [p.relative_to(root).as_posix() for p in paths]


def test_folders_are_searched_recursively_in_sorted_order(tmp_path):
    for name in ["b/2.png", "a/1.png", "a/sub/0.PNG", "c.png", "notes.txt"]:
        if name.endswith("txt"):
            (tmp_path / name).write_text("x")
        else:
            save_mask(tmp_path / name, [[0]])
    assert names(find_label_files([tmp_path]), tmp_path) == [
        "a/1.png",
        "a/sub/0.PNG",
        "b/2.png",
        "c.png",
    ]


def test_glob_on_names_and_on_relative_paths(tmp_path):
    for name in ["x/a_labelIds.png", "x/a_color.png", "y/b_labelIds.png"]:
        save_mask(tmp_path / name, [[0]])
    found = find_label_files([tmp_path], glob="*_labelIds.png")
    assert names(found, tmp_path) == ["x/a_labelIds.png", "y/b_labelIds.png"]
    assert names(find_label_files([tmp_path], glob="y/*.png"), tmp_path) == ["y/b_labelIds.png"]


@pytest.mark.parametrize(
    ("glob", "expected"),
    [
        ("**/*.png", ["a.png", "x/b.png", "x/y/c.png"]),  # '**/' is zero or more folders
        ("x/**/*.png", ["x/b.png", "x/y/c.png"]),
        ("**/y/*.png", ["x/y/c.png"]),
        ("**/**/*.png", ["a.png", "x/b.png", "x/y/c.png"]),
        ("*/*.png", ["x/b.png", "x/y/c.png"]),  # fnmatch's '*' spans folders
        ("**/a.png", ["a.png"]),
    ],
)
def test_a_globstar_is_zero_or_more_folders(tmp_path, glob, expected):
    for name in ["a.png", "x/b.png", "x/y/c.png", "x/y/d.jpg"]:
        save_mask(tmp_path / name, [[0]])
    assert names(find_label_files([tmp_path], glob=glob), tmp_path) == expected


def test_hidden_files_and_folders_are_skipped(tmp_path):
    save_mask(tmp_path / "a.png", [[0]])
    save_mask(tmp_path / ".ipynb_checkpoints" / "a.png", [[0]])
    save_mask(tmp_path / "._a.png", [[0]])
    assert names(find_label_files([tmp_path]), tmp_path) == ["a.png"]


def test_a_file_named_twice_is_counted_once(tmp_path):
    path = save_mask(tmp_path / "a.png", [[0]])
    (tmp_path / "link.png").symlink_to(path)
    assert len(find_label_files([tmp_path, path])) == 1


def test_explicit_files_bypass_the_glob(tmp_path):
    path = save_mask(tmp_path / "mask.tif", [[0]], "I")
    assert find_label_files([path]) == [path]


def test_symlink_loops_terminate(tmp_path):
    save_mask(tmp_path / "d" / "a.png", [[0]])
    (tmp_path / "d" / "loop").symlink_to(tmp_path / "d")
    assert names(find_label_files([tmp_path / "d"]), tmp_path) == ["d/a.png"]


def test_missing_path_and_empty_folder(tmp_path):
    with pytest.raises(MfbError, match="nope: no such file or folder"):
        find_label_files([tmp_path / "nope"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(NoMasksFoundError, match=r"empty: no label files matching '\*\.png'"):
        find_label_files([tmp_path / "empty"])


# List files and archives -------------------------------------------------------------


def test_list_of_pairs_takes_the_label_column_relative_to_the_list(tmp_path):
    for name in ["annot/a.png", "annot/b.png", "img/a.png", "img/b.png"]:
        save_mask(tmp_path / "data" / name, [[0]])
    (tmp_path / "data" / "train.txt").write_text(
        "# image label\nimg/b.png annot/b.png\n\nimg/a.png   annot/a.png\n"
    )
    listed = read_list_file(tmp_path / "data" / "train.txt")
    assert names(listed, tmp_path / "data") == ["annot/b.png", "annot/a.png"]
    first = read_list_file(tmp_path / "data" / "train.txt", column=1)
    assert names(first, tmp_path / "data") == ["img/b.png", "img/a.png"]
    found = find_label_sources([], lists=[tmp_path / "data" / "train.txt"])
    assert names(found, tmp_path / "data") == ["annot/a.png", "annot/b.png"]  # sorted


def test_list_root_and_errors_name_the_line(tmp_path):
    save_mask(tmp_path / "masks" / "x.png", [[0]])
    (tmp_path / "lists").mkdir()
    (tmp_path / "lists" / "l.txt").write_text("x.png\ny.png\n")
    with pytest.raises(MfbError, match=r"l\.txt:2: .*y\.png: no such file"):
        read_list_file(tmp_path / "lists" / "l.txt", root=tmp_path / "masks")
    (tmp_path / "lists" / "l.txt").write_text("x.png\n")
    assert read_list_file(tmp_path / "lists" / "l.txt", root=tmp_path / "masks") == [
        tmp_path / "masks" / "x.png"
    ]
    # Library terms here; the command line says --column 2 (test_textfiles).
    with pytest.raises(MfbError, match=r"l\.txt:1: 1 column\(s\), but column=2 was asked$"):
        read_list_file(tmp_path / "lists" / "l.txt", column=2)
    with pytest.raises(MfbError, match=r"no such file in .* \(set the folder with root\)$"):
        read_list_file(tmp_path / "lists" / "l.txt")


def _png(labels) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.asarray(labels, dtype=np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


MEMBERS = {
    "set/b.png": [[1, 1], [2, 0]],
    "set/a.png": [[0, 0], [0, 1]],
    "set/notes.txt": None,
    "__MACOSX/set/._a.png": None,
    "set/arr.npy": np.array([[3, 3, 1]], dtype=np.int32),
}


def _content(value) -> bytes:
    if value is None:
        return b"junk"
    if isinstance(value, np.ndarray):
        buffer = io.BytesIO()
        np.save(buffer, value)
        return buffer.getvalue()
    return _png(value)


def _write_zip(path):
    with zipfile.ZipFile(path, "w") as archive:
        for name, value in MEMBERS.items():
            archive.writestr(name, _content(value))
    return path


def _write_tar(path, mode):
    with tarfile.open(path, mode) as archive:
        for name, value in MEMBERS.items():
            data = _content(value)
            info = tarfile.TarInfo("./" + name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


@pytest.mark.parametrize(
    ("name", "writer"),
    [
        ("l.zip", _write_zip),
        ("l.tar", lambda p: _write_tar(p, "w")),
        ("l.tar.gz", lambda p: _write_tar(p, "w:gz")),
        ("l.tar.xz", lambda p: _write_tar(p, "w:xz")),
    ],
)
def test_archives_are_read_in_place_with_the_glob(tmp_path, name, writer):
    archive = writer(tmp_path / name)
    found = find_label_sources([archive])
    assert all(isinstance(m, ArchiveMember) for m in found)
    members = sorted(m.member.removeprefix("./") for m in found)  # type: ignore[union-attr]
    assert members == ["set/a.png", "set/b.png"]
    assert str(found[0]).startswith(f"{archive}:")
    for jobs in (1, 3):
        counts = count_masks(found, jobs=jobs)
        assert counts.ids.tolist() == [0, 1, 2]
        assert counts.pixels.tolist() == [4, 3, 1]
        assert counts.images.tolist() == [2, 2, 1]
    with_npy = find_label_sources([archive], glob="*.npy")
    assert count_masks(with_npy, jobs=2).pixels.tolist() == [1, 2]  # ids 1 and 3


def test_folders_lists_and_archives_together(tmp_path):
    save_mask(tmp_path / "f" / "c.png", [[2, 2]])
    archive = _write_zip(tmp_path / "z.zip")
    found = find_label_sources([tmp_path / "f", archive])
    assert [str(s).rsplit("/", 1)[-1] for s in found] == ["c.png", "a.png", "b.png"]
    assert count_masks(found, jobs=2).pixels.tolist() == [4, 3, 3]


def test_an_archive_reached_twice_is_read_once(tmp_path, monkeypatch):
    archive = _write_zip(tmp_path / "z.zip")
    (tmp_path / "link.zip").symlink_to(archive)
    monkeypatch.chdir(tmp_path)
    for given in ([archive, tmp_path / "link.zip"], [archive, Path("z.zip")], [archive, archive]):
        found = find_label_sources(given)
        assert [str(s) for s in found] == [f"{archive}:set/a.png", f"{archive}:set/b.png"]


def test_damaged_archive_is_named(tmp_path):
    (tmp_path / "bad.zip").write_bytes(b"PK not really")
    with pytest.raises(MfbError, match=r"bad\.zip: cannot read archive"):
        find_label_sources([tmp_path / "bad.zip"])


@pytest.mark.parametrize("kind", ["zip", "tar.gz"])
def test_oversized_archive_members_are_refused_unread(tmp_path, kind):
    from mfb_cli.errors import BadMaskError
    from mfb_cli.read.options import ReadOptions

    png = save_mask(tmp_path / "m.png", np.zeros((4, 4))).read_bytes()
    huge = b"\0" * (2 << 20)  # 2 MiB uncompressed, a few KiB in the archive
    archive = tmp_path / f"masks.{kind}"
    if kind == "zip":
        with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as z:
            z.writestr("a.png", png)
            z.writestr("b.png", huge)
    else:
        with tarfile.open(archive, "w:gz") as t:
            for name, data in (("a.png", png), ("b.png", huge)):
                info = tarfile.TarInfo(name)
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
    members = find_label_sources([archive])
    # --max-pixels 16 allows members of 8 x 16 bytes + 1 MiB: the PNG passes, b.png is refused
    # before it is read into memory.
    read = ReadOptions(max_pixels=16)
    with pytest.raises(BadMaskError, match=rf"masks\.{kind}:b\.png: is 2097152 bytes"):
        count_masks(members, jobs=1, read=read)
    assert count_masks(members[:1], jobs=1, read=read).pixels.tolist() == [16]


@pytest.mark.parametrize("jobs", [1, 2, 4])
def test_the_first_bad_member_is_reported_whatever_the_jobs(tmp_path, jobs):
    from mfb_cli.errors import BadMaskError

    archive = tmp_path / "masks.zip"
    good = save_mask(tmp_path / "m.png", np.zeros((4, 4))).read_bytes()
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_STORED) as z:
        z.writestr("a.png", b"not a png")  # fails when decoded, in a worker
        z.writestr("b.png", good)  # made unreadable below: fails when read from the zip
    data = bytearray(archive.read_bytes())
    at = data.index(good) + len(good) // 2
    data[at] ^= 0xFF  # the stored bytes no longer match the member's CRC
    archive.write_bytes(bytes(data))
    members = find_label_sources([archive])
    with pytest.raises(BadMaskError, match=r"masks\.zip:a\.png: not an image"):
        count_masks(members, jobs=jobs)
    with pytest.raises(BadMaskError, match=r"masks\.zip:b\.png: cannot read from the archive"):
        count_masks(members[1:], jobs=jobs)
