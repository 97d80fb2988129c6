"""The bytes a run may hold at once, and the bytes each source lends its decoder.

Every source that is not a file on disk (archive members, objects at URLs, parquet rows)
is read into memory by the one thread that feeds the workers: a ByteBudget bounds those
bytes over the whole run, and MemberBytes gives them back once the decoder is done.
"""

from __future__ import annotations

import inspect
import threading
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, TypeAlias, TypeVar

from ...errors import MfbError
from .files import RangedFile

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

#: Pillow's own guard against decompression bombs (about 89.5 million pixels).
DEFAULT_MAX_PIXELS: int = 89_478_485  # PIL.Image.MAX_IMAGE_PIXELS; a test checks it

#: Member bytes held in memory at once over a whole run (read and waiting for, or being,
#: decoded). A member larger than this is read alone, once all others are done; none can be
#: larger than a mask within --max-pixels could be (see max_source_bytes).
BYTES_IN_FLIGHT = 256 << 20


def max_source_bytes(max_pixels: int | None) -> int:
    """The most bytes one source may hold: 8 a pixel (an int64 .npy) of the largest mask
    ``max_pixels`` allows, plus 1 MiB of headers; without a pixel limit, BYTES_IN_FLIGHT.

    A body of unknown size (an HTTP reply without Content-Length) reserves this much of
    the budget and is refused past it, so no source is ever read without a bound.
    """
    return BYTES_IN_FLIGHT if max_pixels is None else 8 * max_pixels + (1 << 20)


class ByteBudget:
    """The member bytes a run may hold at once; the reading thread waits while it is spent."""

    def __init__(self, limit: int | None = None) -> None:
        self.limit = BYTES_IN_FLIGHT if limit is None else limit
        self.used = 0
        self._changed = threading.Condition()

    def take(self, size: int) -> None:
        """Wait until ``size`` bytes fit (or nothing else is held), then count them."""
        with self._changed:
            while self.used and self.used + size > self.limit:
                self._changed.wait(0.5)  # a timeout, so Ctrl-C is seen while waiting
            self.used += size

    def give(self, size: int) -> None:
        with self._changed:
            self.used -= size
            self._changed.notify_all()

    def fits(self, size: int) -> bool:
        """Whether ``size`` more bytes would be taken now without waiting."""
        return not self.used or self.used + size <= self.limit


class MemberBytes:
    """A member's bytes, counted against the run's ByteBudget until the decoder is done."""

    def __init__(self, data: bytes, budget: ByteBudget, size: int) -> None:
        self._data: bytes | None = data
        self._budget = budget
        self._size = size

    def take(self) -> bytes:
        """The bytes, handed over once: this object no longer holds them."""
        data, self._data = self._data, None
        if data is None:
            raise RuntimeError("member bytes taken twice")
        return data

    def release(self) -> None:
        """Give the bytes back to the budget (once)."""
        size, self._size = self._size, 0
        self._budget.give(size)


#: What the lending loop hands a decoder with each source: its bytes, the error that
#: kept them from being read (raised in the worker, so in file order), None for a file
#: on disk, which the worker opens itself, or a RangedFile: a raster in object storage,
#: which the decoder reads in place by ranges, a band of tiles at a time.
Lent: TypeAlias = "MemberBytes | MfbError | RangedFile | None"


@contextmanager
def member_bytes(lent: Lent) -> Iterator[bytes | RangedFile | None]:
    """The member's bytes (None for a file on disk), given back to the budget on leaving.

    Raises the member's read error (in the worker, so in file order). Prefer decode_member,
    which also keeps an error from holding on to the bytes.
    """
    if isinstance(lent, MfbError):
        raise lent
    if lent is None or isinstance(lent, RangedFile):
        yield lent
        return
    try:
        yield lent.take()
    finally:
        lent.release()


_Result = TypeVar("_Result")


def decode_member(lent: Lent, decode: Callable[[bytes | RangedFile | None], _Result]) -> _Result:
    """``decode(bytes)`` for a member (``decode(None)`` for a file on disk), in a worker.

    A frame that ended keeps its local variables for as long as an error's traceback is
    kept (in a Future, or a skipped file's error): those of the frames that held the bytes
    are dropped here, so a failed member holds no memory however long its error lives.
    """
    try:
        return _decode(lent, decode)
    except BaseException as error:
        _forget_locals(error)
        raise


def _decode(lent: Lent, decode: Callable[[bytes | RangedFile | None], _Result]) -> _Result:
    with member_bytes(lent) as data:
        return decode(data)


def _forget_locals(error: BaseException) -> None:
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        tb = current.__traceback__
        while tb is not None:
            # Clearing a suspended generator's frame would close the generator (the one
            # feeding the workers, say): generator frames are left alone.
            if not tb.tb_frame.f_code.co_flags & _GENERATOR_FLAGS:
                with suppress(RuntimeError):  # a frame still running keeps its locals
                    tb.tb_frame.clear()
            tb = tb.tb_next
        pending += [current.__cause__, current.__context__]


_GENERATOR_FLAGS = inspect.CO_GENERATOR | inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR
