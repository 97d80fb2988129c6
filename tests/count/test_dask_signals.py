"""--dask local:N against signals and a lost scheduler: one line, the shell's exit status,
the output untouched, no process of the cluster left running.

Every wait is for a state (a process appears, a worker holds a mask open); the deadlines
are hang guards only.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("distributed", reason="needs the 'dask' extra: pip install 'mfb-cli[dask]'")
psutil = pytest.importorskip("psutil")  # installed with distributed

#: Hang guard for every wait below (never reached by a run that works).
GUARD = 120


@pytest.fixture(scope="module")
def big_folder(tmp_path_factory) -> Path:
    """600 masks of 4 Mpixel: hard links to one file, minutes of work for 4 MB of disk."""
    folder = tmp_path_factory.mktemp("big")
    labels = np.random.default_rng(0).integers(0, 12, (2048, 2048), dtype=np.uint8)
    Image.fromarray(labels).save(folder / "0000.png", compress_level=1)
    for index in range(1, 600):
        (folder / f"{index:04d}.png").hardlink_to(folder / "0000.png")
    return folder


class Run:
    """``mfb weights FOLDER --dask local:2 -o OUT`` in a session of its own (as a terminal
    would start it: the run's process group is its own)."""

    def __init__(self, folder: Path, out: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "mfb_cli", "weights", folder, "--dask", "local:2", "-o", out],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.folder = folder
        self.seen: dict[int, psutil.Process] = {}

    def wait_for(self, state, what: str) -> None:
        deadline = time.monotonic() + GUARD
        while not state():
            assert self.process.poll() is None, f"the run ended before {what}"
            assert time.monotonic() < deadline, f"never {what}"
            time.sleep(0.02)

    def descendants(self) -> list[psutil.Process]:
        with contextlib.suppress(psutil.Error):
            for found in psutil.Process(self.process.pid).children(recursive=True):
                self.seen.setdefault(found.pid, found)
        return list(self.seen.values())

    def helper(self) -> psutil.Process | None:
        """The cluster's helper process (mfb's only child), once it exists."""
        with contextlib.suppress(psutil.Error):
            children = psutil.Process(self.process.pid).children()
            if children:
                self.seen.setdefault(children[0].pid, children[0])
                return children[0]
        return None

    def counting(self) -> bool:
        """A worker holds a mask open: the scan runs on the cluster."""
        for found in self.descendants():
            with contextlib.suppress(psutil.Error):
                if any(Path(f.path).parent == self.folder for f in found.open_files()):
                    return True
        return False

    def finish(self) -> tuple[int, str, str]:
        stdout, stderr = self.process.communicate(timeout=GUARD)
        return self.process.returncode, stdout, stderr

    def left_running(self) -> list[psutil.Process]:
        """The cluster's processes still alive once the run has ended (hang guard only)."""
        _, alive = psutil.wait_procs(list(self.seen.values()), timeout=GUARD)
        return alive

    def kill(self) -> None:
        """After a failed test: nothing of it left behind."""
        if self.process.poll() is None:
            self.process.kill()
        for found in self.seen.values():
            with contextlib.suppress(psutil.Error):
                found.kill()
        self.process.communicate()


@pytest.fixture
def out(tmp_path) -> Path:
    """An output that exists before the run: it must be left as it was."""
    target = tmp_path / "w.json"
    target.write_text("precious")
    return target


SIGNALS = [
    pytest.param(signal.SIGINT, False, 130, "Interrupted", id="ctrl-c to mfb"),
    pytest.param(signal.SIGINT, True, 130, "Interrupted", id="ctrl-c to the group"),
    pytest.param(signal.SIGTERM, False, 143, "Terminated", id="sigterm"),
]


def assert_ended(run: Run, out: Path, code: int, message: str) -> None:
    returncode, stdout, stderr = run.finish()
    assert (returncode, stdout, stderr.strip()) == (code, "", f"{message}; no output was written.")
    assert out.read_text() == "precious"
    assert sorted(p.name for p in out.parent.iterdir()) == ["w.json"]
    assert run.left_running() == []


@pytest.mark.parametrize(("signum", "group", "code", "message"), SIGNALS)
def test_a_signal_mid_scan_is_one_line_and_ends_the_cluster(
    big_folder, out, signum, group, code, message
):
    run = Run(big_folder, out)
    try:
        run.wait_for(run.counting, "counted on the workers")
        if group:  # a terminal's Ctrl-C: mfb's whole process group
            os.killpg(run.process.pid, signum)
        else:
            run.process.send_signal(signum)
        assert_ended(run, out, code, message)
    finally:
        run.kill()


@pytest.mark.parametrize(("signum", "group", "code", "message"), SIGNALS)
def test_a_signal_while_the_cluster_starts_ends_the_run(
    big_folder, out, signum, group, code, message
):
    """The cluster's start is frozen (SIGSTOP to its process group), so the signal
    surely comes while mfb waits for it: the run must end, not wait or go on."""
    run = Run(big_folder, out)
    try:
        run.wait_for(run.helper, "started the cluster")
        helper = run.helper()
        assert helper is not None
        os.killpg(helper.pid, signal.SIGSTOP)
        run.descendants()  # whatever it had started by then
        if group:
            os.killpg(run.process.pid, signum)
        else:
            run.process.send_signal(signum)
        assert_ended(run, out, code, message)
    finally:
        run.kill()


def test_a_scheduler_lost_mid_scan_is_one_line_without_tracebacks(big_folder, out):
    """The cluster's scheduler (the helper process) killed mid-scan: the workers' heartbeat
    failures and the client's reconnection attempts stay off stderr; one error line."""
    run = Run(big_folder, out)
    try:
        run.wait_for(run.counting, "counted on the workers")
        helper = run.helper()
        assert helper is not None
        helper.kill()
        returncode, stdout, stderr = run.finish()
        assert (returncode, stdout) == (1, "")
        lines = stderr.strip().splitlines()
        assert len(lines) == 1, stderr
        assert lines[0].startswith("Error: --dask local:2: the scheduler dropped the run's tasks")
        assert out.read_text() == "precious"
        assert run.left_running() == []
    finally:
        run.kill()
