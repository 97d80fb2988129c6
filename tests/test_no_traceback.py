"""A sweep of hostile invocations: each ends with one clear message and exit 1 or 2, never
a traceback (nor the "internal error" line that stands in for one without --debug).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import mfb_cli.cli.scanning
from mfb_cli.cli import cli

from .conftest import save_mask

BIG = str(10**30)

# (arguments, exit status or statuses); {m} is a folder of masks, {d} an empty folder,
# {f} a text file, {s} a statistics file, {t} a folder for outputs.
CASES = [
    (["weights", "{m}", "--clip", "inf"], 2),
    (["weights", "{m}", "--clip", "nan"], 2),
    (["weights", "{m}", "--clip", "1e400"], 2),
    (["weights", "{m}", "--clip", "0"], 2),
    (["weights", "{m}", "--clip", "abc"], 2),
    (["weights", "{m}", "--scheme", "enet", "--enet-c", "inf"], 2),
    (["weights", "{m}", "--scheme", "enet", "--enet-c", "-inf"], 2),
    (["weights", "{m}", "--scheme", "effective-number", "--beta", "nan"], 2),
    (["weights", "{m}", "--decimals", "-1"], 2),
    (["weights", "{m}", "--void", BIG], 2),
    (["weights", "{m}", "--ignore", "-" + BIG], 2),
    (["weights", "{m}", "--num-classes", BIG], 2),
    (["weights", "{m}", "--num-classes", "0"], 2),
    (["weights", "{m}", "--colormap", "voc", "--unknown-color", BIG], 2),
    (["weights", "{m}", "-j", str(10**9)], 2),
    (["weights", "{m}", "-j", "0"], 2),
    (["weights", "{m}", "--max-pixels", "0"], 2),
    (["weights", "{m}", "--column", "0"], 2),
    (["weights", "{m}", "--scheme", "nope"], 2),
    (["weights", "{m}", "-f", "nope"], 2),
    (["weights", "{m}", "--bogus"], 2),
    (["weights", "{m}", "-o", "{d}"], 2),
    (["weights", "{m}", "-o", "{t}/missing/w.json"], 2),
    (["weights", "{m}", "-o", "{m}/a.png"], 2),
    (["weights", "{m}", "--names", "{d}"], 2),
    (["weights", "{m}", "--names", "{t}/missing.txt"], 2),
    # A table whose content is unusable: a data problem or a usage error, as its reader says.
    (["weights", "{m}", "--colormap", "{d}"], {1, 2}),
    (["weights", "{m}", "--map", "{f}"], {1, 2}),
    (["weights", "--from", "{d}"], 2),
    (["weights", "--from", "{f}"], 1),
    (["weights", "--from", "{t}/missing.json"], 1),
    (["weights", "--from", "{s}", "{m}"], 2),
    (["weights"], 2),
    (["weights", "{d}"], 1),
    (["weights", "{f}"], 1),
    (["weights", "{t}/missing"], 1),
    (["weights", "--list", "{f}"], 1),
    (["weights", "--list", "{d}"], 2),
    (["weights", "--list", "{f}", "--root", "{f}"], 2),
    (["histogram", "{m}", "--plot", "{d}"], 2),
    (["histogram", "{m}", "--plot", "{t}/plot.txt"], 2),
    (["histogram", "{m}", "--sort", "nope"], 2),
    (["check", "{d}"], 1),
    (["check", "{m}", "-f", "csv"], 2),
    (["scan", "{f}"], 1),
    (["merge", "{f}"], 1),
    (["merge", "{d}"], 2),
    (["merge"], 2),
    (["merge", "{s}", "-o", "{s}"], 2),
    (["nope"], 2),
]


@pytest.fixture
def places(tmp_path: Path) -> dict[str, str]:
    masks = tmp_path / "m"
    save_mask(masks / "a.png", [[0, 1], [1, 2]])
    (tmp_path / "d").mkdir()
    (tmp_path / "f.txt").write_text("not a mask\n")
    stats = tmp_path / "s.json"
    assert CliRunner().invoke(cli, ["scan", str(masks), "-o", str(stats), "-q"]).exit_code == 0
    return {"m": str(masks), "d": str(tmp_path / "d"), "f": str(tmp_path / "f.txt"),
            "s": str(stats), "t": str(tmp_path)}  # fmt: skip


@pytest.mark.parametrize(("args", "code"), CASES, ids=[" ".join(a) for a, _ in CASES])
def test_hostile_invocations_end_in_one_clear_error(places, args, code):
    result = CliRunner().invoke(cli, [a.format(**places) for a in args])
    assert result.exit_code in (code if isinstance(code, set) else {code}), result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.stderr


def test_output_folder_removed_during_the_run(places, tmp_path, monkeypatch):
    folder = tmp_path / "out"
    folder.mkdir()
    scan = mfb_cli.cli.scanning.scan_masks

    def scan_then_remove(*args, **kwargs):  # the folder goes away while masks are read
        shutil.rmtree(folder)
        return scan(*args, **kwargs)

    monkeypatch.setattr(mfb_cli.cli.scanning, "scan_masks", scan_then_remove)
    result = CliRunner().invoke(cli, ["weights", places["m"], "-o", str(folder / "w.json")])
    assert result.exit_code == 1
    assert result.stderr == f"Error: {folder / 'w.json'}: No such file or directory\n"


def test_an_unexpected_exception_is_one_line_without_debug(places, monkeypatch):
    def broken(*args, **kwargs):
        raise ValueError("boom\nsecond line")

    monkeypatch.setattr(mfb_cli.cli.scanning, "scan_masks", broken)
    result = CliRunner().invoke(cli, ["weights", places["m"]])
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: internal error: ValueError: boom\\nsecond line "
        "(run with --debug for the traceback, and please report it)\n"
    )
    debug = CliRunner().invoke(cli, ["--debug", "weights", places["m"]])
    assert debug.exit_code == 1
    assert debug.stderr.startswith("Traceback (most recent call last):\n")
    assert debug.stderr.endswith("ValueError: boom\nsecond line\n")
