"""PATH arguments that are not plain files: URLs, parquet shards and brace ranges.

WebDataset names its shards with brace ranges ('train-{000000..000099}.tar'); they are
expanded here as WebDataset does (braceexpand: ranges keep their zero padding, lists
'{a,b}', left to right), and each shard is then read like any archive or file.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from ...errors import MfbError, OptionError, Param
from ..base.urls import is_url, safe_url, shown_path
from .archives import is_archive

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from .parquet import ParquetRow
    from .remote import RemoteFile

_RANGE = re.compile(r"^(-?\d+)\.\.(-?\d+)$")

#: The most paths one brace pattern may expand to: far beyond any shard list, and a
#: pattern such as '{1..1000000000}' is refused before it is built in memory.
MAX_BRACE_PATHS = 1_000_000


def _too_many(pattern: str) -> MfbError:
    return MfbError(
        f"{shown_path(pattern)}: the brace ranges expand to more than {MAX_BRACE_PATHS} paths"
    )


def expand_braces(pattern: str) -> list[str]:
    """'a{00..02}b' -> a00b a01b a02b; '{x,y}' -> x y; nested lists; '{x}' kept as written."""
    opening = pattern.find("{")
    closing = _matching(pattern, opening) if opening >= 0 else -1
    if closing < 0:
        return [pattern]
    head, body, tail = pattern[:opening], pattern[opening + 1 : closing], pattern[closing + 1 :]
    parts = _split_commas(body)
    ranged = _RANGE.match(body)
    if len(parts) > 1:
        choices = [choice for part in parts for choice in expand_braces(part)]
    elif ranged:
        first, last = ranged.group(1), ranged.group(2)
        padded = any(
            len(n.lstrip("-")) > 1 and n.lstrip("-").startswith("0") for n in (first, last)
        )
        width = max(len(first), len(last)) if padded else 0
        step = 1 if int(last) >= int(first) else -1
        if abs(int(last) - int(first)) >= MAX_BRACE_PATHS:
            raise _too_many(pattern)
        choices = [str(n).zfill(width) for n in range(int(first), int(last) + step, step)]
    else:
        choices = ["{" + inner + "}" for inner in expand_braces(body)]
    tails = expand_braces(tail)
    if len(choices) * len(tails) > MAX_BRACE_PATHS:
        raise _too_many(pattern)
    return [head + choice + rest for choice in choices for rest in tails]


def _matching(text: str, opening: int) -> int:
    depth = 0
    for index in range(opening, len(text)):
        depth += {"{": 1, "}": -1}.get(text[index], 0)
        if depth == 0:
            return index
    return -1


def _split_commas(body: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for index, char in enumerate(body):
        depth += {"{": 1, "}": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(body[start:index])
            start = index + 1
    return [*parts, body[start:]]


def split_paths(
    paths: Iterable[Path | str], matches: Callable[[str], bool], parquet_column: str | None
) -> tuple[list[Path], list[RemoteFile | ParquetRow]]:
    """Local paths (archives and brace ranges expanded) and the sources read here.

    URLs are listed through fsspec (read/remote.py, ``matches`` filters below a prefix),
    parquet shards, local or remote, become one source per row of their image column.
    """
    local: list[Path] = []
    shards: list[RemoteFile | ParquetRow] = []
    for raw in paths:
        text = raw if isinstance(raw, str) else str(raw)
        for one in expand_braces(text) if "{" in text else [text]:
            if is_url(one):
                from .parquet import list_rows
                from .remote import filesystem, list_remote

                found = list_remote(one, matches)
                if len(found) == 1 and found[0].path == filesystem(one)[1] and "::" not in one:
                    # An archive object is read through fsspec's own archive file systems
                    # (tar::, zip::), listing its members: shard:member names each.
                    kind = _archive_kind(one)
                    if kind is not None:
                        shards.extend(list_remote(f"{kind}::{one}", matches))
                        continue
                for remote in found:
                    if is_parquet(remote.path):
                        shards.extend(list_rows(_url_of(one, remote), parquet_column))
                    else:
                        shards.append(remote)
            elif is_parquet(one) and Path(one).is_file():
                from .parquet import list_rows

                shards.extend(list_rows(one, parquet_column))
            else:
                local.append(Path(one) if isinstance(raw, str) or one != text else raw)
    if parquet_column is not None and not _has_rows(shards):
        # An option without effect is refused, not ignored (a typo'd shard name, a folder).
        raise OptionError(
            Param("parquet_column", parquet_column),
            " has no effect: no .parquet shard among the paths given (folders are searched "
            "with the glob pattern, not for shards)",
        )
    return local, shards


def _has_rows(shards: list[RemoteFile | ParquetRow]) -> bool:
    from .parquet import ParquetRow

    return any(isinstance(shard, ParquetRow) for shard in shards)


def is_parquet(name: object) -> bool:
    """Whether a PATH argument is read as a parquet shard (by its name)."""
    return str(name).lower().endswith(".parquet")


def read_remote_list(
    list_file: str, column: int | None, root: str, suffix: str
) -> list[RemoteFile]:
    """The objects a list file names when it or ``root`` is a URL, each checked to exist.

    Entries are parsed as in read_list_file; relative ones are resolved against ``root``
    (else the list's own URL folder). The folder is listed once, and the entries looked up
    in that listing, never one request per entry; an entry that is a URL of its own is
    looked up alone.
    """
    from .lists import list_entries
    from .remote import filesystem, list_remote
    from .textfiles import read_text

    text = read_text(list_file, "list")
    base = (root or list_file.rsplit("/", 1)[0]).rstrip("/")
    listing = {f.path: f for f in list_remote(base, lambda name: True)}
    found: list[RemoteFile] = []
    for number, entry in list_entries(text, safe_url(list_file), column, suffix):
        if is_url(entry):
            try:
                found.extend(list_remote(entry, lambda name: True)[:1])
            except MfbError as error:
                raise MfbError(f"{safe_url(list_file)}:{number}: {error}") from error
            continue
        wanted = filesystem(f"{base}/{entry}")[1]
        if wanted not in listing:
            raise MfbError(
                f"{safe_url(list_file)}:{number}: {entry}: no such object in {safe_url(base)}"
            )
        found.append(listing[wanted])
    return found


def _archive_kind(url: str) -> str | None:
    name = safe_url(url).lower()
    if name.endswith(".zip"):
        return "zip"
    return "tar" if is_archive(Path(name.rsplit("/", 1)[-1])) else None


def _url_of(base: str, remote: RemoteFile) -> str:
    """A URL for one listed object (its own, for the shard reader to open)."""
    from .remote import filesystem

    fs, _ = filesystem(base)
    if "::" in base:
        return base
    return str(fs.unstrip_protocol(remote.path)) if remote.path else base
