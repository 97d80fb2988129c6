from __future__ import annotations

import pytest

from mfb_cli.errors import MfbError, NoMasksFoundError
from mfb_cli.sources import find_label_files

from .conftest import save_mask


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
