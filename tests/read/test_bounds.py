"""Every source is read within a bound fixed before it is read: an HTTP body that never
ends, a server that understates a size, a parquet shard of millions of rows or of one
value repeated, a brace pattern of a billion paths or nested 600 deep."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from mfb_cli.count.scan import count_masks
from mfb_cli.errors import MfbError, NoMasksFoundError
from mfb_cli.read.sources.braces import (
    MAX_BRACE_PATHS,
    count_braces,
    expand_braces,
    iter_braces,
)
from mfb_cli.read.sources.find import find_label_sources

from ..conftest import run
from .servers import Misbehaving

pa = pytest.importorskip("pyarrow", reason="parquet shards need pyarrow (the parquet extra)")
pq = pytest.importorskip("pyarrow.parquet", reason="parquet shards need pyarrow")

IMAGE = pa.struct([("bytes", pa.binary()), ("path", pa.string())])


def png(labels: Any) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(labels, dtype=np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


# An HTTP body ------------------------------------------------------------------------


@pytest.fixture
def http() -> None:
    pytest.importorskip("aiohttp", reason="http(s):// needs aiohttp (the remote extra)")


def test_an_endless_body_is_refused_at_the_cap_in_bounded_memory(http: None) -> None:
    # --max-pixels 1000 caps a file at 8 bytes a pixel plus 1 MiB: 1,056,576 bytes.
    with Misbehaving("endless", announced=None) as server:
        tracemalloc.start()
        try:
            result = run("scan", f"{server.url}/m.png", "--max-pixels", 1000)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {server.url}/m.png: is more than 1056576 bytes, more than any mask within "
        "--max-pixels takes (1056576); raise --max-pixels if the file is genuine\n"
    )
    assert peak < 16 << 20, peak  # the cap plus a chunk, not the body


def test_a_body_longer_than_its_announced_size_is_refused(http: None) -> None:
    with Misbehaving("endless", announced=100) as server:
        result = run("scan", f"{server.url}/m.png", "--skip-bad")
    assert result.exit_code == 1
    assert (
        f"skipped: {server.url}/m.png: holds more than 100 bytes where its listing says 100"
        in result.stderr
    )


def test_a_stalled_body_times_out_and_is_never_skipped_as_bad(
    http: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mfb_cli.read.base import cancel

    monkeypatch.setattr(cancel, "READ_SECONDS", 0.5)
    with Misbehaving("stall") as server:
        result = run("scan", f"{server.url}/m.png", "--skip-bad")
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {server.url}/m.png: cannot be read (timed out: no answer within 0.5 s)\n"
    )


# Parquet -------------------------------------------------------------------------------


def test_a_shard_of_five_million_null_rows_is_listed_without_a_row_each(tmp_path: Path) -> None:
    shard = tmp_path / "nulls.parquet"
    table = pa.table({"annotation": pa.nulls(5_000_000, IMAGE)})
    pq.write_table(table, shard, compression="zstd")
    assert shard.stat().st_size < 64 << 10
    tracemalloc.start()
    try:
        sources = find_label_sources([shard])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20, peak  # 5 million rows of 50+ bytes each would be 250 MB
    assert len(sources) == 5_000_000
    assert str(sources[4_999_999]) == f"{shard}:4999999"
    result = run("scan", shard)
    assert result.exit_code == 1
    assert result.stderr == f"Error: {shard}:0: holds no image (null)\n"


def test_a_value_stored_once_is_never_expanded_into_every_row_at_once(tmp_path: Path) -> None:
    # 64 rows sharing one 20 MB value in a dictionary page: a 2 KB file that decodes to
    # 1.3 GB as one 64-row batch. Read a row at a time, it never holds more than a few.
    value = pa.array([bytes(20 << 20)], pa.binary())
    shared = pa.DictionaryArray.from_arrays(pa.array([0] * 64, pa.int32()), value)
    column = pa.StructArray.from_arrays([shared, pa.array([f"{i}.png" for i in range(64)])],
                                        names=["bytes", "path"])  # fmt: skip
    shard = tmp_path / "bomb.parquet"
    pq.write_table(pa.table({"annotation": column}), shard, compression="zstd", store_schema=False)
    del value, shared, column
    assert shard.stat().st_size < 8 << 10
    probe = (
        "import resource, sys\n"
        "from mfb_cli.count.scan import count_masks\n"
        "from mfb_cli.errors import NoMasksFoundError\n"
        "from mfb_cli.read.sources.find import find_label_sources\n"
        "skipped = []\n"
        "try:\n"
        "    count_masks(find_label_sources([sys.argv[1]]), jobs=2, skip_bad=True,\n"
        "                on_skip=lambda path, error: skipped.append(error.problem))\n"
        "except NoMasksFoundError:\n"
        "    pass\n"
        "print(len(skipped), skipped[0].splitlines()[0])\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)\n"
    )
    # Arrow's system allocator gives freed pages back at once, so the peak is what was held
    # (jemalloc keeps freed pages a while: a loaded machine would measure its caches).
    env = {**os.environ, "ARROW_DEFAULT_MEMORY_POOL": "system"}
    done = subprocess.run(
        [sys.executable, "-c", probe, str(shard)], capture_output=True, text=True, check=True,
        env=env,
    )  # fmt: skip
    outcome, peak_mib = done.stdout.splitlines()
    assert outcome.startswith("64 not an image file"), outcome
    # Python, NumPy, Pillow and pyarrow take about 150 MiB; the byte budget allows 256 MiB
    # of rows in flight. The whole batch would take 1.3 GB in Arrow and 1.3 GB in Python.
    assert int(peak_mib) < 1024, peak_mib


def _shard(path: Path, rows: list[bytes], group_rows: int = 2) -> Path:
    column = pa.array([{"bytes": b, "path": f"{i}.png"} for i, b in enumerate(rows)], type=IMAGE)
    pq.write_table(pa.table({"annotation": column}), path, row_group_size=group_rows,
                   compression="none")  # fmt: skip
    return path


def test_a_damaged_row_group_skips_its_rows_and_no_other(tmp_path: Path) -> None:
    masks = [png(np.full((1, k + 1), k)) for k in range(6)]
    shard = _shard(tmp_path / "s.parquet", masks)
    chunk = pq.ParquetFile(shard).metadata.row_group(1).column(0)
    start = chunk.dictionary_page_offset or chunk.data_page_offset
    data = bytearray(shard.read_bytes())
    data[start : start + 24] = b"\xff" * 24  # the page header of group 1's image bytes
    shard.write_bytes(bytes(data))
    skipped: list[str] = []
    counts = count_masks(find_label_sources([shard]), jobs=2, skip_bad=True,
                         on_skip=lambda path, error: skipped.append(str(path)))  # fmt: skip
    assert skipped == [f"{shard}:2", f"{shard}:3"]
    assert dict(zip(counts.ids.tolist(), counts.pixels.tolist(), strict=True)) == {
        0: 1, 1: 2, 4: 5, 5: 6
    }  # fmt: skip


def test_running_out_of_memory_stops_the_run_and_skips_no_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    masks = [png(np.full((1, 2), k)) for k in range(4)]
    shard = _shard(tmp_path / "m.parquet", masks)
    real = pq.ParquetFile.iter_batches

    def failing(self: Any, *args: Any, **kwargs: Any) -> Any:
        for number, batch in enumerate(real(self, *args, **kwargs)):
            if number == 2:
                raise MemoryError
            yield batch

    monkeypatch.setattr(pq.ParquetFile, "iter_batches", failing)
    skipped: list[object] = []
    with pytest.raises(MfbError, match=r"m\.parquet:2: out of memory") as caught:
        count_masks(find_label_sources([shard]), jobs=2, skip_bad=True,
                    on_skip=lambda path, error: skipped.append(path))  # fmt: skip
    assert not isinstance(caught.value, NoMasksFoundError)
    assert skipped == []
    result = run("scan", shard, "--skip-bad")
    assert result.exit_code == 1 and "skipped" not in result.stderr
    assert result.stderr == f"Error: {shard}:2: out of memory while reading the shard\n"


# Brace ranges --------------------------------------------------------------------------


def test_braces_nested_600_deep_expand_without_recursion() -> None:
    pattern = "x" + "{" * 600 + "a,b" + "}" * 600
    inner = "{" * 599
    assert expand_braces(pattern) == [f"x{inner}a{'}' * 599}", f"x{inner}b{'}' * 599}"]
    assert count_braces("{" * 600 + "0..2" + "}" * 600) == 3


def test_a_billion_paths_are_refused_before_any_is_built() -> None:
    tracemalloc.start()
    try:
        for pattern in ("x-{1..1000000000}.tar", "{000..999}{000..999}{0..9}",
                        "{a,b}" * 40, "{" + "9" * 5000 + "..1}"):  # fmt: skip
            with pytest.raises(MfbError, match=f"more than {MAX_BRACE_PATHS} paths"):
                count_braces(pattern)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20, peak


def test_paths_are_built_one_at_a_time() -> None:
    paths = iter_braces("shard-{000000..999999}.tar")
    tracemalloc.start()
    try:
        first = [next(paths) for _ in range(3)]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert first == ["shard-000000.tar", "shard-000001.tar", "shard-000002.tar"]
    assert peak < 64 << 10, peak
    assert count_braces("shard-{000000..999999}.tar") == MAX_BRACE_PATHS
