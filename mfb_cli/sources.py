"""Find label files: folders (recursive), single files, sorted and deterministic."""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from .errors import MfbError, NoMasksFoundError

DEFAULT_GLOB = "*.png"


def _matches(relative: str, pattern: str) -> bool:
    # A pattern with a slash is matched against the path below the folder, otherwise
    # against the file name; case-insensitively, so '*.png' also finds 'A.PNG'.
    target = relative if "/" in pattern else relative.rsplit("/", 1)[-1]
    return fnmatch.fnmatchcase(target.lower(), pattern.lower())


def _walk(root: Path, pattern: str) -> Iterator[Path]:
    """Yield matching files below root, following symlinks but never looping."""
    seen_dirs: set[tuple[int, int]] = set()

    def on_error(error: OSError) -> None:
        raise MfbError(f"{error.filename}: cannot read folder ({error.strerror})")

    for folder, dirs, files in os.walk(root, followlinks=True, onerror=on_error):
        stat = Path(folder).stat()
        key = (stat.st_dev, stat.st_ino)
        if key in seen_dirs:  # a symlink loop or a second link to a folder already walked
            dirs[:] = []
            continue
        seen_dirs.add(key)
        # Hidden entries are editor, notebook or macOS debris (.ipynb_checkpoints, ._x.png).
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in files:
            if name.startswith("."):
                continue
            path = Path(folder, name)
            if _matches(path.relative_to(root).as_posix(), pattern) and path.is_file():
                yield path


def find_label_files(paths: Iterable[Path | str], glob: str = DEFAULT_GLOB) -> list[Path]:
    """Expand folders and files into a sorted list of label files, each listed once.

    Files named directly are taken whatever their name; folders are searched recursively
    for names matching ``glob``. The order is sorted by path so results never depend on the
    file system, and a file reached twice (two arguments, two symlinks) is counted once.
    """
    found: dict[Path, Path] = {}
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
            found.setdefault(candidate.resolve(), candidate)
    if not found:
        where = ", ".join(str(p) for p in paths) or "(no paths given)"
        raise NoMasksFoundError(f"{where}: no label files matching '{glob}'")
    return sorted(found.values(), key=lambda p: p.as_posix())
