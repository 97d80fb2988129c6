"""Time of `mfb report --from` and `mfb priors --from` on statistics files of 2,048-4,096 ids.

Not a test: run it by hand; it prints a markdown table and writes ``benchmarks/STATS_FILES.md``::

    git archive OLD_COMMIT | (mkdir -p /tmp/before && tar -x -C /tmp/before)
    python benchmarks/stats_files.py --before /tmp/before    # before and after (minutes)
    python benchmarks/stats_files.py                          # this checkout only

Three tables of co-occurrence, seeded:

- ``one image, 2,048 ids``: ids 0, 2, ..., 4094 all in one image (every cell non-zero), the
  file tests/test_id_list.py writes;
- ``20,000 images, 4,096 ids``: 4,096 ids, each image holding 5 to 15 of them drawn
  uniformly plus one more so that every id occurs (13% of the cells non-zero);
- ``one image, 4,096 ids``: every id a scan keeps, all meeting (16.7 M non-zero cells).

Each table is written twice: as ``[c, d, n]`` rows (the only layout of format version 1,
what every earlier mfb wrote) and as this mfb writes it. ``--before DIR`` runs the mfb
found in DIR (a checkout of an earlier commit) on the rows file; this checkout runs on both
files. Every run is its own process (start-up included); the time is the best of
``--rounds``, peak memory the maximum resident set size of that process.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from mfb_cli.count import cooc_record  # noqa: E402
from mfb_cli.count.counts import ClassCounts  # noqa: E402
from mfb_cli.count.stats import StatsFile, files_digest, stats_record  # noqa: E402
from mfb_cli.read.sources.textfiles import MAX_STATS_BYTES  # noqa: E402
from mfb_cli.show.serialize import to_json  # noqa: E402

_RSS = (
    "import resource, subprocess, sys; done = subprocess.run(sys.argv[1:], "
    "stdout=subprocess.DEVNULL, stderr=subprocess.PIPE); "
    "print(done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); "
    "sys.stdout.flush(); sys.stderr.write(done.stderr.decode()[-300:])"
)


def one_image(ids: int, step: int) -> ClassCounts:
    """``ids`` ids at 0, step, 2*step, ... all in one image, id k with k+1 pixels."""
    labels = np.arange(0, ids * step, step, dtype=np.int64)
    return ClassCounts.from_histogram(labels, np.arange(1, ids + 1, dtype=np.int64))


def many_images(ids: int = 4096, images: int = 20_000, seed: int = 0) -> ClassCounts:
    """``images`` images of 5-15 ids drawn uniformly (plus id i % ids), 1-50,000 pixels each."""
    rng = np.random.default_rng(seed)
    cooc = np.zeros((ids, ids), dtype=np.int64)
    pixels = np.zeros(ids, dtype=np.int64)
    present = np.zeros(ids, dtype=np.int64)
    for index in range(images):
        drawn = rng.choice(ids, size=int(rng.integers(5, 16)), replace=False)
        held = np.unique(np.append(drawn, index % ids))
        counts = rng.integers(1, 50_000, size=len(held))
        cooc[np.ix_(held, held)] += counts[None, :]
        pixels[held] += counts
        present[held] += 1
    return ClassCounts(np.arange(ids, dtype=np.int64), pixels, present, cooc, images)


def write(counts: ClassCounts, path: Path, *, rows: bool) -> tuple[str, int]:
    """Write the statistics file; rows=True forces the [c, d, n] rows of format version 1."""
    limit = cooc_record.ROWS_LIMIT
    cooc_record.ROWS_LIMIT = counts.cooc.size if rows else limit
    try:
        layout = cooc_record.cooc_layout(counts.cooc)
        digest = files_digest(f"{i}.png" for i in range(counts.num_images))
        path.write_text(to_json(stats_record(StatsFile(counts, counts.num_images, digest))))
    finally:
        cooc_record.ROWS_LIMIT = limit
    return layout, path.stat().st_size


def timed(source: Path, command: str, path: Path, rounds: int) -> tuple[float, float, bool]:
    """Best wall time (s), its peak memory (MiB), and whether the command succeeded."""
    environment = {**os.environ, "PYTHONPATH": str(source)}
    best = (float("inf"), 0.0, False)
    for _ in range(rounds):
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", _RSS, sys.executable, "-m", "mfb_cli", command, "--from",
             str(path), "-q"],
            capture_output=True, text=True, env=environment, cwd=path.parent, check=True,
        )  # fmt: skip
        seconds = time.perf_counter() - start
        code, peak = done.stdout.split()
        if code != "0":
            print(f"{command} {path.name}: exit {code}: {done.stderr.strip()}", file=sys.stderr)
        if seconds < best[0]:
            best = (seconds, int(peak) / 1024, code == "0")
    return best


def cell(result: tuple[float, float, bool] | None) -> str:
    if result is None:
        return "-"
    seconds, peak, ok = result
    return f"{seconds:.1f} s, {peak:,.0f} MiB" if ok else "refused"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, help="an earlier mfb checkout to compare with")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--output", type=Path, default=HERE / "STATS_FILES.md")
    options = parser.parse_args()
    cases = [
        ("one image, 2,048 ids", lambda: one_image(2048, 2), True),
        ("20,000 images, 4,096 ids", many_images, True),
        # As rows this file would pass the size cap: nothing earlier could read it.
        ("one image, 4,096 ids", lambda: one_image(4096, 1), False),
    ]
    lines = []
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        for name, make, with_rows in cases:
            counts = make()
            share = np.count_nonzero(counts.cooc) / counts.cooc.size
            files = []
            if with_rows:
                files.append((root / "rows" / "s.json", True))
            files.append((root / "new" / "s.json", False))
            for path, rows in files:
                path.parent.mkdir(exist_ok=True)
                layout, size = write(counts, path, rows=rows)
                results = {}
                for command in ("report", "priors"):
                    before = None
                    if options.before is not None and rows:
                        before = timed(options.before, command, path, options.rounds)
                    after = timed(ROOT, command, path, options.rounds)
                    results[command] = (before, after)
                    print(name, layout, command, before, after, file=sys.stderr)
                over = " (over the cap)" if size > MAX_STATS_BYTES else ""
                lines.append(
                    f"| {name} | {share:.0%} | {layout} | {size / 2**20:,.0f} MiB{over} | "
                    + " | ".join(
                        f"{cell(results[c][0])} | {cell(results[c][1])}"
                        for c in ("report", "priors")
                    )
                    + " |"
                )
                path.unlink()
    header = [
        "<!-- --8<-- [start:stats-files] -->",
        "| table | non-zero cells | layout | file | report before | report now "
        "| priors before | priors now |",
        "|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    footer = ["<!-- --8<-- [end:stats-files] -->"]
    intro = [
        "# Reading large statistics files",
        "",
        "Written by `python benchmarks/stats_files.py"
        + (" --before DIR`" if options.before else "`")
        + " (see its docstring). Wall time of one process (start-up included, best of "
        f"{options.rounds}) and its peak resident memory; `before`: the mfb of `--before` "
        "(format version 1 only, each row checked in Python) on the rows file; `now`: this "
        "checkout; a shared 2-core machine.",
        "",
    ]
    text = "\n".join(intro + header + lines + footer) + "\n"
    print(text)
    options.output.write_text(text)


if __name__ == "__main__":
    main()
