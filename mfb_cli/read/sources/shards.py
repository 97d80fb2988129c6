"""PATH arguments that are not plain files: URLs, parquet shards and brace ranges.

Each argument is expanded (brace ranges first, see braces.py), then each input is keyed
(base/keys.py) and taken once, whatever route reached it: two arguments, a link to a
shard, '{0000,0000}', a URL given twice or listed twice. A remote archive is listed with
the same member rules as one on disk (archives.py); a parquet shard lists its rows
lazily (parquet.py). ``zip::URL`` and ``tar::URL`` name a remote archive as fsspec's
chained URLs do, and are read by mfb's own archive rules too.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ...errors import BadMaskError, MfbError, OptionError, Param
from ..base.keys import Seen, SourceKey, local_key, url_key
from ..base.urls import chain, expand_outside_secrets, is_url, safe_url, shown_path
from .archives import is_archive
from .braces import MAX_BRACE_PATHS, count_braces, expand_braces, iter_braces

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    from .archives import ArchiveMember, LabelSource
    from .remote import RemoteFile

__all__ = [
    "MAX_BRACE_PATHS",
    "count_braces",
    "expand_braces",
    "is_parquet",
    "read_remote_list",
    "source_key",
    "split_paths",
]


def split_paths(
    paths: Iterable[Path | str],
    matches: Callable[[str], bool],
    parquet_column: str | None,
    seen: Seen | None = None,
    unreadable: list[tuple[object, str]] | None = None,
) -> tuple[list[Path], list[Sequence[LabelSource]]]:
    """Local paths (archives, folders and files, brace ranges expanded) and the sources
    read here, in runs: objects at URLs, a remote archive's members, a shard's rows.

    ``seen`` holds the keys of the inputs taken so far: one met again is left out. A
    remote archive that cannot be listed (damaged, missing) is added to ``unreadable``
    when given, as one on disk is (find.py), else raised.
    """
    seen = Seen() if seen is None else seen
    local: list[Path] = []
    runs: list[Sequence[LabelSource]] = []
    any_rows = False
    for raw in paths:
        text = raw if isinstance(raw, str) else str(raw)
        for one in _expanded(text):
            if is_url(one) and _local_url(one) is None:
                found = _remote(one, matches, parquet_column, seen, unreadable)
                any_rows = any_rows or any(_is_rows(run) for run in found)
                runs += found
                continue
            name = _local_url(one) or one
            if is_parquet(name) and Path(name).is_file():
                from .parquet import list_rows

                if seen.first(local_key(name)):
                    runs.append(list_rows(name, parquet_column))
                any_rows = True
            else:
                local.append(Path(name) if isinstance(raw, str) or name != text else raw)
    if parquet_column is not None and not any_rows:
        # An option without effect is refused, not ignored (a typo'd shard name, a folder).
        raise OptionError(
            Param("parquet_column", parquet_column),
            " has no effect: no .parquet shard among the paths given (folders are searched "
            "with the glob pattern, not for shards)",
        )
    return local, runs


def _expanded(text: str) -> Iterable[str]:
    """A PATH argument's brace ranges expanded: in a URL, in its hosts and paths only (a
    password or a query holding braces is taken as written)."""
    if "{" not in text:
        return [text]
    if is_url(text):
        return expand_outside_secrets(text, iter_braces)
    return iter_braces(text)


def source_key(source: LabelSource) -> SourceKey:
    """The identity of any label source (base/keys.py): what runs are de-duplicated on."""
    return local_key(source) if isinstance(source, Path) else source.key


def is_parquet(name: object) -> bool:
    """Whether a PATH argument is read as a parquet shard (by its name)."""
    return str(name).lower().endswith(".parquet")


def _is_rows(run: Sequence[LabelSource]) -> bool:
    from .parquet import ShardRows

    return isinstance(run, ShardRows)


def _local_url(url: str) -> str | None:
    """The local path a ``file://`` URL names, or the archive ``tar::file://`` or
    ``zip::file://`` names (read as a local path: the same rules, the same identity),
    else None."""
    chained = _archive_chain(url)
    if chained is not None and not chained[0].strip("/"):
        url = chained[1]
    lowered = url.lower()
    if lowered.startswith(("file://", "local://")) and len(chain(url)) == 1:
        return url_key(url).place
    return None


def _remote(
    url: str,
    matches: Callable[[str], bool],
    column: str | None,
    seen: Seen,
    unreadable: list[tuple[object, str]] | None,
) -> list[Sequence[LabelSource]]:
    """The sources one URL leads to, in runs, each input once."""
    from .archives import list_members as list_all
    from .parquet import list_rows
    from .remote import filesystem, is_pattern, list_remote, one_object

    def list_members(archive: RemoteFile, keep: Callable[[str], bool]) -> list[ArchiveMember]:
        try:
            return list_all(archive, keep)
        except BadMaskError as error:
            if unreadable is None:
                raise
            unreadable.append((archive, error.problem))
            return []

    chained = _archive_chain(url)
    if chained is not None:
        inside, target = chained
        archive = _one(target, one_object)
        if not seen.first(archive.key):
            return []
        prefix = inside.strip("/")
        return [
            list_members(
                archive,
                lambda name: (
                    (not prefix or name.startswith(prefix + "/"))
                    and matches(name[len(prefix) :].lstrip("/"))
                ),
            )
        ]
    found = list_remote(url, matches)
    root = filesystem(url)[1]
    named = is_pattern(url) or (len(found) == 1 and found[0].path == root)
    runs: list[Sequence[LabelSource]] = []
    plain: list[RemoteFile] = []
    for remote in found:
        if not seen.first(remote.key):
            continue
        if is_parquet(remote.name) or (named and _is_archive_name(remote.name)):
            if plain:
                runs.append(tuple(plain))
                plain = []
            if is_parquet(remote.name):
                runs.append(list_rows(remote, column))
            else:
                runs.append(list_members(remote, matches))
        else:
            plain.append(remote)
    if plain:
        runs.append(tuple(plain))
    return runs


def _one(url: str, one_object: Callable[[str], RemoteFile]) -> RemoteFile:
    from .remote import reason

    try:
        return one_object(url)
    except MfbError:
        raise
    except Exception as error:
        raise MfbError(f"{shown_path(url)}: cannot be read ({reason(error, url)})") from error


def _archive_chain(url: str) -> tuple[str, str] | None:
    """('inner/path', 'URL') of 'zip::URL', 'tar::URL' or 'zip://inner/path::URL': a remote
    archive, read by mfb's archive rules (None for any other URL)."""
    pieces = chain(url)
    protocol, _, inside = pieces[0].partition("://")
    target = "::".join(pieces[1:])
    if len(pieces) < 2 or protocol.lower() not in ("zip", "tar") or not is_url(target):
        return None
    return inside, target


