"""A server that keeps a transfer alive by dripping bytes, each inside the read deadline,
is cut by the minimum rate (base/throughput.py) wherever the read comes from: an http(s)
object read whole, a raster read in place by ranges, a WebDataset shard read as a
stream, a parquet shard read by pyarrow, an S3 object (moto's server behind a proxy that
drips) read whole or by ranges. A steady live transfer is never cut.

The window and the floor are shrunk (a 1 s window, a 2000 B/s floor) and every server
drips one byte every 0.05 s: at most about 20 bytes a second however the machine runs,
100 times under the floor, so no outcome depends on speed. A server gives up after 30 s
(a hang guard): were the rule broken, the read would fail on a short body instead.
"""

from __future__ import annotations

import io
import json
import os
import re
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from mfb_cli.read.base import cancel, throughput
from mfb_cli.read.base.throughput import Meter, TooSlow, too_slow

from ..conftest import run
from .servers import KEY_ID, SECRET, Dripping, DrippingProxy, s3_endpoint, s3_server

#: One byte every 0.05 s: a drip.
DRIP = {"piece": 1, "pause": 0.05, "give_up": 30.0}
#: 4 KiB every 0.01 s: a live line, 400 KB/s at most, every arrival over a window's floor.
STEADY = {"piece": 4096, "pause": 0.01, "give_up": 30.0}


# The rule, on a clock of our own -----------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(throughput, "monotonic", clock)
    return clock


def feed(meter: Meter, clock: Clock, arrivals: list[tuple[float, int]]) -> None:
    """``(seconds since 1000, bytes)`` arrivals, in order."""
    for at, count in arrivals:
        clock.now = 1000.0 + at
        meter.received(count)


def test_a_byte_every_59_seconds_is_cut_at_the_first_byte_after_a_window(clock: Clock) -> None:
    # Defaults: a 60 s window, a 256 B/s floor (15360 bytes a window). The read deadline
    # (60 s without a byte) never fires on this server.
    assert (cancel.RATE_WINDOW, cancel.RATE_FLOOR) == (60.0, 256.0)
    meter = Meter()
    feed(meter, clock, [(0, 1), (59, 1)])  # 59 s into the transfer: under one window
    with pytest.raises(TooSlow) as refused:
        feed(meter, clock, [(118, 1)])
    # The last window holds the bytes of 59 s and 118 s (the one at 0 s is 118 s old).
    assert str(refused.value) == "sent 2 bytes in the last 60 s, under the 256 B/s floor"


def test_a_slow_live_line_is_never_cut(clock: Clock) -> None:
    # 256 kbit/s (32000 B/s) shared by mfb's 16 reads: 2000 B/s each, for 10 minutes,
    # with a 40 s stall in the middle (2000 B/s x 20 s before it are still in the window).
    meter = Meter()
    feed(meter, clock, [(t, 2000) for t in range(1, 301)])
    feed(meter, clock, [(t, 2000) for t in range(340, 601)])


def test_idle_pooled_time_and_a_slow_first_byte_never_count(clock: Clock) -> None:
    meter = Meter()
    feed(meter, clock, [(0, 300)])  # a reply on a connection kept open
    clock.now += 600
    meter.restart()  # the next request, 10 minutes later
    feed(meter, clock, [(659, 200), (659.5, 100)])  # its reply starts 59 s after it
    meter.restart()
    feed(meter, clock, [(700, 10), (759, 10)])
    with pytest.raises(TooSlow, match="sent 20 bytes in the last 60 s"):
        feed(meter, clock, [(760, 0), (761, 10)])


def test_a_window_is_counted_in_a_few_pieces_whatever_the_arrivals(clock: Clock) -> None:
    meter = Meter()
    feed(meter, clock, [(i / 1000, 100) for i in range(600_000)])  # 10 min, 100 B a ms
    assert len(meter._pieces) <= 60


def test_the_text_is_found_inside_a_library_s_own_error() -> None:
    inner = TooSlow(123, 2.0, 1024)
    wrapped = OSError(f"Response payload is not completed: <X>. {inner!r}")
    assert too_slow(wrapped) == "sent 123 bytes in the last 2 s, under the 1 KiB/s floor"
    assert too_slow(OSError("sent 4 bytes")) is None
    assert str(TooSlow(1, 60, 256)) == "sent 1 byte in the last 60 s, under the 256 B/s floor"
    # A server's words around it never come through.
    spoof = OSError("HTTP 500 sent 1 bytes in the last 1 s, under the \x1b[2J B/s floor")
    assert too_slow(spoof) is None


# Real servers --------------------------------------------------------------------------


