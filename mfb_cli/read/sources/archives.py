"""Label files inside zip and tar archives, read in place without extracting to disk.

Every member is read as itself: an archive holding two members of one name is refused
(which one is meant is ambiguous), and so is a member that is not a regular file. The
bytes of members held in memory at once are bounded for the whole run (base/budget.py),
however many members an archive holds and whatever its headers claim.

The rules are the same wherever the archive lives: on disk, or at a URL (read/remote.py
lends its bytes as a stream; fsspec's own tar:: and zip:: file systems are not used, as
they keep the last of two equal names and read a link's target). A tar at a URL is read
front to back; a zip at a URL with range requests.
"""

from __future__ import annotations

import functools
import io
import stat
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeAlias

from ...errors import BadMaskError, MfbError, Param
from ..base.budget import ByteBudget, MemberBytes
from ..base.keys import SourceKey, local_key
from ..base.urls import safe_text

# zipfile, tarfile and the decompressors are imported when an archive is read (start-up).
if TYPE_CHECKING:
    import bz2
    import gzip
    import lzma
    import tarfile
    import zipfile
    from collections.abc import Callable
    from types import TracebackType

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
    """One label file inside an archive (a file on disk, or an object at a URL);
    ``position`` orders members within it."""

    archive: Path | RemoteFile
    member: str
    position: int

    def __str__(self) -> str:
        return f"{self.archive}:{self.member}"

    def __repr__(self) -> str:
        return f"ArchiveMember({str(self)!r}, position={self.position})"

    @property
    def key(self) -> SourceKey:
        """The member's identity: its archive's, and its path inside it."""
        archive = local_key(self.archive) if isinstance(self.archive, Path) else self.archive.key
        return archive.member(self.member)


#: Where an archive's bytes come from: a file on disk or an object at a URL.
Archive: TypeAlias = "Path | RemoteFile"


def _is_zip(archive: Archive) -> bool:
    return str(archive).lower().endswith(".zip")


def _open_stream(archive: Archive, *, seekable: bool) -> IO[bytes]:
    """The archive's bytes: the file on disk, or the object (read/remote.py)."""
    if isinstance(archive, Path):
        return archive.open("rb")
    from .remote import open_remote

    return open_remote(archive, seekable=seekable)  # type: ignore[return-value]


def _open_zip(archive: Archive) -> zipfile.ZipFile:
    import zipfile

    if isinstance(archive, Path):
        return zipfile.ZipFile(archive)
    stream = _open_stream(archive, seekable=True)
    try:
        return _closing("zip")(stream)  # type: ignore[no-any-return]
    except BaseException:
        stream.close()
        raise


@functools.cache
def _closing(kind: str) -> Any:
    """ZipFile or TarFile, closing the stream it was given (zipfile and tarfile leave a
    stream they were given open)."""
    import tarfile
    import zipfile

    base: Any = zipfile.ZipFile if kind == "zip" else tarfile.TarFile

    class Closing(base):  # type: ignore[misc]
        def close(self) -> None:
            stream = self.fp if kind == "zip" else self.fileobj
            try:
                super().close()
            finally:
                if stream is not None:
                    stream.close()

    return Closing


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


def list_members(archive: Archive, matches: Callable[[str], bool]) -> list[ArchiveMember]:
    """Members (other than folders) whose path matches, in reading order.

    Zip members are sorted by name (zip reads any member directly); tar members keep their
    order in the archive, because a compressed tar can only be read cheaply front to back.
    ``matches`` is called with each member path and says whether to keep it. Two kept
    members of one path (after removing './') make the archive ambiguous: it is refused,
    naming the path. Links and devices are kept, to be refused by name when read.
    """
    try:
        if _is_zip(archive):
            with _open_zip(archive) as opened:
                names = sorted(i.filename for i in opened.infolist() if not i.is_dir())
        else:
            with open_tar(archive) as opened:
                names = [m.name for m in opened.getmembers() if not m.isdir()]
                _check_tar_end(opened)
    except Exception as error:
        if isinstance(error, MemoryError) or not _expected(archive, error):
            raise
        raise _unreadable(archive, error) from error
    kept = [n for n in names if not _hidden(n) and matches(_clean(n))]
    repeated = sorted(name for name, n in Counter(map(_clean, kept)).items() if n > 1)
    if repeated:
        more = f" (and {len(repeated) - 1} more names)" if len(repeated) > 1 else ""
        raise BadMaskError(
            str(archive),
            f"holds several members named '{repeated[0]}'{more}; which one is meant "
            "is ambiguous (extracting a tar keeps the last, a zip tool asks), so the archive is "
            "refused: rebuild it with unique names",
        )
    return [ArchiveMember(archive, name, index) for index, name in enumerate(kept)]


