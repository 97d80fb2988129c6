"""The minimum rate of a network transfer, measured where its bytes come off the socket.

The read deadline (``cancel.READ_SECONDS``) cuts a server that goes silent, not one that
sends a byte every 59 s: that keeps a reply alive forever. Here a transfer whose bytes
over the last ``cancel.RATE_WINDOW`` seconds average under ``cancel.RATE_FLOOR`` bytes a
second is refused (``TooSlow``).

It is counted on the socket, the one place every http(s) and S3 read shares whatever
reads it (mfb's own chunk loop, s3fs, a raster read by ranges): ``metered_socket`` is the
socket factory of every aiohttp connector of those file systems (sources/remote.py
gives it with the deadlines). A transfer starts at the first byte after the client last
sent anything (its request), so a pooled connection's idle time and a server's time to
its first byte (bounded by the read deadline) never count; the rule is checked as bytes
arrive, so a transfer under the floor ends at the first byte after one window (at most
a window plus the read deadline after it starts).
"""

from __future__ import annotations

import re
import socket
from collections import deque
from time import monotonic
from typing import Any

from . import cancel

#: Pieces of a window counted apart: bytes are added up per piece, so a fast transfer
#: keeps 60 counters, not one entry per arrival. Only whole pieces inside the window
#: count: every byte counted arrived within the window (at most a piece's bytes left out).
_PIECES = 60


def floor_text(floor: float) -> str:
    """A rate as a person reads it: '256 B/s', '1 KiB/s'."""
    if floor >= 1024 and floor % 1024 == 0:
        return f"{floor / 1024:g} KiB/s"
    return f"{floor:g} B/s"


class TooSlow(TimeoutError):
    """A transfer under the minimum rate. A TimeoutError (an OSError): the event loop
    closes the connection without logging, and the failure is the network's, never the
    file's; its text is found again in the errors a client library wraps it in."""

    def __init__(self, received: int, window: float, floor: float) -> None:
        bytes_ = "byte" if received == 1 else "bytes"
        super().__init__(
            f"sent {received} {bytes_} in the last {window:g} s, "
            f"under the {floor_text(floor)} floor"
        )


#: A TooSlow's text, and nothing more (a server's own words never come through with it).
_TOO_SLOW = re.compile(
    r"sent \d+ bytes? in the last [0-9.e+-]+ s, under the [0-9.e+-]+ (?:B|KiB)/s floor"
)


def too_slow(error: BaseException) -> str | None:
    """The text of a TooSlow, whether ``error`` is one or wraps its text in its own
    message (aiohttp may keep a lost connection's cause as text only); None otherwise."""
    if isinstance(error, TooSlow):
        return str(error)
    found = _TOO_SLOW.search(str(error))
    return found.group(0) if found else None


class Meter:
    """The bytes of one transfer over the last window, counted in pieces of a window."""

    def __init__(self) -> None:
        self._first: float | None = None
        self._pieces: deque[list[int]] = deque()  # [piece number, bytes]
        self._total = 0

    def restart(self) -> None:
        """A new transfer: the client sent a request (or any bytes)."""
        self._first = None
        self._pieces.clear()
        self._total = 0

    def received(self, count: int) -> None:
        """``count`` bytes arrived: TooSlow if, one window or more into the transfer, the
        last window holds fewer bytes than the floor asks."""
        if count <= 0:
            return
        now = monotonic()
        window, floor = cancel.RATE_WINDOW, cancel.RATE_FLOOR
        piece = int(now * _PIECES / window)
        if self._first is None:
            self._first = now
        if self._pieces and self._pieces[-1][0] == piece:
            self._pieces[-1][1] += count
        else:
            self._pieces.append([piece, count])
        self._total += count
        while self._pieces[0][0] <= piece - _PIECES:
            self._total -= self._pieces.popleft()[1]
        if now - self._first >= window and self._total < floor * window:
            raise TooSlow(self._total, window, floor)


class MeteredSocket(socket.socket):
    """A socket whose received bytes are held to the minimum rate (see the docstring);
    asyncio's selector transports call these methods for every read and write."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.meter = Meter()

    def recv(self, size: int, flags: int = 0) -> bytes:
        data = super().recv(size, flags)
        self.meter.received(len(data))
        return data

    def recv_into(self, buffer: Any, size: int = 0, flags: int = 0) -> int:
        count = super().recv_into(buffer, size, flags)
        self.meter.received(count)
        return count

    def send(self, data: Any, flags: int = 0) -> int:
        self.meter.restart()
        return super().send(data, flags)

    def sendall(self, data: Any, flags: int = 0) -> None:
        self.meter.restart()
        super().sendall(data, flags)

    def sendmsg(self, buffers: Any, *args: Any) -> int:
        self.meter.restart()
        return super().sendmsg(buffers, *args)


def metered_socket(address: tuple[Any, ...]) -> socket.socket:
    """The socket factory of an aiohttp connector (``socket_factory``): ``address`` is
    one (family, type, proto, canonname, sockaddr) of getaddrinfo."""
    family, kind, proto = address[:3]
    return MeteredSocket(family, kind, proto)
