"""Servers on 127.0.0.1 for the reading-contract tests: a folder over HTTP (with or
without range requests), an HTTP server that misbehaves on purpose (stalls, sends an
endless body, lies about a size), and S3 (moto's server, as tests/read/test_remote.py).
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

#: Dummy S3 credentials: never to appear in any output or message.
KEY_ID = "AKIAMFBCONTRACTKEY00"
SECRET = "mfbContractSecretKey/NeverPrinted0000000000"


class _Folder(http.server.SimpleHTTPRequestHandler):
    """A folder over HTTP; with ``ranges``, 'Range: bytes=a-b' is answered with 206."""

    ranges = False

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def send_head(self) -> Any:
        wanted = self.headers.get("Range")
        path = Path(self.translate_path(self.path))
        if not (self.ranges and wanted and path.is_file()):
            return super().send_head()
        match = re.fullmatch(r"bytes=(\d+)-(\d*)", wanted)
        size = path.stat().st_size
        if match is None:
            return super().send_head()
        start = int(match.group(1))
        end = min(int(match.group(2) or size - 1), size - 1)
        if start >= size:
            self.send_error(416)
            return None
        stream = path.open("rb")
        stream.seek(start)
        self.send_response(206)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.send_header("Content-Length", str(end - start + 1))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        return _Limited(stream, end - start + 1)


class _Limited:
    """A file read to a given length (what copyfile sends for a range)."""

    def __init__(self, stream: Any, length: int) -> None:
        self._stream, self._left = stream, length

    def read(self, size: int = -1) -> bytes:
        size = self._left if size < 0 else min(size, self._left)
        data = self._stream.read(size)
        self._left -= len(data)
        return data

    def close(self) -> None:
        self._stream.close()


@contextlib.contextmanager
def serve_folder(folder: Path, *, ranges: bool = False) -> Iterator[str]:
    """``folder`` at http://127.0.0.1:PORT (the query string of a request is ignored)."""
    handler_class = type("Folder", (_Folder,), {"ranges": ranges})
    handler = functools.partial(handler_class, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _request_head(client: socket.socket) -> tuple[bytes, bytes, str] | None:
    """The request on ``client`` read up to the end of its headers, its method and its
    path (without the query); None if the client closes first."""
    request = b""
    while b"\r\n\r\n" not in request:
        data = client.recv(4096)
        if not data:
            return None
        request += data
    return request, request.split(b" ", 1)[0], request.split(b" ", 2)[1].decode().split("?")[0]


@contextlib.contextmanager
def s3_endpoint(url: str) -> Iterator[None]:
    """Within the block, S3 is reached at ``url`` (a proxy in front of the moto server):
    AWS_ENDPOINT_URL swapped, and fsspec's cached S3 file systems dropped both ways."""
    import fsspec

    endpoint = os.environ["AWS_ENDPOINT_URL"]
    os.environ["AWS_ENDPOINT_URL"] = url
    fsspec.filesystem("s3").clear_instance_cache()
    try:
        yield
    finally:
        os.environ["AWS_ENDPOINT_URL"] = endpoint
        fsspec.filesystem("s3").clear_instance_cache()


_Served = TypeVar("_Served", bound="_Listener")


class _Listener:
    """A TCP server on 127.0.0.1 (``url``) accepting on a daemon thread while the ``with``
    block lasts; that thread calls ``_accepted`` with each connection (long work: a thread)."""

    def __init__(self) -> None:
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self.url = f"http://127.0.0.1:{self._server.getsockname()[1]}"

    def __enter__(self: _Served) -> _Served:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self._server.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._server.accept()
            except OSError:
                continue
            self._accepted(client)

    def _accepted(self, client: socket.socket) -> None:
        raise NotImplementedError


class Misbehaving(_Listener):
    """An HTTP server that answers HEAD (size ``announced``, or none) and then, for GET:

    - "stall": sends the headers, then nothing, ever;
    - "silent": accepts the connection and never answers, not even to HEAD;
    - "endless": sends a chunked body that never ends;
    - "status:N": answers every request with HTTP status N;
    - "redirect:LOCATION": answers every request with 302 to LOCATION ('SELF': the path
      asked for, a loop);
    - "gzip": a 200 MB run of zero bytes gzipped, sent as ``Content-Encoding: gzip``
      although the request asked for the bytes as stored.

    ``got`` is set once a GET arrives (or, "silent", once a connection is accepted).
    """

    def __init__(
        self, mode: str, announced: int | None = 100, files: dict[str, bytes] | None = None
    ) -> None:
        self.mode, self.announced = mode, announced
        self.files = files or {}  # paths answered with these bytes, whatever the mode
        self.got = threading.Event()
        self.sent = 0  # body bytes sent ("endless")
        super().__init__()

    def _accepted(self, client: socket.socket) -> None:
        threading.Thread(target=self._answer, args=(client,), daemon=True).start()

    def _answer(self, client: socket.socket) -> None:
        with contextlib.suppress(OSError), client:
            if self.mode == "silent":
                self.got.set()
                self._stop.wait()
                return
            asked_for = _request_head(client)
            if asked_for is None:
                return
            request, method, asked = asked_for
            if asked in self.files:
                body = self.files[asked]
                client.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
                    % len(body)
                )
                if method != b"HEAD":
                    client.sendall(body)
                return
            if self.mode.startswith("redirect:"):
                target = self.mode.split(":", 1)[1]
                if target == "SELF":
                    target = request.split(b" ", 2)[1].decode()
                client.sendall(
                    f"HTTP/1.1 302 Found\r\nLocation: {target}\r\nContent-Length: 0\r\n"
                    "Connection: close\r\n\r\n".encode()
                )
                return
            if self.mode == "gzip":
                body = _gzip_bomb()
                client.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n"
                    b"Connection: close\r\n\r\n" % len(body)
                )
                if method != b"HEAD":
                    self.got.set()
                    client.sendall(body)
                return
            if self.mode.startswith("status:"):
                status = self.mode.split(":")[1]
                client.sendall(f"HTTP/1.1 {status} Nope\r\nContent-Length: 0\r\n\r\n".encode())
                return
            length = b"" if self.announced is None else b"Content-Length: %d\r\n" % self.announced
            if method == b"HEAD":
                client.sendall(b"HTTP/1.1 200 OK\r\n" + length + b"Connection: close\r\n\r\n")
                return
            self.got.set()
            if self.mode == "stall":
                client.sendall(b"HTTP/1.1 200 OK\r\n" + length + b"\r\n")
                self._stop.wait()
                return
            client.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            chunk = b"\x89PNG" * 16384
            while not self._stop.is_set():
                client.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.sent += len(chunk)


