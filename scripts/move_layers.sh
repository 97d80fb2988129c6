#!/usr/bin/env bash
# Issue 12, mechanical half: move whole modules into read/ count/ weigh/ show/ cli/,
# rewrite every import (scripts/move_layers.py), sort imports, then run the gates.
# Run from a clean checkout of the merged main, with the project's venv first on PATH
# (or PY=/path/to/venv/bin/python). The manual half is in the lead's plan.
#
#   scripts/move_layers.sh             # move + rewrite + ruff --fix + gates
#   scripts/move_layers.sh --no-gates  # move + rewrite + ruff --fix only
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python}
BIN=$(dirname "$(command -v "$PY")")

if [ -n "$(git status --porcelain --untracked-files=no)" ]; then
    echo "move_layers: commit or stash your changes first" >&2
    exit 1
fi
"$PY" scripts/record_golden.py --check >/dev/null || {
    echo "move_layers: goldens differ BEFORE the move; re-record them on this main first" >&2
    exit 1
}
"$PY" scripts/move_layers.py
# Import order and line wrapping after the rewrite (I001 only: nothing else is touched).
"$BIN/ruff" check --select I --fix --quiet mfb_cli tests scripts benchmarks
"$BIN/ruff" format --quiet mfb_cli tests scripts benchmarks
# setuptools must see the new subpackages before the tests import them.
"$PY" -m pip install -q -e . --no-deps
git add -A mfb_cli tests scripts benchmarks pyproject.toml README.md docs
git status --short | head -60

if [ "${1:-}" != "--no-gates" ]; then
    "$BIN/ruff" check . && "$BIN/ruff" format --check . && "$BIN/mypy"
    "$PY" scripts/record_golden.py --check
    "$PY" -m pytest -q -x
fi
