"""Sequences whose items are made when asked for (a shard's rows, runs of sources)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar, overload

_Item = TypeVar("_Item")


class Indexed(Sequence[_Item]):
    """A sequence whose items are made when asked for: ``_at(index)`` for an index in
    range; negative indices, slices (as lists) and IndexError are handled here."""

    __slots__ = ()

    def _at(self, index: int) -> _Item:
        raise NotImplementedError

    @overload
    def __getitem__(self, index: int) -> _Item: ...
    @overload
    def __getitem__(self, index: slice) -> list[_Item]: ...
    def __getitem__(self, index: int | slice) -> _Item | list[_Item]:
        if isinstance(index, slice):
            return [self._at(i) for i in range(len(self))[index]]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"{type(self).__name__} index out of range")
        return self._at(index)