def _is_archive_name(name: str) -> bool:
    return is_archive(Path(safe_url(name).rsplit("/", 1)[-1]))


def read_remote_list(
    list_file: str, column: int | None, root: str, suffix: str, seen: Seen | None = None
) -> list[RemoteFile]:
    """The objects a list file names when it or ``root`` is a URL, each checked to exist.

    Entries are parsed as in read_list_file; relative ones are resolved against ``root``
    (else the list's own URL folder). The folder is listed once, and the entries looked up
    in that listing, never one request per entry; an entry that is a URL of its own is
    looked up alone. A list read from a URL names objects on its own file system only:
    an entry on another host or protocol (``file://`` included), or an absolute local
    path, is refused, and so is a local ``root`` (an untrusted list would make mfb read
    local files, and tell which exist).
    """
    from .lists import list_entries
    from .remote import filesystem, list_remote
    from .textfiles import read_text

    seen = Seen() if seen is None else seen
    shown = shown_path(list_file)
    remote_list = is_url(list_file)
    if remote_list and root and not is_url(root):
        raise OptionError(
            f"{shown}: a list read from a URL names objects on its own file system; ",
            Param("root"),
            " must be a URL there too, not a local folder",
        )
    text = read_text(list_file, "list")
    base = (root or _folder_of(list_file)).rstrip("/")
    home = _place(list_file if remote_list else base)
    # An http(s) server has no listing to ask: each entry is asked for on its own.
    by_entry = base.lower().startswith(("http://", "https://"))
    listing = {} if by_entry else {f.path: f for f in list_remote(base, lambda name: True)}
    found: list[RemoteFile] = []
    for number, entry in list_entries(text, shown, column, suffix):
        where = f"{shown}:{number}"
        if is_url(entry):
            if remote_list and _place(entry) != home:
                raise MfbError(
                    f"{where}: {shown_path(entry)}: not on the list's own file system "
                    f"({home}); a list read from a URL names objects there only"
                )
            try:
                objects = list_remote(entry, lambda name: True)[:1]
            except MfbError as error:
                raise MfbError(f"{where}: {error}") from error
        elif remote_list and (entry.startswith(("/", "\\")) or entry[1:3] in (":\\", ":/")):
            raise MfbError(
                f"{where}: {entry}: an absolute path; a list read from a URL names objects "
                "relative to its own folder (or to ",
                Param("root"),
                ")",
            )
        elif by_entry:
            objects = [_entry(f"{base}/{entry}", f"{where}: {entry}", base)]
        else:
            wanted = filesystem(f"{base}/{entry}")[1]
            if wanted not in listing:
                raise MfbError(f"{where}: {entry}: no such object in {shown_path(base)}")
            objects = [listing[wanted]]
        found += [o for o in objects if seen.first(o.key)]
    return found


def _folder_of(url: str) -> str:
    """The folder of a file's URL: its path without the last part, query or fragment."""
    *outer, last = chain(url)
    last = last.split("#", 1)[0].split("?", 1)[0]
    return "::".join([*outer, last.rsplit("/", 1)[0]])


def _entry(url: str, where: str, base: str) -> RemoteFile:
    """The object a list entry names at an http(s) server (asked for on its own)."""
    from .remote import one_object, reason

    try:
        return one_object(url)
    except MfbError:
        raise
    except Exception as error:
        problem = reason(error, url)
        if problem == "no such object":
            raise MfbError(f"{where}: no such object in {shown_path(base)}") from error
        raise MfbError(f"{where}: cannot be read ({problem})") from error


def _place(url: str) -> str:
    """The file system a URL is on, as protocol://host (a bucket, a server)."""
    place = url_key(url).place if is_url(url) else "file://"
    chain, _, last = place.rpartition("::")
    protocol, _, rest = last.partition("://")
    if protocol == "" or not is_url(url):
        return "the local disk"
    return f"{chain + '::' if chain else ''}{protocol}://{rest.split('/', 1)[0]}"
