"""--dask at addresses that are no scheduler: one line naming --dask and the address.

A port that accepts and never answers, or speaks HTTP, ends within the handshake bound
(cancel.HANDSHAKE_SECONDS); a refused connection says so at once; transports mfb cannot
use are usage errors before any connection. The CLI runs as a process: it must end even
though the abandoned connection attempt is still blocked.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from mfb_cli.errors import MfbError
from tests.conftest import save_mask

pytest.importorskip("distributed", reason="needs the 'dask' extra: pip install 'mfb-cli[dask]'")

#: Hang guard for a run (never reached by a run that works).
GUARD = 120


class Silent:
    """A port that accepts connections and never sends a byte; ``held`` are its connections."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.server.getsockname()[1]
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):  # closed
            while True:
                self.held.append(self.server.accept()[0])

    def close(self) -> None:
        self.server.close()
        for connection in self.held:
            connection.close()


@pytest.fixture
def silent():
    server = Silent()
    yield server
    server.close()


@pytest.fixture
def silent_port(silent) -> int:
    return silent.port


@pytest.fixture
def http_port(tmp_path):
    """An HTTP server (Python's own) on a free port."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            """No request log on the test's stderr."""

    handler = functools.partial(Quiet, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def refused_port() -> int:
    """A port nothing listens on: bound, never listened to, so no one else takes it."""
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    yield holder.getsockname()[1]
    holder.close()


@pytest.fixture
def mask(tmp_path) -> Path:
    return save_mask(tmp_path / "m" / "a.png", [[0, 1], [1, 1]])


def mfb(*args: object) -> tuple[int, str, str]:
    done = subprocess.run(
        [sys.executable, "-m", "mfb_cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=GUARD,
    )
    return done.returncode, done.stdout, done.stderr


@pytest.mark.parametrize("server", ["silent_port", "http_port"])
def test_a_port_that_is_no_scheduler_ends_within_the_handshake_bound(request, mask, server):
    address = f"tcp://127.0.0.1:{request.getfixturevalue(server)}"
    assert mfb("weights", mask, "--dask", address) == (
        1,
        "",
        f"Error: --dask {address}: no Dask scheduler answered within 10 s "
        "(is it a scheduler's address?)\n",
    )


def test_a_refused_connection_says_refused(mask, refused_port):
    address = f"tcp://127.0.0.1:{refused_port}"
    assert mfb("histogram", mask, "--dask", address) == (
        1,
        "",
        f"Error: --dask {address}: connection refused (no scheduler listens there)\n",
    )


def test_a_websocket_address_at_an_http_port_is_one_line(mask, http_port):
    address = f"ws://127.0.0.1:{http_port}"
    code, stdout, stderr = mfb("weights", mask, "--dask", address)
    assert (code, stdout) == (1, "")
    assert stderr.startswith(f"Error: --dask {address}: cannot connect to a Dask scheduler (")
    assert stderr.count("\n") == 1


@pytest.mark.parametrize("server", ["silent_port", "http_port", "refused_port"])
def test_the_library_names_the_address_and_takes_a_timeout(request, server):
    from mfb_cli.count.dask_cluster import dask_client

    address = f"tcp://127.0.0.1:{request.getfixturevalue(server)}"
    expected = {
        "silent_port": "no Dask scheduler answered within 2 s",
        "http_port": "no Dask scheduler answered within 2 s",
        "refused_port": "connection refused",
    }[server]
    with pytest.raises(MfbError) as error, dask_client(address, timeout=2):
        pass
    assert str(error.value).startswith(f"dask={address!r}: {expected}")


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("tls://127.0.0.1:1", "tls:// needs Dask's TLS settings"),
        ("wss://127.0.0.1:1", "wss:// needs Dask's TLS settings"),
        ("inproc://x", "mfb reaches a scheduler over tcp://, tls://, ws://, wss:// only"),
        ("ucx://127.0.0.1:1", "mfb reaches a scheduler over tcp://, tls://, ws://, wss:// only"),
    ],
)
def test_transports_mfb_cannot_use_are_usage_errors(mask, address, problem):
    code, stdout, stderr = mfb("scan", mask, "--dask", address)
    assert (code, stdout) == (2, "")
    last = stderr.strip().splitlines()[-1]
    assert last.startswith(f"Error: Invalid value for '--dask': {address}: {problem}"), stderr
    assert "internal error" not in stderr


@pytest.mark.parametrize(
    ("signum", "code", "message"),
    [(signal.SIGINT, 130, "Interrupted"), (signal.SIGTERM, 143, "Terminated")],
)
def test_a_signal_during_the_handshake_ends_the_run(mask, silent, signum, code, message):
    """mfb waits for a scheduler's answer that never comes: a signal ends the wait at once
    (a run left to the bound would end with 1, the handshake's error)."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mfb_cli",
            "weights",
            mask,
            "--dask",
            f"tcp://127.0.0.1:{silent.port}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + GUARD
        # Two connections: mfb's check that the port accepts, then the client's.
        while len(silent.held) < 2:
            assert process.poll() is None and time.monotonic() < deadline, "never connected"
            time.sleep(0.02)
        process.send_signal(signum)
        stdout, stderr = process.communicate(timeout=GUARD)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert (process.returncode, stdout, stderr.strip()) == (
        code,
        "",
        f"{message}; no output was written.",
    )
