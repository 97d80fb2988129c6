"""Benchmark mfb's scan against the decode floor and the loops users run today.

Not a test: run it by hand on a quiet machine, it prints a markdown table and writes it to
``benchmarks/RESULTS.md``::

    python benchmarks/bench.py                 # full run (under ~10 minutes on 2 cores)
    python benchmarks/bench.py --quick         # a smoke run of a few seconds

Datasets are generated once, seeded, under ``benchmarks/data/`` (gitignored):
Cityscapes-like 2048x1024 masks (trainIds 0-18 and 255) and CamVid-like 480x360 masks
(ids 0-11). Every contender runs in its own process, start-up included, in interleaved
rounds; the table gives medians. Peak memory is the child's maximum resident set size.
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"


# --------------------------------------------------------------------------- datasets


@dataclass(frozen=True)
class Dataset:
    name: str
    width: int
    height: int
    values: tuple[int, ...]
    files: int


CITYSCAPES = Dataset("cityscapes", 2048, 1024, (*range(19), 255), 200)
CAMVID = Dataset("camvid", 480, 360, tuple(range(12)), 700)


def synthetic_mask(rng: np.random.Generator, dataset: Dataset) -> np.ndarray:
    """A label map with smooth region boundaries and unequal class areas, like a street scene.

    Each value gets a smooth random field (low-resolution noise, bicubic upsampling) plus a
    bias; every pixel takes the value whose field is largest there.
    """
    width, height = dataset.width // 2, dataset.height // 2
    bias = rng.gamma(0.6, 1.0, size=len(dataset.values))
    best = np.full((height, width), -np.inf, dtype=np.float32)
    labels = np.zeros((height, width), dtype=np.uint8)
    for index, value in enumerate(dataset.values):
        coarse = rng.standard_normal((6, 12)).astype(np.float32)
        field = np.asarray(
            Image.fromarray(coarse, mode="F").resize((width, height), Image.Resampling.BICUBIC)
        )
        field = field + np.float32(bias[index])
        better = field > best
        best[better] = field[better]
        labels[better] = value
    # Full resolution by pixel repetition, as masks are never interpolated.
    return np.repeat(np.repeat(labels, 2, axis=0), 2, axis=1)


def ensure_dataset(dataset: Dataset, files: int) -> Path:
    """Generate the first ``files`` masks of ``dataset`` (seeded), once."""
    folder = DATA / f"{dataset.name}-{dataset.width}x{dataset.height}"
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(files):
        path = folder / f"{index:05d}.png"
        if not path.exists():
            rng = np.random.default_rng([2015, dataset.width, index])
            temporary = path.with_suffix(".tmp.png")
            Image.fromarray(synthetic_mask(rng, dataset)).save(temporary)
            temporary.replace(path)
    return folder


def subset(source: Path, files: int, name: str) -> Path:
    """A folder of ``files`` hard links cycling over the masks in ``source``."""
    masks = sorted(source.glob("*.png"))
    folder = DATA / name
    if folder.exists() and len(list(folder.glob("*.png"))) == files:
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for index in range(files):
        target = folder / f"{index:05d}.png"
        try:
            os.link(masks[index % len(masks)], target)
        except OSError:  # file systems without hard links
            shutil.copyfile(masks[index % len(masks)], target)
    return folder


# --------------------------------------------------------------------------- baselines
# Each runs in a fresh child process (python bench.py --baseline NAME FOLDER), so its
# imports and start-up are timed like mfb's.


def _masks(folder: str) -> list[Path]:
    return sorted(Path(folder).glob("*.png"))


def _load(path: Path) -> None:
    with Image.open(path) as image:
        image.load()


def _jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def floor_threads(folder: str, values: tuple[int, ...]) -> None:
    """Pillow decode only, a thread pool on every core: the floor for any Pillow-based scan."""
    with ThreadPoolExecutor(_jobs()) as pool:
        for _ in pool.map(_load, _masks(folder)):
            pass


def floor_processes(folder: str, values: tuple[int, ...]) -> None:
    """Pillow decode only, a process pool on every core."""
    with ProcessPoolExecutor(_jobs()) as pool:
        for _ in pool.map(_load, _masks(folder), chunksize=4):
            pass


def enet_loop(folder: str, values: tuple[int, ...]) -> None:
    """PyTorch-ENet's way: one process, Pillow, np.array and one np.bincount per image."""
    total = np.zeros(256, dtype=np.int64)
    for path in _masks(folder):
        labels = np.array(Image.open(path)).flatten()
        total += np.bincount(labels, minlength=256)


def per_class_loop(folder: str, values: tuple[int, ...]) -> None:
    """The per-class loop from many blog posts: one comparison per class and image."""
    total = dict.fromkeys(values, 0)
    for path in _masks(folder):
        labels = np.array(Image.open(path))
        for value in values:
            total[value] += int((labels == value).sum())


