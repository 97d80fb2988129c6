"""Benchmark ``mfb scan --geometry`` against the plain scan of the same files, same run.

Not a test: run it by hand on a quiet machine; it prints a markdown table and writes it to
``benchmarks/GEOMETRY.md``::

    python benchmarks/geometry.py                   # 5,000 street-like + 200 Cityscapes-like
    python benchmarks/geometry.py --quick           # a smoke run of a few seconds

The datasets are bench.py's, generated once (seeded) under ``benchmarks/data/``: 480x360
street scenes (CamVid ids, regions, poles and objects) and 2048x1024 Cityscapes-like
masks (trainIds 0-18 and 255). Each contender runs in its own process, start-up included,
in interleaved rounds; the table gives medians and the ratio geometry / plain (the target
is at most 1.5). Peak memory is the child's maximum resident set size, for two file
counts: flat means the components of one image at a time, whatever the number of files.
"""

from __future__ import annotations

import argparse
import compileall
import statistics
import sys
from pathlib import Path

from bench import (
    CITYSCAPES,
    HERE,
    MAX_WAIT,
    STREET,
    Contender,
    Dataset,
    ensure_dataset,
    machine,
    run_child,
    subset,
    wait_for_quiet,
    write_section,
)

#: The most --geometry may cost, as a multiple of the plain scan's time.
TARGET = 1.5


def scan_command(folder: Path, geometry: bool) -> list[str]:
    command = [sys.executable, "-m", "mfb_cli", "scan", str(folder), "-q"]
    return [*command, "--geometry"] if geometry else command


def rounds_of(entries: list[Contender], rounds: int) -> None:
    """Every contender once per round, the order rotating so drift hits both alike."""
    for index in range(rounds):
        shift = index % len(entries)
        for entry in entries[shift:] + entries[:shift]:
            wait_for_quiet()
            entry.runs.append(run_child(entry.command))
        print(f"  round {index + 1}/{rounds} done", file=sys.stderr)


def speed_lines(dataset: Dataset, files: int, entries: list[Contender]) -> list[str]:
    plain, shaped = (statistics.median(r.seconds for r in e.runs) for e in entries)
    ratio = shaped / plain
    plain_cpu, shaped_cpu = (statistics.median(r.cpu for r in e.runs) for e in entries)
    verdict = "met" if ratio <= TARGET else "**not met**"
    megapixels = files * dataset.width * dataset.height / 1e6
    lines = [
        f"**{dataset.name}-like**, {files} files of {dataset.width}x{dataset.height} "
        f"({megapixels:.0f} MPix), median of {len(entries[0].runs)} rounds:",
        "",
        "| | time (s) | files/s | MPix/s | CPU (s) | peak MiB |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for entry in entries:
        seconds = statistics.median(r.seconds for r in entry.runs)
        cpu = statistics.median(r.cpu for r in entry.runs)
        peak = max(r.peak_mib for r in entry.runs)
        lines.append(
            f"| {entry.name} | {seconds:.2f} | {files / seconds:.0f} | "
            f"{megapixels / seconds:.0f} | {cpu:.2f} | {peak:.0f} |"
        )
    lines += [
        "",
        f"--geometry / plain: **{ratio:.2f}x** wall (target <= {TARGET}x: {verdict}), "
        f"{shaped_cpu / plain_cpu:.2f}x CPU",
        "",
    ]
    return lines


def memory_lines(dataset: Dataset, source: Path, counts: list[int]) -> list[str]:
    folders = [subset(source, n, f"{dataset.name}-{n}") for n in counts]
    runs = [run_child(scan_command(folder, True)) for folder in folders]
    cells = [f"{run.peak_mib:.0f} MiB ({run.seconds:.1f} s)" for run in runs]
    growth = f"{runs[-1].peak_mib - runs[0].peak_mib:+.0f} MiB"
    return [
        f"Peak memory of `mfb scan --geometry`, {dataset.name}-like files:",
        "",
        "| " + " | ".join(f"{n} files" for n in counts) + " | growth |",
        "|" + "---:|" * (len(counts) + 1),
        "| " + " | ".join([*cells, growth]) + " |",
        "",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (median)")
    parser.add_argument("--street", type=int, default=STREET.files, metavar="N")
    parser.add_argument("--cityscapes", type=int, default=CITYSCAPES.files, metavar="N")
    parser.add_argument("--quick", action="store_true", help="tiny smoke run")
    parser.add_argument("--max-wait", type=float, default=15.0, metavar="S")
    parser.add_argument("--output", type=Path, default=HERE / "GEOMETRY.md")
    args = parser.parse_args()
    MAX_WAIT[0] = args.max_wait
    if args.quick:
        args.rounds, args.street, args.cityscapes = 1, 200, 12
    import mfb_cli

    compileall.compile_dir(Path(mfb_cli.__file__).parent, quiet=1)
    given = " ".join(sys.argv[1:])
    lines = [f"Machine: {machine()}.", "", f"Command: `python benchmarks/geometry.py {given}`", ""]
    for dataset, files in ((STREET, args.street), (CITYSCAPES, args.cityscapes)):
        source = ensure_dataset(dataset, files)
        folder = subset(source, files, f"{dataset.name}-{files}")
        print(f"{dataset.name}: {files} files, {args.rounds} rounds", file=sys.stderr)
        entries = [
            Contender("plain", "mfb scan", scan_command(folder, False), []),
            Contender("geometry", "mfb scan --geometry", scan_command(folder, True), []),
        ]
        rounds_of(entries, args.rounds)
        lines += speed_lines(dataset, files, entries)
        counts = [max(1, files // 10), files]
        lines += memory_lines(dataset, source, counts)
    text = "\n".join(lines)
    print(text)
    write_section(args.output, "geometry", text + "\n")


if __name__ == "__main__":
    main()
