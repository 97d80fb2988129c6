"""--dask local:N: a LocalCluster in a process group of its own, killed with the run.

The cluster (its scheduler, nannies and worker processes) runs in a helper process
started in a new session: Ctrl-C in a terminal reaches mfb's process group only, so mfb
alone decides what stops and when; mfb's own waits (for the cluster's address) are
interruptible at once; and whatever the cluster logs (a worker's "Failed to communicate
with scheduler during heartbeat" as it is stopped) goes to the helper's log file, never
to mfb's stderr (its last line names a failed start).

The helper prints its scheduler's address on stdout, then holds the cluster until its
stdin closes: mfb closing it (the run ended) or mfb dying in any way.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING

from ..errors import MfbError
from ..read.base import cancel

if TYPE_CHECKING:
    from collections.abc import Iterator

#: Seconds a local cluster may take to start its workers (a hang guard: under load, each
#: worker process spends seconds importing). Ctrl-C and SIGTERM end the wait at once.
START_SECONDS = 180.0
#: Seconds a finished run gives the cluster to close its workers before they are killed.
CLOSE_SECONDS = 30.0

# Run with ``python -c``: the worker processes the helper spawns get its sys.path, so
# they import the same mfb_cli as the run that started them.
_HELPER = "import sys; sys.path.insert(0, sys.argv[1]); from {module} import serve; serve()"


@contextmanager
def local_cluster(workers: int) -> Iterator[str]:
    """A LocalCluster of ``workers`` processes for the block; yields its scheduler address.

    A block ended by Ctrl-C or SIGTERM kills the cluster's process group at once; any
    other end closes the cluster (workers shut down), killing what remains after
    CLOSE_SECONDS.
    """
    log = tempfile.TemporaryFile()  # noqa: SIM115 - read after the helper fails
    helper = _start(workers, log)
    try:
        address = _address(helper, log)
        yield address
    except KeyboardInterrupt:
        _kill(helper)
        raise
    finally:
        try:
            _close(helper)
        finally:
            _kill(helper)
            log.close()


def _start(workers: int, log: IO[bytes]) -> subprocess.Popen[bytes]:
    root = str(Path(__file__).resolve().parents[2])
    environ = {**os.environ, "DASK_LOGGING__DISTRIBUTED": "error"}
    return subprocess.Popen(
        [sys.executable, "-c", _HELPER.format(module=__name__), root, str(workers)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=log,
        env=environ,
        start_new_session=True,  # its own process group: a terminal's Ctrl-C is mfb's
    )


def _address(helper: subprocess.Popen[bytes], log: IO[bytes]) -> str:
    """The scheduler address the helper prints once its workers run."""
    assert helper.stdout is not None
    try:
        line = cancel.call(helper.stdout.readline, timeout=START_SECONDS)
    except TimeoutError:
        raise MfbError(f"the local Dask cluster did not start within {START_SECONDS:g} s") from None
    try:
        return str(json.loads(line)["address"])
    except (ValueError, KeyError, TypeError):
        raise MfbError(f"the local Dask cluster did not start: {_last_line(log)}") from None


def _last_line(log: IO[bytes]) -> str:
    log.seek(0)
    lines = [line.strip() for line in log.read().decode(errors="replace").splitlines()]
    return next((line for line in reversed(lines) if line), "no message")


def _close(helper: subprocess.Popen[bytes]) -> None:
    """Ask the helper to close its cluster (stdin closed) and wait for it, bounded."""
    if helper.poll() is not None:
        return
    with contextlib.suppress(OSError):
        assert helper.stdin is not None
        helper.stdin.close()
    with contextlib.suppress(subprocess.TimeoutExpired):
        helper.wait(timeout=CLOSE_SECONDS)


def _kill(helper: subprocess.Popen[bytes]) -> None:
    """End the helper's process group at once: the helper and every worker.

    SIGTERM, not SIGKILL: it ends them as surely (neither handles it), and multiprocessing's
    resource tracker, in the same group, ignores it and removes the semaphores they leave
    in /dev/shm. SIGCONT lets a stopped process act on it. SIGKILL only if the helper
    is still there after CLOSE_SECONDS.
    """
    try:
        _end_group(helper)
    finally:
        for stream in (helper.stdin, helper.stdout):
            with contextlib.suppress(OSError):
                if stream is not None:
                    stream.close()


def _end_group(helper: subprocess.Popen[bytes]) -> None:
    if not hasattr(os, "killpg"):  # no process groups (Windows): the helper alone
        helper.kill()
        helper.wait()
        return
    for signum in (signal.SIGTERM, signal.SIGCONT):
        with contextlib.suppress(OSError):  # the group is gone already
            os.killpg(helper.pid, signum)
    try:
        helper.wait(timeout=CLOSE_SECONDS)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(OSError):
            os.killpg(helper.pid, signal.SIGKILL)
        helper.wait()


def serve() -> None:
    """The helper's main: start the cluster, print its address, hold it until stdin closes."""
    from .dask_cluster import distributed_module

    distributed = distributed_module()
    workers = int(sys.argv[2])
    with distributed.LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",  # any free port: runs side by side
    ) as cluster:
        print(json.dumps({"address": cluster.scheduler_address}), flush=True)
        sys.stdin.buffer.read()  # until mfb closes it or ends
