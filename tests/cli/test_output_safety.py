"""What -o writes through (links, devices, FIFOs, /dev/fd), inputs it refuses, and the
command line's contract with the process around it: pipes, closed or full stdout, option
values no option can mean, one-line messages, --version, python -m, completion.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mfb_cli.show.output import one_line, output_target

from ..conftest import run, save_mask

MFB = [sys.executable, "-m", "mfb_cli"]


def mfb(*args: object, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*MFB, *map(str, args)], capture_output=True, text=True, timeout=60, **kwargs
    )


@pytest.fixture
def masks(tmp_path: Path) -> Path:
    """Two 2x2 masks: class 0 has 3 px in 2 images, class 1 has 5 px in 2 images."""
    folder = tmp_path / "masks"
    save_mask(folder / "a.png", [[0, 1], [1, 1]])
    save_mask(folder / "b.png", [[0, 0], [1, 1]])
    return folder


def weights_in(path: Path) -> list[float]:
    return json.loads(path.read_text())["weights"]


# --- -o onto links, devices, FIFOs -------------------------------------------------------

# freq(0) = 3 / 8, freq(1) = 5 / 8, median 1/2: weights 4/3 and 4/5.
EXPECTED = pytest.approx([4 / 3, 4 / 5])


def test_o_onto_a_link_writes_its_final_target_and_keeps_the_link(masks, tmp_path):
    target = tmp_path / "real" / "weights.json"
    target.parent.mkdir()
    target.write_text("old")
    target.chmod(0o640)
    (tmp_path / "hop").symlink_to(target)
    link = tmp_path / "link.json"
    link.symlink_to("hop")  # relative, through a second link
    result = run("weights", masks, "-o", link)
    assert result.exit_code == 0, result.stderr
    assert link.is_symlink() and (tmp_path / "hop").is_symlink()
    assert weights_in(target) == EXPECTED
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(p.name for p in target.parent.iterdir()) == ["weights.json"]  # no temp left


def test_o_onto_a_dangling_link_creates_the_target(masks, tmp_path):
    link = tmp_path / "link.json"
    link.symlink_to("new.json")
    assert run("weights", masks, "-o", link).exit_code == 0
    assert link.is_symlink() and weights_in(tmp_path / "new.json") == EXPECTED


def test_o_keeps_a_regular_files_mode(masks, tmp_path):
    out = tmp_path / "w.json"
    out.write_text("old")
    out.chmod(0o604)
    assert run("weights", masks, "-o", out).exit_code == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o604 and weights_in(out) == EXPECTED


def test_o_dev_null_is_written_through_not_replaced(masks):
    # Asked first, so that a broken build fails here instead of replacing the system's
    # null device when the tests run as root.
    assert output_target(Path("/dev/null")) == (Path("/dev/null"), True)
    result = run("weights", masks, "-o", "/dev/null")
    assert result.exit_code == 0, result.stderr
    assert stat.S_ISCHR(Path("/dev/null").stat().st_mode)


def test_o_onto_a_fifo_writes_into_it(masks, tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    result = run("weights", masks, "-o", fifo, "-q")
    reader.join(timeout=30)
    assert result.exit_code == 0, result.stderr
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert json.loads(received[0])["weights"] == EXPECTED
    assert sorted(p.name for p in tmp_path.iterdir()) == ["masks", "pipe"]


def test_o_dev_stdout_writes_to_the_descriptor(masks, tmp_path):
    out = tmp_path / "shell.json"
    with out.open("w") as handle:
        done = subprocess.run(
            [*MFB, "weights", str(masks), "-o", "/dev/stdout"],
            stdout=handle,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    assert done.returncode == 0, done.stderr
    assert weights_in(out) == EXPECTED
    piped = mfb("weights", masks, "-o", "/dev/stdout", "-q")
    assert json.loads(piped.stdout)["weights"] == EXPECTED


# --- -o naming an input ------------------------------------------------------------------


def _table(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda m, t: (m / "a.png", [m]), id="mask-in-folder"),
        pytest.param(lambda m, t: (m / "b.png", [m / "b.png"]), id="mask-given"),
        pytest.param(
            lambda m, t: (t / "n.txt", [m, "--names", _table(t / "n.txt", "x\ny\n")]), id="names"
        ),
        pytest.param(
            lambda m, t: (t / "r.json", [m, "--map", _table(t / "r.json", '{"0": 0, "1": 1}')]),
            id="remap",
        ),
        pytest.param(
            lambda m, t: (
                t / "c.json",
                [m, "--colormap", _table(t / "c.json", '{"#000000": 0}')],
            ),
            id="colormap",
        ),
        pytest.param(
            lambda m, t: (t / "l.txt", ["--list", _table(t / "l.txt", f"{m}/a.png\n")]),
            id="list",
        ),
        pytest.param(
            lambda m, t: (t / "l.txt", ["--list", _table(t / "l.txt", f"{t}/l.txt\n")]),
            id="list-entry",
        ),
    ],
)
def test_o_naming_an_input_is_refused_before_reading(masks, tmp_path, make):
    victim, args = make(masks, tmp_path)
    before = victim.read_bytes()
    for output in (victim, tmp_path / "via-link"):
        if output != victim:
            output.symlink_to(victim)
        result = run("weights", *args, "-o", output)
        assert result.exit_code == 2, result.stderr
        assert "is one of the inputs" in result.stderr
        assert victim.read_bytes() == before


def test_o_naming_a_statistics_input_is_refused(masks, tmp_path):
    stats = tmp_path / "s.json"
    assert run("scan", masks, "-o", stats, "-q").exit_code == 0
    before = stats.read_bytes()
    for args in (["weights", "--from", stats], ["histogram", "--from", stats], ["merge", stats]):
        result = run(*args, "-o", stats)
        assert result.exit_code == 2 and "is one of the inputs" in result.stderr, result.stderr
    assert run("histogram", masks, "--plot", masks / "a.png").exit_code == 2
    assert stats.read_bytes() == before


def test_an_output_naming_an_input_is_named_by_its_flag(masks, tmp_path):
    """Each output option is named as the user typed it, never by its Python name."""
    for flag in ("--per-image", "-o"):
        result = run(
            "scan",
            masks,
            flag,
            masks / "a.png",
            *(["-o", tmp_path / "s.json"] if flag != "-o" else []),
        )
        assert result.exit_code == 2
        assert f"{flag} '{masks / 'a.png'}' is one of the inputs" in result.stderr, result.stderr
    result = run("histogram", masks, "--plot", masks / "a.png")
    assert f"--plot '{masks / 'a.png'}' is one of the inputs" in result.stderr, result.stderr


def test_o_next_to_the_inputs_is_fine(masks):
    # In the scanned folder, but not matching --glob: not an input.
    assert run("weights", masks, "-o", masks / "w.json", "-q").exit_code == 0
    assert weights_in(masks / "w.json") == EXPECTED


# --- "wrote FILE" on stderr --------------------------------------------------------------


def test_o_says_what_it_wrote_unless_quiet(masks, tmp_path):
    out = tmp_path / "w.json"
    result = run("weights", masks, "-o", out)
    assert result.stderr == f"wrote {out} (2 weights, json)\n"
    assert run("weights", masks, "-o", out, "-q").stderr == ""
    assert run("weights", masks).stderr == ""
    assert run("histogram", masks, "-f", "csv", "-o", out).stderr == (
        f"wrote {out} (2 classes, csv)\n"
    )
    assert run("scan", masks, "-o", out).stderr == f"wrote {out} (statistics of 2 files)\n"
    assert run("merge", out, "-o", tmp_path / "m.json", "-q").stderr == ""
    assert run("check", masks, "-o", out).stderr == f"wrote {out} (no problems, table)\n"


# --- option values -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "option",
    [["--clip"], ["--enet-c", "--scheme", "enet"], ["--beta", "--scheme", "effective-number"]],
)
@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "Infinity", "NaN"])
def test_non_finite_floats_are_usage_errors(masks, option, value):
    result = run("weights", masks, option[0], value, *option[1:])
    assert result.exit_code == 2, result.output
    assert "is not a finite number" in result.stderr
    assert "Traceback" not in result.stderr


def test_absurd_job_counts_are_usage_errors(masks):
    result = run("weights", masks, "-j", 10**9)
    assert result.exit_code == 2 and "1<=x<=1024" in result.stderr


# --- one-line messages -------------------------------------------------------------------


def test_one_line_escapes_control_characters():
    # A lone surrogate from a file name's stray byte reads as the byte (\xff), as in tables;
    # any other lone surrogate as its escape.
    assert one_line("a\nb\r\tc\x1b[31m\u2028d\udcffé") == "a\\nb\\r\\tc\\x1b[31m\\u2028d\\xffé"
    assert one_line("\ud800") == "\\ud800"


def test_errors_about_a_file_named_with_a_newline_are_one_line(tmp_path):
    folder = tmp_path / "evil"
    folder.mkdir()
    bad = folder / "x\nError: fake.png"
    bad.write_bytes(b"not an image")
    cases = [
        (["weights", folder, "--glob", "*"], 1),
        (["histogram", folder, "--glob", "*"], 1),
        (["scan", folder, "--glob", "*"], 1),
        (["weights", bad], 1),
        (["weights", "--from", bad], 1),
        (["merge", bad], 1),
        (["weights", folder, "--glob", "*", "--skip-bad"], 1),
    ]
    for args, code in cases:
        done = mfb(*args)
        assert done.returncode == code, (args, done.stderr)
        assert "Traceback" not in done.stderr
        lines = done.stderr.splitlines()
        named = [line for line in lines if "fake.png" in line]
        assert len(named) == 1 and "x\\nError: fake.png" in named[0], (args, lines)
        assert all(line.startswith(("Error:", "skipped:", "warning:")) for line in lines), lines


# --- pipes and stdout --------------------------------------------------------------------


@pytest.mark.parametrize(
    "args", [["weights"], ["histogram"], ["histogram", "-f", "csv"], ["check", "-f", "json"]]
)
def test_a_reader_that_goes_away_ends_the_run_with_141_and_no_text(masks, args):
    # The reader is gone before mfb writes (`mfb ... | head -c 0`), so the write fails
    # whatever the size of the output and of the pipe's buffer.
    process = subprocess.Popen(
        [*MFB, args[0], str(masks), *args[1:], "-q"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None
    process.stdout.close()
    _, errors = process.communicate(timeout=60)
    assert process.returncode == 141
    assert errors == b""


def wide_masks(folder: Path) -> Path:
    """One 16-bit mask; with --num-classes 65536 the CSV of weights is about 0.9 MB."""
    save_mask(folder / "a.png", (np.arange(100 * 100) % 300).reshape(100, 100), "I;16")
    return folder


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs resource limits (POSIX)")
@pytest.mark.parametrize("unbuffered", ["", "1"])
def test_stdout_cut_short_by_the_system_is_an_error_not_a_short_file(tmp_path, unbuffered):
    """A file size limit makes the system write part of the output (as a disk that fills up
    does); the rest must not be dropped silently, buffered or not (PYTHONUNBUFFERED=1)."""
    import resource

    limit = 100_000

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    folder = wide_masks(tmp_path / "m")
    out = tmp_path / "out.csv"
    env = {**os.environ, "PYTHONUNBUFFERED": unbuffered}
    args = [*MFB, "weights", folder, "--num-classes", 65536, "-f", "csv", "-q"]
    with out.open("wb") as stdout:
        done = subprocess.run(
            [str(a) for a in args],
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            preexec_fn=limited,
            timeout=120,
        )
    assert done.returncode == 1, done.stderr
    never_seen = "warning: classes never seen, given weight 0: 300-65535\n"
    assert done.stderr == never_seen + "Error: cannot write to stdout: File too large\n"
    assert out.stat().st_size == limit


@pytest.mark.parametrize("unbuffered", ["", "1"])
def test_a_reader_that_leaves_mid_output_ends_the_run_with_141(tmp_path, unbuffered):
    folder = wide_masks(tmp_path / "m")
    env = {**os.environ, "PYTHONUNBUFFERED": unbuffered}
    args = [*MFB, "weights", folder, "--num-classes", 65536, "-f", "csv", "-q"]
    process = subprocess.Popen(
        [str(a) for a in args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    assert process.stdout is not None
    assert process.stdout.read(10) == b"id,name,pi"
    process.stdout.close()  # `| head -c 10`: the reader goes with most of the output unread
    _, errors = process.communicate(timeout=60)
    assert process.returncode == 141
    assert errors == b"warning: classes never seen, given weight 0: 300-65535\n"


@pytest.mark.parametrize("args", [["weights", "{masks}"], ["--help"], ["weights", "--help"]])
def test_stdout_closed_or_full_is_a_one_line_error(masks, args):
    args = [a.format(masks=masks) for a in args]
    closed = subprocess.run(
        [*MFB, *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        timeout=60,
        preexec_fn=lambda: os.close(1),
    )
    assert closed.returncode == 1
    assert closed.stderr == "Error: cannot write to stdout: it is closed; give -o FILE\n"
    if Path("/dev/full").exists():
        with Path("/dev/full").open("w") as full:
            done = subprocess.run(
                [*MFB, *args], stdout=full, stderr=subprocess.PIPE, text=True, timeout=60
            )
        assert done.returncode == 1
        assert done.stderr == "Error: cannot write to stdout: No space left on device\n"


def test_stdout_closed_with_o_still_works(masks, tmp_path):
    out = tmp_path / "w.json"
    done = subprocess.run(
        [*MFB, "weights", str(masks), "-o", str(out), "-q"],
        stderr=subprocess.PIPE,
        text=True,
        timeout=60,
        preexec_fn=lambda: os.close(1),
    )
    assert done.returncode == 0, done.stderr
    assert weights_in(out) == EXPECTED


# --- version, python -m, completion ------------------------------------------------------


def test_version_module_and_completion():
    from mfb_cli import __version__

    assert mfb("--version").stdout == f"mfb, version {__version__}\n"
    assert mfb("--help").stdout.startswith(" Usage: mfb [OPTIONS] COMMAND [ARGS]...\n")
    script = subprocess.run(
        MFB,
        env={**os.environ, "_MFB_COMPLETE": "bash_source"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert script.returncode == 0 and "_mfb_completion()" in script.stdout
    for shell, marker in [("zsh", "#compdef mfb"), ("fish", "function _mfb_completion")]:
        other = subprocess.run(
            MFB,
            env={**os.environ, "_MFB_COMPLETE": f"{shell}_source"},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert marker in other.stdout
    words = subprocess.run(
        MFB,
        env={
            **os.environ,
            "_MFB_COMPLETE": "bash_complete",
            "COMP_WORDS": "mfb we",
            "COMP_CWORD": "1",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert words.stdout.splitlines() == ["plain,weights"]


def test_o_as_a_hard_link_to_an_input_is_refused(masks, tmp_path):
    twin = tmp_path / "twin.png"
    twin.hardlink_to(masks / "a.png")
    result = run("scan", masks, "-o", twin)
    assert result.exit_code == 2
    assert f"-o '{twin}' is one of the inputs ({masks / 'a.png'})" in result.stderr
    assert twin.read_bytes() == (masks / "a.png").read_bytes()
    assert Image.open(twin).size == (2, 2)


def test_warnings_naming_a_file_with_a_newline_are_one_line(masks, tmp_path):
    first, second = tmp_path / "s\n1.json", tmp_path / "s\n2.json"
    assert run("scan", masks, "-o", first, "-q").exit_code == 0
    second.write_bytes(first.read_bytes())
    result = run("merge", first, second, "-q")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == (
        f"warning: {tmp_path}/s\\n1.json and {tmp_path}/s\\n2.json list the same files "
        "(same digest): one shard given twice?\n"
    )


def test_o_and_plot_naming_one_file_are_refused(masks, tmp_path):
    for name in ("new.png", "old.png"):
        if name == "old.png":
            (tmp_path / name).write_text("old")
        result = run("histogram", masks, "-o", tmp_path / name, "--plot", tmp_path / name)
        assert result.exit_code == 2
        assert f"'{tmp_path / name}' is also -o '{tmp_path / name}'" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["masks", "old.png"]


@pytest.mark.parametrize("option", ["--names", "--map", "--colormap"])
def test_a_parsers_multi_line_report_stays_one_line(masks, tmp_path, option):
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1, 2\nb: {\n")
    result = run("weights", masks, option, bad)
    assert result.exit_code in (1, 2), result.stderr
    lines = result.stderr.splitlines()
    errors = [line for line in lines if line.startswith("Error:")]
    assert len(errors) == 1 and "bad.yaml" in errors[0], lines
    # Besides the error, only Click's usage block (for a usage error) may be there.
    others = [line for line in lines if line not in errors]
    assert all(line == "" or line.startswith(("Usage: ", "Try ")) for line in others), lines


def test_daformer_files_and_the_output_are_written_all_or_none(masks: Path, tmp_path: Path):
    # -o /dev/full fails after DAFormer's three files are ready: none replaces the old one.
    folder = tmp_path / "daformer"
    folder.mkdir()
    (folder / "sample_class_stats.json").write_text("mine")
    result = run("sampling", masks, "--daformer", folder, "-o", "/dev/full", "-q")
    assert result.exit_code == 1
    assert "No space left on device" in result.stderr
    assert [p.name for p in folder.iterdir()] == ["sample_class_stats.json"]
    assert (folder / "sample_class_stats.json").read_text() == "mine"
    # A new folder made for them is removed again.
    fresh = tmp_path / "new" / "daformer"
    assert run("sampling", masks, "--daformer", fresh, "-o", "/dev/full").exit_code == 1
    assert not (tmp_path / "new").exists()
    assert run("sampling", masks, "--daformer", fresh, "-q").exit_code == 0
    assert sorted(p.name for p in fresh.iterdir()) == [
        "sample_class_stats.json",
        "sample_class_stats_dict.json",
        "samples_with_class.json",
    ]
