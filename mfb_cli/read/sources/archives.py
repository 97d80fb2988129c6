"""Label files inside zip and tar archives, read in place without extracting to disk.

Every member is read as itself: an archive holding two members of one name is refused
(which one is meant is ambiguous), and so is a member that is not a regular file. The
bytes of members held in memory at once are bounded for the whole run (base/budget.py),
however many members an archive holds and whatever its headers claim.
"""

from __future__ import annotations

import functools
import io
import stat
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, TypeAlias

from ...errors import BadMaskError, MfbError, Param
from ..base.budget import ByteBudget, MemberBytes

# zipfile, tarfile and the decompressors are imported when an archive is read (start-up).
if TYPE_CHECKING:
    import bz2
    import gzip
    import lzma
    import tarfile
    import zipfile
    from collections.abc import Callable, Iterable, Iterator
    from types import TracebackType

    from ..options import ReadOptions
    from .parquet import ParquetRow
    from .remote import RemoteFile

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


#: Members are read this much at a time, so no read holds more than the member's own size.
_CHUNK = 1 << 20


@functools.cache
def _archive_errors() -> tuple[type[BaseException], ...]:
    """What zipfile, tarfile and their decompressors raise on damaged or crafted input."""
    import lzma
    import struct
    import tarfile
    import zipfile
    import zlib

    return (
        OSError,
        EOFError,
        ValueError,  # also UnicodeDecodeError: a member name flagged UTF-8 that is not
        KeyError,
        IndexError,
        OverflowError,
        RuntimeError,  # also RecursionError: a link that points to itself
        NotImplementedError,
        struct.error,
        zlib.error,
        lzma.LZMAError,
        zipfile.BadZipFile,
        tarfile.TarError,
    )


#: Zip compression methods Python can read (others: deflate64, PPMd, implode...), by
#: zipfile's numbers (ZIP_STORED, ZIP_DEFLATED, ZIP_BZIP2, ZIP_LZMA).
_ZIP_METHODS = {0: "stored", 8: "deflate", 12: "bzip2", 14: "lzma"}

_OTHER_ZIP_METHODS = {1: "shrink", 6: "implode", 9: "deflate64", 93: "zstd", 98: "PPMd", 99: "AES"}


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


if TYPE_CHECKING:
    #: Where a label file's bytes come from: a file on disk or a member of an archive, or
    #: (read/remote.py, read/parquet.py) a file at a URL or a parquet row.
    LabelSource: TypeAlias = Path | ArchiveMember | RemoteFile | ParquetRow


def __getattr__(name: str) -> object:
    # LabelSource at run time (a union for isinstance), built on first use: a scan of
    # files on disk does not import the URL and parquet readers.
    if name == "LabelSource":
        from .parquet import ParquetRow
        from .remote import RemoteFile

        return Path | ArchiveMember | RemoteFile | ParquetRow
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def list_members(archive: Path, matches: Callable[[str], bool]) -> list[ArchiveMember]:
    """Members (other than folders) whose path matches, in reading order.

    Zip members are sorted by name (zip reads any member directly); tar members keep their
    order in the archive, because a compressed tar can only be read cheaply front to back.
    ``matches`` is called with each member path and says whether to keep it. Two kept
    members of one path (after removing './') make the archive ambiguous: it is refused,
    naming the path. Links and devices are kept, to be refused by name when read.
    """
    import zipfile

    try:
        if archive.name.lower().endswith(".zip"):
            with zipfile.ZipFile(archive) as opened:
                names = sorted(i.filename for i in opened.infolist() if not i.is_dir())
        else:
            with open_tar(archive) as opened:
                names = [m.name for m in opened.getmembers() if not m.isdir()]
                _check_tar_end(opened)
    except _archive_errors() as error:
        raise MfbError(f"{archive}: cannot read archive ({_reason(error)})") from error
    kept = [n for n in names if not _hidden(n) and matches(_clean(n))]
    repeated = sorted(name for name, n in Counter(map(_clean, kept)).items() if n > 1)
    if repeated:
        more = f" (and {len(repeated) - 1} more names)" if len(repeated) > 1 else ""
        raise MfbError(
            f"{archive}: holds several members named '{repeated[0]}'{more}; which one is meant "
            "is ambiguous (extracting a tar keeps the last, a zip tool asks), so the archive is "
            "refused: rebuild it with unique names"
        )
    return [ArchiveMember(archive, name, index) for index, name in enumerate(kept)]


