"""Ctrl-C and SIGTERM end a run at once while a remote source is stalled: a body that stops
after its headers, a server that never answers, a tar whose stream stalls. Exit 130/143,
the one-line message, and the output file untouched.

Each run is a real ``mfb`` process against a tiny server on 127.0.0.1 that stalls on
purpose. mfb ends within a fraction of a second of the signal (waits are sliced at 0.1 s,
and no stalled read is waited for); the assertion allows 10 s, so that a loaded machine
cannot fail it, while the backends' own deadlines (60 s without a byte, 5 minutes for
aiohttp's default) are far beyond it.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ..read.servers import Misbehaving

pytest.importorskip("fsspec", reason="remote paths need fsspec (the remote extra)")
pytest.importorskip("aiohttp", reason="http(s):// needs aiohttp (the remote extra)")

#: How long the test lets mfb take to end after the signal: generous, see above.
ENDS_WITHIN = 10.0


#: ``python -m mfb_cli`` with Python's own Ctrl-C handler: a shell running the tests in the
#: background leaves SIGINT ignored, a child inherits that, and mfb's handling of Ctrl-C
#: is what is tested here.
_MFB = (
    "import runpy, signal, sys\n"
    "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
    "sys.argv[0] = 'mfb'\n"
    "runpy.run_module('mfb_cli', run_name='__main__')\n"
)


def interrupt_stalled(
    url: str, out: Path, signum: int, got: threading.Event, *args: str
) -> tuple[int, str, str]:
    """Run ``mfb scan URL -o OUT`` (or ``mfb ARGS... -o OUT``) until the server says it is
    stalling, then signal it."""
    argv = list(args) or ["scan", url, "-j", "2"]
    process = subprocess.Popen(
        [sys.executable, "-c", _MFB, *argv, "-o", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert got.wait(60), "the run never reached the server"
        time.sleep(0.2)  # into the stalled read
        process.send_signal(signum)
        stdout, stderr = process.communicate(timeout=ENDS_WITHIN)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    return process.returncode, stdout, stderr


@pytest.mark.parametrize(
    ("signum", "code", "message"),
    [(signal.SIGINT, 130, "Interrupted"), (signal.SIGTERM, 143, "Terminated")],
)
@pytest.mark.parametrize(
    ("mode", "name"),
    [("stall", "m.png"),  # an object's body stalls after its headers (a reader thread)
     ("stall", "shard.tar"),  # a tar's stream stalls while it is listed (the main thread)
     ("stall", "shard.parquet"),  # a range request stalls inside pyarrow's footer read
     ("silent", "m.png")],  # the server accepts and never answers (the listing)
)  # fmt: skip
def test_a_signal_ends_a_run_stalled_on_a_remote_source(
    tmp_path: Path, signum: int, code: int, message: str, mode: str, name: str
) -> None:
    out = tmp_path / "stats.json"
    out.write_text("precious")
    with Misbehaving(mode, announced=4096) as server:
        returncode, stdout, stderr = interrupt_stalled(
            f"{server.url}/{name}", out, signum, server.got
        )
    assert returncode == code, stderr
    assert stderr.strip() == f"{message}; no output was written."
    assert stdout == ""
    assert out.read_text() == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stats.json"]


#: Every other route a remote byte takes: a list file, a class names file, a statistics
#: file, a dataset.json, label volumes (each read on a path of its own).
ROUTES = [("scan", "--list", "l.txt"), ("histogram", "--names", "n.txt"),
          ("histogram", "--from", "s.json"), ("scan", "--dataset-json", "dataset.json"),
          ("scan", "", "case.nii.gz"), ("scan", "", "case.nrrd")]  # fmt: skip


@pytest.mark.parametrize(("command", "option", "name"), ROUTES, ids=[r[2] for r in ROUTES])
def test_a_signal_ends_a_run_stalled_on_any_route(
    tmp_path: Path, command: str, option: str, name: str
) -> None:
    from ..conftest import save_mask

    out = tmp_path / "out.json"
    out.write_text("precious")
    (tmp_path / "m").mkdir()
    save_mask(tmp_path / "m" / "a.png", [[0, 1]])
    with Misbehaving("stall", announced=4096) as server:
        url = f"{server.url}/{name}"
        if option in ("--names", "--dataset-json"):
            args = [command, option, url, str(tmp_path / "m")]
        elif option:
            args = [command, option, url]
        else:
            args = [command, url]
        returncode, _, stderr = interrupt_stalled(url, out, signal.SIGINT, server.got, *args)
    assert returncode == 130, stderr
    assert stderr.strip() == "Interrupted; no output was written."
    assert out.read_text() == "precious"
