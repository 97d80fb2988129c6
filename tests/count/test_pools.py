"""Every pool gives the same results: threads, forked processes, any -j, any decoder.

The counts are checked against a naive count (np.unique over every file), the reports and
the command outputs byte for byte across pools; the errors name the same first bad file.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from mfb_cli import count_masks
from mfb_cli.cli import cli
from mfb_cli.count.check import check_masks
from mfb_cli.count.label_check import LabelCheck
from mfb_cli.count.pools import BATCH_FILES, MIN_PROCESS_FILES, choose_pool
from mfb_cli.errors import BadMaskError, LabelRangeError
from mfb_cli.read.options import ReadOptions
from mfb_cli.read.sources.find import find_label_sources

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="forked workers (Linux)"
)

POOLS = [("threads", 1), ("threads", 2), ("threads", 3), ("processes", 2), ("processes", 3)]


def write_set(folder: Path, count: int, seed: int = 0, top: int | None = None) -> list[np.ndarray]:
    """``count`` small masks of varied sizes and modes (8-bit, 16-bit, palette), labels
    below ``top`` (default: 300 in the 16-bit ones, 12 in the others)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = []
    for index in range(count):
        shape = (int(rng.integers(1, 9)), int(rng.integers(1, 9)))
        kind = index % 3
        labels = rng.integers(0, top or (300 if kind == 1 else 12), shape)
        if kind == 0:
            Image.fromarray(labels.astype(np.uint8)).save(folder / f"{index:04d}.png")
        elif kind == 1:
            Image.fromarray(labels.astype(np.uint16)).save(folder / f"{index:04d}.png")
        else:
            Image.fromarray(labels.astype(np.uint8)).convert("P").save(folder / f"{index:04d}.png")
        arrays.append(labels)
    return arrays


def naive_counts(arrays: list[np.ndarray]) -> dict[int, tuple[int, int]]:
    """label -> (pixels, images), one np.unique per image."""
    found: dict[int, list[int]] = {}
    for labels in arrays:
        values, counts = np.unique(labels, return_counts=True)
        for value, count in zip(values.tolist(), counts.tolist(), strict=True):
            entry = found.setdefault(value, [0, 0])
            entry[0] += count
            entry[1] += 1
    return {value: (pixels, images) for value, (pixels, images) in sorted(found.items())}


@pytest.fixture(scope="module")
def small_set(tmp_path_factory) -> tuple[Path, list[np.ndarray]]:
    folder = tmp_path_factory.mktemp("pools") / "masks"
    # More than a few batches per worker, and not a multiple of the batch size.
    return folder, write_set(folder, 3 * BATCH_FILES + 17)


@pytest.mark.parametrize("decoder", ["pillow", "fast"])
@pytest.mark.parametrize(("pool", "jobs"), POOLS)
def test_counts_are_the_naive_counts_in_every_pool(small_set, pool, jobs, decoder):
    folder, arrays = small_set
    if decoder == "fast":
        pytest.importorskip("imagecodecs")
    paths = find_label_sources([folder])
    seen: list[str] = []
    counts = count_masks(
        paths,
        jobs=jobs,
        pool=pool,
        read=ReadOptions(decoder=decoder),
        on_file=lambda path, pixels: seen.append(str(path)),
    )
    expected = naive_counts(arrays)
    assert counts.ids.tolist() == list(expected)
    assert counts.pixels.tolist() == [pixels for pixels, _ in expected.values()]
    assert counts.images.tolist() == [images for _, images in expected.values()]
    assert counts.num_images == len(arrays)
    # Progress is reported for every file, in file order, whatever the pool.
    assert seen == [str(p) for p in paths]


def test_every_pool_gives_the_same_counts_as_serial(small_set):
    folder, _ = small_set
    paths = find_label_sources([folder])
    serial = count_masks(paths, jobs=1)
    for pool, jobs in POOLS:
        assert count_masks(paths, jobs=jobs, pool=pool) == serial, (pool, jobs)


def broken_set(folder: Path) -> list[Path]:
    """150 good masks, with a label-9 file at 40, a damaged file at 41 and one at 120."""
    write_set(folder, 150, seed=3, top=9)
    (folder / "0041.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    (folder / "0120.png").write_bytes(b"not an image")
    Image.fromarray(np.full((2, 2), 9, np.uint8)).save(folder / "0040.png")
    return find_label_sources([folder])


@pytest.mark.parametrize(("pool", "jobs"), POOLS)
def test_the_first_bad_file_in_order_is_reported_in_every_pool(tmp_path, pool, jobs):
    paths = broken_set(tmp_path / "m")
    # 0040 is the first file whose labels the check rejects; 0041 the first unreadable one.
    with pytest.raises(LabelRangeError, match=r"0040\.png: label 9 >= num_classes=9"):
        count_masks(paths, jobs=jobs, pool=pool, check=LabelCheck(9))
    with pytest.raises(BadMaskError, match=r"0041\.png"):
        count_masks(paths, jobs=jobs, pool=pool, check=LabelCheck(400))


@pytest.mark.parametrize(("pool", "jobs"), POOLS)
def test_skip_bad_skips_the_same_files_in_every_pool(tmp_path, pool, jobs):
    paths = broken_set(tmp_path / "m")
    skipped: list[str] = []
    counts = count_masks(
        paths,
        jobs=jobs,
        pool=pool,
        skip_bad=True,
        on_skip=lambda path, error: skipped.append(f"{path}: {error.problem}"),
    )
    reference_skipped: list[str] = []
    reference = count_masks(
        paths,
        jobs=1,
        skip_bad=True,
        on_skip=lambda path, error: reference_skipped.append(f"{path}: {error.problem}"),
    )
    assert [s.split(": ")[0] for s in skipped] == [str(paths[41]), str(paths[120])]
    assert skipped == reference_skipped
    assert counts == reference
    assert counts.warnings == reference.warnings
    assert counts.num_images == 148


@pytest.mark.parametrize(("pool", "jobs"), POOLS)
def test_check_reports_are_identical_in_every_pool(tmp_path, pool, jobs):
    paths = broken_set(tmp_path / "m")
    report = check_masks(paths, jobs=jobs, pool=pool, num_classes=9)
    reference = check_masks(paths, jobs=1, num_classes=9)
    assert report.record() == reference.record()
    assert [p for p, _ in report.bad_files] == [str(paths[41]), str(paths[120])]
    assert report.out_of_range[9][0] == str(paths[40])


def cli_output(*args: object) -> str:
    """The exit status and stdout (check exits 1 when it finds problems)."""
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code in (0, 1) and "Traceback" not in result.stderr, result.stderr
    return f"{result.exit_code}\n{result.stdout}"


@pytest.mark.parametrize("command", [["weights", "--void", "11"], ["histogram"], ["check"]])
def test_command_outputs_are_byte_identical_across_pools_and_jobs(small_set, command):
    folder, _ = small_set
    outputs = {
        (pool, jobs, decoder): cli_output(
            *command, folder, "-q", "-j", jobs, "--pool", pool, "--decoder", decoder
        )
        for pool, jobs in [("auto", 1), ("threads", 2), ("processes", 2), ("processes", 3)]
        for decoder in ("pillow", "auto")
    }
    first = next(iter(outputs.values()))
    assert first.strip()
    assert all(output == first for output in outputs.values()), sorted(
        key for key, output in outputs.items() if output != first
    )


def linked_files(folder: Path, count: int, size: int) -> list[Path]:
    """``count`` hard links to one file of ``size`` bytes: any total size, no disk used."""
    folder.mkdir()
    first = folder / "0000.png"
    first.write_bytes(os.urandom(size))
    for index in range(1, count):
        (folder / f"{index:04d}.png").hardlink_to(first)
    return find_label_sources([folder])


def test_pool_choice_follows_the_file_sizes(tmp_path):
    # Many small files (2 KiB, 600 KiB in all): processes; with one job: none.
    small = linked_files(tmp_path / "small", MIN_PROCESS_FILES + 44, 2048)
    assert choose_pool(small, 2) == "processes"
    assert choose_pool(small, 1) == "serial"
    assert choose_pool(small, 2, "threads") == "threads"
    # Fewer files than a process pool is worth: threads.
    assert choose_pool(small[: MIN_PROCESS_FILES - 1], 2) == "threads"
    # A few small files, under 256 KiB in all: no pool (it would cost more than it saves).
    assert choose_pool(small[:100], 2) == "serial"
    assert choose_pool(small[:100], 2, "processes") == "processes"
    # Large files (300 KiB): threads, however many.
    assert choose_pool(linked_files(tmp_path / "large", 300, 300 * 1024), 2) == "threads"
    # Archive members are read by threads, whatever the pool asked for.
    with zipfile.ZipFile(tmp_path / "a.zip", "w") as archive:
        for path in small[:3]:
            archive.write(path, path.name)
    members = find_label_sources([tmp_path / "a.zip"])
    assert choose_pool([*small, *members], 2, "processes") == "threads"


def test_a_library_callers_buffered_output_is_written_once(small_set, tmp_path):
    """Forked workers must not flush a copy of what the caller left in stdout's buffer."""
    folder, _ = small_set
    script = (
        "import sys\n"
        "from mfb_cli import count_masks\n"
        "from mfb_cli.read.sources.find import find_label_sources\n"
        "print('before the scan')\n"
        f"counts = count_masks(find_label_sources([{str(folder)!r}]), jobs=2, pool='processes')\n"
        "print(counts.num_images)\n"
    )
    env = {**os.environ, "PYTHONUNBUFFERED": ""}
    env.pop("PYTHONUNBUFFERED")
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True
    )
    assert done.stdout == f"before the scan\n{3 * BATCH_FILES + 17}\n"


