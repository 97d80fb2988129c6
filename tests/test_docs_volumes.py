"""docs/volumes.md runs as written: its Python block writes the demo dataset, then every
command of its bash blocks (but pip) exits 0 from the folder the demo was written in."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

PAGE = Path(__file__).resolve().parent.parent / "docs" / "volumes.md"

pytest.importorskip("nibabel", reason="the 'volumes' extra: nibabel")


def blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", PAGE.read_text(), flags=re.DOTALL)


def test_every_command_of_the_page_runs(tmp_path: Path) -> None:
    (python,) = blocks("python")
    subprocess.run([sys.executable, "-c", python], cwd=tmp_path, check=True)
    commands = [
        line
        for block in blocks("bash")
        for line in block.splitlines()
        if line.strip() and not line.startswith("pip ")
    ]
    assert len(commands) >= 8
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    for command in commands:
        done = subprocess.run(
            command, shell=True, cwd=tmp_path, capture_output=True, text=True,
            env={**os.environ, "PATH": path},
        )  # fmt: skip
        assert done.returncode == 0, (command, done.stderr)
    cases = (tmp_path / "demo" / "cases.jsonl").read_text().splitlines()[1:]
    assert cases == [line for line in PAGE.read_text().splitlines() if line.startswith('{"image"')]
