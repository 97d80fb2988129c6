"""docs/splits.md: every bash block runs as written from a copy of the repository root."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "splits.md"


def test_every_bash_block_runs(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "sample_masks", tmp_path / "sample_masks")
    blocks = re.findall(r"```bash\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.DOTALL)
    assert len(blocks) >= 4
    for block in blocks:
        script = f'set -euo pipefail\nmfb() {{ "{sys.executable}" -m mfb_cli "$@"; }}\n{block}'
        done = subprocess.run(
            ["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, (block, done.stderr)
    assert (tmp_path / "splits_final.json").is_file()
    assert sorted(p.name for p in (tmp_path / "splits").iterdir()) == [
        "test.txt",
        "train.txt",
        "val.txt",
    ]
