"""No two outputs of one run may be one file; each is claimed before anything is read.

Every command with several outputs (scan: -o, --per-image; histogram: -o, --plot;
sampling: -o, --plot, --daformer's three files; report: -o beside its inputs) refuses,
with exit 2, two outputs reaching the same file by the same name, a symbolic link, a hard
link, a FIFO, or stdout named as /dev/stdout while the data goes to stdout. The inputs
named are missing: a run that read anything would fail with exit 1 instead.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ..conftest import run, save_mask

MISSING = "no-such-masks"  # an input the run never reaches


def _same_name(tmp: Path, name: str) -> tuple[Path, Path]:
    return tmp / name, tmp / name


def _existing(tmp: Path, name: str) -> tuple[Path, Path]:
    (tmp / name).write_text("kept")
    return tmp / name, tmp / name


def _symlink(tmp: Path, name: str) -> tuple[Path, Path]:
    (tmp / name).write_text("kept")
    link = tmp / f"link-{name}"
    link.symlink_to(tmp / name)
    return tmp / name, link


def _dangling_link(tmp: Path, name: str) -> tuple[Path, Path]:
    link = tmp / f"link-{name}"
    link.symlink_to(tmp / name)  # the output the other creates
    return tmp / name, link


def _hard_link(tmp: Path, name: str) -> tuple[Path, Path]:
    (tmp / name).write_text("kept")
    twin = tmp / f"twin-{name}"
    twin.hardlink_to(tmp / name)
    return tmp / name, twin


def _fifo(tmp: Path, name: str) -> tuple[Path, Path]:
    os.mkfifo(tmp / name)  # never opened: the run stops while parsing
    return tmp / name, tmp / name


ROUTES = [_same_name, _existing, _symlink, _dangling_link, _hard_link, _fifo]

#: (command and its options, the file name, the two output options naming it)
PAIRS = [
    (["scan"], "s.json", "-o", "--per-image"),
    (["scan"], "s.jsonl", "--per-image", "-o"),
    (["histogram"], "h.png", "-o", "--plot"),
    (["sampling"], "e.svg", "--plot", "-o"),
]


@pytest.mark.parametrize("route", ROUTES, ids=lambda route: route.__name__.strip("_"))
@pytest.mark.parametrize(("command", "name", "first", "second"), PAIRS)
def test_two_outputs_naming_one_file_are_refused_before_reading(
    tmp_path, route, command, name, first, second
):
    one, other = route(tmp_path, name)
    before = sorted(p.name for p in tmp_path.iterdir())
    result = run(*command, tmp_path / MISSING, first, one, second, other)
    assert result.exit_code == 2, result.output
    assert f"'{other}' is also {first} '{one}'" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    if (tmp_path / name).is_file():
        assert (tmp_path / name).read_text() == "kept"


@pytest.mark.parametrize("name", ["sample_class_stats.json", "samples_with_class.json"])
@pytest.mark.parametrize("exists", [False, True], ids=["new", "existing"])
def test_o_inside_the_daformer_folder_is_refused(tmp_path, name, exists):
    daformer = tmp_path / "daformer"
    daformer.mkdir()
    if exists:
        (daformer / name).write_text("DAFormer's own")
    result = run("sampling", MISSING, "--daformer", daformer, "-o", daformer / name)
    assert result.exit_code == 2, result.output
    assert f"'{daformer / name}' is also --daformer '{daformer}' ({name})" in result.stderr
    # The other order: --daformer after -o.
    result = run("sampling", MISSING, "-o", daformer / name, "--daformer", daformer)
    assert result.exit_code == 2, result.output
    assert f"'{daformer / name}' is also -o '{daformer / name}'" in result.stderr
    assert [p.name for p in daformer.iterdir()] == ([name] if exists else [])


def test_a_daformer_file_linked_to_another_output_is_refused(tmp_path):
    daformer = tmp_path / "daformer"
    daformer.mkdir()
    (daformer / "sample_class_stats_dict.json").symlink_to(tmp_path / "effect.svg")
    result = run("sampling", MISSING, "--plot", tmp_path / "effect.svg", "--daformer", daformer)
    assert result.exit_code == 2, result.output
    assert "is also --plot" in result.stderr
    (daformer / "samples_with_class.json").mkdir()
    (daformer / "sample_class_stats_dict.json").unlink()
    result = run("sampling", MISSING, "--daformer", daformer)
    assert result.exit_code == 2, result.output
    assert f"'{daformer / 'samples_with_class.json'}' is a folder" in result.stderr


def test_an_input_named_as_a_daformer_file_is_refused(tmp_path):
    masks = tmp_path / "daformer"
    save_mask(masks / "a.png", [[0, 1]])
    remap = masks / "sample_class_stats.json"
    remap.write_text('{"0": 0, "1": 1}')
    result = run("sampling", masks, "--map", remap, "--daformer", masks)
    assert result.exit_code == 2, result.output
    assert (
        f"--daformer '{masks}' (sample_class_stats.json) is one of the inputs ({remap})"
        in result.stderr
    )
    result = run("report", masks, "--map", remap, "-o", remap)
    assert result.exit_code == 2, result.output
    assert f"-o '{remap}' is one of the inputs" in result.stderr
    assert remap.read_text() == '{"0": 0, "1": 1}'


def _mfb(*args: object, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mfb_cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        **kwargs,
    )


def test_an_output_on_stdout_while_the_data_goes_there_is_refused(tmp_path):
    for flags in (
        ["--per-image", "/dev/stdout"],
        ["--per-image", "/dev/fd/1"],
        ["--per-image", "/dev/stdout", "-o", "/dev/stdout"],
        ["-o", "-", "--per-image", "/dev/stdout"],
    ):
        done = _mfb("scan", tmp_path / MISSING, *flags)
        assert done.returncode == 2, (flags, done.stderr)
        assert "/dev/" in done.stderr and (
            "is stdout, where the data goes without -o" in done.stderr
            or "is also --per-image" in done.stderr
            or "is also stdout" in done.stderr
        ), done.stderr
        assert done.stdout == ""


def test_stdout_and_the_null_device_as_single_outputs_still_work(tmp_path):
    save_mask(tmp_path / "m" / "a.png", [[0, 1], [1, 1]])
    masks = tmp_path / "m"
    lines = _mfb("scan", masks, "--per-image", "/dev/stdout", "-o", tmp_path / "s.json", "-q")
    assert lines.returncode == 0, lines.stderr
    assert lines.stdout.splitlines()[1] == (
        f'{{"image":"{masks}/a.png","ids":[0,1],"pixels":[1,3]}}'
    )
    both = _mfb("scan", masks, "--per-image", os.devnull, "-o", os.devnull)
    assert both.returncode == 0, both.stderr
    to_null = subprocess.run(
        [sys.executable, "-m", "mfb_cli", "scan", str(masks), "--per-image", os.devnull],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
        check=False,
    )
    assert to_null.returncode == 0, to_null.stderr
