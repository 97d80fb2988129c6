"""A cloud-optimised GeoTIFF in object storage (moto's S3 server on 127.0.0.1) is read in
place, tile band by tile band, with range requests: a proxy in front of the server counts
the bytes it sent, at most the file's size once (plus the replies' headers)."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ..conftest import run
from .servers import KEY_ID, SECRET, CountingProxy, s3_endpoint, s3_server

tifffile = pytest.importorskip("tifffile")

SIZE = 4096  # 16 M pixels in 256 x 256 tiles: about 7 MB deflated, several read-aheads


@pytest.fixture(scope="module")
def s3() -> Iterator[Any]:
    with s3_server("mfbrasters", KEY_ID, SECRET) as fs:
        yield fs


@pytest.fixture
def proxied(s3: Any) -> Iterator[CountingProxy]:
    """The S3 endpoint replaced by a counting proxy in front of it, for the scan."""
    host, port = os.environ["AWS_ENDPOINT_URL"].removeprefix("http://").split(":")
    with CountingProxy(host, int(port)) as proxy, s3_endpoint(proxy.url):
        yield proxy


def _cog(path: Path, size: int = SIZE, smooth: bool = False) -> np.ndarray:
    rng = np.random.default_rng(26)
    if smooth:  # classes in 64 x 64 blocks: no edge looks interpolated to mfb check
        blocks = rng.integers(1, 12, size=(size // 64, size // 64), dtype=np.uint8)
        data = np.repeat(np.repeat(blocks, 64, axis=0), 64, axis=1)
    else:
        data = rng.integers(1, 12, size=(size, size), dtype=np.uint8)
    data[:100] = 0  # nodata
    tifffile.imwrite(
        path,
        data,
        tile=(256, 256),
        compression="zlib",
        photometric="minisblack",
        extratags=[
            (33550, "d", 3, (10.0, 10.0, 0.0), True),
            (33922, "d", 6, (0.0, 0.0, 0.0, 500000.0, 5000000.0, 0.0), True),
            (42113, "s", 0, "0", True),
        ],
    )
    return data


def test_cog_on_s3_is_read_by_ranges_once(s3: Any, tmp_path: Path, proxied: CountingProxy) -> None:
    data = _cog(tmp_path / "map.tif")
    size = (tmp_path / "map.tif").stat().st_size
    assert size > 1 << 20  # more than the read-ahead of one request
    s3.put_file(str(tmp_path / "map.tif"), "mfbrasters/cog/map.tif")
    # Bands of one tile row (4096 x 256 pixels) under --max-pixels: 16 bands.
    result = run("scan", "--max-pixels", 2_000_000, "s3://mfbrasters/cog/map.tif")
    assert result.exit_code == 0, result.output
    stats = json.loads(result.stdout)
    counts = np.bincount(data.ravel(), minlength=12)
    assert stats["ids"] == list(range(1, 12))
    assert stats["pixels"] == counts[1:].tolist()
    assert stats["source"]["rasters"][0]["geotransform"] == [
        500000.0,
        10.0,
        0.0,
        5000000.0,
        0.0,
        -10.0,
    ]
    # Every GET of the object asked for a range, none for all of it; the server sent the
    # file's bytes at most once (the headers of each reply aside).
    gets = re.findall(
        rb"GET /mfbrasters/cog/map\.tif[^\r]*\r\n(.*?)\r\n\r\n", proxied.requests, re.S
    )
    assert gets
    ranges = [re.search(rb"(?i)^range: bytes=(\d+)-(\d+)", g, re.M) for g in gets]
    assert all(r is not None for r in ranges), gets
    spans = [int(r.group(2)) - int(r.group(1)) + 1 for r in ranges if r is not None]
    assert max(spans) < size // 2
    assert sum(spans) <= size
    assert proxied.sent <= size + 1000 * (len(gets) + 4), (proxied.sent, size, len(gets))
    assert SECRET not in result.output and KEY_ID not in result.output


def test_check_and_a_damaged_remote_raster(s3: Any, tmp_path: Path) -> None:
    _cog(tmp_path / "map.tif", 1024, smooth=True)
    whole = (tmp_path / "map.tif").read_bytes()
    s3.pipe_file("mfbrasters/bad/map.tif", whole[: len(whole) - 1000])
    result = run("scan", "s3://mfbrasters/bad/map.tif")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: s3://mfbrasters/bad/map.tif: is a TIFF whose tile")
    assert "past the end of the file" in result.stderr
    s3.pipe_file("mfbrasters/good/map.tif", whole)
    checked = run("check", "s3://mfbrasters/good/map.tif")
    assert checked.exit_code == 0, checked.output


def test_cog_over_http_ranges(tmp_path: Path) -> None:
    pytest.importorskip("aiohttp", reason="http(s):// needs aiohttp (the remote extra)")
    from .servers import serve_folder

    data = _cog(tmp_path / "map.tif", 1024)
    with serve_folder(tmp_path, ranges=True) as url:
        result = run("scan", "--max-pixels", 300_000, f"{url}/map.tif")
    assert result.exit_code == 0, result.output
    stats = json.loads(result.stdout)
    assert stats["pixels"] == np.bincount(data.ravel(), minlength=12)[1:].tolist()


def test_cog_over_http_without_ranges_counts_once_or_fails_clearly(tmp_path: Path) -> None:
    # A server that ignores Range and sends the whole body: a raster within the first
    # range read (1 MiB) is counted from it, once; a larger one is not read unbounded
    # nor counted from a wrong place: one line names the URL and the reason.
    pytest.importorskip("aiohttp", reason="http(s):// needs aiohttp (the remote extra)")
    from .servers import serve_folder

    small = _cog(tmp_path / "small.tif", 1024)
    large = np.random.default_rng(7).integers(0, 200, (2048, 2048), dtype=np.uint8)
    tifffile.imwrite(tmp_path / "large.tif", large, tile=(256, 256), compression="zlib")
    assert (tmp_path / "large.tif").stat().st_size > 2 << 20
    with serve_folder(tmp_path, ranges=False) as url:
        counted = run("scan", "--max-pixels", 300_000, f"{url}/small.tif")
        refused = run("scan", f"{url}/large.tif")
    assert counted.exit_code == 0, counted.output
    pixels = json.loads(counted.stdout)["pixels"]
    assert pixels == np.bincount(small.ravel(), minlength=12)[1:].tolist()
    assert refused.exit_code == 1 and refused.stdout == ""
    # (the test server may log the connection mfb closed: only mfb's own line is checked)
    assert refused.stderr.splitlines()[-1] == (
        f"Error: {url}/large.tif: cannot be read (the server does not answer range requests "
        "(HTTP 206), which a file read in place at a URL needs (a zip, a parquet file, a "
        "GeoTIFF))"
    )
    assert "Traceback" not in refused.stderr.split("Error: ")[-1]
