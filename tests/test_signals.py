"""Ctrl-C and SIGTERM during a real scan: exit 130/143, no partial or temporary output."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/fd").is_dir(), reason="watches the scan through /proc (Linux)"
)


@pytest.fixture(scope="module")
def big_dataset(tmp_path_factory) -> Path:
    """400 masks of 4 Mpixel: hard links to one file, so seconds of work cost 3 MB of disk."""
    folder = tmp_path_factory.mktemp("big")
    labels = np.random.default_rng(0).integers(0, 12, (2048, 2048), dtype=np.uint8)
    first = folder / "0000.png"
    Image.fromarray(labels).save(first, compress_level=1)
    for index in range(1, 400):
        (folder / f"{index:04d}.png").hardlink_to(first)
    return folder


def interrupt_scan(folder: Path, out: Path, signum: int) -> subprocess.CompletedProcess[str]:
    """Start `mfb weights`, wait until it is reading masks, then send ``signum``."""
    process = subprocess.Popen(
        [sys.executable, "-m", "mfb_cli", "weights", str(folder), "-j", "1", "-o", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    fds = Path(f"/proc/{process.pid}/fd")
    deadline = time.monotonic() + 60
    reading = False
    # Wait until a mask after the first is open: by then the lazy imports of the first
    # file are done. A signal during an import can be swallowed by Python's import lock
    # ("Exception ignored in: _get_module_lock.<locals>.cb"), which is not what this tests.
    first = folder / "0000.png"
    while not reading and process.poll() is None and time.monotonic() < deadline:
        with contextlib.suppress(OSError):  # a descriptor closed while we looked
            reading = any(
                fd.readlink().parent == folder and fd.readlink() != first for fd in fds.iterdir()
            )
        time.sleep(0.005)
    assert reading, "the scan never started"
    process.send_signal(signum)
    stdout, stderr = process.communicate(timeout=60)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


@pytest.mark.parametrize(
    ("signum", "code", "message"),
    [(signal.SIGINT, 130, "Interrupted"), (signal.SIGTERM, 143, "Terminated")],
)
@pytest.mark.parametrize("existing", [False, True])
def test_signal_leaves_no_output(big_dataset, tmp_path, signum, code, message, existing):
    out = tmp_path / "weights.json"
    if existing:
        out.write_text("precious")
    done = interrupt_scan(big_dataset, out, signum)
    assert done.returncode == code, done.stderr
    assert done.stderr.strip() == f"{message}; no output was written."
    assert done.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == (["weights.json"] if existing else [])
    if existing:
        assert out.read_text() == "precious"


@pytest.fixture
def stuck_dataset(tmp_path) -> Path:
    """12 small masks; reading 'zzzz.png' will hang (see _HANGING_RUN)."""
    folder = tmp_path / "stuck"
    folder.mkdir()
    labels = np.random.default_rng(1).integers(0, 12, (64, 64), dtype=np.uint8)
    for index in range(12):
        Image.fromarray(labels).save(folder / f"{index:04d}.png")
    Image.fromarray(labels[:2, :2]).save(folder / "zzzz.png")
    return folder


# The mfb command with one file whose read never returns, as on a hung network mount (a
# FIFO swapped in mid-run is refused at open since open_regular, so it cannot block any
# more): the worker announces itself in a marker file, then waits forever.
_HANGING_RUN = """
import sys, threading
from pathlib import Path
import mfb_cli.read.decode.pillow as decode

real_open = decode.open_regular
marker = Path(sys.argv.pop(1))

def hanging_open(name):
    if name.endswith("zzzz.png"):
        marker.write_text("blocked")
        threading.Event().wait()
    return real_open(name)

decode.open_regular = hanging_open
from mfb_cli.cli import main
sys.argv[0] = "mfb"
main()
"""


@pytest.mark.parametrize(
    ("signum", "code", "message"),
    [(signal.SIGINT, 130, "Interrupted"), (signal.SIGTERM, 143, "Terminated")],
)
def test_signal_ends_the_run_while_a_worker_is_blocked(
    stuck_dataset, tmp_path, signum, code, message
):
    """A worker stuck in a read that never returns must not keep the process alive."""
    out = tmp_path / "weights.json"
    marker = tmp_path / "blocked"
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            _HANGING_RUN,
            str(marker),
            "weights",
            str(stuck_dataset),
            "-j",
            "2",
            "--decoder",
            "pillow",
            "-o",
            str(out),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert process.poll() is None and time.monotonic() < deadline, "never blocked"
            time.sleep(0.005)
        process.send_signal(signum)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    marker.unlink()
    assert process.returncode == code, stderr
    assert stderr.strip() == f"{message}; no output was written."
    assert stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stuck"]


@pytest.mark.parametrize("unbuffered", ["", "1"])
def test_an_interrupt_while_writing_stdout_says_the_output_is_incomplete(tmp_path, unbuffered):
    """Data that has begun to go to stdout cannot be taken back (a file given with -o is
    never half written): the message says so instead of 'no output was written'."""
    import json
    import os

    images = tmp_path / "i.jsonl"
    line = json.dumps({"image": "x" * 40, "ids": [0, 1], "pixels": [3, 4]}) + "\n"
    header = json.dumps({"mfb_per_image": 1, "label_mapping": {}}) + "\n"
    images.write_text(header + line * 200_000)  # 15 MB: far more than a pipe holds
    process = subprocess.Popen(
        [sys.executable, "-m", "mfb_cli", "merge", str(images)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": unbuffered},
    )
    assert process.stdout is not None
    assert process.stdout.read(16) == b'{"mfb_per_image"'  # it is writing, then blocks
    time.sleep(0.3)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130
    assert stderr.decode().strip() == "Interrupted; the output on stdout is incomplete."
