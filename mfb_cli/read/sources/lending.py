"""The one loop every source passes through on its way to a decoder.

Sources come listed and de-duplicated (find.py); here each is given its bytes, in order:
a file on disk gets None (its worker opens it); an archive member, an object at a URL or
a parquet row gets its bytes, read under the run's one byte budget, or the error that
kept them from being read. The rules are the same for every kind: the size is checked
before anything is read (a size that is not known reserves the cap, and no more than the
cap plus one byte is ever read), the bytes are taken from the budget before they are
read, errors come out in file order (the worker raises them), and a read that blocks
runs where Ctrl-C and SIGTERM still end the run at once (base/cancel.py).
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...errors import BadMaskError, MfbError
from ..base import cancel
from ..base.budget import ByteBudget, MemberBytes
from ..base.files import is_tiff_name
from .archives import ArchiveMember, ArchiveReader

if TYPE_CHECKING:
    from collections.abc import Generator, Iterable

    from ..base.budget import Lent
    from .archives import LabelSource
    from .parquet import ParquetReader, ParquetRow
    from .remote import RemoteFile


def lend_bytes(
    sources: Iterable[LabelSource],
    max_bytes: int,
    budget: ByteBudget | None = None,
    threads: int | None = None,
) -> Generator[tuple[LabelSource, Lent], None, None]:
    """Each source with its bytes (None for a file on disk) or its read error, in order.

    Objects at URLs are read on ``threads`` daemon threads (read/remote.READ_THREADS), a
    few ahead of the decoders; archive members and parquet rows here, in order (their
    handles are not thread-safe). A source ahead is handed on before waiting for room in
    the budget, so the reads waiting here never hold the bytes the decoders need. No
    source may hold more than ``max_bytes``.
    """
    budget = ByteBudget() if budget is None else budget
    readers: cancel.Readers | None = None
    pending: deque[tuple[LabelSource, Future[Lent] | Lent]] = deque()

    def oldest() -> tuple[LabelSource, Lent]:
        source, value = pending.popleft()
        return source, cancel.result(value) if isinstance(value, Future) else value

    from .parquet import ParquetReader, ParquetRow
    from .remote import READ_THREADS, RemoteFile, ranged_file, too_large

    threads = READ_THREADS if threads is None else threads
    with ArchiveReader(budget) as archives:
        rows = ParquetReader(budget)
        try:
            for source in sources:
                if isinstance(source, Path):
                    pending.append((source, None))
                elif isinstance(source, RemoteFile) and ranged(source):
                    # A raster is read in place by its decoder, a band of tiles at a time.
                    pending.append((source, ranged_file(source)))
                elif isinstance(source, RemoteFile):
                    reserve = max_bytes if source.size is None else source.size
                    if reserve > max_bytes:
                        pending.append((source, too_large(str(source), reserve, max_bytes)))
                    else:
                        while pending and (len(pending) >= threads or not budget.fits(reserve)):
                            yield oldest()
                        budget.take(reserve)
                        if readers is None:
                            readers = cancel.Readers(threads, "mfb-remote")
                        read = readers.submit(_read_object, source, reserve, max_bytes, budget)
                        pending.append((source, read))
                else:
                    while pending:  # this read may wait for the budget: hand on all first
                        yield oldest()
                    if isinstance(source, ArchiveMember):
                        pending.append((source, _here(archives.read_lent, source, max_bytes)))
                    elif isinstance(source, ParquetRow):
                        pending.append(_row(rows, source, max_bytes))
                    else:
                        raise TypeError(f"not a label source: {type(source).__name__}")
                while pending and not isinstance(pending[0][1], Future):
                    yield oldest()
            while pending:
                yield oldest()
        finally:
            rows.close()
            if readers is not None:
                readers.close()  # never waits: a stalled read is left to its deadline


def ranged(remote: RemoteFile) -> bool:
    """Whether an object is read in place by ranges: a TIFF (a raster, perhaps a
    cloud-optimised GeoTIFF) of listed size, never fetched whole."""
    return remote.size is not None and is_tiff_name(str(remote))


def _here(read: Any, source: LabelSource, max_bytes: int) -> Lent:
    """``read(source, max_bytes)``, its error handed on (raised by the worker, in order)."""
    try:
        lent: MemberBytes = read(source, max_bytes)
    except MfbError as error:
        return error
    except Exception as error:  # a bug (ours or a library's): still named, still in order
        return _unexpected(source, error)
    return lent


def _row(rows: ParquetReader, row: ParquetRow, max_bytes: int) -> tuple[ParquetRow, Lent]:
    """A parquet row, named by its path field once read, with its bytes or its error."""
    try:
        return rows.read_named(row, max_bytes)
    except MfbError as error:
        return row, error
    except Exception as error:
        return row, _unexpected(row, error)


def _unexpected(source: object, error: BaseException) -> MfbError:
    failure = MfbError(
        f"{source}: unexpected {type(error).__name__} while reading; "
        "please report it with the output of --debug"
    )
    failure.__cause__ = error
    return failure


def _read_object(remote: RemoteFile, reserve: int, max_bytes: int, budget: ByteBudget) -> Lent:
    """An object's bytes (on a reader thread): ``reserve`` bytes were taken for it, and
    what it turns out not to need is given back."""
    from .remote import read_body, read_failure, too_large

    try:
        data = read_body(remote, reserve)
    except BaseException as error:
        budget.give(reserve)
        if not isinstance(error, Exception):
            raise
        return read_failure(str(remote), error, remote.base)
    if len(data) > reserve or (remote.size is not None and len(data) != remote.size):
        budget.give(reserve)
        if remote.size is None:
            return too_large(str(remote), f"more than {max_bytes}", max_bytes)
        said = f"{len(data)}" if len(data) <= remote.size else f"more than {remote.size}"
        return BadMaskError(
            str(remote),
            f"holds {said} bytes where its listing says {remote.size}; "
            "it changed while it was read, or the server is wrong",
        )
    budget.give(reserve - len(data))
    return MemberBytes(data, budget, len(data))
