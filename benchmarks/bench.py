"""Benchmark mfb's scan against the decode floor and the loops users run today.

Not a test: run it by hand on a quiet machine, it prints a markdown table and writes it to
``benchmarks/RESULTS.md``, whose two marked sections the documentation's Speed page
includes as they are (docs/speed.md)::

    python benchmarks/bench.py                 # large files (under ~10 minutes on 2 cores)
    python benchmarks/bench.py --small         # many small files and start-up (~10 minutes)
    python benchmarks/bench.py [--small] --quick   # a smoke run of a few seconds

Datasets are generated once, seeded, under ``benchmarks/data/`` (gitignored):
Cityscapes-like 2048x1024 masks (trainIds 0-18 and 255) and CamVid-like 480x360 masks
(ids 0-11); for ``--small``, 5,000 street scenes of 480x360 (CamVid ids 0-11) and 5,000
indoor/outdoor scenes of 512x512 (ADE20K ids 0-150), with regions, poles and objects, so
PNG sizes and decode times are those of real masks. Every contender runs in its own
process, start-up included, in interleaved rounds; the tables give medians. Peak memory
is the child's maximum resident set size. Each mode rewrites its own part of the output.
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
from PIL import Image, ImageDraw

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
    #: "fields": smooth regions at half resolution; "street"/"ade": scenes (scene_mask).
    kind: str = "fields"


CITYSCAPES = Dataset("cityscapes", 2048, 1024, (*range(19), 255), 200)
CAMVID = Dataset("camvid", 480, 360, tuple(range(12)), 700)
# The small-file sets: at least 5,000 masks each, as the datasets most people train on.
STREET = Dataset("street", 480, 360, tuple(range(12)), 5000, "street")
ADE = Dataset("ade", 512, 512, tuple(range(151)), 5000, "ade")


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


def scene_mask(
    rng: np.random.Generator, width: int, height: int, stuff: list[int], things: list[int]
) -> np.ndarray:
    """A full-resolution scene: layered "stuff" regions with ragged borders, then objects.

    Regions are smooth random fields (with a vertical trend, as sky above road) plus
    fine noise for ragged borders; objects are thin boxes (poles, signs) and irregular
    polygons (cars, people, furniture) drawn on top, as annotation tools draw them.
    Calibrated so a 480x360 file decodes in about the time of a real CamVid mask.
    """
    best = np.full((height, width), -np.inf, dtype=np.float32)
    labels = np.zeros((height, width), dtype=np.uint8)
    bias = rng.gamma(0.8, 1.0, size=len(stuff)).astype(np.float32)
    rows = np.linspace(-1, 1, height, dtype=np.float32)[:, None]
    for index, value in enumerate(stuff):
        coarse = rng.standard_normal((4, 5)).astype(np.float32)
        fine = 0.15 * rng.standard_normal((height // 12, width // 12)).astype(np.float32)
        smooth = Image.fromarray(coarse, mode="F").resize((width, height), Image.Resampling.BICUBIC)
        ragged = Image.fromarray(fine, mode="F").resize((width, height), Image.Resampling.BILINEAR)
        field = np.asarray(smooth) + np.asarray(ragged) + bias[index]
        field = field + np.float32(rng.normal(0, 1.0)) * rows
        better = field > best
        best[better] = field[better]
        labels[better] = value
    image = Image.fromarray(labels)
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(len(things), 3 * len(things) + 1))):
        value = int(things[rng.integers(len(things))])
        x, y = rng.uniform(0, width), rng.uniform(height * 0.2, height)
        size = rng.lognormal(np.log(min(width, height) / 14), 0.7)
        if rng.integers(3) == 0:  # a pole or a sign: a thin upright box
            half = max(1.0, size / 12)
            draw.rectangle([x - half, y - 2 * size, x + half, y], fill=value)
            continue
        corners = int(rng.integers(6, 14))
        angles = np.sort(rng.uniform(0, 2 * np.pi, corners))
        radii = size * rng.uniform(0.5, 1.2, corners)
        aspect = rng.uniform(0.5, 2.0)
        points = [
            (float(x + r * np.cos(a) * aspect), float(y + r * np.sin(a)))
            for a, r in zip(angles, radii, strict=True)
        ]
        draw.polygon(points, fill=value)
    return np.asarray(image)


# ADE20K's classes are very unequal: a Zipf-like share over ids 1-150 (0 is "other").
_ADE_SHARE = 1.0 / np.arange(1, 151) ** 1.1
_ADE_SHARE /= _ADE_SHARE.sum()


def make_mask(dataset: Dataset, index: int) -> np.ndarray:
    """Mask ``index`` of ``dataset``: the same array on every machine (seeded per file)."""
    if dataset.kind == "fields":
        rng = np.random.default_rng([2015, dataset.width, index])
        return synthetic_mask(rng, dataset)
    rng = np.random.default_rng([2016, dataset.width, dataset.height, index])
    if dataset.kind == "street":  # CamVid ids: 0 sky 1 building 3 road 4 sidewalk 11 void
        stuff = [0, 1, 3, 4, 11] if rng.random() < 0.5 else [0, 1, 2, 3, 4, 7, 11]
        return scene_mask(rng, dataset.width, dataset.height, stuff, [2, 5, 6, 7, 8, 9, 10])
    present = int(rng.integers(6, 22))
    chosen = rng.choice(np.arange(1, 151), size=present, replace=False, p=_ADE_SHARE).tolist()
    split = max(2, present // 3)
    stuff, things = [0, *chosen[:split]], chosen[split:] or chosen[-1:]
    return scene_mask(rng, dataset.width, dataset.height, stuff, things)


def _write_mask(job: tuple[Dataset, int, Path]) -> None:
    dataset, index, path = job
    temporary = path.with_suffix(".tmp.png")
    Image.fromarray(make_mask(dataset, index)).save(temporary)
    temporary.replace(path)


def ensure_dataset(dataset: Dataset, files: int) -> Path:
    """Generate the first ``files`` masks of ``dataset`` (seeded), once, on every core."""
    folder = DATA / f"{dataset.name}-{dataset.width}x{dataset.height}"
    folder.mkdir(parents=True, exist_ok=True)
    paths = ((dataset, i, folder / f"{i:05d}.png") for i in range(files))
    missing = [job for job in paths if not job[2].exists()]
    if len(missing) > 50:
        print(f"  generating {len(missing)} {dataset.name} masks", file=sys.stderr)
        with ProcessPoolExecutor(_jobs()) as pool:
            for _ in pool.map(_write_mask, missing, chunksize=32):
                pass
    else:
        for job in missing:
            _write_mask(job)
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


def _decode_fast(path: Path) -> None:
    import imagecodecs

    imagecodecs.png_decode(path.read_bytes())


def floor_fast_threads(folder: str, values: tuple[int, ...]) -> None:
    """libpng (imagecodecs) decode only, a thread pool on every core: the fast extra's floor."""
    import imagecodecs  # noqa: F401  (imported once, before the threads)

    with ThreadPoolExecutor(_jobs()) as pool:
        for _ in pool.map(_decode_fast, _masks(folder)):
            pass