def _workers_of(folder: Path) -> list[int]:
    """Processes whose command line names ``folder`` (the mfb process and its workers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if str(folder).encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
    return found


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="watches processes (Linux)")
@pytest.mark.parametrize(
    ("signum", "code", "message"),
    [(signal.SIGINT, 130, "Interrupted"), (signal.SIGTERM, 143, "Terminated")],
)
def test_a_signal_ends_the_process_pool_at_once(tmp_path, signum, code, message):
    """Ctrl-C / SIGTERM to mfb ends its worker processes too, mid-batch, leaving no output."""
    folder = tmp_path / "big"
    folder.mkdir()
    labels = np.random.default_rng(0).integers(0, 12, (1024, 1024), dtype=np.uint8)
    Image.fromarray(labels).save(folder / "0000.png", compress_level=1)
    for index in range(1, 2000):
        (folder / f"{index:04d}.png").hardlink_to(folder / "0000.png")
    out = tmp_path / "weights.json"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mfb_cli",
            "weights",
            folder,
            "-j",
            "2",
            "--pool",
            "processes",
            "-o",
            out,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while len(_workers_of(folder)) < 3:  # the mfb process and its two workers
            assert process.poll() is None and time.monotonic() < deadline, "no workers"
            time.sleep(0.01)
        time.sleep(0.3)  # the workers are counting
        process.send_signal(signum)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == code, stderr
    assert stderr.strip() == f"{message}; no output was written."
    assert stdout == ""
    assert not out.exists()
    deadline = time.monotonic() + 5
    while _workers_of(folder) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _workers_of(folder) == []


def _count_in_a_daemon(folder: str) -> int:
    paths = find_label_sources([folder])
    assert choose_pool(paths, 2, "processes") == "threads"
    return count_masks(paths, jobs=2, pool="processes").num_images


def test_a_scan_inside_a_daemonic_worker_uses_threads(small_set):
    """multiprocessing (and Dask) workers are daemons and may not fork a pool of their own."""
    import multiprocessing

    folder, arrays = small_set
    with multiprocessing.get_context("fork").Pool(1) as outer:
        assert outer.apply(_count_in_a_daemon, (str(folder),)) == len(arrays)


def test_a_few_small_files_are_read_without_a_pool(tmp_path, monkeypatch):
    import concurrent.futures

    write_set(tmp_path / "few", 5)
    paths = find_label_sources([tmp_path / "few"])
    assert choose_pool(paths, 2) == "serial"

    def no_pool(*args: object, **kwargs: object) -> None:
        raise AssertionError("a pool was started for 5 tiny files")

    monkeypatch.setattr(concurrent.futures, "ThreadPoolExecutor", no_pool)
    assert count_masks(paths, jobs=2).num_images == 5


_DYING_WORKER = """
import os, signal, sys
from mfb_cli.count.pipeline import scan_in_order
from mfb_cli.errors import MfbError
from mfb_cli.read.options import ReadOptions
from mfb_cli.read.sources.find import find_label_sources

paths = find_label_sources([sys.argv[1]])
parent = os.getpid()

def work(path, data):
    if path == paths[100] and os.getpid() != parent:
        os.kill(os.getpid(), signal.SIGKILL)  # as a decoder crash or the OOM killer would
    return 0

try:
    list(scan_in_order(paths, work, read=ReadOptions(), jobs=2, pool="processes"))
except MfbError as error:
    print(error)
"""


def test_a_worker_that_dies_ends_the_run_with_an_error(small_set):
    """A killed worker must not leave the run waiting forever for its batch."""
    folder, _ = small_set
    done = subprocess.run(
        [sys.executable, "-c", _DYING_WORKER, str(folder)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    # The files of the batches not finished when the worker died: file 100 among them.
    paths = [str(p) for p in find_label_sources([folder])]
    match = re.fullmatch(
        r"a worker process ended abruptly while reading the files from (\S+) to (\S+) "
        r"\(a decoder crash, or out of memory\); read them with one job to find the file\n",
        done.stdout,
    )
    assert match, done.stdout
    assert paths.index(match[1]) <= 100 <= paths.index(match[2])