BASELINES: dict[str, Callable[[str, tuple[int, ...]], None]] = {
    "floor-threads": floor_threads,
    "floor-processes": floor_processes,
    "enet-loop": enet_loop,
    "per-class-loop": per_class_loop,
}


# --------------------------------------------------------------------------- running


@dataclass
class Run:
    seconds: float
    peak_mib: float
    stdout: bytes


def run_child(command: list[str]) -> Run:
    """Run ``command`` to completion: wall time and the child's own peak resident set size.

    os.wait4 returns the resource usage of exactly this child (ru_maxrss, KiB on Linux);
    output goes to temporary files so no pipe can fill up while waiting.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if process.returncode != 0:
            message = err.read().decode(errors="replace")
            raise SystemExit(f"{' '.join(command)} failed:\n{message}")
        return Run(seconds, usage.ru_maxrss / 1024, out.read())


def fast_available() -> bool:
    try:
        from mfb_cli.read.fast import fast_modules
    except ImportError:
        return False
    return fast_modules() is not None


def mfb_command(folder: Path, decoder: str, ignore: bool) -> list[str]:
    command = [sys.executable, "-m", "mfb_cli", "weights", str(folder), "-q"]
    return [*command, *(["--ignore", "255"] if ignore else []), "--decoder", decoder]


def baseline_command(name: str, folder: Path, values: tuple[int, ...]) -> list[str]:
    joined = ",".join(map(str, values))
    return [sys.executable, str(Path(__file__).resolve()), "--baseline", name, str(folder), joined]


@dataclass
class Contender:
    key: str
    name: str
    command: list[str]
    runs: list[Run]


def contenders(folder: Path, dataset: Dataset, decoders: list[str]) -> list[Contender]:
    ignore = 255 in dataset.values
    result = [
        Contender("mfb", f"mfb --decoder {d}", mfb_command(folder, d, ignore), []) for d in decoders
    ]
    # One core: how much cheaper per file mfb's counting is than the loops'.
    one_core = [*mfb_command(folder, "pillow", ignore), "-j", "1"]
    result.append(Contender("mfb", "mfb --decoder pillow -j 1", one_core, []))
    labels = {
        "floor-threads": "floor: Pillow decode only, threads",
        "floor-processes": "Pillow decode only, processes",
        "enet-loop": "PyTorch-ENet loop (bincount, 1 process)",
        "per-class-loop": "per-class loop ((a == c).sum())",
    }
    for name, label in labels.items():
        result.append(Contender(name, label, baseline_command(name, folder, dataset.values), []))
    return result


def interleaved(entries: list[Contender], rounds: int) -> None:
    """Run every contender once per round, rotating the order so drift hits all alike."""
    for round_index in range(rounds):
        shift = round_index % len(entries)
        for entry in entries[shift:] + entries[:shift]:
            entry.runs.append(run_child(entry.command))
        print(f"  round {round_index + 1}/{rounds} done", file=sys.stderr)
    outputs = {e.runs[0].stdout for e in entries if e.key == "mfb"}
    if len(outputs) > 1:
        raise SystemExit("mfb's output differs between decoders")


def median(entry: Contender) -> float:
    return statistics.median(run.seconds for run in entry.runs)


def speed_table(dataset: Dataset, files: int, entries: list[Contender]) -> list[str]:
    megapixels = files * dataset.width * dataset.height / 1e6
    by_key = {entry.key: median(entry) for entry in entries}
    floor, enet, per_class = (by_key[k] for k in ("floor-threads", "enet-loop", "per-class-loop"))
    lines = [
        f"**{dataset.name}-like**, {files} files of {dataset.width}x{dataset.height} "
        f"({megapixels:.0f} MPix), median of {len(entries[0].runs)} rounds:",
        "",
        "| | time (s) | files/s | MPix/s | time / floor | vs ENet loop | vs per-class "
        "loop | peak MiB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for entry in entries:
        seconds = median(entry)
        peak = max(run.peak_mib for run in entry.runs)
        lines.append(
            f"| {entry.name} | {seconds:.2f} | {files / seconds:.0f} | {megapixels / seconds:.0f} "
            f"| {seconds / floor:.2f} | {enet / seconds:.1f}x | {per_class / seconds:.1f}x "
            f"| {peak:.0f} |"
        )
    return lines


#: The issue's floors: (dataset, contender, reference, minimum speed-up of contender).
TARGETS = [
    ("cityscapes", "mfb --decoder pillow", "floor-threads", 1 / 1.15),
    ("cityscapes", "mfb --decoder pillow", "enet-loop", 3.0),
    ("cityscapes", "mfb --decoder pillow", "per-class-loop", 6.0),
    ("cityscapes", "mfb --decoder fast", "mfb --decoder pillow", 1.25),
    ("camvid", "mfb --decoder pillow", "enet-loop", 2.0),
    ("camvid", "mfb --decoder pillow", "per-class-loop", 4.0),
]


def targets_table(results: dict[str, list[Contender]]) -> list[str]:
    """The issue's floors beside the measured speed-ups (reference time / contender time)."""
    # The last column bounds any Pillow-based scan: decoding alone on every core, against
    # the same reference. Where it is below "needed", no counting can meet the floor.
    lines = [
        "| set | contender | reference | needed | measured | | decode-only floor, same ratio |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, contender, reference, needed in TARGETS:
        times = {e.name: median(e) for e in results.get(name, [])}
        times.update({e.key: median(e) for e in results.get(name, []) if e.key != "mfb"})
        if contender not in times or reference not in times:
            continue
        measured = times[reference] / times[contender]
        verdict = "met" if measured >= needed else "**not met**"
        bound = ""
        if reference.startswith("floor"):  # stated as a time ratio: at most 1.15x the floor
            wanted, got = f"time <= {1 / needed:.2f}x", f"time {1 / measured:.2f}x"
        else:
            wanted, got = f"{needed:.2f}x faster", f"{measured:.2f}x"
            if reference != "mfb --decoder pillow" and "floor-threads" in times:
                bound = f"{times[reference] / times['floor-threads']:.2f}x"
        lines.append(
            f"| {name} | {contender} | {reference} | {wanted} | {got} | {verdict} | {bound} |"
        )
    return lines


def memory_table(folders: dict[int, Path], decoders: list[str]) -> list[str]:
    lines = [
        "**Peak memory** (maximum resident set size of the mfb process, Cityscapes-like files):",
        "",
        "| | " + " | ".join(f"{n} files" for n in folders) + " | growth |",
        "|---|" + "---:|" * (len(folders) + 1),
    ]
    for decoder in decoders:
        runs = [run_child(mfb_command(folder, decoder, True)) for folder in folders.values()]
        cells = [f"{run.peak_mib:.0f} MiB ({run.seconds:.1f} s)" for run in runs]
        growth = f"{runs[-1].peak_mib - runs[0].peak_mib:+.0f} MiB"
        lines.append(f"| mfb --decoder {decoder} | " + " | ".join([*cells, growth]) + " |")
    return lines


def machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = []
    for module in ("numpy", "PIL", "imagecodecs", "cv2"):
        with contextlib.suppress(ImportError):
            versions.append(f"{module} {__import__(module).__version__}")
    return (
        f"{date.today().isoformat()}, {model}, {_jobs()} cores, Python "
        f"{platform.python_version()}, {', '.join(versions)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (median)")
    parser.add_argument("--cityscapes", type=int, default=CITYSCAPES.files, metavar="N")
    parser.add_argument("--camvid", type=int, default=CAMVID.files, metavar="N")
    parser.add_argument("--memory", default="100,2000", help="file counts for the peak-memory runs")
    parser.add_argument("--quick", action="store_true", help="tiny smoke run")
    parser.add_argument("--output", type=Path, default=HERE / "RESULTS.md")
    parser.add_argument("--baseline", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline:
        name, folder, values = args.baseline
        BASELINES[name](folder, tuple(int(v) for v in values.split(",")))
        return
    if args.quick:
        args.rounds, args.cityscapes, args.camvid, args.memory = 1, 12, 40, "10,100"
    # An installed package has its bytecode compiled by pip; a checkout run with
    # PYTHONDONTWRITEBYTECODE would recompile mfb on every start and time the compiler.
    import mfb_cli

    compileall.compile_dir(Path(mfb_cli.__file__).parent, quiet=1)
    decoders = ["pillow", "fast"] if fast_available() else ["pillow"]
    print(f"generating datasets under {DATA} (once)", file=sys.stderr)
    city = ensure_dataset(CITYSCAPES, args.cityscapes)
    camvid = ensure_dataset(CAMVID, args.camvid)
    lines = [f"Machine: {machine()}.", ""]
    command = " ".join(["python benchmarks/bench.py", *sys.argv[1:]])
    lines += [f"Command: `{command}`", ""]
    sets = ((CITYSCAPES, city, args.cityscapes), (CAMVID, camvid, args.camvid))
    results: dict[str, list[Contender]] = {}
    for dataset, source, files in sets:
        folder = subset(source, files, f"{dataset.name}-{files}")
        print(f"{dataset.name}: {files} files, {args.rounds} rounds", file=sys.stderr)
        entries = results[dataset.name] = contenders(folder, dataset, decoders)
        interleaved(entries, args.rounds)
        lines += [*speed_table(dataset, files, entries), ""]
    counts = [int(n) for n in args.memory.split(",")]
    print(f"peak memory: {counts} files", file=sys.stderr)
    folders = {n: subset(city, n, f"cityscapes-{n}") for n in counts}
    lines += [*memory_table(folders, decoders), ""]
    lines += ["**The issue's floors** (speed-up = reference time / contender time):", ""]
    lines += targets_table(results)
    text = "\n".join(lines) + "\n"
    args.output.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