def bare_import(folder: str, values: tuple[int, ...]) -> None:
    """Nothing: the child's start-up with NumPy and Pillow imported, as any scan script has."""


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
    "floor-fast-threads": floor_fast_threads,
    "enet-loop": enet_loop,
    "per-class-loop": per_class_loop,
}


# --------------------------------------------------------------------------- running


@dataclass
class Run:
    seconds: float
    peak_mib: float
    stdout: bytes
    #: CPU time (user + system) of the child and its threads and processes.
    cpu: float = 0.0


# Starts the command and reports its wall time and peak memory. A process's ru_maxrss
# keeps the high-water mark of the memory it had before exec, so a command started
# straight from this (large) process would report this process's size: the launcher,
# a bare `python -S`, spawns it instead, and measures from the spawn to the exit.
_LAUNCHER = """
import os, sys, time
report, argv = sys.argv[1], sys.argv[2:]
started = time.perf_counter()
pid = os.posix_spawn(argv[0], argv, os.environ)
_, status, usage = os.wait4(pid, 0)
seconds = time.perf_counter() - started
with open(report, "w") as file:
    cpu = usage.ru_utime + usage.ru_stime
    file.write(f"{seconds!r} {usage.ru_maxrss} {os.waitstatus_to_exitcode(status)} {cpu!r}")
"""


