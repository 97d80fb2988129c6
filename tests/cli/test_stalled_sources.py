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
    url: str, out: Path, signum: int, got: threading.Event
) -> tuple[int, str, str]:
    """Run ``mfb scan URL -o OUT`` until the server says it is stalling, then signal it."""
    process = subprocess.Popen(
        [sys.executable, "-c", _MFB, "scan", url, "-o", str(out), "-j", "2"],
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
