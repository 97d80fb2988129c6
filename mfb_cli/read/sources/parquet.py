"""Label images stored in parquet shards (Hugging Face ``Image`` columns), read in place.

An image column is an Arrow ``struct{bytes: binary, path: string}``; only that column is
read, one row at a time, and each row's bytes are decoded exactly as a file would be.
Each row is named ``shard:ROW``, stable across runs; its ``path`` field, when present,
is added to messages about it. pyarrow is an optional extra (``pip install
'mfb-cli[parquet]'``).

Bounded whatever the file holds: a shard's rows are listed lazily (its footer gives their
number; nothing is made per row until the row is read), and a row's bytes are measured
in Arrow, against --max-pixels and the run's byte budget, before they become Python bytes.
Rows are decoded one at a time, so a value stored once in a dictionary page is never
expanded into many copies at once.
"""

from __future__ import annotations

from bisect import bisect_right
from contextlib import suppress
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from ...errors import BadMaskError, MfbError, Param
from ..base.indexed import Indexed
from ..base.keys import SourceKey, local_key
from ..base.urls import shown_path
from .remote import RemoteFile, is_network_failure, reason, too_large

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ..base.budget import ByteBudget, MemberBytes

#: A shard is a file on disk (its path as given) or an object at a URL.
Shard = str | RemoteFile

#: The longest ``path`` field quoted in a message (a crafted one could be megabytes).
_MAX_NAME = 200


@dataclass(frozen=True)
class ParquetRow:
    """One image of a parquet shard: ``shard`` (a path or an object at a URL), ``column``,
    ``row`` (counted from 0 over the whole shard). ``name``, the row's ``path`` field, is
    known once the row is read (the decoder is handed the row with it, for messages); it
    takes no part in the row's identity."""

    shard: Shard
    column: str
    row: int
    name: str | None = field(default=None, compare=False)

    def __str__(self) -> str:
        where = f"{shown_path(self.shard)}:{self.row}"
        return f"{where} ({self.name})" if self.name else where

    def __repr__(self) -> str:
        return f"ParquetRow({str(self)!r}, column={self.column!r})"

    @property
    def key(self) -> SourceKey:
        """The row's identity: its shard's, the column and the row number."""
        return shard_key(self.shard).row(self.column, self.row)


def shard_key(shard: Shard) -> SourceKey:
    """A shard's identity: its real path, or its object's key."""
    return shard.key if isinstance(shard, RemoteFile) else local_key(shard)


class ShardRows(Indexed[ParquetRow]):
    """The rows of one shard's image column, each made when asked for (a shard of
    millions of rows costs three numbers until it is read)."""

    __slots__ = ("column", "rows", "shard")

    def __init__(self, shard: Shard, column: str, rows: int) -> None:
        self.shard, self.column, self.rows = shard, column, rows

    def __len__(self) -> int:
        return self.rows

    def _at(self, index: int) -> ParquetRow:
        return ParquetRow(self.shard, self.column, index)

    def __iter__(self) -> Iterator[ParquetRow]:
        return (ParquetRow(self.shard, self.column, row) for row in range(self.rows))

    def __repr__(self) -> str:
        return f"ShardRows({shown_path(self.shard)!r}, {self.column!r}, {self.rows} rows)"


def _open(shard: Shard) -> Any:
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    if isinstance(shard, RemoteFile):
        from .remote import open_remote

        stream = open_remote(shard, seekable=True)
        try:
            return pq.ParquetFile(stream)
        except BaseException:
            stream.close()
            raise
    return pq.ParquetFile(shard)


def _pyarrow(shard: Shard) -> None:
    try:
        import pyarrow.parquet  # noqa: F401
    except ImportError as error:
        raise MfbError(
            f"{shown_path(shard)}: reading parquet needs pyarrow; pip install 'mfb-cli[parquet]'"
        ) from error


def image_columns(schema: Any) -> list[str]:
    """The columns of a schema that hold images: struct{bytes: binary, ...}."""
    import pyarrow as pa

    found = []
    for column in schema:
        if pa.types.is_struct(column.type):
            children = {
                column.type.field(i).name: column.type.field(i).type
                for i in range(column.type.num_fields)
            }
            kind = children.get("bytes")
            if kind is not None and (pa.types.is_binary(kind) or pa.types.is_large_binary(kind)):
                found.append(column.name)
    return found


