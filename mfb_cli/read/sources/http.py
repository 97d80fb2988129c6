"""http(s) bodies read by mfb, a bounded chunk at a time, on fsspec's session and loop.

fsspec's HTTP file system reads a reply whole (a range reply too): a server that sends
more than it was asked for, or never stops, would be read until memory runs out. Here no
read takes more than it asked for, every request asks for the bytes as stored
(``Accept-Encoding: identity``) and carries the deadlines of base/cancel.py; every
connection is held to the minimum rate of base/throughput.py (``metered_client``).

The session (``session_options``, fsspec's own requests included) never decompresses a
reply: a server that sends ``Content-Encoding: gzip`` all the same hands over the bytes
as sent, so a gzip bomb is never inflated (a 200 KB reply inflating to 200 MB took 465 MB).
It follows a redirect only on the same server: one to another host would take a list's
entries off the list's own server (and a request's credentials with it), one to another
protocol (``file://``) is refused by aiohttp, and a loop ends after 10 redirects.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Coroutine
from typing import Any, TypeVar

from ..base import cancel
from ..base.throughput import metered_socket

#: Bytes asked of a stream at a time.
_CHUNK = 1 << 20

_Result = TypeVar("_Result")


def http_timeout() -> Any:
    import aiohttp

    return aiohttp.ClientTimeout(
        total=None,
        connect=cancel.CONNECT_SECONDS,
        sock_connect=cancel.CONNECT_SECONDS,
        sock_read=cancel.READ_SECONDS,
    )


async def metered_client(**options: Any) -> Any:
    """fsspec's ``get_client``: the aiohttp session of an http(s) file system, its
    connections made on sockets held to the minimum rate (base/throughput.py)."""
    import aiohttp

    connector = aiohttp.TCPConnector(socket_factory=metered_socket)
    return aiohttp.ClientSession(connector=connector, **options)


def session_options() -> dict[str, Any]:
    """The aiohttp session's options for every http(s) file system (see the docstring)."""
    return {
        "timeout": http_timeout(),
        "auto_decompress": False,
        "trace_configs": [_redirects()],
    }


class RedirectRefused(Exception):
    """A redirect to another server, not followed."""


_TRACE: list[Any] = []


def _redirects() -> Any:
    """One TraceConfig (one object: fsspec caches file systems by their options' text)
    that refuses a redirect to another host."""
    if not _TRACE:
        import aiohttp

        async def check(session: Any, context: Any, params: Any) -> None:
            import yarl

            location = params.response.headers.get("Location") or ""
            try:
                target = params.url.join(yarl.URL(location))
            except ValueError:
                return  # aiohttp names a redirect that is no URL itself
            if (target.host or "").lower() != (params.url.host or "").lower():
                shown = f"{target.scheme}://{target.host}" if target.host else location[:40]
                raise RedirectRefused(
                    f"redirected to another server ({shown}); mfb follows redirects on the "
                    "same server only: give the URL it redirects to"
                )

        trace = aiohttp.TraceConfig()
        trace.on_request_redirect.append(check)
        _TRACE.append(trace)
    return _TRACE[0]


def on_loop(loop: asyncio.AbstractEventLoop, work: Coroutine[Any, Any, _Result]) -> _Result:
    """``work`` run on the file system's event loop, waited for in slices; if the wait
    ends early (Ctrl-C, SIGTERM) the work is cancelled, not left pending on the loop."""
    future = asyncio.run_coroutine_threadsafe(work, loop)
    try:
        return cancel.result(future)
    except BaseException:
        future.cancel()
        raise


def read_http(fs: Any, url: str, start: int, count: int, *, ranged: bool) -> bytearray:
    """At most ``count`` bytes from ``start``, read a chunk at a time (a server that sends
    more, or never stops, is read no further); ``ranged`` asks for a range request."""

    async def get() -> bytearray:
        session = await fs.set_session()
        options = dict(fs.kwargs)
        headers = _identity(options)
        if ranged:
            headers["Range"] = f"bytes={start}-{start + count - 1}"
        async with session.get(
            fs.encode_url(url), headers=headers, timeout=http_timeout(), **options
        ) as reply:
            if reply.status == 404:
                raise FileNotFoundError(url)
            if ranged and reply.status == 416:
                return bytearray()
            reply.raise_for_status()
            if ranged and start > 0 and reply.status != 206:
                raise RangesRefused(
                    "the server does not answer range requests (HTTP 206), which a file read "
                    "in place at a URL needs (a zip, a parquet file, a GeoTIFF)"
                )
            data = bytearray()
            while len(data) < count:
                chunk = await reply.content.read(min(_CHUNK, count - len(data)))
                if not chunk:
                    break
                data += chunk
            return data

    return on_loop(fs.loop, get())


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
        data = read_http(self._fs, self._url, self._at, wanted, ranged=True)
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
        if self._reply is None:
            self._reply = on_loop(self._fs.loop, self._open())
        data = on_loop(self._fs.loop, self._reply.content.read(len(buffer)))
        buffer[: len(data)] = data
        self._at += len(data)
        return len(data)

    async def _open(self) -> Any:
        session = await self._fs.set_session()
        options = dict(self._fs.kwargs)
        headers = _identity(options)
        reply = await session.get(
            self._fs.encode_url(self._url), headers=headers, timeout=http_timeout(), **options
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


def http_ranges(fs: Any, url: str, size: int) -> io.BufferedReader:
    """An object of known size, read with one range request per 1 MiB buffer refill."""
    return io.BufferedReader(_HttpRanges(fs, url, size), _CHUNK)


def http_stream(fs: Any, url: str) -> io.BufferedReader:
    """An object read front to back in one request."""
    return io.BufferedReader(_HttpStream(fs, url), _CHUNK)
