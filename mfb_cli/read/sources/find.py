"""Find label files: folders (recursive), single files, list files and archives; sorted."""

from __future__ import annotations

import fnmatch
import functools
import itertools
import os
from pathlib import Path
from typing import TYPE_CHECKING

from ...errors import MfbError, NoMasksFoundError
from ..base.urls import is_url, shown_path
from .archives import is_archive, list_members
from .file_list import FileList, FileListBuilder, LabelSources, Runs
from .lists import iter_list_file

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

    from .archives import LabelSource

DEFAULT_GLOB = "*.png"


def _matches(relative: str, pattern: str) -> bool:
    # A pattern with a slash is matched against the path below the folder, otherwise
    # against the file name; case-insensitively, so '*.png' also finds 'A.PNG'.
    target = relative if "/" in pattern else relative.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatchcase(target.lower(), one) for one in _spellings(pattern.lower()))


@functools.lru_cache(maxsize=64)
def _spellings(pattern: str) -> tuple[str, ...]:
    """The fnmatch patterns ``pattern`` stands for: '**/' is zero or more folders, as in
    pathlib, gitignore and the shells' globstar ('**/*.png' also finds 'a.png' at the top),
    so each '**/' is kept (fnmatch's '*' spans folders too: one or more) or dropped (none).
    """
    parts = pattern.split("**/")
    if len(parts) > _GLOBSTARS + 1:  # past a few, the rest stay as written
        parts = [*parts[:_GLOBSTARS], "**/".join(parts[_GLOBSTARS:])]
    found = []
    for kept in itertools.product(("**/", ""), repeat=len(parts) - 1):
        found.append(parts[0] + "".join(k + p for k, p in zip(kept, parts[1:], strict=True)))
    return tuple(dict.fromkeys(found))


#: The '**/' of a pattern read as "zero or more folders" (2**N spellings matched).
_GLOBSTARS = 4


def _walk(root: str, pattern: str) -> Iterator[tuple[str, bool]]:
    """Yield (name, is a link) of the matching files below root, following symlinks but
    never looping.

    An explicit stack, not recursion (os.walk recurses in Python 3.11), so a folder tree
    of any depth is walked. Folders are entered in sorted order, each (device, inode) once:
    a symlink loop or a second link to a folder already walked adds nothing, so a file is
    reached twice in one walk only through a link to a file ("is a link" is true for every
    file of a folder holding such a link). Names are built as strings (no Path object per
    file) and spelled as ``str(Path(...))`` would spell them.
    """
    seen_dirs: set[tuple[int, int]] = set()
    by_path = "/" in pattern  # else only the file name is matched
    stack = [(root, "")]
    while stack:
        folder, relative = stack.pop()
        # Names only, not the listing's entries (three strings and a stat cache each): a
        # folder of a million masks is held once, as its matching names, to sort them.
        files: list[str] = []
        subfolders: list[str] = []
        linked = False
        try:
            stat = os.stat(folder)  # noqa: PTH116 (names are strings here, see above)
            key = (stat.st_dev, stat.st_ino)
            if key in seen_dirs:
                continue
            seen_dirs.add(key)
            with os.scandir(folder) as listing:
                for entry in listing:
                    name = entry.name
                    # Hidden entries are editor, notebook or macOS debris (._x.png).
                    if name.startswith("."):
                        continue
                    if _is_dir(entry):
                        subfolders.append(name)
                    elif _matches(relative + name if by_path else name, pattern) and _is_file(
                        entry
                    ):
                        files.append(name)
                        linked = linked or entry.is_symlink()
        except OSError as error:
            raise MfbError(f"{folder}: cannot read folder ({error.strerror or error})") from error
        prefix = "" if folder == "." else folder if folder.endswith("/") else folder + "/"
        files.sort()
        for name in files:
            yield prefix + name, linked
        subfolders.sort(reverse=True)
        stack.extend((prefix + name, f"{relative}{name}/") for name in subfolders)


def _is_dir(entry: os.DirEntry[str]) -> bool:
    # As os.walk: a symlink to a folder is a folder; an entry that cannot be stat'ed is not.
    try:
        return entry.is_dir()
    except OSError:
        return False


def _is_file(entry: os.DirEntry[str]) -> bool:
    # A regular file or a link to one, from the folder listing's file type where it has one
    # (no stat for each file); a FIFO, socket or device is not a label file.
    try:
        return entry.is_file()
    except OSError:
        return False


def _found_files(paths: Iterable[Path | str], glob: str, listed: Iterable[Path] = ()) -> FileList:
    """The files on disk that ``paths`` (folders, files) and ``listed`` lead to, each once
    (by real path: two arguments, two links), sorted by path."""
    found = FileListBuilder()
    maybe_twice = False  # whether a file may have been reached twice
    given = 0
    for raw in paths:
        given += 1
        path = Path(raw)
        if path.is_dir():
            for name, linked in _walk(str(path), glob):
                found.append(name)
                maybe_twice = maybe_twice or linked
        elif path.is_file():
            found.append(str(path))
        elif path.exists() or path.is_symlink():
            raise MfbError(f"{path}: not a regular file or folder (broken link?)")
        else:
            raise MfbError(f"{path}: no such file or folder")
    for entry in listed:
        found.append(str(entry))
        maybe_twice = True
    if not maybe_twice and given <= 1:
        return found.build(sort=True)
    # The first name a file was reached by is kept, as the argument order gave it.
    first: dict[str, str] = {}
    built = found.build()
    for real, name in zip(_real_paths(built.names()), built.names(), strict=True):
        first.setdefault(real, name)
    return FileList(sorted(first.values()))