#: The largest single read tarfile may make: its own headers are read whole, and a pax or
#: long-name header of a compressed tar could otherwise inflate to gigabytes in one read.
_MAX_TAR_READ = 16 << 20


def open_tar(archive: Path) -> tarfile.TarFile:
    """A tar archive (plain, gzip, bzip2 or xz), read with every single read bounded.

    The caller closes it; closing also closes the file and the decompressor.
    """
    import bz2
    import gzip
    import lzma

    raw = archive.open("rb")
    try:
        magic = raw.read(6)
        raw.seek(0)
        stream: IO[bytes] | gzip.GzipFile | bz2.BZ2File | lzma.LZMAFile
        # Closed by _BoundedReads.close, with the file under them.
        if magic.startswith(b"\x1f\x8b"):
            stream = gzip.GzipFile(fileobj=raw, mode="rb")
        elif magic.startswith(b"BZh"):
            stream = bz2.BZ2File(raw)
        elif magic.startswith(b"\xfd7zXZ\x00"):
            stream = lzma.LZMAFile(raw)  # noqa: SIM115
        else:
            stream = raw
        return _closing_tar().open(fileobj=_BoundedReads(stream, raw), mode="r:")
    except BaseException:
        raw.close()
        raise


@functools.cache
def _closing_tar() -> type[tarfile.TarFile]:
    import tarfile

    class ClosingTar(tarfile.TarFile):
        """A TarFile that closes the file object it was given (tarfile leaves it open)."""

        def close(self) -> None:
            try:
                super().close()
            finally:
                if self.fileobj is not None:
                    self.fileobj.close()

    return ClosingTar


class _BoundedReads(io.RawIOBase):
    """A file whose reads are refused past _MAX_TAR_READ bytes at once (a header bomb)."""

    def __init__(
        self, stream: IO[bytes] | gzip.GzipFile | bz2.BZ2File | lzma.LZMAFile, raw: IO[bytes]
    ) -> None:
        super().__init__()
        self._stream = stream
        self._raw = raw

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0 or size > _MAX_TAR_READ:
            import tarfile

            raise tarfile.ReadError(
                f"a header or record of {size} bytes; tar headers are far smaller, so the "
                "archive is damaged or crafted"
            )
        return self._stream.read(size)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._stream.seek(offset, whence)

    def tell(self) -> int:
        return self._stream.tell()

    def close(self) -> None:
        try:
            if self._stream is not self._raw:
                self._stream.close()
        finally:
            self._raw.close()
            super().close()


def _check_tar_end(opened: tarfile.TarFile) -> None:
    # tarfile stops quietly at the first header it cannot parse past the first member, so
    # a cut or damaged archive would lose its later members silently. It must stop at the
    # end-of-archive block (all zeros) or at the very end of the data.
    import tarfile

    assert opened.fileobj is not None
    opened.fileobj.seek(opened.offset)
    block = opened.fileobj.read(tarfile.BLOCKSIZE)
    if block and block != bytes(tarfile.BLOCKSIZE):
        raise tarfile.ReadError(
            f"damaged or truncated: no valid member header at byte {opened.offset}"
        )
    # A compressed tar's own check (gzip's CRC-32 and length, bzip2's and xz's) is in its
    # trailer, after the end block, which tarfile never reads: read on to the end, so that
    # a changed byte in any member is caught here, while listing, before anything is counted.
    while block:
        block = opened.fileobj.read(1 << 20)


