"""Throwaway measurement: which worker pool suits many small masks, and from what size.

Not part of mfb and not a test: it prototypes, outside the package, the pools issue 13
asks to choose between, on the benchmark's seeded sets, and prints files/s::

    python benchmarks/pool_designs.py                # 2,000 files a small set, ~5 minutes
    python benchmarks/pool_designs.py --files 500 --rounds 1    # a quick look

Designs, each on ``jobs`` workers (default: every core), in interleaved rounds:

- ``serial``: ``count_masks(jobs=1)``, the one-core reference;
- ``threads/file``: today's ``count_masks`` (one thread task per file, 2 per thread
  in flight, every file's counts added in the main thread);
- ``threads/batch B``: one thread task per B consecutive files, counted into a local
  CountsAccumulator, the batch results added in order;
- ``processes/batch B``: the same batch task in a fork process pool, ClassCounts pickled
  back (pool start-up included).

Every design's ClassCounts must equal the serial one (integer sums, files in order).
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import statistics
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench

from mfb_cli.count.counts import ClassCounts, CountsAccumulator
from mfb_cli.count.one_file import count_file
from mfb_cli.count.scan import count_masks
from mfb_cli.read.options import ReadOptions


def count_batch(paths: Sequence[Path], read: ReadOptions) -> ClassCounts:
    """The batch task: count each file and add it up locally."""
    accumulator = CountsAccumulator()
    for path in paths:
        accumulator.add(*count_file(path, read))
    return accumulator.result()


def batched_map(
    executor: Executor, paths: list[Path], read: ReadOptions, size: int, jobs: int
) -> ClassCounts:
    """Batches of ``size`` files, at most 2 per worker in flight, results added in order."""
    batches: Iterator[list[Path]] = (
        paths[start : start + size] for start in range(0, len(paths), size)
    )
    pending: deque[Future[ClassCounts]] = deque()
    total = ClassCounts.empty()
    for batch in batches:
        pending.append(executor.submit(count_batch, batch, read))
        if len(pending) >= 2 * jobs:
            total = total + pending.popleft().result()
    while pending:
        total = total + pending.popleft().result()
    return total


def designs(jobs: int, read: ReadOptions) -> dict[str, Callable[[list[Path]], ClassCounts]]:
    fork = multiprocessing.get_context("fork")

    def threads(size: int) -> Callable[[list[Path]], ClassCounts]:
        def run(paths: list[Path]) -> ClassCounts:
            with ThreadPoolExecutor(jobs) as pool:
                return batched_map(pool, paths, read, size, jobs)

        return run

    def processes(size: int) -> Callable[[list[Path]], ClassCounts]:
        def run(paths: list[Path]) -> ClassCounts:
            with ProcessPoolExecutor(jobs, mp_context=fork) as pool:
                return batched_map(pool, paths, read, size, jobs)

        return run

    return {
        "serial": lambda paths: count_masks(paths, jobs=1, read=read),
        "threads/file (today)": lambda paths: count_masks(paths, jobs=jobs, read=read),
        "threads/batch 64": threads(64),
        "processes/batch 16": processes(16),
        "processes/batch 64": processes(64),
        "processes/batch 256": processes(256),
    }


@dataclass
class Timing:
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)


def cpu_now() -> float:
    """CPU time of this process (all threads) and of its reaped children."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def measure(label: str, paths: list[Path], read: ReadOptions, jobs: int, rounds: int) -> list[str]:
    runs = designs(jobs, read)
    timings = {name: Timing() for name in runs}
    reference = None
    names = list(runs)
    for round_index in range(rounds):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            bench.wait_for_quiet()
            cpu, started = cpu_now(), time.perf_counter()
            result = runs[name](paths)
            timings[name].wall.append(time.perf_counter() - started)
            timings[name].cpu.append(cpu_now() - cpu)
            if reference is None:
                reference = result
            elif result != reference:
                raise SystemExit(f"{label}: {name} counts differ from the other designs")
        print(f"  {label}: round {round_index + 1}/{rounds}", file=sys.stderr)
    serial = statistics.median(timings["serial"].wall)
    lines = [
        f"**{label}**, {len(paths)} files, {jobs} workers, median of {rounds} rounds:",
        "",
        "| design | files/s | speed-up over serial | CPU ms/file |",
        "|---|---:|---:|---:|",
    ]
    for name, timing in timings.items():
        wall = statistics.median(timing.wall)
        cpu = statistics.median(timing.cpu)
        lines.append(
            f"| {name} | {len(paths) / wall:.0f} | {serial / wall:.2f}x "
            f"| {1000 * cpu / len(paths):.2f} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=2000, help="files of each small set")
    parser.add_argument("--large", type=int, default=30, help="Cityscapes-size files")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=bench._jobs())
    args = parser.parse_args()
    fast = ReadOptions(decoder="fast" if bench.fast_available() else "pillow")
    pillow = ReadOptions(decoder="pillow")
    cases = []
    for dataset, files in ((bench.STREET, args.files), (bench.ADE, args.files)):
        folder = bench.ensure_dataset(dataset, files)
        cases.append((dataset, sorted(folder.glob("*.png"))[:files]))
    city = bench.ensure_dataset(bench.CITYSCAPES, args.large)
    cases.append((bench.CITYSCAPES, sorted(city.glob("*.png"))[: args.large]))
    lines = [f"Machine: {bench.machine()}.", ""]
    for dataset, paths in cases:
        reads = [fast, pillow] if dataset is bench.STREET else [fast]
        for read in reads:
            kib = statistics.mean(p.stat().st_size for p in paths) / 1024
            label = (
                f"{dataset.name}-like {dataset.width}x{dataset.height} ({kib:.0f} KiB), "
                f"--decoder {read.decoder}"
            )
            table = measure(label, paths, read, args.jobs, args.rounds)
            print("\n".join(table), file=sys.stderr)
            lines += [*table, ""]
    lines.append(f"{bench.WAITED[0]:.0f} s spent waiting for a quiet machine before runs.")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