def _real_paths(names: Iterable[str]) -> Iterator[str]:
    """os.path.realpath of each name, resolving each folder once (realpath looks at every
    component of every name): a name is its folder's real path and its own name, unless
    it is a link, which is followed."""
    folders: dict[str, str] = {}
    for name in names:
        folder, own = os.path.split(name)
        real_folder = folders.get(folder)
        if real_folder is None:
            real_folder = folders[folder] = os.path.realpath(folder or os.curdir)
        real = os.path.join(real_folder, own)  # noqa: PTH118 (strings: no Path per file)
        yield os.path.realpath(real) if os.path.islink(real) else real  # noqa: PTH114


def find_label_files(
    paths: Iterable[Path | str], glob: str = DEFAULT_GLOB, *, allow_empty: bool = False
) -> FileList:
    """Expand folders and files into a sorted list of label files, each listed once.

    Files named directly are taken whatever their name; folders are searched recursively
    for names matching ``glob``. The order is sorted by path so results never depend on the
    file system, and a file reached twice (two arguments, two symlinks) is counted once.
    The list holds the names compactly (a FileList, a sequence of Path).
    """
    paths = list(paths)
    found = _found_files(paths, glob)
    if not found and not allow_empty:
        where = ", ".join(str(p) for p in paths) or "(no paths given)"
        raise NoMasksFoundError(f"{where}: no label files matching '{glob}'")
    return found


def _not_on_disk_twice(
    runs: list[Sequence[LabelSource]], files: FileList
) -> list[Sequence[LabelSource]]:
    """The runs without the objects that are files on disk also found as files: a local
    file reached through fsspec ('--root file://...', a list at a file:// URL) has the
    key of its real path (base/keys.py), and is counted once, as a file."""
    from .shards import source_key

    def on_disk(source: LabelSource) -> bool:
        key = source_key(source)
        return not key.inner and "://" not in key.place

    if not files or not any(on_disk(s) for run in runs if isinstance(run, tuple) for s in run):
        return runs
    local = set(_real_paths(files.names()))
    return [
        tuple(s for s in run if not (on_disk(s) and source_key(s).place in local))
        if isinstance(run, tuple)
        else run
        for run in runs
    ]


def find_label_sources(
    paths: Iterable[Path | str],
    glob: str = DEFAULT_GLOB,
    *,
    unreadable: list[tuple[object, str]] | None = None,
    lists: Iterable[Path | str] = (),
    column: int | None = None,
    root: Path | str | None = None,
    suffix: str = "",
    parquet_column: str | None = None,
) -> LabelSources:
    """Like find_label_files, and also archives given as PATH and list files (``lists``).

    Archives (.zip, .tar, .tar.gz/.bz2/.xz) are searched with ``glob`` like folders; list
    files name label files one per line (see iter_list_file, which takes ``column``,
    ``root`` and ``suffix``). Files on disk come sorted by path and each once; archive
    members follow the order described in list_members. Every input is counted once,
    whatever route reached it (base/keys.py): a link, a second argument, a brace range
    naming it twice, a URL given or listed twice.
    """
    # URLs, parquet shards and brace ranges (WebDataset's 'train-{000..099}.tar') first.
    from ..base.keys import Seen
    from .shards import read_remote_list, split_paths

    paths = list(paths)
    seen = Seen()
    given, runs = split_paths(
        paths, lambda name: _matches(name, glob), parquet_column, seen, unreadable
    )
    archives = [p for p in given if p.is_file() and is_archive(p)]
    plain = [p for p in given if p not in archives]

    def listed() -> Iterator[Path]:  # read after the folders, so their errors come first
        for list_file in lists:
            if is_url(str(list_file)) or is_url(str(root)):  # read/shards.py: entries are URLs
                runs.append(
                    tuple(read_remote_list(str(list_file), column, str(root or ""), suffix, seen))
                )
                continue
            yield from iter_list_file(Path(list_file), column=column, root=root, suffix=suffix)

    files = _found_files(plain, glob, listed())
    runs = _not_on_disk_twice(runs, files)
    members: list[LabelSource] = []
    unique: dict[str, Path] = {}  # an archive reached twice (two spellings, a link) once
    for archive in archives:
        unique.setdefault(os.path.realpath(archive), archive)
    for archive in sorted(unique.values(), key=lambda p: p.as_posix()):
        try:
            members.extend(list_members(archive, lambda name: _matches(name, glob)))
        except MfbError as error:
            # An archive that cannot be listed is an error, or, given ``unreadable``, is
            # added to it as (archive, problem) and left out (check lists it as a bad file).
            if unreadable is None:
                raise
            unreadable.append((archive, str(error).removeprefix(f"{archive}: ")))
    fetched = Runs([tuple(members), *runs])
    if not files and not fetched and not unreadable:
        shown = [shown_path(p) for p in paths]
        where = ", ".join(str(p) for p in [*shown, *map(shown_path, lists)]) or "(no paths given)"
        raise NoMasksFoundError(f"{where}: no label files matching '{glob}'")
    return LabelSources(files, fetched)
