"""Waits in slices and reader threads nothing waits for (read/base/cancel.py)."""

from __future__ import annotations

import threading
from concurrent.futures import Future

import pytest

from mfb_cli.read.base import cancel


def test_a_wait_with_a_deadline_ends_with_timeout_error() -> None:
    never: Future[int] = Future()
    with pytest.raises(TimeoutError):
        cancel.result(never, timeout=0.3)
    done: Future[int] = Future()
    done.set_result(7)
    assert cancel.result(done) == 7


def test_a_future_whose_error_is_a_timeout_raises_it_at_once() -> None:
    # A read that timed out holds a TimeoutError: it is the answer, not "not done yet".
    timed_out: Future[int] = Future()
    timed_out.set_exception(TimeoutError("the server timed out"))
    with pytest.raises(TimeoutError, match="the server timed out"):
        cancel.result(timed_out)
    later: Future[int] = Future()
    threading.Timer(0.3, later.set_exception, [TimeoutError("late")]).start()
    with pytest.raises(TimeoutError, match="late"):
        cancel.result(later, timeout=30)


def test_a_blocking_call_is_abandoned_at_its_deadline() -> None:
    release = threading.Event()
    with pytest.raises(TimeoutError):
        cancel.call(release.wait, 30, timeout=0.3)
    release.set()
    assert cancel.call(lambda x: x + 1, 1, timeout=5) == 2
    with pytest.raises(ZeroDivisionError):
        cancel.call(lambda: 1 // 0, timeout=5)


def test_readers_close_without_waiting_and_their_threads_are_daemons() -> None:
    stalled = threading.Event()
    readers = cancel.Readers(2, "mfb-test")
    first = readers.submit(stalled.wait, 30)
    second = readers.submit(stalled.wait, 30)
    queued = readers.submit(lambda: 1)
    while not (first.running() and second.running()):  # both threads have taken theirs
        threading.Event().wait(0.01)
    threads = [t for t in threading.enumerate() if t.name.startswith("mfb-test")]
    assert len(threads) == 2 and all(t.daemon for t in threads)
    readers.close()  # returns at once: two reads still stalled
    assert queued.cancelled()
    assert not first.done() and not second.done()
    stalled.set()
    assert cancel.result(first, timeout=10) is True
    with pytest.raises(RuntimeError):
        readers.submit(lambda: 1)
