"""Label files in object storage and other fsspec URLs (s3://, gs://, az://, hf://, ...).

fsspec and its backends are an optional extra (``pip install 'mfb-cli[remote]'``), imported
only when a URL is given. Credentials come from each backend's own configuration
(environment, profiles); a URL is shown and recorded without any user:password or query
string (base/urls.py), so a secret typed into a URL never reaches an output or a message.

Every read here is bounded before it starts: a body is read to at most its listed size
plus one byte (or, its size unknown, to the cap plus one byte) and refused past it;
http(s) bodies are read by mfb (http.py), a chunk at a time, not by the backend, which
reads a reply whole. Network reads get the deadlines of base/cancel.py and the minimum
rate of base/throughput.py; failures are named and judged in failures.py.
"""

from __future__ import annotations

import functools
import io
import re
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from ...errors import BadMaskError, MfbError, Param
from ..base import cancel
from ..base.files import RangedFile
from ..base.keys import SourceKey, url_key
from ..base.throughput import metered_socket
from ..base.urls import chain, pattern_text, safe_url, shown_path
from .failures import is_network_failure, read_failure, reason

__all__ = [
    "BACKENDS",
    "READ_THREADS",
    "RemoteFile",
    "filesystem",
    "is_network_failure",
    "list_remote",
    "one_object",
    "open_ranged",
    "open_remote",
    "open_url",
    "read_body",
    "read_failure",
    "read_url",
    "reason",
    "too_large",
    "write_url",
]

if TYPE_CHECKING:
    from collections.abc import Callable

#: The package each backend needs, for the one-line message when it is missing.
BACKENDS = {
    "s3": "s3fs",
    "s3a": "s3fs",
    "gs": "gcsfs",
    "gcs": "gcsfs",
    "az": "adlfs",
    "abfs": "adlfs",
    "abfss": "adlfs",
    "hf": "huggingface_hub",
    "http": "aiohttp",
    "https": "aiohttp",
}

#: Remote reads in flight at once: reading is I/O bound, so more than the decoding threads.
READ_THREADS = 16


def filesystem(url: str) -> tuple[Any, str]:
    """The fsspec file system of a URL and the path within it; a missing backend named.

    The file system is made with the network deadlines of base/cancel.py (connect, read
    without a byte, the minimum rate) where its backend takes them: http(s) and s3.
    """
    try:
        import fsspec  # type: ignore[import-untyped]
    except ImportError as error:
        raise MfbError(
            f"{shown_path(url)}: reading URLs needs fsspec; pip install 'mfb-cli[remote]'"
        ) from error
    try:
        fs, path = fsspec.core.url_to_fs(_for_fsspec(url), **_deadlines(url))
    except ImportError as error:
        schemes = re.findall(r"([a-z0-9+.-]+)(?:::|://)", url.lower())
        needed = sorted({BACKENDS[s] for s in schemes if s in BACKENDS}) or [
            getattr(error, "name", None) or "the backend"
        ]
        raise MfbError(
            f"{shown_path(url)}: reading this URL needs {', '.join(needed)}; "
            f"pip install 'mfb-cli[remote]' (or pip install {' '.join(needed)})"
        ) from error
    except Exception as error:  # an unknown protocol, a chained archive that is missing
        raise MfbError(f"{shown_path(url)}: cannot be opened ({reason(error, url)})") from error
    return fs, str(path)


def is_pattern(url: str) -> bool:
    """Whether a URL is a glob pattern: '*' or '[' in its path (see pattern_text)."""
    text = pattern_text(url)
    return "*" in text or "[" in text


def _for_fsspec(url: str) -> str:
    """The URL as fsspec must be given it: fsspec splits at every '::', so one inside a
    piece (a query value, a password) is percent-encoded, as the server decodes it; each
    protocol in lower case, as fsspec knows them ('HTTP://' is 'http://')."""
    return "::".join(_lower_protocol(piece).replace("::", "%3A%3A") for piece in chain(url))


def _lower_protocol(piece: str) -> str:
    protocol, found, rest = piece.partition("://")
    return f"{protocol.lower()}{found}{rest}" if found else piece.lower()


