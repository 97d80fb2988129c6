"""Peak memory and file size of per-image statistics (``mfb scan --per-image``), 10k vs 100k.

Not a test: run it by hand; it prints a markdown table and writes ``benchmarks/PER_IMAGE.md``::

    python benchmarks/per_image.py            # 10,000 and 100,000 masks (a few minutes)
    python benchmarks/per_image.py --quick    # 1,000 and 10,000

The masks are tiny (8x8, 2-5 classes each, seeded) so that the file count, not decoding,
is what grows. Each run is its own process; peak memory is its maximum resident set size.
The scan itself keeps the list of paths (O(files)); what per-image statistics add is the
difference between a scan with ``--per-image`` and one without, at the same size.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
_RSS = (
    "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


def write_masks(folder: Path, count: int) -> None:
    """``count`` 8x8 masks: 64 distinct seeded patterns, written as bytes (fast)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    patterns = []
    for _ in range(64):
        labels = rng.choice(rng.choice(19, size=rng.integers(2, 6), replace=False), (8, 8))
        path = folder / "pattern.png"
        Image.fromarray(labels.astype(np.uint8)).save(path)
        patterns.append(path.read_bytes())
    (folder / "pattern.png").unlink()
    for index in range(count):
        sub = folder / f"{index // 1000:03d}"
        sub.mkdir(exist_ok=True)
        (sub / f"{index:06d}_labelTrainIds.png").write_bytes(patterns[index % 64])


def peak_kib(*args: str) -> int:
    """Maximum resident set size (KiB) of ``mfb args`` run in its own process."""
    command = [sys.executable, "-m", "mfb_cli", *args]
    done = subprocess.run(
        [sys.executable, "-c", _RSS, *command], capture_output=True, text=True, check=True
    )
    return int(done.stdout.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--output", type=Path, default=HERE / "PER_IMAGE.md")
    options = parser.parse_args()
    sizes = (1_000, 10_000) if options.quick else (10_000, 100_000)
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        for size in sizes:
            masks = root / f"m{size}"
            write_masks(masks, size)
            jsonl = root / f"i{size}.jsonl"
            common = ("scan", str(masks), "-q", "-o", str(root / f"s{size}.json"))
            plain = peak_kib(*common)
            with_images = peak_kib(*common, "--per-image", str(jsonl))
            sampling = peak_kib("sampling", "--from", str(jsonl), "-q", "-f", "csv", "-o",
                                str(root / f"w{size}.csv"))  # fmt: skip
            rows.append((size, plain, with_images, jsonl.stat().st_size, sampling))
            print(rows[-1], file=sys.stderr)
    lines = [
        "Per-image statistics: peak resident memory (MiB) of `mfb scan` with and without",
        "`--per-image`, and of `mfb sampling --from` (which keeps every image's counts: its",
        "output is per image). Command: `python benchmarks/per_image.py"
        + (" --quick`" if options.quick else "`"),
        "",
        "| masks | scan | scan --per-image | added by --per-image | file bytes / image "
        "| sampling --from |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for size, plain, with_images, file_size, sampling in rows:
        lines.append(
            f"| {size:,} | {plain / 1024:.1f} | {with_images / 1024:.1f} | "
            f"{(with_images - plain) / 1024:+.1f} | {file_size / size:.1f} | "
            f"{sampling / 1024:.1f} |"
        )
    (first, first_plain, first_with, _, _), (last, last_plain, last_with, _, _) = rows[0], rows[-1]
    added_first, added_last = first_with - first_plain, last_with - last_plain
    lines += [
        "",
        f"Memory added by --per-image: {added_first / 1024:+.1f} MiB at {first:,} masks, "
        f"{added_last / 1024:+.1f} MiB at {last:,}: flat (lines are written as files are "
        "counted; nothing per image is kept).",
        f"The scan's own peak grows {(last_plain / first_plain - 1) * 100:+.0f}% "
        f"({(last_plain - first_plain) * 1024 / (last - first):.0f} bytes per extra file), "
        "the same with or without --per-image: the scan's own per-file state (such as its "
        "lists of paths), not per-image statistics.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    options.output.write_text(text)


if __name__ == "__main__":
    main()
