"""Benchmark: one land-cover-sized GeoTIFF counted tile by tile (docs/rasters.md).

    python benchmarks/rasters.py generate --size 40000      # once: /tmp/mfb-raster-40000.tif
    python benchmarks/rasters.py run --size 40000 --rounds 2

``generate`` writes a uint8, 256 x 256 tiled, deflate-compressed GeoTIFF (EPSG:32631,
10 m pixels, nodata 0) tile by tile through tifffile (an iterator of tiles: the raster is
never in memory), with land-cover-like content: classes 1..11 in patches of ~100 px with
ragged edges, a nodata margin. The expected histogram is worked out while writing and
stored beside the file (.json), and ``run`` checks mfb's counts against it.

``run`` times three contenders, each in its own process, peak RSS from the kernel
(``ru_maxrss`` of the child):

- the floor: tifffile alone decoding every tile (``TiffPage.decode``), the tiles split
  between as many worker processes as there are cores, nothing counted;
- ``mfb scan FILE`` (all cores, the default);
- ``mfb scan -j 1 FILE``.

The results table is printed as Markdown, for docs/rasters.md. ``parts`` times each step
of a scan alone (CPU ns per pixel, best of 3, on a few tile rows): where mfb's time over
the floor goes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Callable

TILE = 256
CLASSES = 11
PATCH = 97  # land-cover patches about this many pixels a side


def raster_path(size: int) -> Path:
    return Path(f"/tmp/mfb-raster-{size}.tif")


def tile_values(size: int, row: int, col: int) -> np.ndarray:
    """The full 256 x 256 tile at (row, col) of the tile grid (zeros past the edges)."""
    top, left = row * TILE, col * TILE
    rows = np.arange(top, top + TILE, dtype=np.int64)[:, None]
    cols = np.arange(left, left + TILE, dtype=np.int64)[None, :]
    # Ragged patch edges: each row and column shifts the patch grid by a few pixels.
    cell_r = (rows + (cols * 7919 % 13)) // PATCH
    cell_c = (cols + (rows * 104729 % 11)) // PATCH
    cls = (cell_r * 2654435761 + cell_c * 40503) % 2147483647 % CLASSES + 1
    # Speckle: about 1 pixel in 64 takes another class (isolated pixels, as classifiers leave).
    mixed = (rows * 73856093) ^ (cols * 19349663)
    speckle = mixed % 64 == 0
    cls = np.where(speckle, mixed // 64 % CLASSES + 1, cls)
    values = cls.astype(np.uint8)
    margin = size // 50  # a nodata (0) band along the top and left, as a swath edge
    values[(rows < margin) | (cols < margin)] = 0
    values[(rows >= size) | (cols >= size)] = 0
    return values


def generate(size: int) -> None:
    import tifffile

    path = raster_path(size)
    across = -(-size // TILE)
    histogram = np.zeros(256, dtype=np.int64)

    def tiles():
        for row in range(across):
            for col in range(across):
                values = tile_values(size, row, col)
                h = min(TILE, size - row * TILE)
                w = min(TILE, size - col * TILE)
                histogram[:] += np.bincount(values[:h, :w].ravel(), minlength=256)
                yield values

    started = time.perf_counter()
    tifffile.imwrite(
        path,
        tiles(),
        shape=(size, size),
        dtype=np.uint8,
        tile=(TILE, TILE),
        compression="zlib",
        photometric="minisblack",
        bigtiff=True,
        extratags=[
            (33550, "d", 3, (10.0, 10.0, 0.0), True),  # ModelPixelScale
            (33922, "d", 6, (0.0, 0.0, 0.0, 500000.0, 5000000.0, 0.0), True),  # tiepoint
            # GeoKeyDirectory: projected, pixel is area, EPSG:32631
            (34735, "H", 16, (1, 1, 0, 3, 1024, 0, 1, 1, 1025, 0, 1, 1, 3072, 0, 1, 32631), True),
            (42113, "s", 0, "0", True),  # GDAL_NODATA
        ],
    )
    expected = {str(v): int(n) for v, n in enumerate(histogram) if n}
    path.with_suffix(".json").write_text(json.dumps(expected, indent=2) + "\n")
    print(
        f"wrote {path} ({path.stat().st_size / 2**20:.0f} MiB) in "
        f"{time.perf_counter() - started:.0f} s",
        file=sys.stderr,
    )


def _decode_part(path: str, part: int, parts: int) -> int:
    import tifffile

    with tifffile.TiffFile(path) as tif:
        page = tif.pages.first
        decode = page.decode
        indices = list(range(part, len(page.dataoffsets), parts))
        offsets = [page.dataoffsets[i] for i in indices]
        counts = [page.databytecounts[i] for i in indices]
        total = 0
        for data, index in tif.filehandle.read_segments(offsets, counts, indices):
            segment = decode(data, index)[0]
            total += segment.size
        return total


def floor(path: str, parts: int) -> None:
    """tifffile alone: every tile decoded, split between ``parts`` processes."""
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(parts) as pool:
        done = sum(pool.map(_decode_part, [path] * parts, range(parts), [parts] * parts))
    print(done)


def measure(command: list[str]) -> tuple[float, float, float, str]:
    """Seconds, peak MiB (the largest process), CPU seconds (every process) and stdout of
    ``command``, run from a fresh interpreter that reports on its children."""
    probe = (
        "import resource, subprocess, sys, time;"
        "t = time.perf_counter();"
        "r = subprocess.run(sys.argv[1:], capture_output=True, text=True);"
        "s = time.perf_counter() - t;"
        "sys.stderr.write(r.stderr);"
        "u = resource.getrusage(resource.RUSAGE_CHILDREN);"
        "print(r.returncode, s, u.ru_maxrss, u.ru_utime + u.ru_stime);"
        "print(r.stdout, end='')"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, *command],
        capture_output=True,
        text=True,
        check=True,
        env=_installed_env(),
    )
    head, _, out = result.stdout.partition("\n")
    code, seconds, kib, cpu = head.split()
    if int(code):
        raise SystemExit(f"{' '.join(command)} failed: {result.stderr}")
    return float(seconds), int(kib) / 1024, float(cpu), out


def _installed_env() -> dict[str, str]:
    """The environment with Python's bytecode caches on, as an installed package has them:
    without, an editable mfb recompiles its modules on every start (0.1 s of CPU) while
    tifffile in site-packages loads its compiled ones, and the contest is not even."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def run(size: int, rounds: int) -> None:
    path = raster_path(size)
    if not path.exists():
        raise SystemExit(f"{path} is missing: run 'python benchmarks/rasters.py generate' first")
    expected = json.loads(path.with_suffix(".json").read_text())
    cores = os.cpu_count() or 1
    mfb = [sys.executable, "-m", "mfb_cli"]
    contenders = {
        f"tifffile alone, {cores} processes (the floor)": [
            sys.executable,
            __file__,
            "floor",
            str(path),
            "--parts",
            str(cores),
        ],
        "mfb scan (all cores)": [*mfb, "scan", str(path)],
        "mfb scan -j 1": [*mfb, "scan", "-j", "1", str(path)],
    }
    # Compile mfb's modules once, untimed (pip does so when it installs a package).
    package = Path(__file__).resolve().parent.parent / "mfb_cli"
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(package)], check=True, env=_installed_env()
    )
    results: dict[str, list[tuple[float, float, float]]] = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, command in contenders.items():
            seconds, peak, cpu, out = measure(command)
            results[name].append((seconds, peak, cpu))
            if name.startswith("mfb"):
                stats = json.loads(out)
                got = {str(i): n for i, n in zip(stats["ids"], stats["pixels"], strict=True)}
                want = {k: v for k, v in expected.items() if k != "0"}  # 0 is nodata
                if got != want:
                    raise SystemExit(f"{name}: counts differ from the generated histogram")
            print(f"{name}: {seconds:.2f} s, {cpu:.2f} CPU s, {peak:.0f} MiB", file=sys.stderr)
    floor_runs = next(iter(results.values()))
    floor_s = statistics.median(s for s, _, _ in floor_runs)
    floor_cpu = statistics.median(c for _, _, c in floor_runs)
    import imagecodecs
    import PIL
    import tifffile

    load = os.getloadavg()
    print(
        f"Machine: {time.strftime('%Y-%m-%d')}, {platform.machine()}, {cores} cores, "
        f"Python {platform.python_version()}, numpy {np.__version__}, tifffile "
        f"{tifffile.__version__}, imagecodecs {imagecodecs.__version__}, PIL "
        f"{PIL.__version__}; load average {load[0]:.1f} at the end.\n"
    )
    print(f"Command: `python benchmarks/rasters.py run --size {size} --rounds {rounds}`\n")
    print(
        f"**One {size:,} x {size:,} uint8 GeoTIFF** ({size * size / 1e9:.2f} G pixels, "
        f"{TILE} x {TILE} deflate tiles, {path.stat().st_size / 2**20:.0f} MiB), "
        f"{rounds} rounds:\n"
    )
    print("| contender | median s | / floor | CPU s | / floor | peak MiB |")
    print("|---|---|---|---|---|---|")
    for name, runs in results.items():
        seconds = statistics.median(s for s, _, _ in runs)
        cpu = statistics.median(c for _, _, c in runs)
        peak = max(p for _, p, _ in runs)
        print(
            f"| {name} | {seconds:.2f} | {seconds / floor_s:.2f} | {cpu:.2f} | "
            f"{cpu / floor_cpu:.2f} | {peak:.0f} |"
        )


