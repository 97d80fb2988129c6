"""A long list of label files held compactly: one block of bytes, not one object per file.

A scan of a million masks would hold a million ``Path`` objects (about 400 bytes each)
for the whole run, and every forked worker would touch, and so copy, the pages they sit
on. Held as one bytes block with an array of end offsets, a name costs its length plus
8 bytes, and a ``Path`` is made only for the file being read.
"""

from __future__ import annotations

import os
from array import array
from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate
from pathlib import Path
from typing import TYPE_CHECKING, overload

from ..base.indexed import Indexed

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from .archives import LabelSource


class FileList(Sequence[Path]):
    """Paths of files on disk, in a fixed order, as one block of encoded names."""

    __slots__ = ("_blob", "_ends")

    def __init__(self, names: Iterable[str] = ()) -> None:
        builder = FileListBuilder()
        for name in names:
            builder.append(name)
        built = builder.build()
        self._blob: bytes = built._blob
        self._ends: array[int] = built._ends

    @classmethod
    def _of(cls, blob: bytes, ends: array[int]) -> FileList:
        made = cls.__new__(cls)
        made._blob, made._ends = blob, ends
        return made

    def __len__(self) -> int:
        return len(self._ends)

    def name(self, index: int) -> str:
        """The index-th file's name, as the str a Path of it would print."""
        start = self._ends[index - 1] if index > 0 else 0
        return os.fsdecode(self._blob[start : self._ends[index]])

    @overload
    def __getitem__(self, index: int) -> Path: ...
    @overload
    def __getitem__(self, index: slice) -> FileList: ...
    def __getitem__(self, index: int | slice) -> Path | FileList:
        if isinstance(index, slice):
            return FileList(self.name(i) for i in range(len(self))[index])
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("FileList index out of range")
        return Path(self.name(index))

    def names(self) -> Iterator[str]:
        """Every file's name in order, without making Path objects."""
        start = 0
        blob = self._blob
        for end in self._ends:
            yield os.fsdecode(blob[start:end])
            start = end

    def __iter__(self) -> Iterator[Path]:
        return map(Path, self.names())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FileList):
            return self._blob == other._blob and self._ends == other._ends
        if isinstance(other, Sequence) and not isinstance(other, str | bytes):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # a list, not a value

    def __repr__(self) -> str:
        shown = ", ".join(repr(name) for _, name in zip(range(3), self.names(), strict=False))
        more = f", ... ({len(self)} files)" if len(self) > 3 else ""
        return f"FileList([{shown}{more}])"

    def __reduce__(self) -> tuple[type[FileList], tuple[()], tuple[bytes, bytes]]:
        return FileList, (), (self._blob, self._ends.tobytes())

    def __setstate__(self, state: tuple[bytes, bytes]) -> None:
        ends: array[int] = array("q")
        ends.frombytes(state[1])
        self._blob, self._ends = state[0], ends


class FileListBuilder:
    """Appends names to a FileList one at a time, noting whether they came sorted."""

    def __init__(self) -> None:
        self._blob = bytearray()
        self._ends: array[int] = array("q")
        self._last: str | None = None
        self.in_order = True  # every name so far sorted after the one before

    def append(self, name: str) -> None:
        if self._last is not None and name < self._last:
            self.in_order = False
        self._last = name
        self._blob += os.fsencode(name)
        self._ends.append(len(self._blob))

    def __len__(self) -> int:
        return len(self._ends)

    def build(self, *, sort: bool = False) -> FileList:
        """The list, sorted by name if ``sort`` (the names are then taken out once to sort)."""
        made = FileList._of(bytes(self._blob), self._ends)
        if sort and not self.in_order:
            return FileList(sorted(made.names()))
        return made


class Runs(Indexed["LabelSource"]):
    """Sequences one after another, as one: archive members, objects at URLs, and the
    rows of parquet shards, which are made only when asked for (parquet.ShardRows)."""

    __slots__ = ("_ends", "_runs")

    def __init__(self, runs: Iterable[Sequence[LabelSource]] = ()) -> None:
        self._runs: tuple[Sequence[LabelSource], ...] = tuple(r for r in runs if len(r))
        self._ends: list[int] = list(accumulate(len(r) for r in self._runs))

    def __len__(self) -> int:
        return self._ends[-1] if self._ends else 0

    def _at(self, index: int) -> LabelSource:
        run = bisect_right(self._ends, index)
        return self._runs[run][index - (self._ends[run - 1] if run else 0)]

    def __iter__(self) -> Iterator[LabelSource]:
        for run in self._runs:
            yield from run

    def __repr__(self) -> str:
        return f"Runs({len(self._runs)} runs, {len(self)} sources)"


class LabelSources(Indexed["LabelSource"]):
    """The label files of a run: files on disk (a FileList), then archive members, objects
    at URLs and parquet rows, which are fetched by the feeding thread (lending.py)."""

    __slots__ = ("fetched", "files")

    def __init__(self, files: FileList, fetched: Sequence[LabelSource] = ()) -> None:
        self.files = files
        self.fetched: Sequence[LabelSource] = (
            fetched if isinstance(fetched, Runs) else Runs([tuple(fetched)])
        )

    def __len__(self) -> int:
        return len(self.files) + len(self.fetched)

    def _at(self, index: int) -> LabelSource:
        if index < len(self.files):
            return self.files[index]
        return self.fetched[index - len(self.files)]

    def __iter__(self) -> Iterator[LabelSource]:
        yield from self.files
        yield from self.fetched

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str | bytes):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"LabelSources({self.files!r}, {len(self.fetched)} fetched)"
