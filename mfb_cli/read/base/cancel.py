"""How long a blocking call may wait, and how every wait stays interruptible.

Four rules every source follows, and the Dask connection (``count/dask_cluster``):

- A network read has a deadline: ``CONNECT_SECONDS`` to connect, ``READ_SECONDS`` with
  no byte arriving (the backends' own defaults wait 5 minutes or more).
- A network transfer keeps a minimum rate: fewer than ``RATE_FLOOR`` bytes a second over
  the last ``RATE_WINDOW`` seconds ends it (throughput.py), so a server that sends a byte
  just inside the read deadline, again and again, does not hold a run forever.
- The main thread never blocks without a slice: it waits ``SLICE`` seconds at a time
  (``result``, ``call``), so Ctrl-C and SIGTERM are acted on at once, whatever it waits for.
- A blocking read runs on a daemon thread (``Readers``, ``call``) that nothing waits for
  on the way out: a stalled server never delays the end of a run; the read is left to
  its deadline, or to the process's end.
"""

from __future__ import annotations

import queue
import threading
from concurrent.futures import Future
from time import monotonic
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable

#: Seconds to open a connection (TCP and TLS) before the read is refused as timed out.
CONNECT_SECONDS = 30.0
#: Seconds a network read may go without receiving a byte.
READ_SECONDS = 60.0
#: Seconds over which a transfer's rate is averaged: the read deadline's own span.
RATE_WINDOW = 60.0
#: Bytes a second a transfer must average over ``RATE_WINDOW`` (15 KiB a minute). Far
#: under a slow live line: 256 kbit/s shared by all of mfb's 16 remote reads still gives
#: each about 2000 B/s (8 times the floor), one read alone 125 times; far over a drip (a
#: byte every 59 s is 1/15000 of it).
RATE_FLOOR = 256.0
#: Seconds to connect to a server that must answer a greeting at once (a Dask scheduler's
#: handshake): a port that accepts and never answers, or speaks another protocol, is
#: refused after this, not after the 60-90 s a client library may wait.
HANDSHAKE_SECONDS = 10.0
#: The longest a waiting thread goes without looking for Ctrl-C or SIGTERM.
SLICE = 0.1

_Result = TypeVar("_Result")


def result(future: Future[_Result], timeout: float | None = None) -> _Result:
    """``future.result()``, waited for in slices; TimeoutError after ``timeout`` seconds.

    The wait is a bare lock, acquired with a timeout, that the future releases when done:
    a signal raised during it leaves no lock half-handled (a Condition's wait can, and
    then reports 'release unlocked lock'). Done-ness is never told by catching a
    TimeoutError from ``result``: the future's own error may be one, to be raised as is.
    """
    deadline = None if timeout is None else monotonic() + timeout
    done = threading.Lock()
    done.acquire()
    future.add_done_callback(lambda _: done.release())
    while not done.acquire(timeout=SLICE):
        if deadline is not None and monotonic() >= deadline:
            raise TimeoutError(f"no answer within {timeout:g} s")
    return future.result()


def call(function: Callable[..., _Result], *args: Any, timeout: float) -> _Result:
    """``function(*args)`` on a daemon thread, waited for in slices up to ``timeout``.

    For a blocking call that has no deadline of its own (a connection, a handshake): on
    TimeoutError, Ctrl-C or SIGTERM the caller goes on at once and the call is abandoned.
    """
    future: Future[_Result] = Future()
    threading.Thread(target=_run, args=(future, function, args), daemon=True).start()
    return result(future, timeout)


def _run(future: Future[Any], function: Callable[..., Any], args: tuple[Any, ...]) -> None:
    if not future.set_running_or_notify_cancel():
        return
    try:
        future.set_result(function(*args))
    except BaseException as error:  # handed to the waiting thread, which raises it
        future.set_exception(error)


class Readers:
    """A few daemon threads for blocking reads; ``close`` cancels what has not started
    and waits for nothing (a ThreadPoolExecutor joins its threads at exit)."""

    def __init__(self, threads: int, name: str = "mfb-read") -> None:
        self._tasks: queue.SimpleQueue[tuple[Future[Any], Callable[..., Any], tuple[Any, ...]]] = (
            queue.SimpleQueue()
        )
        self._threads = threads
        self._name = name
        self._started = 0
        self._pending: list[Future[Any]] = []
        self._closed = False

    def submit(self, function: Callable[..., _Result], *args: Any) -> Future[_Result]:
        if self._closed:
            raise RuntimeError("readers closed")
        future: Future[_Result] = Future()
        self._pending = [f for f in self._pending if not f.done()]
        self._pending.append(future)
        if self._started < min(self._threads, len(self._pending)):
            self._started += 1
            threading.Thread(
                target=self._work, name=f"{self._name}-{self._started}", daemon=True
            ).start()
        self._tasks.put((future, function, args))
        return future

    def _work(self) -> None:
        while not self._closed:
            task = self._tasks.get()
            if task[1] is _stop:
                return
            _run(*task)

    def close(self) -> None:
        """Cancel the reads not yet started; the running ones end on their own deadline."""
        self._closed = True
        for future in self._pending:
            future.cancel()
        for _ in range(self._started):
            self._tasks.put((Future(), _stop, ()))


def _stop() -> None:
    """The marker that ends one reader thread."""
