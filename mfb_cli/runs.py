"""Running a scan for the commands: progress on stderr, skipped files, ``--from`` files."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from .archives import ArchiveMember, LabelSource
from .classes import ClassStats, LabelSpec
from .counting import ClassCounts
from .errors import BadMaskError, LabelRangeError, MfbError
from .options import ScanRequest, refuse_output_as_input
from .output import one_line


def warn(message: str) -> None:
    """A warning for people: stderr, never mixed into the data on stdout; one line."""
    click.echo(f"warning: {one_line(message)}", err=True)


def warn_about_classes(stats: ClassStats, absent_means: str | None) -> None:
    """The class-layout surprises worth a line: a forgotten --ignore, absent classes.

    ``absent_means`` says what absent classes get; None leaves them to the caller.
    """
    from .classes import id_ranges, likely_ignore_value

    suspect = likely_ignore_value(stats)
    if suspect is not None:
        below = [c for c in range(suspect) if stats.pixels[c] > 0]
        warn(
            f"label {suspect} is counted as class {suspect} of {stats.num_classes}, far above "
            f"the next label ({below[-1] if below else 'none'}); if it marks pixels without "
            f"a class, pass --ignore {suspect} (or --num-classes to keep it)"
        )
    absent = [c for c in stats.absent if c != suspect]
    if absent and absent_means is not None:
        warn(f"classes never seen, {absent_means}: {id_ranges(absent)}")


@dataclass(frozen=True)
class Scanned:
    """The counts of a scan, the files counted and the bad files left out (--skip-bad)."""

    counts: ClassCounts
    files: list[LabelSource]
    skipped: list[LabelSource]

    def source(self, scan: ScanRequest) -> dict[str, Any]:
        """Where the counts come from, for the output's metadata."""
        record: dict[str, Any] = {"paths": [str(p) for p in scan.paths], "glob": scan.glob}
        if scan.lists:
            record["lists"] = [str(p) for p in scan.lists]
        record.update(
            files=len(self.files),
            skip_bad=scan.skip_bad,
            skipped_files=[str(p) for p in self.skipped],
        )
        mapping = scan.read.label_mapping()
        if mapping:
            record["label_mapping"] = mapping  # what the ids mean: --colormap, --map
        return record


class _NoProgress:
    """Stands in for a tqdm bar when none is shown; messages still go to stderr."""

    def __enter__(self) -> _NoProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, n: int = 1) -> None:
        return None

    def set_postfix_str(self, text: str, refresh: bool = True) -> None:
        return None

    def write(self, text: str, file: Any = None, end: str = "\n") -> None:
        (file or sys.stderr).write(text + end)


def progress_bar(scan: ScanRequest, total: int) -> Any:
    """A tqdm bar over files on stderr, hidden with -q or when stderr is not a terminal.

    When hidden, tqdm is not even imported: that is a tenth of a small scan's start-up.
    """
    if scan.quiet or not sys.stderr.isatty():
        return _NoProgress()
    from tqdm import tqdm

    return tqdm(total=total, unit="file", file=sys.stderr, dynamic_ncols=True, leave=False)


def find_sources(scan: ScanRequest) -> list[LabelSource]:
    """The label files of a scan: PATH... (folders, files, archives) and --list files."""
    from .sources import find_label_sources

    for given in (*scan.paths, *scan.lists):  # before a list is read: -o must not be one
        refuse_output_as_input(given)
    if not scan.paths and not scan.lists:
        raise click.UsageError("give PATH... (folders, files, archives) or --list FILE")
    return find_label_sources(
        scan.paths, scan.glob, lists=scan.lists, column=scan.column, root=scan.root
    )


def refuse_output_among(found: list[LabelSource]) -> None:
    """A usage error when -o names a file a folder or list led to, before any is read."""
    for source in {s.archive if isinstance(s, ArchiveMember) else s for s in found}:
        refuse_output_as_input(source)


def scan_masks(scan: ScanRequest, spec: LabelSpec) -> Scanned:
    """Find and count the label files, with a progress bar and skipped files on stderr."""
    from .counting import LabelCheck, count_masks

    files = find_sources(scan)
    refuse_output_among(files)
    skipped: list[LabelSource] = []
    started = time.perf_counter()
    megapixels = 0.0
    with progress_bar(scan, len(files)) as bar:

        def on_file(path: object, pixels: int) -> None:
            nonlocal megapixels
            megapixels += pixels / 1e6
            rate = megapixels / max(time.perf_counter() - started, 1e-9)
            bar.set_postfix_str(f"{rate:.0f} MPix/s", refresh=False)
            bar.update()

        def on_skip(path: LabelSource, error: BadMaskError) -> None:
            skipped.append(path)
            bar.write(f"skipped: {one_line(str(error))}", file=sys.stderr)
            bar.update()

        counts = count_masks(
            files,
            jobs=scan.jobs,
            read=scan.read,
            check=LabelCheck(spec.num_classes, frozenset(spec.ignore)),
            on_file=on_file,
            skip_bad=scan.skip_bad,
            on_skip=on_skip,
        )
    if skipped:
        warn(f"{len(skipped)} of {len(files)} files skipped as bad (--skip-bad)")
    left_out = set(skipped)
    return Scanned(counts, [f for f in files if f not in left_out], skipped)


def counts_for(
    scan: ScanRequest, spec: LabelSpec, from_path: Path | None
) -> tuple[ClassCounts, dict[str, Any]]:
    """The counts and their ``source`` record: loaded from ``--from``, or scanned from PATH...

    A statistics file stores the source of its scan, so both routes give the same output.
    """
    if from_path is not None and (scan.paths or scan.lists):
        raise click.UsageError("give PATH... or --from STATS.json, not both (nor --list)")
    if from_path is None and not scan.paths and not scan.lists:
        raise click.UsageError("give PATH... to scan, or --from STATS.json (or --list FILE)")
    if from_path is not None:
        from .stats import load_stats

        refuse_output_as_input(from_path)
        loaded = load_stats(from_path)
        wanted = scan.read.label_mapping()
        if wanted and wanted != loaded.label_mapping:
            raise MfbError(
                f"{from_path}: scanned with a different label mapping than the options given; "
                "rescan, or drop the colour map / remap options"
            )
        return loaded.counts, loaded.source
    scanned = scan_masks(scan, spec)
    return scanned.counts, scanned.source(scan)


def class_stats_for(
    scan: ScanRequest, spec: LabelSpec, from_path: Path | None
) -> tuple[ClassCounts, ClassStats, dict[str, Any]]:
    """``counts_for`` resolved under the user's void/ignore choices."""
    from .classes import class_stats

    counts, source = counts_for(scan, spec, from_path)
    try:
        return counts, class_stats(counts, spec), source
    except LabelRangeError as error:
        # A scan names the offending mask; a statistics file can only name itself.
        if from_path is None:
            raise
        raise LabelRangeError(f"{from_path}: {error}") from error
