"""The scan on a Dask cluster: the same counts, warnings and errors as a local scan.

The client lists the files once and groups them, in file order, into tasks of about
TASK_BYTES (an archive is always one task of its own). Each task runs the local scan
(``count_masks``, one file at a time) and returns a ``Partial``: counts, never images.
Partials are added pairwise on the workers, always an earlier range with the next one, so
the first error in file order wins and skipped files stay in order, whatever the task size
and the number of workers. Dask reruns the tasks of a worker that dies: tasks are pure.
For per-image statistics a task also returns its files' rows (file index, ids, pixels as
small lists); the client fetches them task by task in file order, and additions drop them.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import BadMaskError, MfbError, NoMasksFoundError, Param
from ..read.base import cancel
from ..read.options import AUTO_FAST_MIN_FILES, ReadOptions
from ..read.sources.archives import ArchiveMember
from ..read.sources.parquet import ParquetRow
from ..read.sources.remote import RemoteFile
from .counts import MAX_DISTINCT_IDS, ClassCounts, CountsAccumulator
from .dask_cluster import distributed_module
from .scan import count_masks, scan_warnings

if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Sequence

    from .._types import Int64Array
    from ..read.base.chunks import LabelHeader
    from ..read.sources.archives import LabelSource
    from .check import FileFindings, Inspector
    from .connectivity import Connectivity

#: A task reads about this many bytes of label files: a few seconds of decoding on one core
#: (PNG masks decode at roughly 5-20 MB/s of compressed file), so the per-task overhead of
#: Dask (milliseconds) stays small and a lost worker costs little to redo.
TASK_BYTES = 16 << 20
#: ... and at most this many files, whose opening dominates when they are tiny.
TASK_FILES = 2000
#: Tasks per worker at least, so that workers finishing early take over the rest.
TASKS_PER_WORKER = 4


@dataclass(frozen=True)
class Task:
    """A run of consecutive label files (or one archive's members), from file ``start`` on."""

    start: int
    files: tuple[LabelSource, ...]


def plan_tasks(
    files: Sequence[LabelSource], workers: int, task_bytes: int | None = None
) -> list[Task]:
    """Group the files, in order, into tasks of about ``task_bytes``; archives alone.

    The target is TASK_BYTES, lowered so every worker gets TASKS_PER_WORKER tasks or more;
    a task never exceeds TASK_FILES files. File sizes come from the client's file system.
    """
    sizes = [_size(f) for f in files]
    if task_bytes is None:
        spread = math.ceil(sum(sizes) / max(1, workers * TASKS_PER_WORKER))
        task_bytes = max(1, min(TASK_BYTES, spread))
    tasks: list[Task] = []
    current: list[LabelSource] = []
    start = filled = 0

    def close() -> None:
        nonlocal current, filled
        if current:
            tasks.append(Task(start, tuple(current)))
        current, filled = [], 0

    for index, (source, size) in enumerate(zip(files, sizes, strict=True)):
        archive = _container(source)
        previous = current[-1] if current else None
        previous_archive = previous is not None and _container(previous) is not None
        same_archive = (
            previous is not None and archive is not None and _container(previous) == archive
        )
        other_archive = (archive is not None or previous_archive) and not same_archive
        full = archive is None and (filled >= task_bytes or len(current) >= TASK_FILES)
        if current and (other_archive or full):
            close()
        if not current:
            start = index
        current.append(source)
        filled += size
    close()
    return tasks


def _container(source: LabelSource) -> str | None:
    """The archive or parquet shard a source lies in: each is one task, never split."""
    if isinstance(source, ArchiveMember):
        return str(source.archive)
    if isinstance(source, ParquetRow):
        return str(source.shard)
    return None


def _size(source: LabelSource) -> int:
    if _container(source) is not None:
        return 0  # one archive or shard is one task whatever its size
    if isinstance(source, RemoteFile):
        return source.size or 0  # None: the server gave no size
    if not isinstance(source, Path):
        return 0
    try:
        return source.stat().st_size
    except OSError:
        return 0  # the worker reports it


#: One counted file of a task: its index in the file list, its present ids, their pixels,
#: with --geometry their components (else ()), and its header when it was read in chunks
#: (a volume), else None.
ImageRow = tuple[int, tuple[int, ...], tuple[int, ...], tuple[int, ...], "LabelHeader | None"]


@dataclass(frozen=True)
class Partial:
    """The scan of a range of files: what a task returns, and what two partials add up to.

    ``error`` is the first error in the range (its file's index and the exception); files
    after it were not counted, and partials after it are dropped when adding.
    """

    counts: ClassCounts
    files: int
    pixels: int
    skipped: tuple[tuple[int, tuple[object, ...]], ...] = ()  # (file index, problem parts)
    notes: dict[str, dict[str, int]] = field(default_factory=dict)
    #: Label id -> index of the first file holding it, to name the file where the number
    #: of distinct ids passes MAX_DISTINCT_IDS as the local scan does.
    first_seen: dict[int, int] = field(default_factory=dict)
    error: tuple[int, Failure] | None = None
    #: Per-image rows of the task's counted files, in order: (file index, ids, pixels).
    #: Only a task's own Partial has them (fetched by the client); additions drop them.
    rows: tuple[ImageRow, ...] = ()

    def __add__(self, later: Partial) -> Partial:
        if self.error is not None:
            return replace(self, rows=())
        notes = {note: dict(stored) for note, stored in self.notes.items()}
        for note, stored in later.notes.items():
            mine = notes.setdefault(note, {})
            for mode, n in stored.items():
                mine[mode] = mine.get(mode, 0) + n
        first_seen = dict(later.first_seen)
        first_seen.update(self.first_seen)  # self's files come first
        error = later.error
        crossing = _crossing(first_seen)
        if crossing is not None and (error is None or crossing < error[0]):
            # Past the limit the local scan stops: no need to add tables that large.
            return Partial(
                self.counts, self.files, self.pixels, error=(crossing, Failure.of(_TOO_MANY))
            )
        return Partial(
            self.counts + later.counts,
            self.files + later.files,
            self.pixels + later.pixels,
            self.skipped + later.skipped,
            notes,
            first_seen,
            error,
        )


class _TooManyIds(MfbError):
    """Past MAX_DISTINCT_IDS at the file of a partial's error index (named by the client)."""


def _too_many_ids() -> _TooManyIds:
    """The local scan's own error for too many distinct ids (its text, from its source)."""
    import numpy as np

    ids = np.arange(MAX_DISTINCT_IDS + 1, dtype=np.int64)
    try:
        CountsAccumulator().add(ids, np.ones(len(ids), dtype=np.int64))
    except MfbError as error:
        return _TooManyIds(str(error))
    raise AssertionError("CountsAccumulator accepted more than MAX_DISTINCT_IDS ids")


_TOO_MANY = _too_many_ids()


def _crossing(first_seen: dict[int, int]) -> int | None:
    """The file at which the distinct ids first exceed MAX_DISTINCT_IDS, if they do."""
    if len(first_seen) <= MAX_DISTINCT_IDS:
        return None
    return sorted(first_seen.values())[MAX_DISTINCT_IDS]


@dataclass(frozen=True)
class Failure:
    """An error as it travels back from a worker: its class and the parts of its message.

    An exception pickles as its text only; the parts keep the parameters a message names,
    so the client renders it as the local scan would.
    """

    kind: type[MfbError]
    parts: tuple[str | Param, ...]

    @classmethod
    def of(cls, error: MfbError) -> Failure:
        parts = tuple(getattr(error, "parts", None) or (str(error),))
        # BadMaskError's first argument is its path, already in the parts' text.
        return cls(MfbError if isinstance(error, BadMaskError) else type(error), parts)

    def error(self) -> MfbError:
        try:
            return self.kind(*self.parts)
        except TypeError:  # a class whose constructor takes other arguments
            return MfbError("".join(map(str, self.parts)))


def _problem_parts(error: BadMaskError) -> tuple[str | Param, ...]:
    """A bad file's problem, without its path, in parts (see Failure)."""
    parts = getattr(error, "parts", None)
    return tuple(parts[1:]) if parts else (error.problem,)


def _missing_on_worker(task: Task) -> tuple[int, Failure] | None:
    """The first file of the task this worker cannot find (the client listed it), if any."""
    for index, source in enumerate(task.files, start=task.start):
        where = source.archive if isinstance(source, ArchiveMember) else source
        if isinstance(where, Path) and not where.exists():  # URLs: the read names them
            import socket

            return index, Failure.of(
                MfbError(
                    f"{where}: cannot be read on the Dask worker {socket.gethostname()}; "
                    "workers read the files under the paths the client lists (a shared "
                    "file system, or the same paths on every machine)"
                )
            )
    return None


def _threads(client: Any) -> int:
    """Worker threads of the cluster now (at least 1: workers may still be joining)."""
    workers = client.scheduler_info()["workers"].values()
    return max(1, int(sum(w.get("nthreads", 1) for w in workers)))


def _killed(error: Exception) -> MfbError:
    return MfbError(
        f"the Dask workers died repeatedly running a task of this scan ({error}); "
        "a file may take more memory than a worker has"
    )


def count_task(
    task: Task,
    read: ReadOptions,
    check: Callable[[LabelSource, Int64Array], None] | None,
    skip_bad: bool,
    per_image: bool = False,
    geometry: Connectivity | None = None,
) -> Partial:
    """Run the local scan on one task's files (on a worker) and return its Partial.

    With ``per_image`` the Partial carries each counted file's row (see Partial.rows).
    """
    index_of = {source: task.start + i for i, source in enumerate(task.files)}
    missing = _missing_on_worker(task)
    if missing is not None:
        return Partial(ClassCounts.empty(), 0, 0, error=missing)
    skipped: list[tuple[int, tuple[object, ...]]] = []
    notes: dict[str, dict[str, int]] = {}
    first_seen: dict[int, int] = {}
    rows: list[ImageRow] = []
    done = {"files": 0, "pixels": 0}

    def checked(path: LabelSource, ids: Int64Array) -> None:
        if check is not None:
            check(path, ids)
        for value in ids.tolist():
            first_seen.setdefault(value, index_of[path])

    def on_file(path: LabelSource, pixels: int) -> None:
        done["files"] += 1
        done["pixels"] += pixels

    def on_skip(path: LabelSource, error: BadMaskError) -> None:
        skipped.append((index_of[path], _problem_parts(error)))

    def on_note(path: LabelSource, note: str, stored: str) -> None:
        modes = notes.setdefault(note, {})
        modes[stored] = modes.get(stored, 0) + 1

    components: list[tuple[int, ...]] = []  # of the file on_image gets next
    headers: dict[LabelSource, LabelHeader] = {}  # a volume's, until its on_image

    def on_components(path: LabelSource, found: Int64Array) -> None:
        components.append(tuple(found.tolist()))

    def on_header(path: LabelSource, header: LabelHeader) -> None:
        headers[path] = header

    def on_image(path: LabelSource, ids: Int64Array, pixels: Int64Array) -> None:
        shapes = components.pop() if components else ()
        header = headers.pop(path, None)
        rows.append((index_of[path], tuple(ids.tolist()), tuple(pixels.tolist()), shapes, header))

    def partial(counts: ClassCounts, error: tuple[int, Failure] | None = None) -> Partial:
        return Partial(
            replace(counts, warnings=()),  # the run's warnings are made once, for all files
            done["files"],
            done["pixels"],
            tuple(skipped),
            notes,
            first_seen,
            error,
            tuple(rows),
        )

    try:
        counts = count_masks(
            task.files,
            jobs=1,
            read=read,
            check=checked,
            on_file=on_file,
            skip_bad=skip_bad,
            on_skip=on_skip,
            on_note=on_note,
            on_image=on_image if per_image else None,
            geometry=geometry,
            on_components=on_components if per_image and geometry is not None else None,
            on_header=on_header if per_image else None,
        )
    except NoMasksFoundError:  # every file of this task skipped: not the run's verdict
        if not (skip_bad and len(skipped) == len(task.files)):
            raise
        counts = ClassCounts.empty()
    except MfbError as error:
        failed = task.start + done["files"] + len(skipped)
        return partial(ClassCounts.empty(), (failed, Failure.of(error)))
    return partial(counts)


def _cancel(client: Any, futures: list[Any]) -> None:
    """Cancel the run's tasks on the scheduler, waiting at most the handshake bound: a
    scheduler that stopped answering must not hold up the end of the run (Ctrl-C)."""
    with contextlib.suppress(Exception):  # the run's own outcome is what is reported
        cancel.call(client.cancel, futures, timeout=cancel.HANDSHAKE_SECONDS)


def _summary(partial: Partial) -> tuple[int, int]:
    """What the progress bar needs of a task: files done and their pixels."""
    return partial.files + len(partial.skipped), partial.pixels


def _add(earlier: Partial, later: Partial) -> Partial:
    return earlier + later


def _rows(partial: Partial) -> tuple[tuple[ImageRow, ...], bool]:
    """A task's per-image rows, alone (what the client fetches of it), and if it failed."""
    return partial.rows, partial.error is not None


def count_masks_dask(
    paths: Sequence[LabelSource],
    client: Any,
    *,
    read: ReadOptions = ReadOptions(),
    check: Callable[[LabelSource, Int64Array], None] | None = None,
    on_task: Callable[[int, int], None] | None = None,
    skip_bad: bool = False,
    on_skip: Callable[[LabelSource, BadMaskError], None] | None = None,
    on_image: Callable[[LabelSource, Int64Array, Int64Array], None] | None = None,
    task_bytes: int | None = None,
    geometry: int | Connectivity | None = None,
    on_components: Callable[[LabelSource, Int64Array], None] | None = None,
    on_header: Callable[[LabelSource, LabelHeader], None] | None = None,
) -> ClassCounts:
    """``count_masks`` on the workers of a ``distributed.Client``: the same result.

    The same counts, warnings, first error in file order, and skipped files (passed to
    ``on_skip`` in file order once the scan is done). ``on_task(files, pixels)`` is called
    as each task completes. ``on_image(path, ids, pixels)`` gets each counted file, in file
    order, as the tasks before it have completed (the client holds one task's rows at a
    time). ``task_bytes`` overrides the task size (plan_tasks). ``geometry`` and
    ``on_components``: as for ``count_masks``; ``on_header`` gets each counted volume's
    header just before its ``on_image``, as count_masks does.
    """
    distributed = distributed_module()
    if not paths:
        raise NoMasksFoundError("no label files to scan")
    if read.decoder == "auto" and len(paths) < AUTO_FAST_MIN_FILES:
        read = replace(read, decoder="pillow")  # the local scan's choice, for all files
    connectivity = None
    if geometry is not None:
        from .connectivity import Connectivity
        from .geometry import components_module

        connectivity = Connectivity.of(geometry)
        components_module()  # the missing extra is named before any file is read
    tasks = plan_tasks(paths, _threads(client), task_bytes)
    futures: list[Any] = []
    try:
        parts = client.map(
            count_task,
            tasks,
            read=read,
            check=check,
            skip_bad=skip_bad,
            per_image=on_image is not None,
            geometry=connectivity,
            pure=False,
        )
        futures += parts
        summaries = client.map(_summary, parts, pure=False)
        futures += summaries
        rows = client.map(_rows, parts, pure=False) if on_image is not None else []
        futures += rows
        emitted = 0  # tasks whose rows went to on_image, in file order
        level = list(parts)
        while len(level) > 1:  # a tree of additions, each of an earlier range and the next
            pairs = [
                client.submit(_add, level[i], level[i + 1], pure=False)
                for i in range(0, len(level) - 1, 2)
            ]
            futures += pairs
            level = pairs + level[len(pairs) * 2 :]
        for done in distributed.as_completed(summaries):
            if on_task is not None:
                on_task(*done.result())
            while emitted < len(rows) and rows[emitted].done():
                on_image = _emit(rows[emitted], paths, on_image, on_components, on_header)
                emitted += 1
        for future in rows[emitted:]:
            on_image = _emit(future, paths, on_image, on_components, on_header)
        result: Partial = level[0].result()
    except distributed.KilledWorker as error:
        raise _killed(error) from error
    finally:
        _cancel(client, futures)  # after an error or Ctrl-C: nothing left running for this run
    skipped = [paths[index] for index, _ in result.skipped]
    if on_skip is not None:
        for index, problem in result.skipped:
            on_skip(paths[index], BadMaskError(str(paths[index]), *problem))  # type: ignore[arg-type]
    if result.error is not None:
        index, failure = result.error
        raised = failure.error()
        if isinstance(raised, _TooManyIds):  # as the local scan words it
            raise MfbError(f"{paths[index]}: {raised}")
        raise raised
    if skipped and len(skipped) == len(paths):
        raise NoMasksFoundError(f"all {len(skipped)} label files were bad and skipped")
    return replace(result.counts, warnings=scan_warnings(len(paths), skipped, result.notes))


def _emit(
    future: Any,
    paths: Sequence[LabelSource],
    on_image: Callable[[LabelSource, Int64Array, Int64Array], None] | None,
    on_components: Callable[[LabelSource, Int64Array], None] | None = None,
    on_header: Callable[[LabelSource, LabelHeader], None] | None = None,
) -> Callable[[LabelSource, Int64Array, Int64Array], None] | None:
    """Pass one task's rows to ``on_image`` as arrays, then let the cluster forget them.

    Returns the callback for the next task's rows: None once a task failed, since the
    local scan stops at its first error and passes no file after it.
    """
    import numpy as np

    found, failed = future.result()
    future.release()
    if on_image is None:
        return None
    for index, ids, pixels, components, header in found:
        if on_components is not None and components:
            on_components(paths[index], np.array(components, dtype=np.int64))
        if on_header is not None and header is not None:
            on_header(paths[index], header)
        on_image(paths[index], np.array(ids, dtype=np.int64), np.array(pixels, dtype=np.int64))
    return None if failed else on_image


def inspect_task(
    task: Task, read: ReadOptions, geometry: Connectivity | None = None
) -> list[FileFindings] | Failure:
    """``mfb check``'s reading of one task's files (on a worker): their findings, in order."""
    from .check import inspect_files

    missing = _missing_on_worker(task)
    if missing is not None:
        return missing[1]
    return list(inspect_files(task.files, read, jobs=1, geometry=geometry))


def dask_inspector(client: Any, task_bytes: int | None = None) -> Inspector:
    """An ``inspector`` for ``check_masks`` that reads the files on the cluster's workers.

    A check reports on every file, so the findings come back to the client (task by task,
    in file order, each task's dropped once tallied); the bad files are findings there.
    """
    distributed = distributed_module()

    def inspector(
        paths: Sequence[LabelSource], read: ReadOptions, geometry: Connectivity | None = None
    ) -> Generator[FileFindings, None, None]:
        tasks = plan_tasks(paths, _threads(client), task_bytes)
        futures = client.map(inspect_task, tasks, read=read, geometry=geometry, pure=False)
        try:
            for future in futures:
                found = future.result()
                future.release()
                if isinstance(found, Failure):
                    raise found.error()
                yield from found
        except distributed.KilledWorker as error:
            raise _killed(error) from error
        finally:
            _cancel(client, futures)

    return inspector
