"""Label images stored in parquet shards (Hugging Face ``Image`` columns), read in place.

An image column is an Arrow ``struct{bytes: binary, path: string}``; only that column is
read, in record batches, and each row's bytes are decoded exactly as a file would be.
Each row is named ``shard:ROW`` (and its ``path`` field, when present), stable across runs.
pyarrow is an optional extra (``pip install 'mfb-cli[parquet]'``).
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ...errors import BadMaskError, MfbError, Param
from ..base.urls import is_url, safe_url
from .remote import filesystem, too_large

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from ..base.budget import ByteBudget, MemberBytes

#: Rows read per record batch: a few MB of masks at a time, whatever the shard's size.
BATCH_ROWS = 64


@dataclass(frozen=True)
class ParquetRow:
    """One image of a parquet shard: ``shard`` (a path or URL), ``column``, ``row``."""

    shard: str
    column: str
    row: int
    name: str | None = None

    def __str__(self) -> str:
        where = f"{safe_url(self.shard) if is_url(self.shard) else self.shard}:{self.row}"
        return f"{where} ({self.name})" if self.name else where


def _open(shard: str) -> Any:
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    if is_url(shard):
        fs, path = filesystem(shard)
        return pq.ParquetFile(fs.open(path, "rb"))
    return pq.ParquetFile(shard)


def _pyarrow(shard: str) -> None:
    try:
        import pyarrow.parquet  # noqa: F401
    except ImportError as error:
        raise MfbError(
            f"{shard}: reading parquet needs pyarrow; pip install 'mfb-cli[parquet]'"
        ) from error


def image_columns(schema: Any) -> list[str]:
    """The columns of a schema that hold images: struct{bytes: binary, ...}."""
    import pyarrow as pa

    found = []
    for field in schema:
        if pa.types.is_struct(field.type):
            children = {
                field.type.field(i).name: field.type.field(i).type
                for i in range(field.type.num_fields)
            }
            kind = children.get("bytes")
            if kind is not None and (pa.types.is_binary(kind) or pa.types.is_large_binary(kind)):
                found.append(field.name)
    return found


def list_rows(shard: str, column: str | None) -> list[ParquetRow]:
    """Every row of a shard's image column, named; ``column`` None picks the only one."""
    _pyarrow(shard)
    shown = safe_url(shard) if is_url(shard) else shard
    try:
        opened = _open(shard)
    except MfbError:
        raise
    except Exception as error:
        raise MfbError(f"{shown}: cannot read as parquet ({_reason(error)})") from error
    try:
        schema = opened.schema_arrow
        images = image_columns(schema)
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
        struct = schema.field(column).type
        names: list[Any] = [None] * opened.metadata.num_rows
        if struct.get_field_index("path") >= 0:
            paths = opened.read(columns=[f"{column}.path"]).column(0).combine_chunks()
            names = [row["path"] for row in paths.to_pylist()]
    except MfbError:
        raise
    except Exception as error:
        raise MfbError(f"{shown}: cannot read as parquet ({_reason(error)})") from error
    finally:
        _close(opened)
    return [ParquetRow(shard, column, row, name) for row, name in enumerate(names)]


def _close(opened: Any) -> None:
    with suppress(Exception):
        opened.close()


def _reason(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def fetch_parquet(
    pairs: Iterable[tuple[Any, MemberBytes | BadMaskError | None]],
    budget: ByteBudget,
    max_bytes: int | None,
) -> Iterator[tuple[Any, MemberBytes | BadMaskError | None]]:
    """``pairs`` with each ParquetRow's bytes, read a record batch of its shard at a time.

    Rows of a shard come one after another (as listed), so each shard is read once, front
    to back, holding one batch; each row's bytes are counted against the run's budget.
    """
    from ..base.budget import MemberBytes

    current: tuple[str, str] | None = None
    batches: Iterator[Any] = iter(())
    opened: Any = None
    buffered: list[Any] = []
    next_row = 0
    try:
        for source, lent in pairs:
            if not isinstance(source, ParquetRow):
                yield source, lent
                continue
            if current != (source.shard, source.column) or source.row < next_row:
                _close(opened)
                opened = _open(source.shard)
                batches = opened.iter_batches(batch_size=BATCH_ROWS, columns=[source.column])
                current, buffered, next_row = (source.shard, source.column), [], 0
            try:
                while next_row + len(buffered) <= source.row:
                    next_row += len(buffered)
                    batch = next(batches)
                    buffered = batch.column(0).field("bytes").to_pylist()
                data = buffered[source.row - next_row]
            except Exception as error:
                yield source, BadMaskError(str(source), f"cannot be read ({_reason(error)})")
                continue
            if data is None:
                yield source, BadMaskError(str(source), "holds no image bytes (null)")
            elif max_bytes is not None and len(data) > max_bytes:
                yield source, too_large(str(source), len(data), max_bytes)
            else:
                budget.take(len(data))
                yield source, MemberBytes(bytes(data), budget, len(data))
    finally:
        _close(opened)
