"""The one scan pipeline: every label file through a pool, results in file order.

Three pools, chosen per run (``choose_pool``): none (one job, or one file), threads (large
files, archive members), or forked processes over batches of files (many small files).
Pillow, libpng and NumPy release the GIL while decoding and counting a large image, so
threads use every core without copying anything; on a small mask (0.1-0.3 MPix) about a
third of a file's time is Python holding the GIL (opening, header checks, wrappers), so
threads queue on it and separate processes go further. Either way the results come back
in file order, at most a few batches are in flight (memory stays flat whatever the number
of files), and an error is raised for the first bad file in the list, whatever the pool.
"""

from __future__ import annotations

import signal
import sys
from collections import deque
from contextlib import closing, suppress
from typing import TYPE_CHECKING, Any, TypeVar

from ..read.base.budget import decode_member, max_source_bytes
from .pools import BATCH_FILES, Pool, choose_pool, default_jobs, fetched_sources

if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
    from concurrent.futures import Future, ProcessPoolExecutor

    from ..read.base.budget import Lent
    from ..read.base.files import RangedFile
    from ..read.options import ReadOptions
    from ..read.sources.archives import LabelSource

_Item = TypeVar("_Item")
_Result = TypeVar("_Result")


def ordered_map(
    function: Callable[[_Item], _Result], items: Iterable[_Item], jobs: int | None
) -> Generator[_Result, None, None]:
    """Like map(), on a thread pool with a bounded number of items in flight.

    At most a few items per thread are pending, so memory stays flat however many files
    there are. Close the generator when stopping early (an error, Ctrl-C): that cancels
    the queued items, and the threads end as soon as their current file is done.
    """
    jobs = default_jobs() if jobs is None else jobs
    if jobs <= 1:
        yield from map(function, items)
        return
    from concurrent.futures import ThreadPoolExecutor

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


#: A batch's outcome: its results in order, then the error that stopped it (or None).
_Outcome = tuple[list[Any], BaseException | None]


def _run_batch(
    items: Iterable[_Item], one: Callable[[_Item], _Result]
) -> tuple[list[_Result], BaseException | None]:
    """``one`` of each item in order, stopping at the first error (returned, not raised:
    the results before it still count, so the error surfaces in file order)."""
    results: list[_Result] = []
    for item in items:
        try:
            results.append(one(item))
        except Exception as error:
            return results, error
    return results, None


def _flatten(outcomes: Iterable[_Outcome]) -> Iterator[Any]:
    for results, error in outcomes:
        yield from results
        if error is not None:
            raise error