def _reason(error: BaseException) -> str:
    if isinstance(error, UnicodeDecodeError):
        return "a member name marked as UTF-8 is not valid UTF-8"
    if isinstance(error, RecursionError):
        return "a link that leads back to itself"
    text = str(error) or type(error).__name__
    if text.startswith("file could not be opened successfully"):  # tarfile tried every method
        return "not a tar archive (plain, gzip, bzip2 or xz), or a damaged one"
    return " ".join(text.split())


def _clean(name: str) -> str:
    # 'tar -C dir .' stores './a.png'; the glob sees 'a.png' as it would in a folder.
    return "/".join(p for p in name.split("/") if p not in ("", "."))


def _hidden(name: str) -> bool:
    # __MACOSX/ resource forks, ._x.png and dot-folders are debris, as in folders; a '..'
    # component is not a dot-folder (a zip made with 'zip -r x.zip ../labels' has them).
    return any(
        (part.startswith(".") and part != "..") or part == "__MACOSX"
        for part in _clean(name).split("/")
    )


class ArchiveReader:
    """Reads member bytes with one open handle per archive; use from one thread only.

    zipfile and tarfile objects are not safe to share between threads, so the counting
    pipeline reads bytes here, in the thread that feeds the workers, and decodes them in
    parallel. ``budget`` bounds the bytes held at once over the run (see lend).
    """

    def __init__(self, budget: ByteBudget | None = None) -> None:
        self.budget = budget if budget is not None else ByteBudget()
        self._open: dict[Path, zipfile.ZipFile | tarfile.TarFile] = {}
        self._tar_members: dict[Path, dict[str, tarfile.TarInfo]] = {}

    def lend(
        self, paths: Iterable[LabelSource], max_bytes: int | None
    ) -> Iterator[tuple[LabelSource, MemberBytes | BadMaskError | None]]:
        """Each source with its bytes if it is an archive member (None for files on disk).

        A member's bytes are taken from the budget before they are read (waiting while it
        is spent) and given back by member_bytes once decoded; an unreadable member comes
        out as its BadMaskError.
        """
        for path in paths:
            if not isinstance(path, ArchiveMember):
                yield path, None
                continue
            try:
                lent: MemberBytes | BadMaskError = self.read_lent(path, max_bytes)
            except BadMaskError as error:
                lent = error
            yield path, lent

    def read(self, member: ArchiveMember, max_bytes: int | None = None) -> bytes:
        """The member's bytes; one larger than ``max_bytes`` is refused before reading."""
        lent = self.read_lent(member, max_bytes)
        data = lent.take()
        lent.release()
        return data

    def read_lent(self, member: ArchiveMember, max_bytes: int | None) -> MemberBytes:
        """The member's bytes, counted against the budget (waiting while it is spent)."""
        try:
            stream, size = self._open_member(member)
        except BadMaskError:
            raise
        except _archive_errors() as error:
            raise BadMaskError(
                str(member), f"cannot read from the archive ({_reason(error)})"
            ) from error
        with stream:
            _check_member_size(member, size, max_bytes)
            self.budget.take(size)
            try:
                return MemberBytes(_read_exactly(member, stream, size), self.budget, size)
            except BaseException:
                self.budget.give(size)
                raise

    def _open_member(self, member: ArchiveMember) -> tuple[IO[bytes], int]:
        """A stream of the member's bytes and its size, after the checks that need no data."""
        import zipfile

        handle = self._handle(member.archive)
        if isinstance(handle, zipfile.ZipFile):
            info = handle.getinfo(member.member)
            if info.flag_bits & 0x1:
                raise BadMaskError(
                    str(member), "is encrypted (password-protected); mfb reads unencrypted members"
                )
            if info.compress_type not in _ZIP_METHODS:
                method = _OTHER_ZIP_METHODS.get(info.compress_type, "unknown")
                raise BadMaskError(
                    str(member),
                    f"uses zip compression method {info.compress_type} ({method}), which "
                    f"cannot be read here; recompress with {', '.join(_ZIP_METHODS.values())}",
                )
            if info.create_system == 3 and stat.S_ISLNK(info.external_attr >> 16):
                raise BadMaskError(str(member), _NOT_REGULAR.format("a symbolic link"))
            return handle.open(info), info.file_size
        info_tar = self._tar_members[member.archive][member.member]
        if not info_tar.isreg():
            raise BadMaskError(str(member), _NOT_REGULAR.format(_tar_kind(info_tar)))
        stream = handle.extractfile(info_tar)
        assert stream is not None  # a regular member always has a stream
        return stream, info_tar.size

    def _handle(self, archive: Path) -> zipfile.ZipFile | tarfile.TarFile:
        if archive not in self._open:
            import zipfile

            if archive.name.lower().endswith(".zip"):
                self._open[archive] = zipfile.ZipFile(archive)
            else:
                opened = open_tar(archive)
                self._open[archive] = opened
                self._tar_members[archive] = {
                    m.name: m for m in opened.getmembers() if not m.isdir()
                }
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


