"""Where a small file's time goes in mfb, from reading its bytes to adding its counts.

Not a test: a recipe to run by hand (after ``python benchmarks/bench.py --small --quick``,
or it generates the masks itself)::

    python benchmarks/profile_small.py                  # stages, cProfile, import times
    python benchmarks/profile_small.py --files 500 --set ade --pyinstrument

1. **Stages**: each step of ``count_file`` and the scan loop timed alone, one thread,
   on the same files (warm page cache), in microseconds per file, median of rounds.
2. **cProfile** of ``count_masks(jobs=1)``: the functions that hold the time, per file.
3. **Imports**: ``python -X importtime`` of ``mfb weights`` on 5 files, ``mfb --help``
   and ``mfb --version`` (medians of runs): what each costs, and which mfb module first
   pulls in NumPy, Pillow, Click, rich, YAML, tqdm and the optional libraries.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench

from mfb_cli.count.counts import CountsAccumulator
from mfb_cli.count.kernels import histogram_fast, histogram_of_image
from mfb_cli.count.label_check import LabelCheck
from mfb_cli.count.one_file import count_file
from mfb_cli.count.scan import count_masks
from mfb_cli.read.decode import fast as fast_extra
from mfb_cli.read.decode import pillow as pillow_reader
from mfb_cli.read.decode import png_fast
from mfb_cli.read.options import DEFAULT_MAX_PIXELS, ReadOptions

SETS = {"street": bench.STREET, "ade": bench.ADE}


def timed(
    step: Callable[[Any], object], items: list[Any], rounds: int, clock: Callable[[], float]
) -> float:
    """Median over ``rounds`` of the time per item of ``step`` run on every item, in µs.

    One-thread steps use this thread's CPU time, which other processes on a busy
    machine do not inflate; the multi-thread scan uses the wall clock.
    """
    times = []
    for _ in range(rounds):
        started = clock()
        for item in items:
            step(item)
        times.append((clock() - started) / len(items))
    return 1e6 * statistics.median(times)


def stages(paths: list[Path], rounds: int) -> list[tuple[str, float]]:
    """Each step of reading and counting one file, alone, in µs per file."""
    datas = [p.read_bytes() for p in paths]
    fast, pillow = ReadOptions(decoder="fast"), ReadOptions(decoder="pillow")
    images = [pillow_reader.open_mask(p) for p in paths]
    arrays = [png_fast.read_png_fast(p, DEFAULT_MAX_PIXELS) for p in paths]
    results = [count_file(p, fast) for p in paths]
    check = LabelCheck(num_classes=None)

    def bare_pillow(data: bytes) -> None:
        with Image.open(io.BytesIO(data)) as image:
            image.load()

    def pillow_header(data: bytes) -> None:
        Image.open(io.BytesIO(data)).close()

    def add_all(_: object) -> None:
        accumulator = CountsAccumulator()
        for ids, counts in results:
            accumulator.add(ids, counts)
        accumulator.result()

    def enet(path: Path) -> None:
        np.bincount(np.array(Image.open(path)).flatten(), minlength=256)

    codecs = fast_extra.fast_modules()
    rows: list[tuple[str, Callable[[Any], object], list[Any]]] = [
        ("read the bytes (Path.read_bytes)", Path.read_bytes, paths),
        ("Pillow: open, parse the header only", pillow_header, datas),
        ("Pillow: open + decode (bytes in memory)", bare_pillow, datas),
        ("mfb open_mask (open, checks, decode; from disk)", pillow_reader.open_mask, paths),
        ("Pillow C histogram + NumPy (histogram_of_image)", histogram_of_image, images),
        ("libpng: imagecodecs.png_decode (bytes in memory)", codecs.png_decode, datas),
        ("mfb _chunks_well_formed (CRC of every chunk)", png_fast._image_data_bytes, datas),
        (
            "mfb read_png_fast (open, header, CRCs, decode)",
            lambda p: png_fast.read_png_fast(p, DEFAULT_MAX_PIXELS),
            paths,
        ),
        ("mfb histogram_fast (Pillow histogram of the array)", histogram_fast, arrays),
        ("mfb count_file, fast decoder", lambda p: count_file(p, fast), paths),
        ("mfb count_file, Pillow", lambda p: count_file(p, pillow), paths),
        ("LabelCheck (no --num-classes)", lambda r: check("x", r[0]), results),
        ("CountsAccumulator.add (+ result, per file)", add_all, [None]),
        (
            "mfb count_masks -j 1, fast (per file)",
            lambda _: count_masks(paths, jobs=1, read=fast),
            [None],
        ),
        (
            "mfb count_masks -j 2, fast (per file, WALL clock)",
            lambda _: count_masks(paths, jobs=2, read=fast),
            [None],
        ),
        ("ENet loop body (Pillow, np.array, bincount)", enet, paths),
    ]
    measured = []
    for name, step, items in rows:
        clock = time.perf_counter if "WALL" in name else time.thread_time
        seconds = timed(step, items, rounds, clock)
        if len(items) == 1:  # one call over every file: per file
            seconds /= len(paths)
        measured.append((name, seconds))
    return measured


def profile_scan(paths: list[Path], read: ReadOptions, top: int) -> list[str]:
    """cProfile of one -j 1 scan: the functions with the most own time, µs per file."""
    profiler = cProfile.Profile(time.thread_time)  # CPU time: robust on a busy machine
    profiler.enable()
    count_masks(paths, jobs=1, read=read)
    profiler.disable()
    stats = pstats.Stats(profiler)
    entries = sorted(stats.stats.items(), key=lambda kv: kv[1][2], reverse=True)  # type: ignore[attr-defined]
    total = sum(value[2] for _, value in entries)
    lines = [
        f"| function ({read.decoder}) | calls/file | own µs/file | with callees µs/file | own % |",
        "|---|---:|---:|---:|---:|",
    ]
    for (filename, line, function), (_, calls, own, cumulative, _) in entries[:top]:
        where = f"{Path(filename).name}:{line}" if line else filename
        lines.append(
            f"| `{function}` {where} | {calls / len(paths):.1f} | {1e6 * own / len(paths):.1f} "
            f"| {1e6 * cumulative / len(paths):.1f} | {100 * own / total:.0f} |"
        )
    return lines


def import_tree(stderr: str) -> dict[str, tuple[float, float, str | None]]:
    """``-X importtime`` lines as name -> (self ms, cumulative ms, importing module)."""
    rows = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "imported package" in line:
            continue
        own, cumulative, name = line[len("import time:") :].split("|")
        depth = (len(name) - len(name.lstrip())) // 2
        rows.append((name.strip(), int(own) / 1000, int(cumulative) / 1000, depth))
    # A module is printed after its imports, so its parent is the next line one level up.
    tree: dict[str, tuple[float, float, str | None]] = {}
    stack: list[tuple[int, str]] = []
    for name, own, cumulative, depth in reversed(rows):
        while stack and stack[-1][0] >= depth:
            stack.pop()
        tree[name] = (own, cumulative, stack[-1][1] if stack else None)
        stack.append((depth, name))
    return tree


def importtime(command: list[str], runs: int) -> dict[str, tuple[float, float, str | None]]:
    """Median self and cumulative times per module over ``runs`` fresh processes."""
    trees = []
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-X", "importtime", *command], capture_output=True, text=True
        )
        trees.append(import_tree(done.stderr))
    merged = {}
    for name, (_, _, parent) in trees[0].items():
        owns = [t[name][0] for t in trees if name in t]
        cumulatives = [t[name][1] for t in trees if name in t]
        merged[name] = (statistics.median(owns), statistics.median(cumulatives), parent)
    return merged


HEAVY = ("numpy", "PIL.Image", "click", "rich", "yaml", "tqdm", "imagecodecs", "cv2")


def chain(tree: dict[str, tuple[float, float, str | None]], name: str) -> str:
    links = [name]
    while (parent := tree[links[-1]][2]) is not None:
        links.append(parent)
    return " < ".join(links)


def import_report(handful: Path, runs: int) -> list[str]:
    commands = {
        "python -c 'import numpy, PIL.Image'": ["-c", "import numpy, PIL.Image"],
        "mfb weights (5 files)": ["-m", "mfb_cli", "weights", str(handful), "-q"],
        "mfb --help": ["-m", "mfb_cli", "--help"],
        "mfb --version": ["-m", "mfb_cli", "--version"],
    }
    lines = []
    for label, command in commands.items():
        tree = importtime(command, runs)
        total = sum(own for own, _, _ in tree.values())
        lines += [
            "",
            f"**{label}**: {total:.0f} ms of imports, {len(tree)} modules.",
            "",
            "| module | cumulative ms | first imported by (importer < its importer ...) |",
            "|---|---:|---|",
        ]
        shown = [n for n in HEAVY if n in tree]
        top = sorted(
            (n for n, v in tree.items() if n.startswith("mfb_cli") and v[1] >= 3),
            key=lambda n: -tree[n][1],
        )
        for name in [*shown, *top]:
            lines.append(f"| {name} | {tree[name][1]:.1f} | {chain(tree, name)} |")
        groups: dict[str, float] = {}
        for name, (own, _, _) in tree.items():
            group = name.split(".")[0]
            groups[group] = groups.get(group, 0.0) + own
        biggest = sorted(groups.items(), key=lambda kv: -kv[1])[:8]
        lines.append("")
        lines.append(
            "Own time by top-level package: "
            + ", ".join(f"{name} {ms:.0f} ms" for name, ms in biggest)
            + "."
        )
    return lines


def module_level_imports() -> list[str]:
    """Which mfb modules import a heavy library at module level (so on every start-up)."""
    import ast

    import mfb_cli

    heavy = {"numpy", "PIL", "click", "rich", "yaml", "tqdm", "imagecodecs", "cv2", "matplotlib"}
    lines = ["| mfb module | heavy libraries imported at module level | mfb modules it imports |"]
    lines.append("|---|---|---|")
    for path in sorted(Path(mfb_cli.__file__).parent.rglob("*.py")):
        found, local = set(), set()
        for node in ast.parse(path.read_text()).body:  # module level only, not in functions
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:  # from . import x / from .x import y
                    local.add(node.module or ",".join(a.name for a in node.names))
                    continue
                names = [node.module or ""]
            else:
                continue
            found |= {n.split(".")[0] for n in names} & heavy
        lines.append(
            f"| {path.stem} | {', '.join(sorted(found)) or '-'} | {', '.join(sorted(local))} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", choices=sorted(SETS), default="street")
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--import-runs", type=int, default=7)
    parser.add_argument("--top", type=int, default=12, help="cProfile rows")
    parser.add_argument("--pyinstrument", action="store_true", help="also a pyinstrument tree")
    args = parser.parse_args()
    dataset = SETS[args.set]
    folder = bench.ensure_dataset(dataset, args.files)
    paths = sorted(folder.glob("*.png"))[: args.files]
    size = statistics.mean(p.stat().st_size for p in paths) / 1024
    print(
        f"## {len(paths)} {dataset.name}-like files of {dataset.width}x{dataset.height} "
        f"({size:.1f} KiB each), one thread, µs per file (median of {args.rounds} rounds)\n"
    )
    measured = stages(paths, args.rounds)
    reference = dict(measured)["mfb count_masks -j 1, fast (per file)"]
    print("| step | µs/file | of count_masks -j 1 |\n|---|---:|---:|")
    for name, micros in measured:
        print(f"| {name} | {micros:.0f} | {100 * micros / reference:.0f} % |")
    for read in (ReadOptions(decoder="fast"), ReadOptions(decoder="pillow")):
        print(f"\n## cProfile: count_masks(jobs=1, decoder={read.decoder!r})\n")
        print("\n".join(profile_scan(paths, read, args.top)))
    if args.pyinstrument:
        try:
            from pyinstrument import Profiler
        except ImportError:
            print("\n(pyinstrument is not installed: pip install pyinstrument)")
        else:
            profiler = Profiler(interval=0.0002)
            with profiler:
                count_masks(paths, jobs=1, read=ReadOptions(decoder="fast"))
            print("\n## pyinstrument: count_masks(jobs=1, decoder='fast')\n")
            print(profiler.output_text(unicode=False, color=False, show_all=False))
    print("\n## Imports (python -X importtime, median of runs)")
    handful = bench.subset(folder, 5, f"{dataset.name}-5")
    print("\n".join(import_report(handful, args.import_runs)))
    print("\n## Module-level imports (each runs on every start-up via mfb_cli/__init__)\n")
    print("\n".join(module_level_imports()))


if __name__ == "__main__":
    main()
