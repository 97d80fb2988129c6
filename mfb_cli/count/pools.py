"""Which pool a scan runs on: none, threads or forked processes, chosen from the files.

Kept apart from the pipeline that runs the pool, so that the command line can offer the
choices (``--pool``) without importing the readers.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from ..read.sources.file_list import LabelSources

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ..read.sources.archives import LabelSource

#: The --pool choices; "auto" picks one from the files (see choose_pool).
POOLS = {
    "auto": "none when the files add up to under 256 KiB (a few small masks: a pool costs "
    "more than it saves); processes for 256 files or more on disk with a median size under "
    "256 KiB; else threads",
    "threads": "threads in one process (large files; archive members always)",
    "processes": "forked processes, each reading batches of 64 files (Linux; threads elsewhere)",
}
Pool = Literal["auto", "threads", "processes"]

#: Below this median size on disk a file is "small": its fixed per-file Python work is a
#: large share of its time (benchmarks/RESULTS.md), so processes beat threads.
SMALL_FILE_BYTES = 256 * 1024
#: Files adding up to less than this are read one after the other, without a pool.
SERIAL_BYTES = 256 * 1024
#: A process pool is worth its start-up (forking, about 20-50 ms) from this many files on.
MIN_PROCESS_FILES = 256
#: Files handed to a worker at once: few enough to end promptly on Ctrl-C and keep the
#: workers equally busy at the end, enough that the hand-over costs little per file.
BATCH_FILES = 64
#: Files whose sizes are looked at to choose the pool.
_SIZE_SAMPLE = 32


def default_jobs() -> int:
    """The number of cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def can_fork() -> bool:
    """Whether worker processes can be forked, inheriting the run's state: on Linux.

    Not on macOS, where forking a process that has loaded system frameworks can crash
    (Python itself spawns there), nor on Windows; and not from a daemonic process (a
    multiprocessing or Dask worker), which may not have children. Threads otherwise.
    """
    import multiprocessing

    return sys.platform.startswith("linux") and not multiprocessing.current_process().daemon


def choose_pool(
    paths: Sequence[LabelSource], jobs: int, pool: Pool = "auto"
) -> Literal["serial", "threads", "processes"]:
    """The pool a scan of ``paths`` runs on (the rule in POOLS["auto"]).

    Archive members, remote objects and parquet rows are fetched in one thread under the
    run's byte budget and are always decoded by threads; the sizes of a sample of up to 32
    files spread over the list decide the rest.
    """
    if jobs <= 1 or len(paths) <= 1:
        return "serial"
    if pool == "threads":
        return "threads"
    if fetched_sources(paths):
        return "threads"
    if pool == "processes":
        return "processes" if can_fork() else "threads"
    median = _median_size(paths)
    if median is None:
        return "threads"
    if median * len(paths) < SERIAL_BYTES:
        return "serial"
    if len(paths) >= MIN_PROCESS_FILES and median < SMALL_FILE_BYTES and can_fork():
        return "processes"
    return "threads"


def _median_size(paths: Sequence[LabelSource]) -> int | None:
    """The median size on disk of up to _SIZE_SAMPLE files spread over the list."""
    step = max(1, len(paths) // _SIZE_SAMPLE)
    sizes = []
    for index in range(0, len(paths), step):
        try:
            sizes.append(Path(str(paths[index])).stat().st_size)
        except OSError:
            continue  # the scan names the problem when it reads the file
    return sorted(sizes)[len(sizes) // 2] if sizes else None


def fetched_sources(paths: Sequence[LabelSource]) -> bool:
    """Whether some sources are fetched by the feeding thread: archive members, objects at
    URLs and parquet rows (anything but a file on disk, which a worker opens itself)."""
    if isinstance(paths, LabelSources):
        return bool(paths.fetched)
    return any(not isinstance(path, Path) for path in paths)