def run_child(command: list[str]) -> Run:
    """Run ``command`` to completion: wall time and the child's own peak resident set size.

    The launcher's os.wait4 returns the resource usage of exactly that child (ru_maxrss,
    KiB on Linux); output goes to temporary files so no pipe can fill up while waiting.
    """
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.NamedTemporaryFile("r") as report,
    ):
        launcher = [sys.executable, "-S", "-c", _LAUNCHER, report.name]
        subprocess.run([*launcher, *command], stdout=out, stderr=err, check=True)
        seconds, peak_kib, returncode, cpu = report.read().split()
        out.seek(0)
        err.seek(0)
        if int(returncode) != 0:
            message = err.read().decode(errors="replace")
            raise SystemExit(f"{' '.join(command)} failed:\n{message}")
        return Run(float(seconds), int(peak_kib) / 1024, out.read(), float(cpu))


def fast_available() -> bool:
    try:
        from mfb_cli.read.decode.fast import fast_modules
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


def busy_fraction(seconds: float = 0.5) -> float:
    """Share of the machine's CPU time used (by anyone) over the next ``seconds``."""

    def sample() -> tuple[int, int]:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return sum(fields), fields[3] + fields[4]  # total, idle + iowait

    try:
        total, idle = sample()
        time.sleep(seconds)
        total2, idle2 = sample()
    except OSError:  # not Linux: no gate
        return 0.0
    return 1 - (idle2 - idle) / max(1, total2 - total)


#: Seconds waited, in total, for the machine to be quiet (reported with the results).
WAITED = [0.0]
#: The most a run waits for quiet (--max-wait): on a machine that is never quiet, waiting
#: only makes the benchmark longer.
MAX_WAIT = [15.0]


def wait_for_quiet(limit: float = 15.0, busy: float = 0.25) -> None:
    """Before a timed run, wait (up to ``limit`` s) until other processes leave the CPUs idle.

    On a shared machine a parallel run measured while others compute says nothing about
    the pool; this keeps most runs clean without ever blocking the benchmark for long.
    """
    started = time.perf_counter()
    limit = min(limit, MAX_WAIT[0])
    while time.perf_counter() - started < limit and busy_fraction() > busy:
        time.sleep(1.0)
    WAITED[0] += time.perf_counter() - started


def interleaved(entries: list[Contender], rounds: int) -> None:
    """Run every contender once per round, rotating the order so drift hits all alike."""
    for round_index in range(rounds):
        shift = round_index % len(entries)
        for entry in entries[shift:] + entries[:shift]:
            wait_for_quiet()
            entry.runs.append(run_child(entry.command))
        print(f"  round {round_index + 1}/{rounds} done", file=sys.stderr)
    outputs = {e.runs[0].stdout for e in entries if e.key == "mfb"}
    if len(outputs) > 1:
        raise SystemExit("mfb's output differs between decoders")


def median(entry: Contender) -> float:
    return statistics.median(run.seconds for run in entry.runs)


def speed_table(
    dataset: Dataset, files: int, entries: list[Contender], size_note: str = ""
) -> list[str]:
    megapixels = files * dataset.width * dataset.height / 1e6
    by_key = {entry.key: median(entry) for entry in entries}
    floor, enet = by_key["floor-threads"], by_key["enet-loop"]
    per_class = by_key.get("per-class-loop")
    lines = [
        f"**{dataset.name}-like**, {files} files of {dataset.width}x{dataset.height} "
        f"({megapixels:.0f} MPix{size_note}), median of {len(entries[0].runs)} rounds:",
        "",
        "| | time (s) | files/s | MPix/s | time / floor | vs ENet loop |"
        + (" vs per-class loop |" if per_class else "")
        + " CPU (s) | peak MiB |",
        "|---|---:|---:|---:|---:|---:|" + ("---:|" if per_class else "") + "---:|---:|",
    ]
    for entry in entries:
        seconds = median(entry)
        peak = max(run.peak_mib for run in entry.runs)
        cpu = statistics.median(run.cpu for run in entry.runs)
        versus = f" {per_class / seconds:.1f}x |" if per_class else ""
        lines.append(
            f"| {entry.name} | {seconds:.2f} | {files / seconds:.0f} | {megapixels / seconds:.0f} "
            f"| {seconds / floor:.2f} | {enet / seconds:.2f}x |{versus} {cpu:.2f} | {peak:.0f} |"
        )
    return lines


