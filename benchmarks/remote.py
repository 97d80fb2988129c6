"""Reading the same masks from local files, a local S3 server (moto) and parquet shards.

    python benchmarks/remote.py [--files 2000] [--rounds 3] [--output benchmarks/REMOTE.md]

Needs the test extra (fsspec, s3fs, moto[server], pyarrow). Every route is counted by the
library (find_label_sources + count_masks) in this process, and must give the same counts.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from mfb_cli.count.scan import count_masks
from mfb_cli.read.sources.find import find_label_sources


def make_masks(folder: Path, files: int) -> list[tuple[str, bytes]]:
    """``files`` 512x256 masks of blocky regions of 19 classes (Cityscapes-like, smaller)."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True)
    out = []
    for index in range(files):
        blocks = rng.integers(0, 19, (16, 32), dtype=np.uint8)
        mask = np.kron(blocks, np.ones((16, 16), dtype=np.uint8))
        path = folder / f"{index:06d}.png"
        Image.fromarray(mask).save(path)
        out.append((path.name, path.read_bytes()))
    return out


def timed(paths: list[Any], rounds: int) -> tuple[float, Any]:
    times, counts = [], None
    for _ in range(rounds):
        start = time.perf_counter()
        sources = find_label_sources(paths)
        counts = count_masks(sources)
        times.append(time.perf_counter() - start)
    return statistics.median(times), counts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args()

    import fsspec
    import pyarrow as pa
    import pyarrow.parquet as pq
    from moto.server import ThreadedMotoServer

    os.environ.update(
        AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1"
    )
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    os.environ["AWS_ENDPOINT_URL"] = f"http://{host}:{port}"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            local = Path(tmp) / "masks"
            masks = make_masks(local, args.files)
            fs = fsspec.filesystem("s3")
            fs.mkdir("bench")
            fs.pipe({f"bench/masks/{name}": data for name, data in masks})
            image = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
            shards = []
            per_shard = max(1, len(masks) // 4)
            for number, start in enumerate(range(0, len(masks), per_shard)):
                rows = [{"bytes": d, "path": n} for n, d in masks[start : start + per_shard]]
                shard = Path(tmp) / f"train-{number:05d}.parquet"
                pq.write_table(pa.table({"annotation": pa.array(rows, type=image)}), shard)
                shards.append(shard)
            routes: list[tuple[str, list[Any]]] = [
                ("local PNG files", [local]),
                ("local S3 server (moto), s3://bench/masks/", ["s3://bench/masks/"]),
                (f"local parquet shards ({len(shards)})", shards),
            ]
            results = []
            reference = None
            for name, paths in routes:
                seconds, counts = timed(paths, args.rounds)
                if reference is None:
                    reference = counts
                assert counts.pixels.tolist() == reference.pixels.tolist(), name
                results.append((name, seconds))
            # The server's own floor: every object fetched by s3fs's async bulk read alone.
            keys = [f"bench/masks/{name}" for name, _ in masks]
            floor = []
            for _ in range(args.rounds):
                start = time.perf_counter()
                fs.cat(keys)
                floor.append(time.perf_counter() - start)
            results.append(
                ("floor: fetch only, s3fs bulk cat (no decoding)", statistics.median(floor))
            )
    finally:
        server.stop()
    base = results[0][1]
    lines = [
        f"Machine: {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}.",
        "",
        f"{args.files} masks of 512x256 (blocky, 19 classes), median of {args.rounds} rounds, "
        "same counts on every route:",
        "",
        "| route | time (s) | files/s | vs local |",
        "|---|---:|---:|---:|",
        *(
            f"| {name} | {seconds:.2f} | {args.files / seconds:.0f} | {seconds / base:.2f}x |"
            for name, seconds in results
        ),
    ]
    text = "\n".join(lines) + "\n"
    text += (
        "\nThe S3 route's time is the server's: moto answers each GET in Python, in this\n"
        "process, on the same 2 cores; mfb's route is compared with the fetch-only floor.\n"
    )
    print(text)
    if args.output is not None:
        args.output.write_text("# Remote and sharded reading\n\n" + text)


if __name__ == "__main__":
    main()