class Dripping(_Listener):
    """An HTTP server that sends each body ``piece`` bytes at a time, ``pause`` seconds
    apart (headers at once): one byte every 0.05 s is a drip; 4 KiB every 0.01 s a steady
    live line. HEAD gives the size; 'Range: bytes=a-b' is answered with 206. A reply still
    sending after ``give_up`` seconds is cut short (a hang guard: a test whose read is
    never refused then fails on a short body instead of waiting for ever).
    ``sent`` counts the body bytes sent."""

    def __init__(
        self, files: dict[str, bytes], piece: int, pause: float, give_up: float = 60.0
    ) -> None:
        super().__init__()
        self.files, self.piece, self.pause, self.give_up = files, piece, pause, give_up
        self.sent = 0

    def _accepted(self, client: socket.socket) -> None:
        threading.Thread(target=self._answer, args=(client,), daemon=True).start()

    def _answer(self, client: socket.socket) -> None:
        with contextlib.suppress(OSError), client:
            asked_for = _request_head(client)
            if asked_for is None:
                return
            request, method, asked = asked_for
            body = self.files.get(asked)
            if body is None:
                client.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                return
            status = b"200 OK"
            wanted = re.search(rb"(?i)\r\nrange: bytes=(\d+)-(\d*)", request)
            if wanted and method == b"GET":
                start = int(wanted.group(1))
                end = min(int(wanted.group(2) or len(body) - 1), len(body) - 1)
                status = b"206 Partial Content"
                body = body[start : end + 1]
            client.sendall(
                b"HTTP/1.1 %s\r\nContent-Length: %d\r\nAccept-Ranges: bytes\r\n"
                b"Connection: close\r\n\r\n" % (status, len(body))
            )
            if method == b"HEAD":
                return
            drip(client, body, self.piece, self.pause, self.give_up, self._stop, self._count)

    def _count(self, count: int) -> None:
        self.sent += count


def drip(
    sink: socket.socket,
    body: bytes,
    piece: int,
    pause: float,
    give_up: float,
    stop: threading.Event,
    count: Any = None,
) -> None:
    """``body`` sent ``piece`` bytes at a time, ``pause`` seconds apart, until done, until
    ``stop`` or for ``give_up`` seconds at most."""
    deadline = time.monotonic() + give_up
    for at in range(0, len(body), piece):
        if at and (stop.wait(pause) or time.monotonic() > deadline):
            return
        sink.sendall(body[at : at + piece])
        if count is not None:
            count(len(body[at : at + piece]))