def list_rows(shard: Shard, column: str | None) -> ShardRows:
    """The rows of a shard's image column, listed lazily; ``column`` None picks the only one."""
    _pyarrow(shard)
    shown = shown_path(shard)
    try:
        opened = _open(shard)
    except Exception as error:
        if isinstance(error, MemoryError):
            raise
        raise MfbError(f"{shown}: cannot read as parquet ({_reason(error, shard)})") from error
    try:
        images = image_columns(opened.schema_arrow)
        if column is None:
            if len(images) != 1:
                listed = ", ".join(images) or "none"
                raise MfbError(
                    f"{shown}: pass ",
                    Param("parquet_column"),
                    f": image columns (struct with bytes) are {listed}",
                )
            column = images[0]
        elif column not in images:
            listed = ", ".join(images) or "none"
            raise MfbError(
                f"{shown}: no image column '{column}' (struct with bytes); image columns: {listed}"
            )
        metadata = opened.metadata
        rows = sum(metadata.row_group(g).num_rows for g in range(metadata.num_row_groups))
        if rows != metadata.num_rows or any(
            metadata.row_group(g).num_rows < 0 for g in range(metadata.num_row_groups)
        ):
            raise MfbError(
                f"{shown}: cannot read as parquet (its row groups hold {rows} rows where its "
                f"footer says {metadata.num_rows}: damaged or crafted)"
            )
    except MfbError:
        raise
    except Exception as error:
        if isinstance(error, MemoryError):
            raise
        raise MfbError(f"{shown}: cannot read as parquet ({_reason(error, shard)})") from error
    finally:
        _close(opened)
    return ShardRows(shard, column, rows)


def _close(opened: Any) -> None:
    with suppress(Exception):
        opened.close()


def _reason(error: BaseException, shard: Shard) -> str:
    if isinstance(shard, RemoteFile):
        return reason(error, shard.base)
    return " ".join(str(error).split()) or type(error).__name__


class _OpenShard:
    """One shard being read, front to back, a row at a time."""

    def __init__(self, shard: Shard, column: str) -> None:
        self.shard, self.column = shard, column
        self.file = _open(shard)
        metadata = self.file.metadata
        sizes = [metadata.row_group(g).num_rows for g in range(metadata.num_row_groups)]
        self.starts = [sum(sizes[:g]) for g in range(len(sizes) + 1)]
        self.rows: Iterator[Any] = iter(())
        self.next_row = 0  # the row self.rows yields next
        self.failed: dict[int, str] = {}  # row group -> why it cannot be read

    def group_of(self, row: int) -> int:
        return bisect_right(self.starts, row) - 1

    def seek(self, row: int) -> None:
        """Read on from the start of ``row``'s row group, one row per batch."""
        group = self.group_of(row)
        fields = [f"{self.column}.bytes"]
        struct = self.file.schema_arrow.field(self.column).type
        if struct.get_field_index("path") >= 0:
            fields.append(f"{self.column}.path")
        self.rows = self.file.iter_batches(
            batch_size=1,
            row_groups=list(range(group, len(self.starts) - 1)),
            columns=fields,
            use_threads=False,
        )
        self.next_row = self.starts[group]

    def close(self) -> None:
        _close(self.file)