def parts(size: int, rows: int) -> None:
    """CPU nanoseconds per pixel of each step of a scan, on ``rows`` tile rows of the file:
    where mfb's time over the floor goes."""
    import imagecodecs
    import tifffile

    from mfb_cli.count.kernels import histogram_uint8
    from mfb_cli.read.decode.rasters import GROUP_BYTES

    path = raster_path(size)
    across = -(-size // TILE)
    with tifffile.TiffFile(path) as tif, path.open("rb") as stream:
        page = tif.pages.first
        picks = np.linspace(0, across - 1, rows).astype(int)
        blocks = [int(r) * across + c for r in picks for c in range(across)]
        data = []
        for i in blocks:
            stream.seek(page.dataoffsets[i])
            data.append(stream.read(page.databytecounts[i]))
        pixels = len(blocks) * TILE * TILE
        buffer = np.empty(TILE * TILE, np.uint8)
        group = max(1, GROUP_BYTES // (TILE * TILE))

        def tifffile_decode() -> None:
            for i, d in zip(blocks, data, strict=True):
                page.decode(d, i)

        def direct_decode() -> None:
            for d in data:
                imagecodecs.deflate_decode(d, out=buffer)

        # The tiles as mfb counts them: decoded side by side, `group` at a time.
        decoded = [imagecodecs.deflate_decode(d) for d in data]
        land = [
            np.frombuffer(b"".join(decoded[i : i + group]), np.uint8).reshape(-1, TILE)
            for i in range(0, len(decoded), group)
        ]
        rng = np.random.default_rng(0)
        noise = [rng.integers(0, 256, one.shape, dtype=np.uint8) for one in land]

        def histogram(groups: list[np.ndarray]) -> Callable[[], None]:
            def count() -> None:
                for one in groups:
                    histogram_uint8(one)

            return count

        steps = {
            "decode, tifffile page.decode (the floor's)": tifffile_decode,
            "decode, imagecodecs into a reused buffer (mfb)": direct_decode,
            "histogram_uint8 of the decoded land-cover tiles (mfb)": histogram(land),
            "histogram_uint8 of as many noise pixels": histogram(noise),
        }
        print("| step | CPU ns / pixel |")
        print("|---|---|")
        for name, step in steps.items():
            best = min(_cpu(step) for _ in range(3))
            print(f"| {name} | {best / pixels * 1e9:.2f} |")


def _cpu(step: Callable[[], None]) -> float:
    started = time.process_time()
    step()
    return time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate")
    gen.add_argument("--size", type=int, default=40_000)
    bench = sub.add_parser("run")
    bench.add_argument("--size", type=int, default=40_000)
    bench.add_argument("--rounds", type=int, default=2)
    steps = sub.add_parser("parts")
    steps.add_argument("--size", type=int, default=40_000)
    steps.add_argument("--rows", type=int, default=8)
    fl = sub.add_parser("floor")
    fl.add_argument("path")
    fl.add_argument("--parts", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    if args.command == "generate":
        generate(args.size)
    elif args.command == "parts":
        parts(args.size, args.rows)
    elif args.command == "floor":
        floor(args.path, args.parts)
    else:
        run(args.size, args.rounds)


if __name__ == "__main__":
    main()