class DrippingProxy(_Listener):
    """A TCP proxy on 127.0.0.1 in front of a server (moto's S3) that passes everything
    at once but the body of a reply to a GET whose path starts with ``path``: that body
    it drips, ``piece`` bytes every ``pause`` seconds (see ``drip``)."""

    def __init__(
        self, host: str, port: int, path: str, piece: int, pause: float, give_up: float = 60.0
    ) -> None:
        super().__init__()
        self.target = (host, port)
        self.wanted = re.compile(rb"GET " + re.escape(path.encode()) + rb"[ ?]")
        self.piece, self.pause, self.give_up = piece, pause, give_up
        self.dripped = threading.Event()  # set once a body is being dripped

    def _accepted(self, client: socket.socket) -> None:
        upstream = socket.create_connection(self.target)
        slow = threading.Event()  # the request in flight is one whose body drips
        threading.Thread(target=self._ask, args=(client, upstream, slow), daemon=True).start()
        threading.Thread(target=self._answer, args=(upstream, client, slow), daemon=True).start()

    def _ask(self, client: socket.socket, upstream: socket.socket, slow: threading.Event) -> None:
        with contextlib.suppress(OSError):
            while data := client.recv(65536):
                if self.wanted.match(data):
                    slow.set()  # before the request goes on: its reply comes after
                upstream.sendall(data)
        with contextlib.suppress(OSError):
            upstream.shutdown(socket.SHUT_WR)

    def _answer(
        self, upstream: socket.socket, client: socket.socket, slow: threading.Event
    ) -> None:
        with contextlib.suppress(OSError):
            reply = b""
            while data := upstream.recv(65536):
                if not slow.is_set():
                    client.sendall(data)
                    continue
                reply += data
                if b"\r\n\r\n" in reply:
                    break
            if slow.is_set() and b"\r\n\r\n" in reply:
                head, body = reply.split(b"\r\n\r\n", 1)
                client.sendall(head + b"\r\n\r\n")
                self.dripped.set()
                # moto's reply is small: the rest of it, read whole, then dripped.
                upstream.settimeout(5)
                with contextlib.suppress(OSError):
                    while len(body) < _length(head) and (data := upstream.recv(65536)):
                        body += data
                drip(client, body, self.piece, self.pause, self.give_up, self._stop)
        with contextlib.suppress(OSError):
            client.shutdown(socket.SHUT_RDWR)


def _length(head: bytes) -> int:
    found = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
    return int(found.group(1)) if found else 0


@functools.cache
def _gzip_bomb() -> bytes:
    """200 MB of zero bytes, gzipped to about 200 KB."""
    import gzip

    return gzip.compress(bytes(200 << 20), compresslevel=9)


def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on (connecting is refused)."""
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def s3_server(
    bucket: str = "mfbcontract", key_id: str = KEY_ID, secret: str = SECRET
) -> Iterator[Any]:
    """An S3 server (moto) on 127.0.0.1 holding ``bucket``, found through AWS_ENDPOINT_URL
    as botocore reads it, with dummy credentials in the standard variables; yields an
    s3fs file system."""
    import fsspec
    import pytest

    pytest.importorskip("s3fs", reason="s3:// needs s3fs (the remote extra)")
    server_module = pytest.importorskip("moto.server", reason="the S3 server is moto[server]")
    names = ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")
    saved = {k: os.environ.get(k) for k in names}
    os.environ.update(
        AWS_ACCESS_KEY_ID=key_id, AWS_SECRET_ACCESS_KEY=secret, AWS_DEFAULT_REGION="us-east-1"
    )
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    os.environ["AWS_ENDPOINT_URL"] = f"http://{host}:{port}"
    fsspec.filesystem("s3").clear_instance_cache()
    fs = fsspec.filesystem("s3", skip_instance_cache=True)
    fs.mkdir(bucket)
    try:
        yield fs
    finally:
        server.stop()
        fsspec.filesystem("s3").clear_instance_cache()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class CountingProxy(_Listener):
    """A TCP proxy on 127.0.0.1 in front of a server: counts the bytes the server sent
    (``sent``: replies, headers included) and keeps what clients asked (``requests``)."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.sent = 0
        self.requests = b""
        self._lock = threading.Lock()
        super().__init__()

    def _accepted(self, client: socket.socket) -> None:
        upstream = socket.create_connection(self.target)
        for source, sink, replies in ((client, upstream, False), (upstream, client, True)):
            threading.Thread(target=self._pump, args=(source, sink, replies), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, replies: bool) -> None:
        with contextlib.suppress(OSError):
            while True:
                data = source.recv(65536)
                if not data:
                    break
                with self._lock:
                    if replies:
                        self.sent += len(data)
                    else:
                        self.requests += data
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)