class ParquetReader:
    """Reads parquet rows' bytes, one open shard at a time; use from one thread only.

    Rows of a shard come in order, so each shard is read once, front to back. A row's
    bytes are measured in Arrow before anything is copied: larger than ``max_bytes``, it
    is refused unread; else its size is taken from the run's budget first. A row group
    that cannot be decoded makes its rows bad files (the rows of other row groups are
    read as usual); running out of memory, or a network failure, stops the run instead:
    neither says anything about the rows.
    """

    def __init__(self, budget: ByteBudget) -> None:
        self.budget = budget
        self._open: _OpenShard | None = None
        self._failed: tuple[Shard, str, BaseException] | None = None

    def read_named(self, row: ParquetRow, max_bytes: int) -> tuple[ParquetRow, MemberBytes]:
        """The row named by its ``path`` field, and its bytes, counted against the budget;
        BadMaskError for a bad row."""
        shard = self._shard(row)
        group = shard.group_of(row.row)
        if not 0 <= row.row < shard.starts[-1]:
            raise BadMaskError(str(row), "is not in the shard (it changed since it was listed)")
        if group in shard.failed:
            raise BadMaskError(str(row), shard.failed[group])
        if row.row < shard.next_row:
            shard.seek(row.row)
        try:
            batch = None
            while shard.next_row <= row.row:
                batch = next(shard.rows, None)
                if batch is None:
                    raise EOFError("the shard holds fewer rows than its footer says")
                shard.next_row += batch.num_rows
        except Exception as error:
            failure = self._failure(row, error)
            if isinstance(failure, BadMaskError):
                shard.failed[group] = failure.problem
                if group + 1 < len(shard.starts) - 1:
                    shard.seek(shard.starts[group + 1])
                else:
                    shard.next_row = shard.starts[-1]
            raise failure from error
        assert batch is not None
        image = batch.column(0)
        named = replace(row, name=_path_field(image))
        return named, self._lend(str(named), image, max_bytes)

    def _lend(self, named: str, image: Any, max_bytes: int) -> MemberBytes:
        from ..base.budget import MemberBytes

        if image.is_null()[0].as_py():
            raise BadMaskError(named, "holds no image (null)")
        buffer = image.field("bytes")[0].as_buffer()
        if buffer is None:
            raise BadMaskError(named, "holds no image bytes (null)")
        size = buffer.size
        if size > max_bytes:
            raise too_large(named, size, max_bytes)
        self.budget.take(size)
        try:
            return MemberBytes(buffer.to_pybytes(), self.budget, size)
        except BaseException:
            self.budget.give(size)
            raise

    def _shard(self, row: ParquetRow) -> _OpenShard:
        # Rows were de-duplicated when listed: a shard is told by how the rows name it
        # (no key to compute for each of millions of rows).
        which = (row.shard, row.column)
        if self._failed is not None and self._failed[:2] == which:
            raise self._failure(row, self._failed[2])
        current = self._open
        if current is None or (current.shard, current.column) != which:
            self.close()
            try:
                current = self._open = _OpenShard(row.shard, row.column)
            except Exception as error:
                failure = self._failure(row, error)
                if isinstance(failure, BadMaskError):
                    self._failed = (row.shard, row.column, error)  # every row, at once
                raise failure from error
            current.seek(row.row)
        return current

    def _failure(self, row: ParquetRow, error: BaseException) -> MfbError:
        """A row that cannot be read: the shard's damage (a bad row, skippable), or the
        memory's or the network's failure (the run stops: no row is skipped for it)."""
        if isinstance(error, MfbError):
            return error
        if isinstance(error, MemoryError):
            return MfbError(f"{row}: out of memory while reading the shard")
        if isinstance(row.shard, RemoteFile) and is_network_failure(error):
            return MfbError(f"{row}: cannot be read ({reason(error, row.shard.base)})")
        if not _is_data_error(error):
            raise error  # a bug, not the file: the caller names it
        return BadMaskError(str(row), f"cannot be read ({_reason(error, row.shard)})")

    def close(self) -> None:
        if self._open is not None:
            self._open.close()
            self._open = None


def _is_data_error(error: BaseException) -> bool:
    """What pyarrow and the file system raise on a damaged, changed or missing shard."""
    import pyarrow as pa

    return isinstance(error, pa.ArrowException | OSError | ValueError | EOFError)


def _path_field(image: Any) -> str | None:
    """A row's ``path`` field as one short line of printable text, for messages (None
    when it has none)."""
    if image.type.get_field_index("path") < 0:
        return None
    value = image.field("path")[0]
    if not value.is_valid:
        return None
    text = value.as_py()
    shown = "".join(ch if ch.isprintable() else "?" for ch in text[:_MAX_NAME])
    return f"{shown}{'...' if len(text) > _MAX_NAME else ''}" or None
