"""File names whose bytes are not UTF-8, in every output of every command.

The rule: an output that can hold the exact name (JSON, JSON Lines, YAML, the Python
snippets, DAFormer's files) holds it as the escape \\udcNN of the lone surrogate Python
decodes the byte to, and reads back to the same name (os.fsencode gives its bytes); text
for people and CSV (tables, the report page, messages) shows each such byte as \\xNN.
Every output is valid UTF-8, and -o writes the bytes stdout gets.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mfb_cli.show.output import one_line, shown_bytes

from ..conftest import run, save_mask

#: The mask whose name is not UTF-8 (Latin-1 bytes), and how text for people shows it.
RAW = b"bad\xff\xfename.png"
NAME = os.fsdecode(RAW)
SHOWN = "bad\\xff\\xfename.png"
#: A damaged file whose name is not UTF-8 either (named by check and --skip-bad).
BROKEN_RAW = b"x\xffjunk.png"
BROKEN = os.fsdecode(BROKEN_RAW)
BROKEN_SHOWN = "x\\xffjunk.png"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    masks = tmp_path / "m"
    save_mask(masks / NAME, [[0, 0, 1], [1, 2, 2]])
    save_mask(masks / "café.png", [[0, 1, 1], [3, 3, 3]])
    return masks


def texts(result, out: Path) -> dict[str, str]:
    """stdout and every file written, each decoded as strict UTF-8 (fails if it is not)."""
    found = {"stdout": result.stdout_bytes.decode("utf-8"), "stderr": result.stderr}
    for path in sorted(out.rglob("*")):
        if path.is_file():
            found[path.name] = path.read_bytes().decode("utf-8")
    return found


def exact(value: object) -> bool:
    """Whether the structure holds one of the names exactly (as its original bytes)."""
    if isinstance(value, str):
        return any(
            value.endswith(name) and os.fsencode(value).endswith(raw)
            for name, raw in ((NAME, RAW), (BROKEN, BROKEN_RAW))
        )
    if isinstance(value, dict):
        return any(exact(k) or exact(v) for k, v in value.items())
    if isinstance(value, list):
        return any(exact(v) for v in value)
    return False


@pytest.mark.parametrize(
    ("args", "status", "holds"),
    [
        # holds: how the name appears in stdout: exactly (a structure), shown (\xNN), or
        # not at all (the output names no file).
        (["sampling", "-f", "json"], 0, "json"),
        (["sampling", "-f", "csv"], 0, "shown"),
        (["sampling", "-f", "table"], 0, None),
        (["sampling", "-f", "torch"], 0, "python"),
        (["sampling", "-f", "mmengine"], 0, "python"),
        (["check", "--glob", "*", "-f", "json"], 1, "json"),
        (["check", "--glob", "*", "-f", "yaml"], 1, "yaml"),
        (["check", "--glob", "*", "-f", "table"], 1, "shown"),
        (["weights", "--glob", "*", "--skip-bad", "-f", "json"], 0, "json"),
        (["weights", "--glob", "*", "--skip-bad", "-f", "yaml"], 0, "yaml"),
        (["weights", "--glob", "*", "--skip-bad", "-f", "csv"], 0, None),
        (["weights", "--glob", "*", "--skip-bad", "-f", "list"], 0, None),
        (["weights", "--glob", "*", "--skip-bad", "-f", "torch"], 0, None),
        (["weights", "--glob", "*", "--skip-bad", "-f", "mmseg"], 0, None),
        (["weights", "--glob", "*", "--skip-bad", "-f", "keras"], 0, None),
        (["weights", "--glob", "*", "--skip-bad", "-f", "caffe"], 0, None),
        (["histogram", "--glob", "*", "--skip-bad", "-f", "table"], 0, None),
        (["histogram", "--glob", "*", "--skip-bad", "-f", "json"], 0, "json"),
        (["histogram", "--glob", "*", "--skip-bad", "-f", "yaml"], 0, "yaml"),
        (["histogram", "--glob", "*", "--skip-bad", "-f", "csv"], 0, None),
        (["priors", "--glob", "*", "--skip-bad", "-f", "json"], 0, "json"),
        (["priors", "--glob", "*", "--skip-bad", "-f", "torch"], 0, None),
        (["report", "--glob", "*", "--skip-bad", "--check"], 0, "shown"),
        (["scan", "--glob", "*", "--skip-bad"], 0, "json"),
        (["split", "--ratios", "1,1", "-f", "json"], 0, "json"),
        (["split", "--ratios", "1,1", "-f", "csv"], 0, "shown"),
        (["split", "--ratios", "1,1", "-f", "table"], 0, None),
        (["split", "--folds", "2", "-f", "nnunet"], 0, "nnunet"),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else str(value),
)
def test_every_format_writes_a_non_utf8_name_safely(folder, tmp_path, args, status, holds):
    if "--glob" in args:  # a damaged file named with a stray byte too
        (folder / BROKEN).write_bytes(b"junk")
    command, options = args[0], args[1:]
    shown = run(command, folder, *options)
    assert shown.exit_code == status, shown.output
    out = tmp_path / "out"
    out.mkdir()
    written = run(command, folder, *options, "-o", out / "data", "-q")
    assert written.exit_code == status, written.output
    found = texts(shown, tmp_path / "none")
    saved = (out / "data").read_bytes()
    if command == "report":  # the page shows its own command, -o included
        saved = saved.replace(f" -o {out / 'data'} -q".encode(), b"")
    assert saved == shown.stdout_bytes  # -o: the bytes of stdout
    stdout = found["stdout"]
    for message in (shown.stderr, written.stderr):
        assert "\udcff" not in message and "internal error" not in message
    if holds == "json":
        assert exact(json.loads(stdout)), stdout
    elif holds == "nnunet":  # case identifiers: the name without .png, exactly
        cases = {case for fold in json.loads(stdout) for part in fold.values() for case in part}
        assert NAME.removesuffix(".png") in cases, stdout
        assert os.fsencode(NAME.removesuffix(".png")) == RAW.removesuffix(b".png")
    elif holds == "yaml":
        assert exact(yaml.safe_load(stdout)), stdout
    elif holds == "python":
        literal = re.search(r"^(?:IMAGES|CAT_IDS) = (.*)$", stdout, re.MULTILINE)
        assert literal is not None and exact(ast.literal_eval(literal[1])), stdout
    elif holds == "shown":
        assert SHOWN in stdout or BROKEN_SHOWN in stdout, stdout
    else:
        assert "bad\\" not in stdout and "x\\" not in stdout
    assert "\\udcff" not in stdout or holds in ("json", "yaml", "python", "nnunet")


def test_per_image_daformer_merge_and_list_files(folder, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    scanned = run("scan", folder, "-o", out / "s.json", "--per-image", out / "s.jsonl", "-q")
    assert scanned.exit_code == 0, scanned.output
    lines = (out / "s.jsonl").read_bytes().decode("utf-8").splitlines()
    assert b"\\udcff\\udcfe" in (out / "s.jsonl").read_bytes()
    assert any(exact(json.loads(line)) for line in lines[1:])
    merged = run("merge", out / "s.jsonl", out / "s.jsonl")  # to stdout
    assert merged.exit_code == 0, merged.output
    assert merged.stdout_bytes.decode("utf-8").splitlines()[1:] == lines[1:] * 2
    assert run("merge", out / "s.jsonl", "-o", out / "m.jsonl", "-q").exit_code == 0
    assert (out / "m.jsonl").read_bytes() == (out / "s.jsonl").read_bytes()
    # A list file is read back as UTF-8 (mmseg, mfb --list): such a name is refused there.
    parted = run("split", folder, "--ratios", "1,1", "--out-dir", out / "lists", "-q")
    assert parted.exit_code == 1, parted.output
    assert f"{SHOWN}: a file name that is not UTF-8 cannot go into a list file" in parted.stderr
    assert not (out / "lists").exists()
    drawn = run("sampling", "--from", out / "s.jsonl", "--daformer", out / "d", "-f", "csv")
    assert drawn.exit_code == 0, drawn.output
    assert SHOWN in drawn.stdout_bytes.decode("utf-8")
    for name in ("sample_class_stats.json", "sample_class_stats_dict.json"):
        assert exact(json.loads((out / "d" / name).read_bytes().decode("utf-8"))), name


def test_a_real_process_writes_the_csv_to_stdout(folder):
    """stdout of the process itself (not a test runner's): valid UTF-8, the byte as \\xNN."""
    done = subprocess.run(
        [sys.executable, "-m", "mfb_cli", "sampling", str(folder), "-f", "csv"],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    rows = done.stdout.decode("utf-8").splitlines()
    assert rows[0] == "image,weight,probability"
    assert sorted(row.split(",")[0] for row in rows[1:]) == [
        f"{folder}/{SHOWN}",
        f"{folder}/café.png",
    ]


def test_the_two_spellings():
    assert shown_bytes(NAME) == SHOWN
    assert one_line(f"{NAME}: bad\n") == f"{SHOWN}: bad\\n"
    assert json.dumps(NAME) == '"bad\\udcff\\udcfename.png"'
    assert json.loads(json.dumps(NAME)) == NAME
