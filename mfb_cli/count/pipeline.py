"""The one thread pool over label files, in file order, archives included."""

from __future__ import annotations

import os
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing
from typing import TYPE_CHECKING, TypeVar

from ..read.archives import ArchiveReader, MemberBytes, decode_member, with_archive_bytes

if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Iterable, Sequence

    from ..errors import BadMaskError
    from ..read.archives import LabelSource
    from ..read.options import ReadOptions


def default_jobs() -> int:
    """The number of cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


_Item = TypeVar("_Item")
_Result = TypeVar("_Result")


def ordered_map(
    function: Callable[[_Item], _Result], items: Iterable[_Item], jobs: int | None
) -> Generator[_Result, None, None]:
    """Like map(), on a thread pool with a bounded number of items in flight.

    Pillow and NumPy release the GIL while decoding and counting, so threads use every core
    without pickling images between processes; at most a few items per thread are pending,
    so memory stays flat however many files there are. Close the generator when stopping
    early (an error, Ctrl-C): that cancels the queued items, and the threads end as soon
    as their current file is done.
    """
    jobs = default_jobs() if jobs is None else jobs
    if jobs <= 1:
        yield from map(function, items)
        return
    pending: deque[Future[_Result]] = deque()
    iterator = iter(items)
    executor = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="mfb-count")
    try:
        for item in iterator:
            pending.append(executor.submit(function, item))
            if len(pending) >= 2 * jobs:
                break
        while pending:
            result = pending.popleft().result()
            for item in iterator:
                pending.append(executor.submit(function, item))
                break
            yield result
    finally:
        executor.shutdown(wait=False, cancel_futures=True)


def scan_in_order(
    paths: Sequence[LabelSource],
    work: Callable[[LabelSource, bytes | None], _Result],
    *,
    read: ReadOptions,
    jobs: int | None,
    recover: Callable[[LabelSource, Exception], _Result] | None = None,
) -> Generator[_Result, None, None]:
    """``work(path, bytes)`` of every source, run in parallel, yielded in file order.

    The one pipeline every command that reads masks goes through: archive members are
    read in the feeding thread under the run's byte budget (``bytes`` is None for a file
    on disk, which the worker opens itself), at most a few files are in flight, and an
    error in ``work`` (or reading a member) goes to ``recover(path, error)``, in the
    worker, which returns a result in its place or raises. Close the generator when
    stopping early: the queued files are cancelled at once.
    """

    def one(item: tuple[LabelSource, MemberBytes | BadMaskError | None]) -> _Result:
        path, lent = item
        try:
            # A member's read error is raised here, in the worker, so in file order.
            return decode_member(lent, lambda data: work(path, data))
        except Exception as error:
            if recover is None:
                raise
            return recover(path, error)

    with (
        ArchiveReader() as reader,
        closing(ordered_map(one, with_archive_bytes(paths, reader, read), jobs)) as results,
    ):
        yield from results