#: The targets: (dataset, contender, reference, minimum speed-up of contender).
TARGETS = [
    ("cityscapes", "mfb --decoder pillow", "floor-threads", 1 / 1.15),
    ("cityscapes", "mfb --decoder pillow", "enet-loop", 3.0),
    ("cityscapes", "mfb --decoder pillow", "per-class-loop", 6.0),
    ("cityscapes", "mfb --decoder fast", "mfb --decoder pillow", 1.25),
    ("camvid", "mfb --decoder pillow", "enet-loop", 2.0),
    ("camvid", "mfb --decoder pillow", "per-class-loop", 4.0),
]


def targets_table(results: dict[str, list[Contender]]) -> list[str]:
    """The targets beside the measured speed-ups (reference time / contender time)."""
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


def memory_table(
    folders: dict[int, Path],
    decoders: list[str],
    label: str = "Cityscapes-like",
    ignore: bool = True,
) -> list[str]:
    lines = [
        f"**Peak memory** (maximum resident set size of the mfb process, {label} files):",
        "",
        "| | " + " | ".join(f"{n} files" for n in folders) + " | growth |",
        "|---|" + "---:|" * (len(folders) + 1),
    ]
    for decoder in decoders:
        runs = [run_child(mfb_command(folder, decoder, ignore)) for folder in folders.values()]
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


def small_contenders(folder: Path, dataset: Dataset) -> list[Contender]:
    """mfb as users run it (and with Pillow, and on one core) against the loop and floors."""
    result = [
        Contender("mfb", "mfb (--decoder auto)", mfb_command(folder, "auto", False), []),
        Contender("mfb", "mfb --decoder pillow", mfb_command(folder, "pillow", False), []),
        Contender("mfb", "mfb -j 1", [*mfb_command(folder, "auto", False), "-j", "1"], []),
        Contender(
            "mfb",
            "mfb --pool threads",
            [*mfb_command(folder, "auto", False), "--pool", "threads"],
            [],
        ),
    ]
    labels = {
        "floor-threads": "floor: Pillow decode only, threads",
        "floor-processes": "Pillow decode only, processes",
        "enet-loop": "PyTorch-ENet loop (bincount, 1 process)",
    }
    if fast_available():
        labels["floor-fast-threads"] = "libpng (imagecodecs) decode only, threads"
    for name, label in labels.items():
        result.append(Contender(name, label, baseline_command(name, folder, dataset.values), []))
    return result


def startup_contenders(handful: Path) -> list[Contender]:
    """Start-up: mfb on a handful of files, --help and --version, against the bare imports.

    mfb runs as users run it, through its console script (``python -m mfb_cli`` where
    there is none), from compiled modules as ``pip install`` leaves them: a source tree
    run with PYTHONDONTWRITEBYTECODE would compile every changed module on each start.
    """
    import compileall

    import mfb_cli

    compileall.compile_dir(Path(mfb_cli.__file__).parent, quiet=1)
    script = Path(sys.executable).with_name("mfb")
    mfb = [str(script)] if script.is_file() else [sys.executable, "-m", "mfb_cli"]
    count = len(list(handful.glob("*.png")))
    return [
        Contender("python", "`python -c pass`", [sys.executable, "-c", "pass"], []),
        Contender(
            "bare",
            '`python -c "import numpy, PIL.Image"`',
            [sys.executable, "-c", "import numpy, PIL.Image"],
            [],
        ),
        Contender("mfb", f"`mfb weights` on {count} files", [*mfb, "weights", str(handful)], []),
        Contender("help", "`mfb --help`", [*mfb, "--help"], []),
        Contender("weights-help", "`mfb weights --help`", [*mfb, "weights", "--help"], []),
        Contender("version", "`mfb --version`", [*mfb, "--version"], []),
    ]


