"""Label files in object storage and other fsspec URLs (s3://, gs://, az://, hf://, ...).

fsspec and its backends are an optional extra (``pip install 'mfb-cli[remote]'``), imported
only when a URL is given. Credentials come from each backend's own configuration
(environment, profiles); a URL is shown and recorded without any user:password or query
string (base/urls.py), so a secret typed into a URL never reaches an output or a message.

Every read here is bounded before it starts: a body is read to at most its listed size
plus one byte (or, its size unknown, to the cap plus one byte) and refused past it, and
http(s) bodies are read here, a chunk at a time, not by the backend (which reads a reply
whole). Network reads get the deadlines of base/cancel.py.
"""

from __future__ import annotations

import errno
import io
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ...errors import BadMaskError, MfbError, Param
from ..base import cancel
from ..base.keys import SourceKey, url_key
from ..base.urls import safe_text, safe_url, shown_path

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
#: Bytes asked of a stream at a time.
_CHUNK = 1 << 20


def filesystem(url: str) -> tuple[Any, str]:
    """The fsspec file system of a URL and the path within it; a missing backend named.

    The file system is made with the network deadlines of base/cancel.py (connect, and
    read without a byte) where its backend takes them: http(s) and s3.
    """
    try:
        import fsspec  # type: ignore[import-untyped]
    except ImportError as error:
        raise MfbError(
            f"{shown_path(url)}: reading URLs needs fsspec; pip install 'mfb-cli[remote]'"
        ) from error
    try:
        fs, path = fsspec.core.url_to_fs(url, **_deadlines(url))
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


def _deadlines(url: str) -> dict[str, Any]:
    """Storage options giving each protocol of ``url`` the deadlines of base/cancel.py."""
    protocols = [p.split("://")[0].lower() for p in url.split("::")]
    options: dict[str, dict[str, Any]] = {}
    for protocol in protocols:
        if protocol in ("http", "https"):
            options[protocol] = {"client_kwargs": {"timeout": _http_timeout()}}
        elif protocol in ("s3", "s3a"):
            options[protocol] = {
                "config_kwargs": {
                    "connect_timeout": cancel.CONNECT_SECONDS,
                    "read_timeout": cancel.READ_SECONDS,
                }
            }
    if len(protocols) == 1:
        return options.get(protocols[0], {})
    return options  # a chained URL: options under each protocol's name, as fsspec takes them


def _http_timeout() -> Any:
    import aiohttp

    return aiohttp.ClientTimeout(
        total=None,
        connect=cancel.CONNECT_SECONDS,
        sock_connect=cancel.CONNECT_SECONDS,
        sock_read=cancel.READ_SECONDS,
    )


# Why a read failed, in words, and whether it is the object's fault (a bad file, which
# --skip-bad may skip) or the network's (the run stops: skipping would change the counts).
_TIMEOUTS = {"TimeoutError", "FSTimeoutError", "ServerTimeoutError", "ConnectTimeoutError",
             "ReadTimeoutError", "ConnectTimeout", "ReadTimeout"}  # fmt: skip
_NO_CONNECTION = {"ClientConnectorError", "EndpointConnectionError", "ConnectionError",
                  "ServerDisconnectedError", "ClientOSError", "ClientPayloadError",
                  "ConnectionResetError", "ConnectionRefusedError"}  # fmt: skip


def _chain(error: BaseException) -> list[BaseException]:
    """The error and every error it was raised from or while handling, outermost first."""
    found: list[BaseException] = []
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop(0)
        if current is None or any(current is seen for seen in found):
            continue
        found.append(current)
        pending += [current.__cause__, current.__context__]
    return found


def _named(error: BaseException, names: set[str]) -> bool:
    return any(kind.__name__ in names for kind in type(error).__mro__)


