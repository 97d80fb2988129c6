"""What --dask costs on one machine: the local threaded scan against --dask local:1 and local:2.

Not a test: run it by hand on a quiet machine (about a minute on 2 cores)::

    python benchmarks/dask_overhead.py             # prints markdown, writes benchmarks/DASK.md
    python benchmarks/dask_overhead.py --files 100 --output /tmp/dask.md

Two parts, on the same seeded CamVid-like masks (480x360, ids 0-11, generated once under
``benchmarks/data/``):

1. The commands end to end, each in its own process (start-up and, for --dask, starting
   and closing the cluster included): ``mfb scan DIR`` against ``mfb scan DIR --dask
   local:1`` and ``--dask local:2``; median of 3 rounds, outputs compared byte for byte.
2. The per-task overhead, in one process on a running 1-worker cluster: the same files as
   one task each and as a single task; (one-per-file - single) / (files - 1) is what a
   task costs beyond its files' work (scheduling, moving the task and its partial, and one
   addition in the reduction tree). The per-file cost is the local scan with -j 1.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"


def dataset(files: int) -> Path:
    """CamVid-like masks: blocky regions of ids 0-11, seeded, written once."""
    folder = DATA / f"dask-camvid-{files}"
    if folder.is_dir() and len(list(folder.glob("*.png"))) == files:
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(16)
    for index in range(files):
        blocks = rng.integers(0, 12, (9, 12), dtype=np.uint8)
        labels = np.kron(blocks, np.ones((40, 40), dtype=np.uint8))
        Image.fromarray(labels).save(folder / f"{index:05d}.png")
    return folder


def command_times(folder: Path, rounds: int) -> dict[str, float]:
    """Median wall time of each command, run in its own process, in interleaved rounds."""
    mfb = [sys.executable, "-m", "mfb_cli", "scan", str(folder), "-q"]
    runs = {
        "mfb scan (threads, all cores)": mfb,
        "mfb scan --dask local:1": [*mfb, "--dask", "local:1"],
        "mfb scan --dask local:2": [*mfb, "--dask", "local:2"],
    }
    times: dict[str, list[float]] = {name: [] for name in runs}
    outputs: dict[str, bytes] = {}
    for _ in range(rounds):
        for name, args in runs.items():
            started = time.perf_counter()
            done = subprocess.run(args, capture_output=True, check=True)
            times[name].append(time.perf_counter() - started)
            outputs[name] = done.stdout
    if len(set(outputs.values())) != 1:
        raise SystemExit("the outputs differ: --dask is not byte-identical here")
    return {name: statistics.median(values) for name, values in times.items()}


def overheads(folder: Path) -> dict[str, float]:
    """Per-file cost (local, one thread), cluster start, and per-task overhead (1 worker)."""
    import distributed

    from mfb_cli.count.dask_engine import count_masks_dask
    from mfb_cli.count.scan import count_masks
    from mfb_cli.read.sources.find import find_label_sources

    files = find_label_sources([folder])
    count_masks(files[:8], jobs=1)  # imports and first-use costs out of the way
    started = time.perf_counter()
    local = count_masks(files, jobs=1)
    per_file = (time.perf_counter() - started) / len(files)
    result: dict[str, float] = {"files": len(files), "per_file": per_file}
    for workers in (1, 2):
        started = time.perf_counter()
        with (
            distributed.LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
            ) as cluster,
            distributed.Client(cluster) as client,
        ):
            result[f"start_{workers}"] = time.perf_counter() - started
            client.run(count_masks, files[:8], jobs=1)  # every worker's imports, first use
            timed = {}
            for name, task_bytes in (("one_task", 1 << 62), ("task_per_file", 1)):
                best = []
                for _ in range(3):
                    started = time.perf_counter()
                    assert count_masks_dask(files, client, task_bytes=task_bytes) == local
                    best.append(time.perf_counter() - started)
                timed[name] = min(best)
            started = time.perf_counter()
            assert count_masks_dask(files, client) == local
            timed["default"] = time.perf_counter() - started
        for name, value in timed.items():
            result[f"{name}_{workers}"] = value
    result["per_task"] = (result["task_per_file_1"] - result["one_task_1"]) / (len(files) - 1)
    return result


def report(folder: Path, files: int, rounds: int) -> str:
    import dask

    commands = command_times(folder, rounds)
    costs = overheads(folder)
    lines = [
        f"Machine: {date.today()}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, dask {dask.__version__}.",
        "",
        f"Command: `python benchmarks/dask_overhead.py --files {files}`",
        "",
        f"**{files} CamVid-like masks** (480x360), each command in its own process, "
        f"median of {rounds} rounds; outputs byte-identical:",
        "",
        "| command | time (s) | files/s |",
        "|---|---:|---:|",
        *(f"| `{name}` | {t:.2f} | {files / t:.0f} |" for name, t in commands.items()),
        "",
        "**Costs**, measured in one process on running clusters (best of 3):",
        "",
        "| | value |",
        "|---|---:|",
        f"| per file, local scan with -j 1 | {costs['per_file'] * 1e3:.2f} ms |",
        f"| starting a LocalCluster of 1 / 2 worker processes | {costs['start_1']:.2f} s / "
        f"{costs['start_2']:.2f} s |",
        f"| 1 worker, all files in one task | {costs['one_task_1']:.2f} s |",
        f"| 1 worker, one task per file ({files} tasks) | {costs['task_per_file_1']:.2f} s |",
        f"| 2 workers, one task per file | {costs['task_per_file_2']:.2f} s |",
        f"| 2 workers, default task size | {costs['default_2']:.2f} s |",
        f"| **overhead per task** (1 worker) | **{costs['per_task'] * 1e3:.2f} ms** |",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--output", type=Path, default=HERE / "DASK.md")
    args = parser.parse_args()
    text = report(dataset(args.files), args.files, args.rounds)
    print(text)
    args.output.write_text(text)


if __name__ == "__main__":
    main()