def startup_table(entries: list[Contender]) -> list[str]:
    bare = next(median(e) for e in entries if e.key == "bare")
    lines = [
        f"**Start-up** (whole process, median of {len(entries[0].runs)} rounds):",
        "",
        "| | time (ms) | time / bare import | CPU (ms) | peak MiB |",
        "|---|---:|---:|---:|---:|",
    ]
    for entry in entries:
        seconds = median(entry)
        peak = max(run.peak_mib for run in entry.runs)
        cpu = 1000 * statistics.median(run.cpu for run in entry.runs)
        lines.append(
            f"| {entry.name} | {1000 * seconds:.0f} | {seconds / bare:.2f} | {cpu:.0f} "
            f"| {peak:.0f} |"
        )
    return lines


def small_summary(results: dict[str, list[Contender]], startup: list[Contender]) -> list[str]:
    """The ratios against the targets, from the tables above (same run)."""
    lines = [
        "**Ratios** (from the tables above; the targets are >= 2x the ENet loop, <= 1.3x "
        "the floor, <= 1.5x the bare import):",
        "",
    ]
    for name, entries in results.items():
        times = {e.name: median(e) for e in entries}
        times.update({e.key: median(e) for e in entries if e.key != "mfb"})
        mfb = times["mfb (--decoder auto)"]
        lines.append(
            f"- {name}: mfb is {times['enet-loop'] / mfb:.2f}x faster than the ENet loop and "
            f"takes {mfb / times['floor-threads']:.2f}x the Pillow decode-only floor "
            f"(the floor itself is {times['enet-loop'] / times['floor-threads']:.2f}x "
            "faster than the ENet loop)."
        )
    by_key = {e.key: median(e) for e in startup}
    weights, helps = by_key["mfb"] / by_key["bare"], by_key["help"] / by_key["bare"]
    weights_help = by_key["weights-help"] / by_key["bare"]
    lines.append(
        f"- start-up: `mfb weights` on a handful of files takes {weights:.2f}x the bare "
        f"import, `mfb --help` {helps:.2f}x, `mfb weights --help` {weights_help:.2f}x."
    )
    return lines


def write_section(path: Path, key: str, text: str) -> None:
    """Replace this mode's part of ``path`` (between its markers), keeping the other mode's.

    The markers are those of pymdownx.snippets' sections, so docs/speed.md includes the
    part as it is: ``--8<-- "benchmarks/RESULTS.md:small-files"``.
    """
    name = key.replace(" ", "-")
    begin, end = f"<!-- --8<-- [start:{name}] -->", f"<!-- --8<-- [end:{name}] -->"
    block = f"{begin}\n{text}{end}\n"
    old = path.read_text() if path.exists() else ""
    if begin in old and end in old:
        head, rest = old.split(begin, 1)
        after = rest.split(end, 1)[1].lstrip("\n")
        new = head + block + ("\n" + after if after else "")
    else:
        new = old + ("\n" if old and not old.endswith("\n\n") else "") + block
    path.write_text(new)