#: The largest single read tarfile may make: its own headers are read whole, and a pax or
#: long-name header of a compressed tar could otherwise inflate to gigabytes in one read.
_MAX_TAR_READ = 16 << 20


def _unreadable(archive: Archive, error: BaseException) -> MfbError:
    """An archive that cannot be listed: its damage or absence (a BadMaskError, which
    ``mfb check`` lists as a bad file), or, at a URL, the network's failure."""
    if isinstance(error, MfbError):
        return error
    if not isinstance(archive, Path):
        from .remote import is_network_failure, reason

        if is_network_failure(error):
            return MfbError(f"{archive}: cannot be read ({reason(error, archive.base)})")
        if _is_remote_error(error):
            return BadMaskError(str(archive), f"cannot be read ({reason(error, archive.base)})")
    return BadMaskError(str(archive), f"cannot read archive ({_reason(error)})")


def _expected(archive: Archive, error: BaseException) -> bool:
    """Whether an error reading an archive is its damage (or, at a URL, the backend's
    answer), not a bug of mfb's."""
    return not isinstance(archive, Path) or isinstance(error, _archive_errors())


def _is_remote_error(error: BaseException) -> bool:
    # The backend's errors (not found, access denied) as opposed to a damaged archive.
    return isinstance(error, FileNotFoundError | PermissionError) or not isinstance(
        error, _archive_errors()
    )


def open_tar(archive: Archive) -> tarfile.TarFile:
    """A tar archive (plain, gzip, bzip2 or xz), read with every single read bounded.

    The caller closes it; closing also closes the file and the decompressor. A tar at a
    URL is read front to back, in one request.
    """
    import bz2
    import gzip
    import lzma

    raw = _open_stream(archive, seekable=False)
    try:
        forward_only = not raw.seekable()
        if forward_only:
            magic = raw.peek(6)[:6]  # type: ignore[attr-defined]
        else:
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
        bounded = _BoundedReads(stream, raw, forward_only=forward_only)
        return _closing("tar").open(fileobj=bounded, mode="r:")  # type: ignore[no-any-return]
    except BaseException:
        raw.close()
        raise


#: Bytes a stream read front to back keeps behind it, for tarfile's short steps back.
_LOOKBEHIND = 1 << 20