def _deadlines(url: str) -> dict[str, Any]:
    """Storage options giving each protocol of ``url`` the deadlines of base/cancel.py,
    and its connections the minimum rate of base/throughput.py (sockets that count)."""
    protocols = [p.split("://")[0].lower() for p in chain(url)]
    options: dict[str, dict[str, Any]] = {}
    for protocol in protocols:
        if protocol in ("http", "https"):
            from .http import metered_client, session_options

            options[protocol] = {"client_kwargs": session_options(), "get_client": metered_client}
        elif protocol in ("s3", "s3a"):
            options[protocol] = {
                "config_kwargs": {
                    "connect_timeout": cancel.CONNECT_SECONDS,
                    "read_timeout": cancel.READ_SECONDS,
                    "connector_args": {"socket_factory": metered_socket},
                }
            }
    if len(protocols) == 1:
        return options.get(protocols[0], {})
    return options  # a chained URL: options under each protocol's name, as fsspec takes them


@dataclass(frozen=True)
class RemoteFile:
    """A label file at a URL: ``base`` as given (it may hold credentials: never shown),
    ``path`` inside its file system, ``size`` as listed (None: the server gave none)."""

    base: str
    path: str
    size: int | None
    #: The object's name as shown: its URL without credentials or query.
    name: str = field(default="", compare=False)
    #: Its identity (base/keys.py): equal for every spelling of the same object.
    key: SourceKey = field(default=SourceKey(""), compare=False)

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"RemoteFile({self.name!r}, size={self.size})"

    @property
    def is_http(self) -> bool:
        return self.path.lower().startswith(("http://", "https://")) and len(chain(self.base)) == 1


def remote_file(base: str, fs: Any, path: str, size: object) -> RemoteFile:
    """A listed object, named and keyed by its own URL (a member of a chained URL, by the
    chain's URL and its path below the chain's root)."""
    if len(chain(base)) > 1:
        root = filesystem(base)[1]
        relative = path[len(root) :].lstrip("/") if path.startswith(root) else path
        own = base if not relative else f"{base.rstrip('/')}:{relative}"
    else:
        own = str(fs.unstrip_protocol(path))
    listed = int(size) if isinstance(size, int | float) and size >= 0 else None
    return RemoteFile(base, path, listed, safe_url(own), url_key(own))


def list_remote(url: str, matches: Callable[[str], bool]) -> list[RemoteFile]:
    """The files at a URL: the object itself, or those below a prefix that ``matches`` keeps.

    A prefix is listed with one recursive listing (paged by the backend), never one
    request per object; hidden names are left out, as in folders. Sorted by path. An
    http(s) URL not ending in '/' names one object (asked for its size alone).
    """
    fs, root = filesystem(url)
    try:
        # A pattern ('*' or '[...]' in the path; '?' starts a query, and a password or a
        # query holding '*' is no pattern): one listing, all files kept.
        if is_pattern(url):
            globbed = fs.glob(root, detail=True)
            matched = [
                remote_file(url, fs, path, info.get("size"))
                for path, info in sorted(globbed.items())
                if info.get("type") != "directory"
            ]
            if not matched:
                raise MfbError(f"{shown_path(url)}: no object matches")
            return matched
        if _is_http(url) and not root.split("?")[0].endswith("/"):
            return [remote_file(url, fs, root, fs.info(root).get("size"))]
        if fs.isfile(root):
            return [remote_file(url, fs, root, fs.size(root))]
        found = fs.find(root, withdirs=False, detail=True)
        if not found and not fs.exists(root):
            raise MfbError(f"{shown_path(url)}: no such object or prefix")
    except MfbError:
        raise
    except Exception as error:
        problem = reason(error, url)
        if problem == "no such object" and not _is_http(url):
            problem = "no such object or prefix"
        raise MfbError(f"{shown_path(url)}: cannot be listed ({problem})") from error
    files = []
    for path, info in sorted(found.items()):
        relative = path[len(root) :].lstrip("/") if path.startswith(root) else path
        if any(part.startswith(".") for part in relative.split("/")) or not matches(relative):
            continue
        files.append(remote_file(url, fs, path, info.get("size")))
    return files


