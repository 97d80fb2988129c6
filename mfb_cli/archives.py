"""Label files inside zip and tar archives, read in place without extracting to disk."""

from __future__ import annotations

import tarfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO

from .errors import BadMaskError, MfbError

ARCHIVE_SUFFIXES = (
    ".zip",
    ".tar",
    ".tar.gz",
    ".tgz",
    ".tar.bz2",
    ".tbz2",
    ".tbz",
    ".tar.xz",
    ".txz",
)


def is_archive(path: Path) -> bool:
    """Whether a file given as PATH is read as an archive (by its name)."""
    return path.name.lower().endswith(ARCHIVE_SUFFIXES)


@dataclass(frozen=True)
class ArchiveMember:
    """One label file inside an archive; ``position`` orders members within it."""

    archive: Path
    member: str
    position: int

    def __str__(self) -> str:
        return f"{self.archive}:{self.member}"


#: Where a label file's bytes come from: a file on disk or a member of an archive.
LabelSource = Path | ArchiveMember


def list_members(archive: Path, matches: Callable[[str], bool]) -> list[ArchiveMember]:
    """Regular-file members whose path matches, in reading order.

    Zip members are sorted by name (zip reads any member directly); tar members keep their
    order in the archive, because a compressed tar can only be read cheaply front to back.
    ``matches`` is called with each member path and says whether to keep it.
    """
    try:
        if archive.name.lower().endswith(".zip"):
            with zipfile.ZipFile(archive) as opened:
                names = sorted(i.filename for i in opened.infolist() if not i.is_dir())
        else:
            with tarfile.open(archive, "r:*") as opened:
                names = [m.name for m in opened.getmembers() if m.isfile()]
    except (OSError, zipfile.BadZipFile, tarfile.TarError, EOFError) as error:
        raise MfbError(f"{archive}: cannot read archive ({error})") from error
    kept = [n for n in names if not _hidden(n) and matches(_clean(n))]
    return [ArchiveMember(archive, name, index) for index, name in enumerate(kept)]


def _clean(name: str) -> str:
    # 'tar -C dir .' stores './a.png'; the glob sees 'a.png' as it would in a folder.
    return "/".join(p for p in name.split("/") if p not in ("", "."))


def _hidden(name: str) -> bool:
    # __MACOSX/ resource forks, ._x.png and dot-folders are debris, as in folders.
    return any(part.startswith(".") or part == "__MACOSX" for part in _clean(name).split("/"))


class ArchiveReader:
    """Reads member bytes with one open handle per archive; use from one thread only.

    zipfile and tarfile objects are not safe to share between threads, so the counting
    pipeline reads bytes here, in the thread that feeds the workers, and decodes them in
    parallel.
    """

    def __init__(self) -> None:
        self._open: dict[Path, zipfile.ZipFile | tarfile.TarFile] = {}
        self._tar_members: dict[Path, dict[str, tarfile.TarInfo]] = {}

    def read(self, member: ArchiveMember, max_bytes: int | None = None) -> bytes:
        """The member's bytes; one larger than ``max_bytes`` is refused before reading."""
        try:
            handle = self._handle(member.archive)
            if isinstance(handle, zipfile.ZipFile):
                _check_member_size(member, handle.getinfo(member.member).file_size, max_bytes)
                return handle.read(member.member)
            info = self._tar_members[member.archive][member.member]
            _check_member_size(member, info.size, max_bytes)
            stream: IO[bytes] | None = handle.extractfile(info)
            if stream is None:
                raise BadMaskError(str(member), "not a regular file in the archive")
            with stream:
                return stream.read()
        except (OSError, KeyError, zipfile.BadZipFile, tarfile.TarError, EOFError) as error:
            raise BadMaskError(str(member), f"cannot read from the archive ({error})") from error

    def _handle(self, archive: Path) -> zipfile.ZipFile | tarfile.TarFile:
        if archive not in self._open:
            if archive.name.lower().endswith(".zip"):
                self._open[archive] = zipfile.ZipFile(archive)
            else:
                opened = tarfile.open(archive, "r:*")  # noqa: SIM115 (closed in close())
                self._open[archive] = opened
                self._tar_members[archive] = {m.name: m for m in opened.getmembers()}
        return self._open[archive]

    def close(self) -> None:
        for handle in self._open.values():
            handle.close()
        self._open.clear()
        self._tar_members.clear()

    def __enter__(self) -> ArchiveReader:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def _check_member_size(member: ArchiveMember, size: int, max_bytes: int | None) -> None:
    # Members are read into memory whole: a huge one must not get that far.
    if max_bytes is not None and size > max_bytes:
        raise BadMaskError(
            str(member),
            f"is {size} bytes uncompressed, more than any mask within --max-pixels takes "
            f"({max_bytes}); raise --max-pixels if the file is genuine",
        )
