"""Find label files: folders (recursive), single files, list files and archives; sorted."""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import MfbError, NoMasksFoundError
from .archives import LabelSource, is_archive, list_members
from .lists import read_list_file
from .remote import is_url, safe_url

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

DEFAULT_GLOB = "*.png"


def _matches(relative: str, pattern: str) -> bool:
    # A pattern with a slash is matched against the path below the folder, otherwise
    # against the file name; case-insensitively, so '*.png' also finds 'A.PNG'.
    target = relative if "/" in pattern else relative.rsplit("/", 1)[-1]
    return fnmatch.fnmatchcase(target.lower(), pattern.lower())


def _walk(root: Path, pattern: str) -> Iterator[Path]:
    """Yield matching files below root, following symlinks but never looping.

    An explicit stack, not recursion (os.walk recurses in Python 3.11), so a folder tree
    of any depth is walked. Folders are entered in sorted order, each (device, inode) once:
    a symlink loop or a second link to a folder already walked adds nothing.
    """
    seen_dirs: set[tuple[int, int]] = set()
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            stat = folder.stat()
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError as error:
            raise MfbError(f"{folder}: cannot read folder ({error.strerror or error})") from error
        key = (stat.st_dev, stat.st_ino)
        if key in seen_dirs:
            continue
        seen_dirs.add(key)
        subfolders = []
        for entry in entries:
            # Hidden entries are editor, notebook or macOS debris (.ipynb_checkpoints, ._x.png).
            if entry.name.startswith("."):
                continue
            path = Path(folder, entry.name)
            if _is_dir(entry):
                subfolders.append(path)
            elif _matches(path.relative_to(root).as_posix(), pattern) and path.is_file():
                yield path
        stack.extend(reversed(subfolders))


def _is_dir(entry: os.DirEntry[str]) -> bool:
    # As os.walk: a symlink to a folder is a folder; an entry that cannot be stat'ed is not.
    try:
        return entry.is_dir()
    except OSError:
        return False


def find_label_files(
    paths: Iterable[Path | str], glob: str = DEFAULT_GLOB, *, allow_empty: bool = False
) -> list[Path]:
    """Expand folders and files into a sorted list of label files, each listed once.

    Files named directly are taken whatever their name; folders are searched recursively
    for names matching ``glob``. The order is sorted by path so results never depend on the
    file system, and a file reached twice (two arguments, two symlinks) is counted once.
    """
    # Keyed by the real path as a string: a resolved Path object per file would take about
    # 0.4 KiB (20 MiB for 50,000 files) and one more stat each.
    found: dict[str, Path] = {}
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            candidates: Iterable[Path] = _walk(path, glob)
        elif path.is_file():
            candidates = [path]
        elif path.exists() or path.is_symlink():
            raise MfbError(f"{path}: not a regular file or folder (broken link?)")
        else:
            raise MfbError(f"{path}: no such file or folder")
        for candidate in candidates:
            found.setdefault(os.path.realpath(candidate), candidate)
    if not found and not allow_empty:
        where = ", ".join(str(p) for p in paths) or "(no paths given)"
        raise NoMasksFoundError(f"{where}: no label files matching '{glob}'")
    return sorted(found.values(), key=lambda p: p.as_posix())


def find_label_sources(
    paths: Iterable[Path | str],
    glob: str = DEFAULT_GLOB,
    *,
    unreadable: list[tuple[Path, str]] | None = None,
    lists: Iterable[Path | str] = (),
    column: int | None = None,
    root: Path | str | None = None,
    suffix: str = "",
    parquet_column: str | None = None,
) -> list[LabelSource]:
    """Like find_label_files, and also archives given as PATH and list files (``lists``).

    Archives (.zip, .tar, .tar.gz/.bz2/.xz) are searched with ``glob`` like folders; list
    files name label files one per line (see read_list_file, which takes ``column``,
    ``root`` and ``suffix``). Files on disk come sorted by
    path and each once; archive members follow the order described in list_members.
    """
    # URLs, parquet shards and brace ranges (WebDataset's 'train-{000..099}.tar') first.
    from .shards import read_remote_list, split_paths

    paths = list(paths)
    given, shards = split_paths(paths, lambda name: _matches(name, glob), parquet_column)
    archives = [p for p in given if p.is_file() and is_archive(p)]
    plain = [p for p in given if p not in archives]
    found: dict[str, Path] = {}  # by real path, as in find_label_files
    if plain:
        for path in find_label_files(plain, glob, allow_empty=True):
            found.setdefault(os.path.realpath(path), path)
    for list_file in lists:
        if is_url(str(list_file)) or is_url(str(root)):  # read/shards.py: entries are URLs
            shards.extend(read_remote_list(str(list_file), column, str(root or ""), suffix))
            continue
        for path in read_list_file(Path(list_file), column=column, root=root, suffix=suffix):
            found.setdefault(os.path.realpath(path), path)
    files = sorted(found.values(), key=lambda p: p.as_posix())
    members: list[LabelSource] = []
    for archive in sorted(set(archives), key=lambda p: p.as_posix()):
        try:
            members.extend(list_members(archive, lambda name: _matches(name, glob)))
        except MfbError as error:
            # An archive that cannot be listed is an error, or, given ``unreadable``, is
            # added to it as (archive, problem) and left out (check lists it as a bad file).
            if unreadable is None:
                raise
            unreadable.append((archive, str(error).removeprefix(f"{archive}: ")))
    members.extend(shards)
    if not files and not members and not unreadable:
        shown = [safe_url(p) if isinstance(p, str) and is_url(p) else p for p in paths]
        where = ", ".join(str(p) for p in [*shown, *map(Path, lists)]) or "(no paths given)"
        raise NoMasksFoundError(f"{where}: no label files matching '{glob}'")
    return [*files, *members]