_NOT_REGULAR = "is {} inside the archive; mfb reads regular files only (extract the archive)"


def _tar_kind(info: tarfile.TarInfo) -> str:
    if info.issym():
        return f"a symbolic link (to '{info.linkname}')"
    if info.islnk():
        return f"a hard link (to '{info.linkname}')"
    if info.isfifo():
        return "a FIFO"
    if info.ischr() or info.isblk():
        return "a device"
    return f"a member of tar type {info.type!r}"


def _read_exactly(member: ArchiveMember, stream: IO[bytes], size: int) -> bytes:
    """``size`` bytes, read a chunk at a time: never more, whatever the data holds."""
    buffer = io.BytesIO()
    try:
        while buffer.tell() < size:
            chunk = stream.read(min(_CHUNK, size - buffer.tell()))
            if not chunk:
                break
            buffer.write(chunk)
        if buffer.tell() != size or stream.read(1):  # the last read also checks a zip CRC
            raise BadMaskError(
                str(member),
                f"holds {buffer.tell()} bytes where the archive says {size}; "
                "the archive is damaged or truncated",
            )
    except _archive_errors() as error:
        raise BadMaskError(
            str(member), f"cannot read from the archive ({_reason(error)})"
        ) from error
    return buffer.getvalue()


def _check_member_size(member: ArchiveMember, size: int, max_bytes: int | None) -> None:
    # Members are read into memory whole: a huge one must not get that far.
    if max_bytes is not None and size > max_bytes:
        raise BadMaskError(
            str(member),
            f"is {size} bytes uncompressed, more than any mask within ",
            Param("max_pixels"),
            f" takes ({max_bytes}); raise ",
            Param("max_pixels"),
            " if the file is genuine",
        )


def with_archive_bytes(
    paths: Iterable[LabelSource], reader: ArchiveReader, read: ReadOptions
) -> Iterator[tuple[LabelSource, MemberBytes | BadMaskError | None]]:
    """Each source with its bytes if it is an archive member (None for files on disk).

    Archive members are read here, in the one thread that feeds the workers (archive
    handles are not thread-safe), and decoded by the workers, which take the bytes with
    budget.member_bytes; files on disk are opened by the workers themselves. The bytes
    held at once are bounded for the whole run by the reader's budget. An unreadable
    member comes out as its BadMaskError, for the worker to raise in file order (raising
    here, files ahead of the results, could hide an earlier file's error and make the one
    reported depend on -j). A member is read whole, so one larger than the largest mask
    ``read.max_pixels`` allows (8 bytes a pixel, as an int64 .npy, plus 1 MiB of headers)
    is refused unread.
    """
    max_bytes = None if read.max_pixels is None else 8 * read.max_pixels + (1 << 20)
    from .parquet import fetch_parquet
    from .remote import fetch_remote

    lent = fetch_remote(reader.lend(paths, max_bytes), reader.budget, max_bytes)
    return fetch_parquet(lent, reader.budget, max_bytes)