def reason(error: BaseException, url: str = "") -> str:
    """Why a remote call failed, in a few words: connection refused, timed out, an HTTP
    status, no such object, access denied; else the backend's own message, made safe."""
    chain = _chain(error)
    for current in chain:
        if _named(current, _TIMEOUTS):
            return f"timed out: no answer within {cancel.READ_SECONDS:g} s"
    for current in chain:
        os_error = getattr(current, "os_error", current)  # aiohttp keeps the OSError aside
        if isinstance(os_error, ConnectionRefusedError) or (
            isinstance(os_error, OSError) and os_error.errno == errno.ECONNREFUSED
        ):
            return "connection refused"
        if _named(current, _NO_CONNECTION):
            return f"cannot connect ({safe_text(str(current), url) or type(current).__name__})"
    for current in chain:
        status = getattr(current, "status", None)
        if isinstance(status, int) and status >= 400 and status != 404:
            message = getattr(current, "message", "") or ""
            return f"HTTP status {status}{f' {message}' if message else ''}"
        response = getattr(current, "response", None)  # botocore's ClientError
        if isinstance(response, dict) and "Error" in response:
            code = response["Error"].get("Code", "")
            status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code not in ("404", "NoSuchKey", "NoSuchBucket"):
                return f"{code} (HTTP status {status})" if status else str(code)
    if isinstance(error, FileNotFoundError) or any(isinstance(e, FileNotFoundError) for e in chain):
        return "no such object"
    if isinstance(error, PermissionError):
        return "access denied"
    return safe_text(str(error), url) or type(error).__name__


def is_network_failure(error: BaseException) -> bool:
    """Whether a failed read is the network's or the server's doing (no connection, a
    timeout, a server error 5xx or 429, no range requests), not the object's: then no
    object is skipped as bad for it."""
    for current in _chain(error):
        if _named(current, _TIMEOUTS | _NO_CONNECTION | {"RangesRefused"}) or isinstance(
            current, ConnectionError
        ):
            return True
        status = getattr(current, "status", None)
        response = getattr(current, "response", None)
        if isinstance(response, dict):
            status = response.get("ResponseMetadata", {}).get("HTTPStatusCode", status)
        if isinstance(status, int) and (status >= 500 or status == 429):
            return True
    return False


def read_failure(name: str, error: BaseException, url: str) -> MfbError:
    """The error for a read that failed: a BadMaskError when the object is at fault,
    an MfbError (never skipped) when the network is."""
    if isinstance(error, MfbError):
        return error
    if isinstance(error, MemoryError):
        return MfbError(f"{name}: out of memory while reading it")
    text = f"cannot be read ({reason(error, url)})"
    if is_network_failure(error):
        return MfbError(f"{name}: {text}")
    return BadMaskError(name, text)


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
        return self.path.lower().startswith(("http://", "https://")) and "::" not in self.base


def remote_file(base: str, fs: Any, path: str, size: object) -> RemoteFile:
    """A listed object, named and keyed by its own URL (a member of a chained URL, by the
    chain's URL and its path below the chain's root)."""
    if "::" in base:
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
        # A pattern ('*' or '[...]'; '?' starts an http query): one listing, all files kept.
        if "*" in root or "[" in root:
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
        return bytes(_http_read(fs, remote.path, 0, limit + 1, ranged=False))
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
    return stream if isinstance(stream, io.BufferedReader) else io.BufferedReader(stream)  # type: ignore[arg-type]


def open_remote(remote: RemoteFile, *, seekable: bool) -> io.BufferedIOBase:
    """The object as a binary stream, for a reader that reads it a piece at a time (an
    archive, a parquet shard). ``seekable`` asks for random access: an http(s) object is
    then read with range requests; otherwise with one request, front to back."""
    fs, _ = filesystem(remote.base)
    if remote.is_http:
        if seekable:
            if remote.size is None:
                raise OSError("the server gives no size, and random access needs one")
            return io.BufferedReader(_HttpRanges(fs, remote.path, remote.size), _CHUNK)
        return io.BufferedReader(_HttpStream(fs, remote.path), _CHUNK)
    stream = fs.open(remote.path, "rb")
    return stream  # type: ignore[no-any-return]


