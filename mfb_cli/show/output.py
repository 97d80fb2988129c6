"""Write command output to stdout, or to a file replaced atomically (never half a file).

What ``-o PATH`` does depends on what PATH is: a regular file (or a new name) is
replaced atomically; a symbolic link is followed to its final target, which is replaced
atomically while the link stays; a device, FIFO, socket or ``/dev/fd/N`` (``/dev/stdout``)
is written through directly, since replacing it would swap the device for a plain file.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import re
import stat
import sys
import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

#: Symbolic links followed before giving up, as the kernel's own limit (ELOOP).
MAX_LINKS = 40


class ClosedStdout(io.TextIOBase):
    """Stands in for stdout when the process started with it closed (``>&-``).

    Any data written is an error (``stdout is closed``), rather than vanishing, or landing
    in whatever file the next open() would have received as descriptor 1.
    """

    encoding = "utf-8"

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if isinstance(text, bytes):
            raise TypeError("text stream")  # so Click treats it as the text stream it is
        if text:
            raise OSError(errno.EBADF, "cannot write to stdout: it is closed; give -o FILE")
        return 0


def stdout_is_closed() -> bool:
    """Whether data on stdout could not be written at all (started with ``>&-``)."""
    return isinstance(sys.stdout, ClosedStdout)


def one_line(text: str) -> str:
    """``text`` with control characters escaped (``\\n``, ``\\x1b``), so a message
    stays one line even when a file name or a parser's report holds a newline; a byte of
    a file name that is not UTF-8 reads ``\\xNN`` (``shown_bytes``).
    """
    return "".join(
        char.encode("unicode_escape", "backslashreplace").decode("ascii")
        if unicodedata.category(char) in ("Cc", "Cs", "Zl", "Zp")
        else char
        for char in shown_bytes(text)
    )


#: A byte of a file name that is not UTF-8, as Python decodes it (PEP 383's surrogate
#: escape: byte 0xNN becomes the lone surrogate U+DCNN).
_UNDECODED = re.compile("[\udc80-\udcff]")


def shown_bytes(text: str) -> str:
    """``text`` for people and CSV: each byte of a file name that is not UTF-8 as
    ``\\xNN``, the byte it is (as ``ls -b`` and Python's bytes show it).

    JSON, YAML and the snippets hold such a name exactly instead, as the escape ``\\udcNN``
    that reads back to the same name (see ``encodable``).
    """
    return _UNDECODED.sub(lambda found: f"\\x{ord(found[0]) - 0xDC00:02x}", text)


#: Whether the data has begun to go to stdout (the message of a run interrupted after that
#: says stdout holds part of it; a file given with -o is never left half written).
_STDOUT_BEGUN = False


def begin_stdout() -> None:
    """Note that the command's data is now going to stdout."""
    global _STDOUT_BEGUN
    _STDOUT_BEGUN = True


def stdout_begun() -> bool:
    return _STDOUT_BEGUN


def encodable(text: str) -> str:
    """``text`` with each lone surrogate (a file name whose bytes are not UTF-8) written as
    its escape ``\\udcXX``, as the JSON outputs write it: the same UTF-8 bytes on stdout
    and in a file, whatever the locale's error handler."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def write_text(text: str, output: Path | str | None) -> None:
    """Write ``text`` to stdout, or to ``output`` (same bytes either way)."""
    text = encodable(text)
    if output is None:
        try:
            begin_stdout()
            sys.stdout.write(text)
            sys.stdout.flush()
        except BrokenPipeError:
            raise  # the reader went away: the CLI ends quietly with 141
        except OSError as error:  # a full device, a closed stdout
            raise OSError(error.errno, stdout_error_text(error)) from error
        return
    write_bytes(text.encode("utf-8"), output)


def stdout_error_text(error: OSError) -> str:
    """The message for a failed write to stdout, saying it was stdout."""
    text = error.strerror or str(error)
    return text if text.startswith("cannot write to stdout") else f"cannot write to stdout: {text}"


def write_bytes(data: bytes, output: Path | str) -> None:
    """Write ``data`` to ``output``: atomically for files and links, directly otherwise.

    A URL (s3://...) is written in one put of the complete bytes (read/remote.py).
    """
    from ..read.base.urls import is_url
    from ..read.sources.remote import write_url

    if isinstance(output, str) and is_url(output):
        write_url(output, data)
        return
    output = Path(output)
    target, direct = output_target(output)
    try:
        if direct:
            _write_through(data, target)
        else:
            _replace_atomically(data, target)
    except OSError as error:
        if error.filename is not None:
            raise
        # A full disk or device: name the output (a message without a file means stdout).
        raise OSError(error.errno, error.strerror, str(output)) from error


def output_target(output: Path) -> tuple[Path, bool]:
    """The file ``output`` names after following links, and whether to write it directly.

    Direct (no temporary file, no rename) for anything that exists and is not a regular
    file, and for ``/dev/fd/N``-style names, which name an open descriptor, not a file.
    """
    chain = link_chain(output)
    if any(_is_descriptor_folder(hop.parent) for hop in chain):
        return output, True
    target = chain[-1]
    try:
        mode = target.stat().st_mode
    except FileNotFoundError:
        return target, False
    return target, not stat.S_ISREG(mode)


def link_chain(path: Path) -> list[Path]:
    """``path`` and every link it leads through, ending at the final (non-link) name."""
    chain = [path]
    while chain[-1].is_symlink():
        if len(chain) > MAX_LINKS:
            raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), str(path))
        hop = chain[-1]
        chain.append(hop.parent / hop.readlink())  # an absolute link replaces the parent
    return chain


def _is_descriptor_folder(folder: Path) -> bool:
    # /dev/fd, /proc/self/fd and /proc/<pid>/fd hold links to open descriptors.
    return re.fullmatch(r"/proc/[^/]+/fd", os.path.realpath(folder)) is not None


def _write_through(data: bytes, target: Path) -> None:
    # Never O_CREAT: the thing existed a moment ago; if it vanished, say so.
    flags = os.O_WRONLY | getattr(os, "O_CLOEXEC", 0)
    with contextlib.suppress(OSError):
        if stat.S_ISREG(target.stat().st_mode):
            flags |= os.O_TRUNC  # /dev/fd/N onto a file: what `> /dev/fd/N` does
    handle = os.open(target, flags)
    with os.fdopen(handle, "wb") as stream:
        stream.write(data)


def _replace_atomically(data: bytes, output: Path) -> None:
    """Replace ``output`` with ``data`` atomically: a reader sees the old or the new file."""
    temporary = _stage(data, output)
    try:
        temporary.replace(output)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _stage(data: bytes, output: Path) -> Path:
    """A temporary file beside ``output`` holding ``data`` (synced, with ``output``'s mode),
    ready to be renamed onto it; removed again if anything fails."""
    folder = output.parent
    try:
        import tempfile  # only when writing a file (start-up)

        handle, name = tempfile.mkstemp(dir=folder, prefix=f".{output.name}.", suffix=".tmp")
    except OSError as error:  # name the output, not the temporary file
        raise OSError(error.errno, error.strerror, str(output)) from error
    temporary = Path(name)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        _keep_mode_and_owner(temporary, output)
    except BaseException as error:
        temporary.unlink(missing_ok=True)
        if isinstance(error, OSError) and error.filename is None:  # a full disk: name output
            raise OSError(error.errno, error.strerror, str(output)) from error
        raise
    return temporary


def write_all(text: str, output: Path | str | None, files: Mapping[Path, bytes]) -> None:
    """Write a command's output (as ``write_text``) and its other ``files`` as one.

    Every regular file (a new name, a file, a link's target) is first staged in a temporary
    file beside it, its folders made; then come the output on stdout and whatever is written
    through (devices, FIFOs, URLs); only then are the staged files renamed into place. So a
    failure before the renames (a full disk, a folder that refuses a file, a full device)
    leaves every file as it was, and the folders made for it are removed again.
    """
    from ..read.base.urls import is_url

    text = encodable(text)
    staged: list[tuple[Path, Path]] = []
    through: list[tuple[bytes, Path | str]] = []
    made: list[Path] = []
    wanted: list[tuple[bytes, Path | str]] = [(data, path) for path, data in files.items()]
    if output is not None:
        wanted.append((text.encode("utf-8"), output))
    try:
        for data, path in wanted:
            if isinstance(path, str) and is_url(path):
                through.append((data, path))
                continue
            made += _make_folders(Path(path).parent)
            target, direct = output_target(Path(path))
            if direct:
                through.append((data, path))
            else:
                staged.append((_stage(data, target), target))
        if output is None:
            write_text(text, None)
        for data, path in through:
            write_bytes(data, path)
        for temporary, target in staged:
            temporary.replace(target)
    except BaseException:
        for temporary, _ in staged:
            temporary.unlink(missing_ok=True)  # gone already when it was renamed
        for folder in reversed(made):
            with contextlib.suppress(OSError):  # not empty: a file was renamed into it
                folder.rmdir()
        raise


def _make_folders(folder: Path) -> list[Path]:
    """Make ``folder`` and the folders above it that are missing; return those made."""
    missing = []
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    made = []
    for one in reversed(missing):
        try:
            one.mkdir()
        except FileExistsError:
            continue  # made meanwhile (or a link to a folder): not ours to remove
        made.append(one)
    return made


def _keep_mode_and_owner(temporary: Path, output: Path) -> None:
    # mkstemp creates files as 0600; keep an existing file's mode, else honour the umask.
    try:
        old = output.stat()
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        temporary.chmod(0o666 & ~umask)
        return
    new = temporary.stat()
    if (new.st_uid, new.st_gid) != (old.st_uid, old.st_gid):
        with contextlib.suppress(OSError):  # only root (or a group member) may
            os.chown(temporary, old.st_uid, old.st_gid)
    temporary.chmod(old.st_mode & 0o7777)  # after chown, which clears set-id bits
