"""The compact file list, and the finder that fills it, against a naive Path-based finder."""

from __future__ import annotations

import os
import pickle
import random
from pathlib import Path

import pytest

from mfb_cli.read.sources.file_list import FileList, FileListBuilder, LabelSources
from mfb_cli.read.sources.find import find_label_files


def naive_find(paths: list[Path], pattern: str = "*.png") -> list[Path]:
    """The definition, spelled out with Path objects: every matching non-hidden file below
    each folder (links followed, each folder once), a named file as it is, each file once by
    real path (the first name it was reached by), sorted by path."""
    import fnmatch

    found: dict[str, Path] = {}
    for root in paths:
        if root.is_file():
            found.setdefault(os.path.realpath(root), root)
            continue
        seen: set[tuple[int, int]] = set()
        stack = [root]
        while stack:
            folder = stack.pop()
            info = folder.stat()
            if (info.st_dev, info.st_ino) in seen:
                continue
            seen.add((info.st_dev, info.st_ino))
            children = sorted(folder.iterdir(), key=lambda p: p.name)
            subfolders = []
            for child in children:
                if child.name.startswith("."):
                    continue
                if child.is_dir():
                    subfolders.append(child)
                    continue
                target = child.relative_to(root).as_posix() if "/" in pattern else child.name
                if fnmatch.fnmatchcase(target.lower(), pattern.lower()) and child.is_file():
                    found.setdefault(os.path.realpath(child), child)
            stack.extend(reversed(subfolders))
    return sorted(found.values(), key=lambda p: p.as_posix())


def random_tree(root: Path, seed: int) -> None:
    """Folders whose names sort differently as names and as paths ('a' < 'a-b', but
    'a-b/x' < 'a/x'), files and links to files and folders, hidden entries, other suffixes."""
    rng = random.Random(seed)
    root.mkdir()
    folders = [root]
    names = ["a", "a-b", "a.b", "b", "B", "é", "a b", "0"]
    for _ in range(rng.randint(2, 8)):
        parent = rng.choice(folders)
        child = parent / rng.choice(names)
        child.mkdir(exist_ok=True)
        folders.append(child)
    files: list[Path] = []
    for _ in range(rng.randint(3, 25)):
        folder = rng.choice(folders)
        name = rng.choice(["x", "y", "z-1", "Z", ".hidden", "a-b"]) + rng.choice(
            [".png", ".PNG", ".txt"]
        )
        path = folder / name
        if not path.exists():
            path.write_bytes(b"png")
            files.append(path)
    for index in range(rng.randint(0, 4)):
        folder = rng.choice(folders)
        link = folder / f"link{index}.png"
        if files and not link.exists():
            link.symlink_to(rng.choice(files))
    if rng.random() < 0.5:
        loop = rng.choice(folders) / "loop"
        if not loop.exists():
            loop.symlink_to(rng.choice(folders), target_is_directory=True)
    if rng.random() < 0.3:
        os.mkfifo(rng.choice(folders) / "fifo.png")


@pytest.mark.parametrize("seed", range(40))
def test_the_finder_agrees_with_the_naive_definition(tmp_path, seed, monkeypatch):
    random_tree(tmp_path / "t", seed)
    monkeypatch.chdir(tmp_path)
    rng = random.Random(seed)
    folders = sorted(p for p in Path("t").rglob("*") if p.is_dir() and not p.is_symlink())
    for pattern in ("*.png", "a*/*.png"):
        for given in ([Path("t")], [rng.choice(folders), Path("t")], [Path("t"), Path("t")]):
            assert [str(p) for p in find_label_files(given, pattern, allow_empty=True)] == [
                str(p) for p in naive_find(given, pattern)
            ], (given, pattern)


@pytest.mark.parametrize("given", [".", "./", "sub/", "./sub", "sub//", "sub/../sub"])
def test_names_are_spelled_as_path_spells_them(tmp_path, monkeypatch, given):
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    (tmp_path / "sub" / "x.png").write_bytes(b"")
    (tmp_path / "sub" / "deeper" / "y.png").write_bytes(b"")
    monkeypatch.chdir(tmp_path)
    expected = [str(p) for p in naive_find([Path(given)])]
    assert [str(p) for p in find_label_files([given])] == expected
    assert expected[0] in {"sub/deeper/y.png", "sub/../sub/deeper/y.png"}


def test_a_file_list_is_a_sequence_of_paths():
    names = ["b/x.png", "a/é.png", os.fsdecode(b"caf\xe9.png"), "c d/y.png"]
    files = FileList(names)
    assert len(files) == 4
    assert files[0] == Path("b/x.png") and files[-1] == Path("c d/y.png")
    assert list(files) == [Path(n) for n in names]
    assert list(files.names()) == names
    assert files[1:3] == [Path("a/é.png"), Path(names[2])]
    assert isinstance(files[1:3], FileList)
    assert files == [Path(n) for n in names] and files != [Path(n) for n in names[:3]]
    assert pickle.loads(pickle.dumps(files)) == files
    with pytest.raises(IndexError):
        files[4]
    with pytest.raises(IndexError):
        files[-5]
    assert list(FileList()) == [] and len(FileList()) == 0
    assert "b/x.png" in repr(files) and "4 files" in repr(files)


def test_the_builder_sorts_only_when_the_names_came_out_of_order():
    builder = FileListBuilder()
    for name in ["a/x.png", "a/y.png", "b/x.png"]:
        builder.append(name)
    assert builder.in_order and list(builder.build(sort=True).names()) == [
        "a/x.png",
        "a/y.png",
        "b/x.png",
    ]
    builder.append("a-b/x.png")  # after 'b/x.png' as a name, before 'a/x.png' as a path
    assert not builder.in_order
    assert list(builder.build(sort=True).names()) == sorted(
        ["a/x.png", "a/y.png", "b/x.png", "a-b/x.png"]
    )
    assert list(builder.build().names())[-1] == "a-b/x.png"  # unsorted: as appended


def test_label_sources_put_files_on_disk_first():
    files = FileList(["a.png", "b.png"])
    sources = LabelSources(files, ["s3://bucket/c.png"])  # type: ignore[list-item]
    assert len(sources) == 3
    assert list(sources) == [Path("a.png"), Path("b.png"), "s3://bucket/c.png"]
    assert sources[2] == "s3://bucket/c.png" and sources[-3] == Path("a.png")
    assert sources[1:] == [Path("b.png"), "s3://bucket/c.png"]
    with pytest.raises(IndexError):
        sources[3]


def test_a_long_list_costs_its_names_not_an_object_a_file():
    import tracemalloc

    names = [f"data/train/city_{i:06d}_gtFine_labelTrainIds.png" for i in range(20_000)]
    tracemalloc.start()
    files = FileList(names)
    size, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    per_file = size / len(files)
    assert per_file < len(names[0]) + 8 + 4, per_file  # the name's bytes and its end offset