class _BoundedReads(io.RawIOBase):
    """A file whose reads are refused past _MAX_TAR_READ bytes at once (a header bomb).

    ``forward_only``: the stream cannot seek (a tar at a URL, read in one request). A
    seek ahead reads and drops the bytes between; a seek back within the last
    _LOOKBEHIND bytes is served from them; further back is io.UnsupportedOperation.
    """

    def __init__(
        self,
        stream: IO[bytes] | gzip.GzipFile | bz2.BZ2File | lzma.LZMAFile,
        raw: IO[bytes],
        *,
        forward_only: bool = False,
    ) -> None:
        super().__init__()
        self._stream = stream
        self._raw = raw
        self._forward_only = forward_only
        self._behind = bytearray()  # the last bytes read, ending at self._end
        self._end = 0  # where the stream is
        self._at = 0  # where the reader is (self._end, or within self._behind)

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
        if not self._forward_only:
            return self._stream.read(size)
        out = b""
        if self._at < self._end:
            start = len(self._behind) - (self._end - self._at)
            out = bytes(self._behind[start : start + size])
            self._at += len(out)
        if len(out) < size:
            data = self._stream.read(size - len(out))
            self._keep(data)
            out += data
        return out

    def _keep(self, data: bytes) -> None:
        self._behind += data
        if len(self._behind) > _LOOKBEHIND:
            del self._behind[: len(self._behind) - _LOOKBEHIND]
        self._end += len(data)
        self._at = self._end

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if not self._forward_only:
            return self._stream.seek(offset, whence)
        target = {io.SEEK_SET: 0, io.SEEK_CUR: self._at}.get(whence)
        if target is None:
            raise io.UnsupportedOperation("a stream read front to back has no known end")
        target += offset
        if target >= self._end:
            self._at = self._end
            while self._end < target:
                data = self._stream.read(min(_CHUNK, target - self._end))
                if not data:
                    break
                self._keep(data)
        elif target >= self._end - len(self._behind):
            self._at = target
        else:
            raise io.UnsupportedOperation("a stream read front to back cannot go back so far")
        return self._at

    def tell(self) -> int:
        return self._at if self._forward_only else self._stream.tell()

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
    return safe_text(text)


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
    parallel. ``budget`` bounds the bytes held at once over the run (see read_lent). A tar
    at a URL is read front to back: members asked for in stored order cost one request.
    """

    def __init__(self, budget: ByteBudget | None = None) -> None:
        self.budget = budget if budget is not None else ByteBudget()
        self._open: dict[Archive, zipfile.ZipFile | tarfile.TarFile] = {}
        self._tar_members: dict[Archive, dict[str, tarfile.TarInfo]] = {}

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
        except MfbError:
            raise
        except Exception as error:
            if isinstance(error, MemoryError) or not _expected(member.archive, error):
                raise
            self._forget(member.archive)
            raise _member_failure(member, error) from error
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
        info_tar = self._tar_member(member)
        if not info_tar.isreg():
            raise BadMaskError(str(member), _NOT_REGULAR.format(_tar_kind(info_tar)))
        stream = handle.extractfile(info_tar)
        assert stream is not None  # a regular member always has a stream
        return stream, info_tar.size

    def _handle(self, archive: Archive) -> zipfile.ZipFile | tarfile.TarFile:
        if archive not in self._open:
            if _is_zip(archive):
                self._open[archive] = _open_zip(archive)
            else:
                opened = open_tar(archive)
                self._open[archive] = opened
                if isinstance(archive, Path):
                    self._tar_members[archive] = {
                        m.name: m for m in opened.getmembers() if not m.isdir()
                    }
        return self._open[archive]

    def _tar_member(self, member: ArchiveMember) -> tarfile.TarInfo:
        """A tar member's header: from the listing of a tar on disk; for a tar at a URL, the
        next header of that name in the stream (opened again if the member lies behind)."""
        archive = member.archive
        if isinstance(archive, Path):
            return self._tar_members[archive][member.member]
        for attempt in range(2):
            opened = self._handle(archive)
            assert not isinstance(opened, _zip_type())
            assert hasattr(opened, "next")
            seen = self._tar_members.setdefault(archive, {})
            if member.member not in seen:
                while (info := opened.next()) is not None:
                    if not info.isdir():
                        seen[info.name] = info
                        if info.name == member.member:
                            return info
            elif attempt == 0:  # behind the stream: read it again from the start
                self._forget(archive)
                continue
            break
        raise BadMaskError(
            str(member), "is no longer in the archive (it changed since it was listed)"
        )

    def _forget(self, archive: Archive) -> None:
        handle = self._open.pop(archive, None)
        self._tar_members.pop(archive, None)
        if handle is not None:
            handle.close()

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


def _zip_type() -> type[zipfile.ZipFile]:
    import zipfile

    return zipfile.ZipFile


def _member_failure(member: ArchiveMember, error: BaseException) -> MfbError:
    """A member that cannot be read: the archive's damage (a bad file), or the network's
    failure at a URL (the run stops: no member is skipped for it)."""
    if not isinstance(member.archive, Path):
        from .remote import is_network_failure, reason

        if is_network_failure(error):
            return MfbError(f"{member}: cannot be read ({reason(error, member.archive.base)})")
        if _is_remote_error(error):
            return BadMaskError(
                str(member), f"cannot be read ({reason(error, member.archive.base)})"
            )
    return BadMaskError(str(member), f"cannot read from the archive ({_reason(error)})")


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
    except MfbError:
        raise
    except Exception as error:
        if isinstance(error, MemoryError) or not _expected(member.archive, error):
            raise
        raise _member_failure(member, error) from error
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