def _is_http(url: str) -> bool:
    return url.lower().startswith(("http://", "https://"))


def read_body(remote: RemoteFile, limit: int) -> bytes:
    """At most ``limit + 1`` bytes of the object: one more than ``limit`` tells the caller
    the object is larger, and nothing past it is ever read."""
    fs, _ = filesystem(remote.base)
    if remote.is_http:
        from .http import read_http

        return bytes(read_http(fs, remote.path, 0, limit + 1, ranged=False))
    return bytes(fs.cat_file(remote.path, start=0, end=limit + 1))


def one_object(url: str) -> RemoteFile:
    """The one object a URL names (not a prefix), asked for its size; the backend's error
    as it is raised (see reason)."""
    fs, path = filesystem(url)
    info = fs.info(path)
    if info.get("type", "file") != "file":
        raise IsADirectoryError(f"{shown_path(url)} is a prefix, not one object")
    return remote_file(url, fs, path, info.get("size"))


def read_url(url: str, what: str, limit: int) -> bytes:
    """At most ``limit`` bytes of a small file at a URL (a colour table, --from file...)."""
    try:
        return read_body(one_object(url), limit - 1)
    except MfbError:
        raise
    except Exception as error:
        raise MfbError(
            f"{shown_path(url)}: cannot read the {what} file ({reason(error, url)})"
        ) from error


def open_url(url: str) -> io.BufferedIOBase:
    """A URL's bytes as a stream, read a bounded chunk at a time (http(s): one request),
    through a buffered reader: fsspec's own files ignore the size given to readline."""
    stream = open_remote(one_object(url), seekable=False)
    return stream if isinstance(stream, io.BufferedReader) else io.BufferedReader(stream)


def open_remote(remote: RemoteFile, *, seekable: bool) -> io.BufferedIOBase:
    """The object as a binary stream, for a reader that reads it a piece at a time (an
    archive, a parquet shard). ``seekable`` asks for random access: an http(s) object is
    then read with range requests; otherwise with one request, front to back."""
    fs, _ = filesystem(remote.base)
    if remote.is_http:
        from .http import http_ranges, http_stream

        if seekable:
            if remote.size is None:
                raise OSError("the server gives no size, and random access needs one")
            return http_ranges(fs, remote.path, remote.size)
        return http_stream(fs, remote.path)
    stream = fs.open(remote.path, "rb")
    return stream  # type: ignore[no-any-return]


#: Bytes a raster's range request reads past what was asked (tiles lie in file order, so a
#: band of tiles comes in one or two requests); also what its buffer holds.
RANGE_BLOCK = 1 << 20


def open_ranged(remote: RemoteFile) -> IO[bytes]:
    """An object of known size read in place: every read a range request (or served from
    the last one's read-ahead), never the whole object first."""
    fs, _ = filesystem(remote.base)
    if remote.is_http:
        from .http import http_ranges

        assert remote.size is not None
        return http_ranges(fs, remote.path, remote.size)
    stream = fs.open(remote.path, "rb", block_size=RANGE_BLOCK, cache_type="readahead")
    return stream  # type: ignore[no-any-return]


def ranged_file(remote: RemoteFile) -> RangedFile:
    """A raster at a URL, for its decoder to read in place (its size must be listed)."""
    assert remote.size is not None
    return RangedFile(
        str(remote),
        remote.size,
        functools.partial(open_ranged, remote),
        functools.partial(read_failure, str(remote), url=remote.base),
    )


def write_url(url: str, data: bytes) -> None:
    """Write the complete output in one put: a failed run leaves no object behind."""
    fs, path = filesystem(url)
    try:
        fs.pipe_file(path, data)
    except Exception as error:
        raise MfbError(f"{shown_path(url)}: cannot be written ({reason(error, url)})") from error


def too_large(name: str, size: int | str, max_bytes: int) -> BadMaskError:
    """A file refused unread: larger than any mask within --max-pixels could be."""
    return BadMaskError(
        name,
        f"is {size} bytes, more than any mask within ",
        Param("max_pixels"),
        f" takes ({max_bytes}); raise ",
        Param("max_pixels"),
        " if the file is genuine",
    )
