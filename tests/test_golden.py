"""Every command's output, byte for byte, against outputs recorded before a refactoring.

The cases, the inputs they read and the recording live in ``scripts/record_golden.py``;
re-record with ``python scripts/record_golden.py`` only when an output is meant to change.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "record_golden.py"


def _load_recorder() -> ModuleType:
    spec = importlib.util.spec_from_file_location("record_golden", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("record_golden", module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


recorder = _load_recorder()
NAMES = [case.name for case in recorder.CASES]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Run every case once, in order (later cases read files earlier ones wrote)."""
    result: dict[str, str] = recorder.run_cases(tmp_path_factory.mktemp("golden"))
    return result


@pytest.mark.parametrize("name", NAMES)
def test_output_is_byte_identical_to_the_recording(recorded: dict[str, str], name: str) -> None:
    expected = recorder.golden_path(name).read_text(encoding="utf-8")
    actual = recorded[name]
    if actual != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(True), actual.splitlines(True), "recorded", "now"
            )
        )
        pytest.fail(f"output of case {name!r} changed:\n{diff}")


def test_every_recording_has_a_case_and_names_are_unique() -> None:
    assert len(NAMES) == len(set(NAMES))
    on_disk = {path.stem for path in recorder.GOLDEN.glob("*.txt")}
    assert on_disk == set(NAMES)


def test_cases_cover_every_command_and_format() -> None:
    lines = [case.args for case in recorder.CASES]
    for command in ("weights", "histogram", "scan", "merge", "check"):
        assert any(args[:1] == (command,) for args in lines), command
    weights_formats = {"json", "yaml", "csv", "list", "torch", "mmseg", "keras", "caffe"}
    for command, formats in (
        ("weights", weights_formats),
        ("histogram", {"table", "json", "yaml", "csv"}),
        ("check", {"json", "yaml"}),
    ):
        given = {
            args[args.index("-f") + 1] for args in lines if args[0] == command and "-f" in args
        }
        assert formats <= given, (command, formats - given)
    assert any("--from" in args for args in lines)
    exits = {text.split("\n")[1] for text in map(_golden, NAMES)}
    assert exits == {"exit: 0", "exit: 1", "exit: 2"}


def _golden(name: str) -> str:
    text: str = recorder.golden_path(name).read_text(encoding="utf-8")
    return text


def _tree_digest(folder: Path) -> dict[str, str]:
    return {
        path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_inputs_are_written_deterministically(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    recorder.build_inputs(first)
    recorder.build_inputs(second)
    digests = _tree_digest(first)
    assert digests == _tree_digest(second)
    assert "odd/masks.zip" in digests and "samples/street_000.png" in digests
