"""docs/frameworks.md: every command runs as written, and what it says is what mfb prints."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from mfb_cli.cli import cli

ROOT = Path(__file__).resolve().parent.parent
PAGE = (ROOT / "docs" / "frameworks.md").read_text(encoding="utf-8")
COMMANDS = [
    line
    for block in re.findall(r"```bash\n(.*?)```", PAGE, re.S)
    for line in block.splitlines()
    if line.strip()
]


@pytest.mark.parametrize("line", COMMANDS)
def test_every_command_on_the_page_runs(monkeypatch, line):
    monkeypatch.chdir(ROOT)
    words = shlex.split(line)
    assert words[0] == "mfb"
    result = CliRunner().invoke(cli, words[1:])
    assert result.exit_code == 0, result.stderr


def test_the_python_block_runs_and_gives_float32(monkeypatch):
    pytest.importorskip("torch", reason="PyTorch is not installed")
    monkeypatch.chdir(ROOT)
    block = re.search(r"```python\n(import numpy as np\nimport torch\n.*?)```", PAGE, re.S)
    assert block is not None
    names: dict[str, object] = {}
    exec(block.group(1), names)
    assert str(names["weight"].dtype) == "torch.float32"
    assert str(names["same"].dtype) == "float32"


@pytest.mark.parametrize(
    ("args", "claim"),
    [
        (["weights", "--void", "11", "-f", "torch"], "PyTorch (checked with 2.13.0)"),
        (["weights", "--ignore", "255", "-f", "keras"], "checked with 3.15.1 on the torch"),
        (["weights", "--void", "11", "-f", "mmseg"], "checked with mmseg 1.2.2"),
        (["weights", "--void", "11", "-f", "caffe"], "alexgkendall/caffe-segnet"),
        (["priors", "--void", "11", "-f", "torch"], "PyTorch (checked with 2.13.0)"),
    ],
)
def test_every_snippet_names_the_version_its_statements_hold_for(monkeypatch, args, claim):
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(cli, [args[0], "sample_masks", "-q", *args[1:]])
    assert result.exit_code == 0, result.stderr
    assert claim in result.stdout