def run_small(args: argparse.Namespace, lines: list[str]) -> None:
    """Many small files and start-up, in one run."""
    sets = []
    for dataset in (STREET, ADE):
        source = ensure_dataset(dataset, args.small)
        sets.append((dataset, subset(source, args.small, f"{dataset.name}-{args.small}")))
    results: dict[str, list[Contender]] = {}
    for dataset, folder in sets:
        sizes = [p.stat().st_size for p in folder.glob("*.png")]
        note = f", {statistics.mean(sizes) / 1024:.1f} KiB a file"
        print(f"{dataset.name}: {args.small} files, {args.rounds} rounds", file=sys.stderr)
        entries = results[dataset.name] = small_contenders(folder, dataset)
        interleaved(entries, args.rounds)
        lines += [*speed_table(dataset, args.small, entries, note), ""]
    handful = subset(sets[0][1], 5, f"{STREET.name}-5")
    startup = startup_contenders(handful)
    rounds = max(3, 4 * args.rounds)
    print(f"start-up: {rounds} rounds", file=sys.stderr)
    for round_index in range(rounds):  # interleaved like the scans, no output check
        shift = round_index % len(startup)
        for entry in startup[shift:] + startup[:shift]:
            wait_for_quiet(limit=10.0)
            entry.runs.append(run_child(entry.command))
    lines += [*startup_table(startup), ""]
    counts = [int(n) for n in args.memory.split(",")]
    print(f"peak memory: {counts} files", file=sys.stderr)
    folders = {n: subset(sets[0][1], n, f"{STREET.name}-{n}") for n in counts}
    lines += [*memory_table(folders, ["auto"], "street-like 480x360", ignore=False), ""]
    lines += small_summary(results, startup)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (median)")
    parser.add_argument("--cityscapes", type=int, default=CITYSCAPES.files, metavar="N")
    parser.add_argument("--camvid", type=int, default=CAMVID.files, metavar="N")
    parser.add_argument(
        "--memory",
        help="file counts for the peak-memory runs (default 100,2000; with --small 5000,50000)",
    )
    parser.add_argument(
        "--small",
        type=int,
        nargs="?",
        const=STREET.files,
        metavar="N",
        help=f"the small-file and start-up benchmark, N files a set (default {STREET.files})",
    )
    parser.add_argument("--quick", action="store_true", help="tiny smoke run")
    parser.add_argument(
        "--max-wait",
        type=float,
        default=15.0,
        metavar="S",
        help="the most a run waits for the machine to be quiet (default 15 s)",
    )
    parser.add_argument("--output", type=Path, default=HERE / "RESULTS.md")
    parser.add_argument("--baseline", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    MAX_WAIT[0] = args.max_wait
    if args.baseline:
        name, folder, values = args.baseline
        BASELINES[name](folder, tuple(int(v) for v in values.split(",")))
        return
    if args.small is not None and "--rounds" not in sys.argv:
        args.rounds = 3  # 5,000 files a set: three rounds keep the run near 10 minutes
    if args.quick:
        args.rounds, args.cityscapes, args.camvid = 1, 12, 40
        args.memory = args.memory or ("100,1000" if args.small else "10,100")
        args.small = args.small and min(args.small, 200)
    args.memory = args.memory or ("5000,50000" if args.small else "100,2000")
    # An installed package has its bytecode compiled by pip; a checkout run with
    # PYTHONDONTWRITEBYTECODE would recompile mfb on every start and time the compiler.
    import mfb_cli

    compileall.compile_dir(Path(mfb_cli.__file__).parent, quiet=1)
    decoders = ["pillow", "fast"] if fast_available() else ["pillow"]
    print(f"generating datasets under {DATA} (once)", file=sys.stderr)
    lines = [f"Machine: {machine()}.", ""]
    command = " ".join(["python benchmarks/bench.py", *sys.argv[1:]])
    lines += [f"Command: `{command}`", ""]
    if args.small:
        load = os.getloadavg()[0]
        run_small(args, lines)
        lines += [
            "",
            f"Load average (1 min) at the start and end: {load:.1f}, {os.getloadavg()[0]:.1f} "
            f"on {_jobs()} cores; {WAITED[0]:.0f} s spent waiting for other processes to "
            "leave the CPUs idle before runs. CPU is user + system time of the process and "
            "its workers.",
        ]
        text = "\n".join(lines) + "\n"
        write_section(args.output, "small files", text)
        print(text)
        return
    city = ensure_dataset(CITYSCAPES, args.cityscapes)
    camvid = ensure_dataset(CAMVID, args.camvid)
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
    lines += ["**Targets** (speed-up = reference time / contender time):", ""]
    lines += targets_table(results)
    text = "\n".join(lines) + "\n"
    write_section(args.output, "large files", text)
    print(text)


if __name__ == "__main__":
    main()