def _batches(count: int, jobs: int) -> list[range]:
    """Index ranges of BATCH_FILES files, smaller for short lists so every worker gets some."""
    size = max(1, min(BATCH_FILES, -(-count // (4 * jobs))))
    return [range(start, min(start + size, count)) for start in range(0, count, size)]


#: The running process-pool scans, by id: forked workers inherit them (no pickling of the
#: work function, which may be a closure) and are sent (id, first, stop) only.
_FORKED: dict[int, tuple[Sequence[Any], Callable[[Any], Any]]] = {}


def _forked_batch(key: int, first: int, stop: int) -> _Outcome:
    paths, one = _FORKED[key]
    results, error = _run_batch((paths[i] for i in range(first, stop)), one)
    return results, None if error is None else _portable(error)


def _portable(error: BaseException) -> BaseException:
    """The error itself if it survives pickling to the parent, else its message as MfbError."""
    import pickle

    from ..errors import MfbError

    try:
        pickle.loads(pickle.dumps(error))
    except Exception:
        return MfbError(f"{type(error).__name__}: {error}")
    return error


def _worker_start() -> None:
    # Ctrl-C in a terminal reaches the whole process group: the parent alone reacts (and
    # ends the workers), so the workers ignore it; SIGTERM from the parent ends one at once.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _process_map(
    paths: Sequence[LabelSource], one: Callable[[LabelSource], _Result], jobs: int
) -> Generator[_Result, None, None]:
    """``one`` of every path on forked worker processes, in batches, yielded in order.

    A worker that dies (a decoder crash, the out-of-memory killer) ends the run with an
    error naming its batch, instead of leaving the run waiting for its results.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    from ..errors import MfbError

    key = id(one)
    _FORKED[key] = (paths, one)
    # A forked worker flushes the streams it inherited when it ends: whatever the caller
    # left in their buffers must go out once, now, not once more per worker.
    for stream in (sys.stdout, sys.stderr):
        with suppress(Exception):
            stream.flush()
    workers = ProcessPoolExecutor(
        jobs, mp_context=multiprocessing.get_context("fork"), initializer=_worker_start
    )
    ended = False
    try:
        pending: deque[tuple[range, Future[_Outcome]]] = deque()
        batches = iter(_batches(len(paths), jobs))

        unsent: list[range] = []  # batches the pool refused: it broke while they were sent

        def submit() -> None:
            for batch in batches:
                try:
                    future = workers.submit(_forked_batch, key, batch.start, batch.stop)
                except BrokenProcessPool:  # a worker died already; the error is raised below
                    unsent.append(batch)
                    return
                pending.append((batch, future))
                return

        def broken(first: range, last: range, error: BaseException | None) -> MfbError:
            # Every unfinished batch fails with the pool: the file is among them.
            failure = MfbError(
                f"a worker process ended abruptly while reading the files from "
                f"{paths[first.start]} to {paths[last.stop - 1]} (a decoder crash, or "
                "out of memory); read them with one job to find the file"
            )
            failure.__cause__ = error
            return failure

        try:
            for _ in range(2 * jobs):
                submit()  # the first submit forks every worker, with _FORKED as it is now
        finally:
            del _FORKED[key]  # the workers have their copy
        while pending:
            batch, future = pending.popleft()
            try:
                outcome = future.result()
            except BrokenProcessPool as error:
                last = unsent[-1] if unsent else pending[-1][0] if pending else batch
                raise broken(batch, last, error) from error
            submit()
            yield from _flatten([outcome])
        if unsent:  # never silently short: a batch that could not be sent is an error too
            raise broken(unsent[0], unsent[-1], None)
        ended = True
    finally:
        if not ended:
            _terminate(workers)
        workers.shutdown(wait=ended, cancel_futures=True)


def _terminate(workers: ProcessPoolExecutor) -> None:
    """End the workers mid-batch (an error or Ctrl-C): Python 3.14's terminate_workers,
    or before it, SIGTERM to each worker process the pool holds (no public way)."""
    terminate = getattr(workers, "terminate_workers", None)
    if terminate is not None:
        with suppress(Exception):
            terminate()
        return
    processes = getattr(workers, "_processes", None) or {}
    for process in list(processes.values()):
        with suppress(Exception):
            process.terminate()


def scan_in_order(
    paths: Sequence[LabelSource],
    work: Callable[[LabelSource, bytes | RangedFile | None], _Result],
    *,
    read: ReadOptions,
    jobs: int | None,
    recover: Callable[[LabelSource, Exception], _Result] | None = None,
    pool: Pool = "auto",
) -> Generator[_Result, None, None]:
    """``work(path, bytes)`` of every source, run in parallel, yielded in file order.

    The one pipeline every command that reads masks goes through: archive members are
    read in the feeding thread under the run's byte budget (``bytes`` is None for a file
    on disk, which the worker opens itself), at most a few files or batches are in flight,
    and an error in ``work`` (or reading a member) goes to ``recover(path, error)``, in
    the worker, which returns a result in its place or raises. ``pool`` chooses the pool
    (see POOLS); results are the same whatever the pool and ``jobs``. Close the generator
    when stopping early: the queued files are cancelled at once.
    """
    kind = choose_pool(paths, default_jobs() if jobs is None else jobs, pool)
    jobs = 1 if kind == "serial" else default_jobs() if jobs is None else jobs

    def guarded(path: LabelSource, run: Callable[[], _Result]) -> _Result:
        try:
            return run()
        except Exception as error:
            if recover is None:
                raise
            return recover(path, error)

    if kind == "processes" or not fetched_sources(paths):
        # Files on disk only: each worker opens its own files, a batch at a time.
        def on_disk(path: LabelSource) -> _Result:
            return guarded(path, lambda: work(path, None))

        if kind == "serial":  # no pool, no archive reader: the files, one after the other
            yield from map(on_disk, paths)
            return
        if kind == "processes":
            _warm_up(read)
            yield from _process_map(paths, on_disk, jobs)
            return
        outcomes = ordered_map(
            lambda batch: _run_batch((paths[i] for i in batch), on_disk),
            _batches(len(paths), jobs),
            jobs,
        )
        with closing(outcomes):
            yield from _flatten(outcomes)
        return

    def one(item: tuple[LabelSource, Lent]) -> _Result:
        path, lent = item
        # A member's read error is raised in decode_member, in the worker, so in file order.
        return guarded(path, lambda: decode_member(lent, lambda data: work(path, data)))

    # Every source that is not a file on disk passes through the one lending loop (imported
    # here: a scan of files on disk needs no reader threads).
    from ..read.sources.lending import lend_bytes

    lent = lend_bytes(paths, max_source_bytes(read.max_pixels))
    with closing(lent), closing(ordered_map(one, lent, jobs)) as results:
        yield from results


def _warm_up(read: ReadOptions) -> None:
    """Import the decoders before forking, so each worker does not import them again."""
    from PIL import Image

    Image.preinit()
    if read.use_fast:
        from ..read.decode.fast import fast_modules

        fast_modules()
