"""docs/geometry.md as written: its mfb commands run from the repository root, its shown
output is what they print, and its Python examples give the numbers in their comments."""

from __future__ import annotations

import contextlib
import io
import re
import shlex
from pathlib import Path

import pytest

from tests.conftest import run

pytest.importorskip("cc3d")

ROOT = Path(__file__).resolve().parent.parent
PAGE = (ROOT / "docs" / "geometry.md").read_text(encoding="utf-8")


def blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", PAGE, flags=re.S)


def test_the_commands_run_and_print_what_the_page_shows(tmp_path, monkeypatch):
    (tmp_path / "sample_masks").symlink_to(ROOT / "sample_masks")
    monkeypatch.chdir(tmp_path)  # the repository root, without writing into it
    commands = [
        line for block in blocks("bash") for line in block.splitlines() if line.startswith("mfb ")
    ]
    assert len(commands) == 4
    printed = ""
    for command in commands:
        result = run(*shlex.split(command)[1:])
        assert result.exit_code == 0, (command, result.stderr)
        printed += result.stdout
    assert (tmp_path / "report.html").exists() and (tmp_path / "stats.json").exists()
    for block in blocks("text")[:2]:
        for line in block.splitlines():
            assert line in printed, line


def test_the_python_examples_print_their_comments(monkeypatch):
    monkeypatch.chdir(ROOT)
    for block in blocks("python"):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(block, "geometry.md", "exec"), {})
        expected = [
            line.split("# ", 1)[1].split(" -> ")[-1]
            for line in block.splitlines()
            if line.startswith("print(") and "# " in line
        ]
        assert out.getvalue().splitlines() == expected


def test_the_worked_mask_is_the_tests_mask():
    from tests.count.test_geometry import MASK

    shown = blocks("text")[2].split("\n")[:6]
    assert [[int(v) for v in row.split()] for row in shown] == MASK.tolist()