def _http_read(fs: Any, url: str, start: int, count: int, *, ranged: bool) -> bytearray:
    """At most ``count`` bytes from ``start``, read a chunk at a time (a server that sends
    more, or never stops, is read no further); ``ranged`` asks for a range request."""
    from fsspec.asyn import sync  # type: ignore[import-untyped]

    async def get() -> bytearray:
        session = await fs.set_session()
        options = dict(fs.kwargs)
        headers = _identity(options)
        if ranged:
            headers["Range"] = f"bytes={start}-{start + count - 1}"
        async with session.get(
            fs.encode_url(url), headers=headers, timeout=_http_timeout(), **options
        ) as reply:
            if reply.status == 404:
                raise FileNotFoundError(url)
            if ranged and reply.status == 416:
                return bytearray()
            reply.raise_for_status()
            if ranged and start > 0 and reply.status != 206:
                raise RangesRefused(
                    "the server does not answer range requests (HTTP 206), which a zip or a "
                    "parquet file at a URL is read with"
                )
            data = bytearray()
            while len(data) < count:
                chunk = await reply.content.read(min(_CHUNK, count - len(data)))
                if not chunk:
                    break
                data += chunk
            return data

    return sync(fs.loop, get)  # type: ignore[no-any-return]


class RangesRefused(Exception):
    """An http(s) server that sends the whole object when a part of it is asked for.

    Not an OSError, which zipfile would report as a damaged archive."""


def _identity(options: dict[str, Any]) -> dict[str, str]:
    """The request's headers (taken out of the file system's options, with its timeout),
    asking for the bytes as stored: a compressed reply would not be the size listed."""
    options.pop("timeout", None)
    headers = dict(options.pop("headers", None) or {})
    headers.setdefault("Accept-Encoding", "identity")
    return headers


class _HttpRanges(io.RawIOBase):
    """An http(s) object of known size, read with one range request per buffer refill."""

    def __init__(self, fs: Any, url: str, size: int) -> None:
        super().__init__()
        self._fs, self._url, self._size, self._at = fs, url, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        wanted = min(len(buffer), self._size - self._at)
        if wanted <= 0:
            return 0
        data = _http_read(self._fs, self._url, self._at, wanted, ranged=True)
        buffer[: len(data)] = data
        self._at += len(data)
        return len(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._at, io.SEEK_END: self._size}[whence]
        self._at = max(0, base + offset)
        return self._at

    def tell(self) -> int:
        return self._at


class _HttpStream(io.RawIOBase):
    """An http(s) object read front to back in one request (one reply, kept open)."""

    def __init__(self, fs: Any, url: str) -> None:
        super().__init__()
        self._fs, self._url = fs, url
        self._reply: Any = None
        self._at = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        from fsspec.asyn import sync

        if self._reply is None:
            self._reply = sync(self._fs.loop, self._open)
        data = sync(self._fs.loop, self._reply.content.read, len(buffer))
        buffer[: len(data)] = data
        self._at += len(data)
        return len(data)

    async def _open(self) -> Any:
        session = await self._fs.set_session()
        options = dict(self._fs.kwargs)
        headers = _identity(options)
        reply = await session.get(
            self._fs.encode_url(self._url), headers=headers, timeout=_http_timeout(), **options
        )
        if reply.status == 404:
            reply.release()
            raise FileNotFoundError(self._url)
        reply.raise_for_status()
        return reply

    def tell(self) -> int:
        return self._at

    def close(self) -> None:
        if self._reply is not None:
            # Drops the connection, on the loop's thread; a stalled reply is not waited for.
            self._fs.loop.call_soon_threadsafe(self._reply.close)
            self._reply = None
        super().close()


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
