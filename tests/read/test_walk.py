"""Folder walking at any depth, and file names that are not UTF-8 (surrogate-escaped str)."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

import pytest

from mfb_cli.count.stats import files_digest
from mfb_cli.errors import MfbError
from mfb_cli.read.sources.find import find_label_files

from ..conftest import run, save_mask

#: A file name whose bytes are not UTF-8: Python names it with a surrogate escape.
LATIN1 = os.fsdecode(b"caf\xe9.png")


def test_a_folder_tree_deeper_than_the_recursion_limit_is_walked(tmp_path):
    # Built and removed level by level: pathlib's mkdir and shutil.rmtree recurse too.
    chain = [tmp_path / "deep"]
    for _ in range(sys.getrecursionlimit() + 100):
        chain[-1].mkdir()
        chain.append(chain[-1] / "d")
    deepest = chain[-2]
    save_mask(deepest / "a.png", [[0]])
    save_mask(tmp_path / "b.png", [[0]])
    try:
        found = find_label_files([tmp_path])
        assert len(found) == 2  # (no assert on the lists: a failure would print 2 kB paths)
        assert found[0] == tmp_path / "b.png"
        assert found[1] == deepest / "a.png"
    finally:
        (deepest / "a.png").unlink()
        for folder in reversed(chain[:-1]):
            folder.rmdir()


def test_walk_keeps_its_rules_sorted_hidden_links_and_loops(tmp_path):
    for name in ["z/1.png", "a/2.png", "a/.hidden/3.png", ".x/4.png", "a/._5.png", "m.png"]:
        save_mask(tmp_path / name, [[0]])
    (tmp_path / "a" / "loop").symlink_to(tmp_path)  # back to the top: walked once
    (tmp_path / "y").symlink_to(tmp_path / "z")  # z under a second name: walked once
    (tmp_path / "broken.png").symlink_to(tmp_path / "nowhere.png")
    found = [p.relative_to(tmp_path).as_posix() for p in find_label_files([tmp_path])]
    assert found == ["a/2.png", "m.png", "y/1.png"]  # y comes first in sorted order


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads folders whatever their permissions")
def test_an_unreadable_folder_is_named(tmp_path):
    save_mask(tmp_path / "a.png", [[0]])
    closed = tmp_path / "closed"
    closed.mkdir()
    closed.chmod(0)
    try:
        with pytest.raises(MfbError, match=f"^{closed}: cannot read folder"):
            find_label_files([tmp_path])
    finally:
        closed.chmod(0o755)


def test_files_digest_of_a_non_utf8_name_is_its_bytes(tmp_path):
    name = f"{tmp_path.as_posix()}/{LATIN1}"
    expected = int.from_bytes(hashlib.sha256(os.fsencode(name)).digest(), "big")
    assert files_digest([Path(name)]) == f"sha256-sum:{expected:064x}"
    # Valid names keep the digest they always had (their UTF-8 bytes).
    utf8 = int.from_bytes(hashlib.sha256("a/é.png".encode()).digest(), "big")
    assert files_digest(["a/é.png"]) == f"sha256-sum:{utf8:064x}"


@pytest.fixture
def latin1_folder(tmp_path) -> Path:
    folder = tmp_path / "d"
    save_mask(folder / LATIN1, [[0, 1], [1, 1]])
    save_mask(folder / "ok.png", [[2, 2], [2, 2]])
    return folder


def test_every_command_reads_a_non_utf8_name(latin1_folder, tmp_path):
    scanned = run("scan", latin1_folder)
    assert scanned.exit_code == 0, scanned.stderr
    record = json.loads(scanned.stdout)
    assert record["pixels"] == [1, 3, 4]
    assert record["files_digest"] == files_digest(
        [latin1_folder / LATIN1, latin1_folder / "ok.png"]
    )
    for command in (["weights", "-q"], ["histogram", "-f", "json"], ["check", "-f", "json"]):
        result = run(*command, latin1_folder)
        assert result.exit_code == 0, result.stderr


def test_non_utf8_names_in_check_output_and_errors(latin1_folder, tmp_path, monkeypatch):
    broken = os.fsdecode(b"br\xffoken.png")
    (latin1_folder / broken).write_bytes(b"junk")
    # JSON keeps the exact name (a surrogate escape, which Python's json turns back into it).
    result = run("check", latin1_folder, "-f", "json")
    assert result.exit_code == 1
    record = json.loads(result.stdout)
    assert [b["path"] for b in record["bad_files"]] == [f"{latin1_folder}/{broken}"]
    # Tables show the bytes as \xNN, in a file as on stdout.
    monkeypatch.chdir(tmp_path)  # a short relative name, so no line folds it
    table = run("check", "d")
    assert "  d/br\\xffoken.png  " in table.stdout
    saved = run("check", "d", "-o", tmp_path / "report.txt")
    assert saved.exit_code == 1, saved.stderr
    assert (tmp_path / "report.txt").read_text(encoding="utf-8") == table.stdout
    # Errors are one line naming the file.
    failed = run("weights", latin1_folder, "-q")
    assert failed.exit_code == 1
    assert failed.stderr.count("\n") == 1
    assert "oken.png: not an image file" in failed.stderr