@pytest.fixture
def shrunk(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("aiohttp", reason="http(s):// needs aiohttp (the remote extra)")
    monkeypatch.setattr(cancel, "RATE_WINDOW", 1.0)
    monkeypatch.setattr(cancel, "RATE_FLOOR", 2000.0)


def png(side: int, classes: int) -> tuple[bytes, np.ndarray]:
    labels = np.random.default_rng(side).integers(0, classes, (side, side), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(labels).save(buffer, format="PNG")
    return buffer.getvalue(), labels


def cog(side: int = 512) -> tuple[bytes, np.ndarray]:
    tifffile = pytest.importorskip("tifffile")
    labels = np.random.default_rng(side).integers(1, 6, (side, side), dtype=np.uint8)
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, labels, tile=(256, 256), compression="zlib", photometric="minisblack")
    return buffer.getvalue(), labels


def refused(result: Any, name: str, said: str = "cannot be read") -> int:
    """The bytes the one-line error says were sent in the last window, for ``name``."""
    assert result.exit_code == 1, result.output
    found = re.fullmatch(
        rf"Error: {re.escape(name)}: {said} \(sent (\d+) bytes? in the last 1 s, "
        r"under the 2000 B/s floor\)\n",
        result.stderr,
    )
    assert found, result.stderr
    return int(found.group(1))


def shard_tar() -> bytes:
    """A WebDataset shard of three masks (read as one stream, front to back)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for index in range(3):
            data = png(16 + index, 5)[0]
            info = tarfile.TarInfo(f"{index:04d}.seg.png")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def shard_parquet() -> bytes:
    """A parquet shard of three masks (read by ranges inside pyarrow)."""
    pa = pytest.importorskip("pyarrow", reason="parquet shards need pyarrow")
    pq = pytest.importorskip("pyarrow.parquet", reason="parquet shards need pyarrow")
    image = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    rows = [{"bytes": png(16 + i, 5)[0], "path": f"{i}.png"} for i in range(3)]
    buffer = io.BytesIO()
    pq.write_table(pa.table({"image": pa.array(rows, image)}), buffer)
    return buffer.getvalue()


#: Each route an http(s) source is read by, and the message's words before the reason.
ROUTES = {
    "m.png": (lambda: png(64, 5)[0], "cannot be read"),  # whole, mfb's own chunk loop
    "map.tif": (lambda: cog()[0], "cannot be read"),  # in place, range requests
    "shard.tar": (shard_tar, "cannot be read"),  # one request, read as a stream
    "shard.parquet": (shard_parquet, "cannot read as parquet"),  # ranges inside pyarrow
}


@pytest.mark.parametrize("name", sorted(ROUTES))
def test_a_dripping_http_source_is_cut_named_without_secrets(
    shrunk: None, tmp_path: Path, name: str
) -> None:
    make, said = ROUTES[name]
    body = make()
    output = tmp_path / "stats.json"
    with Dripping({f"/{name}": body}, **DRIP) as server:
        port = server.url.rsplit(":", 1)[1]
        url = f"http://user:pw@127.0.0.1:{port}/{name}?token=T0kenSecret"
        result = run("scan", url, "--skip-bad", "-o", output)
    # Under the floor: the headers (under 100 bytes) and 20 or so bytes of body a second;
    # never skipped as a bad file, and no output written.
    assert refused(result, f"http://127.0.0.1:{port}/{name}", said) < 2000
    assert server.sent < len(body)
    assert "T0kenSecret" not in result.output and "user:pw" not in result.output
    assert list(tmp_path.iterdir()) == []


def test_a_steady_transfer_far_over_the_floor_is_never_cut(
    shrunk: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A 0.25 s window at 1000 B/s asks 250 bytes a window; every arrival brings 4 KiB,
    # and the body (64 pieces or more, 0.01 s apart) takes 0.63 s at least: 2.5 windows.
    monkeypatch.setattr(cancel, "RATE_WINDOW", 0.25)
    monkeypatch.setattr(cancel, "RATE_FLOOR", 1000.0)
    body, labels = png(512, 256)
    assert len(body) > 63 * 4096
    with Dripping({"/m.png": body}, **STEADY) as server:
        result = run("scan", f"{server.url}/m.png")
    assert result.exit_code == 0, result.output
    stats = json.loads(result.stdout)
    counts = np.bincount(labels.ravel(), minlength=256)
    assert stats["pixels"] == counts[stats["ids"]].tolist()
    assert sum(stats["pixels"]) == 512 * 512
    assert server.sent == len(body)


# S3 (moto), behind a proxy that drips one object's body --------------------------------


@pytest.fixture(scope="module")
def s3() -> Iterator[Any]:
    with s3_server("mfbslow", KEY_ID, SECRET) as fs:
        yield fs


def dripped(s3: Any, path: str) -> Any:
    """The S3 endpoint replaced, for the scan, by a proxy dripping ``path``'s body."""
    import contextlib

    @contextlib.contextmanager
    def swapped() -> Iterator[DrippingProxy]:
        host, port = os.environ["AWS_ENDPOINT_URL"].removeprefix("http://").split(":")
        with DrippingProxy(host, int(port), path, **DRIP) as proxy, s3_endpoint(proxy.url):
            yield proxy

    return swapped()


@pytest.mark.parametrize("name", ["a.png", "map.tif"])
def test_a_dripping_s3_object_is_cut(shrunk: None, s3: Any, name: str) -> None:
    # a.png is read whole (s3fs cat_file), map.tif in place by ranges (an s3fs file with
    # read-ahead): both through the same sockets. s3fs tries a failed read 5 times.
    body = png(64, 5)[0] if name == "a.png" else cog()[0]
    s3.pipe_file(f"mfbslow/{name}", body)
    with dripped(s3, f"/mfbslow/{name}") as proxy:
        result = run("scan", "--skip-bad", f"s3://mfbslow/{name}")
    assert proxy.dripped.is_set()
    # moto's reply headers (about 600 bytes) and 20 or so bytes of body a second.
    assert refused(result, f"s3://mfbslow/{name}") < 2000
    assert SECRET not in result.output and KEY_ID not in result.output
