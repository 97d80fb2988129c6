"""Running a scan for the commands: progress on stderr, skipped files, ``--from`` files."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..errors import BadMaskError, LabelRangeError, MfbError, OptionError
from ..read.base.urls import shown_path
from ..read.sources.archives import ArchiveMember
from ..show.output import one_line
from .messages import cli_text, warn
from .options import ScanRequest, outputs_given, refuse_output_as_input

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    from .._types import Int64Array
    from ..count.check import CheckReport
    from ..count.counts import ClassCounts
    from ..count.patches import PatchCounts, PatchGrid
    from ..read.base.chunks import LabelHeader
    from ..read.sources.archives import LabelSource
    from ..read.sources.file_list import LabelSources
    from ..weigh.classes import ClassStats
    from ..weigh.spec import LabelSpec


def warn_all(messages: Iterable[str]) -> None:
    """The library's warnings of a result, each once, on stderr (the output carries them too)."""
    for message in dict.fromkeys(messages):
        warn(message)


@dataclass(frozen=True)
class Scanned:
    """The counts of a scan, the files counted and the bad files left out (--skip-bad)."""

    counts: ClassCounts
    files: Sequence[LabelSource]
    skipped: list[LabelSource]
    #: What each raster (a GeoTIFF, a TIFF read tile by tile) says of itself, in file order.
    rasters: list[dict[str, Any]] = field(default_factory=list)

    def source(self, scan: ScanRequest) -> dict[str, Any]:
        """Where the counts come from, for the output's metadata."""
        from ..read.base.urls import shown_path

        record: dict[str, Any] = {"paths": [shown_path(p) for p in scan.paths], "glob": scan.glob}
        if scan.lists:
            record["lists"] = [shown_path(p) for p in scan.lists]
            # How entries became paths, when not the default (the list's folder, as written).
            for key, value in (("column", scan.column), ("root", scan.root)):
                if value is not None:
                    record[key] = value if key == "column" else shown_path(value)
            if scan.suffix:
                record["suffix"] = scan.suffix
        if scan.parquet_column is not None:
            record["parquet_column"] = scan.parquet_column
        record.update(
            files=len(self.files),
            skip_bad=scan.skip_bad,
            skipped_files=[str(p) for p in self.skipped],
        )
        from ..read.labels.class_sets import recorded_mapping

        mapping = recorded_mapping(scan.read)
        if mapping:
            record["label_mapping"] = mapping  # what the ids mean: --colormap, --map
        if self.rasters:
            record["rasters"] = self.rasters[:RASTERS_LISTED]
            if len(self.rasters) > RASTERS_LISTED:
                record["rasters_not_listed"] = len(self.rasters) - RASTERS_LISTED
        return record


#: Rasters whose header (CRS, geotransform, nodata) the source record lists, at most.
RASTERS_LISTED = 100


def raster_record(path: LabelSource, header: LabelHeader) -> dict[str, Any]:
    """A raster's header for the source record: size, format, stored type, CRS,
    geotransform (GDAL order), pixel area (CRS units squared), nodata as written."""
    return {
        "path": str(path),
        "shape": list(header.shape),
        "format": header.format,
        "stored": header.stored,
        **header.details,
    }


class NoProgress:
    """Stands in for a tqdm bar when none is shown; messages still go to stderr."""

    def __enter__(self) -> NoProgress:
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
        return NoProgress()
    from tqdm import tqdm

    return tqdm(total=total, unit="file", file=sys.stderr, dynamic_ncols=True, leave=False)


def lift_pillow_limit() -> None:
    """Lift Pillow's own pixel limit for this command's run; restored when it ends.

    mfb checks --max-pixels itself from the header, before decoding; Pillow's limit would
    refuse (or warn about) sizes the user explicitly allowed. Done here, by the commands
    that read masks, so that --help and --version never import Pillow.
    """
    from PIL import Image

    previous = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    click.get_current_context().call_on_close(lambda: setattr(Image, "MAX_IMAGE_PIXELS", previous))


def find_sources(
    scan: ScanRequest, unreadable: list[tuple[object, str]] | None = None
) -> LabelSources:
    """The label files of a scan: PATH... (folders, files, archives) and --list files.

    ``unreadable`` collects archives that cannot be listed instead of stopping (for check).
    """
    from ..read.sources.find import find_label_sources

    for given in (*scan.paths, *scan.lists):  # before a list is read: -o must not be one
        refuse_output_as_input(given)
    if not scan.paths and not scan.lists:
        raise click.UsageError("give PATH... (folders, files, archives) or --list FILE")
    lift_pillow_limit()
    try:
        return find_label_sources(
            scan.paths,
            scan.glob,
            lists=scan.lists,
            column=scan.column,
            root=scan.root,
            suffix=scan.suffix,
            unreadable=unreadable,
            parquet_column=scan.parquet_column,
        )
    except OptionError as error:  # an option the inputs make meaningless: a usage error
        raise click.UsageError(cli_text(error)) from error


def refuse_output_among(found: Sequence[LabelSource]) -> None:
    """A usage error when -o names a file a folder or list led to, before any is read."""
    if not outputs_given():
        return  # no file per input to look at
    archives: set[object] = set()
    for source in found:
        if isinstance(source, ArchiveMember):
            if source.archive in archives:
                continue
            archives.add(source.archive)
            source = source.archive
        if isinstance(source, Path):  # a URL or parquet row is never a local output
            refuse_output_as_input(source)


def scan_masks(
    scan: ScanRequest,
    spec: LabelSpec | None,
    on_image: Callable[[LabelSource, Int64Array, Int64Array], None] | None = None,
    on_components: Callable[[LabelSource, Int64Array], None] | None = None,
    on_header: Callable[[LabelSource, LabelHeader], None] | None = None,
    patches: PatchGrid | None = None,
    on_patches: Callable[[LabelSource, list[PatchCounts]], None] | None = None,
) -> Scanned:
    """Find and count the label files, with a progress bar and skipped files on stderr.

    ``spec`` None counts every value as it is (``mfb scan``, which takes no class options):
    the class rules (negative values, --num-classes...) apply when the counts are weighed.

    ``on_image(path, ids, pixels)`` receives each counted file's histogram, in file order;
    with --geometry, ``on_components(path, components)`` its components per id just before.
    ``on_header(path, header)`` each counted volume's header, just before.
    ``patches``: also count every patch of that grid, given to ``on_patches(path, found)``.
    """
    from ..count.scan import count_masks
    from ..weigh.classes import label_check

    files = find_sources(scan)
    refuse_output_among(files)
    check = None if spec is None else label_check(spec)
    skipped: list[LabelSource] = []
    rasters: list[dict[str, Any]] = []

    def collect_header(path: LabelSource, header: LabelHeader) -> None:
        if header.format in ("GeoTIFF", "TIFF"):
            rasters.append(raster_record(path, header))
        if on_header is not None:
            on_header(path, header)

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
            bar.write(f"skipped: {one_line(cli_text(error))}", file=sys.stderr)
            bar.update()

        if scan.dask is not None:
            from .dask_run import count_on_dask

            def on_task(done: int, pixels: int) -> None:
                nonlocal megapixels
                megapixels += pixels / 1e6
                rate = megapixels / max(time.perf_counter() - started, 1e-9)
                bar.set_postfix_str(f"{rate:.0f} MPix/s", refresh=False)
                bar.update(done)

            counts = count_on_dask(
                scan, files, check, on_task, on_skip, on_image, on_components, collect_header
            )
        else:
            counts = count_masks(
                files,
                jobs=scan.jobs,
                read=scan.read,
                check=check,
                on_file=on_file,
                skip_bad=scan.skip_bad,
                on_skip=on_skip,
                on_image=on_image,
                pool=scan.pool,
                geometry=scan.geometry,
                on_components=on_components,
                on_header=collect_header,
                patches=patches,
                on_patches=on_patches,
            )
    if not skipped:
        return Scanned(counts, files, skipped, rasters)
    left_out = set(skipped)
    return Scanned(counts, [f for f in files if f not in left_out], skipped, rasters)


def counts_for(
    scan: ScanRequest,
    spec: LabelSpec,
    from_path: Path | None,
    on_image: Callable[[LabelSource, Int64Array, Int64Array], None] | None = None,
    on_header: Callable[[LabelSource, LabelHeader], None] | None = None,
) -> tuple[ClassCounts, dict[str, Any]]:
    """The counts and their ``source`` record: loaded from ``--from``, or scanned from PATH...

    A statistics file stores the source of its scan, so both routes give the same output
    (``on_image`` and ``on_header``: see ``scan_masks``; PATH... only).
    """
    if from_path is not None and (scan.paths or scan.lists):
        raise click.UsageError("give PATH... or --from STATS.json, not both (nor --list)")
    if from_path is None and not scan.paths and not scan.lists:
        raise click.UsageError("give PATH... to scan, or --from STATS.json (or --list FILE)")
    if from_path is not None:
        from ..count.stats import load_stats
        from ..read.labels.class_sets import same_mapping

        refuse_output_as_input(from_path)
        loaded = load_stats(from_path)
        wanted = scan.read.label_mapping()
        if wanted and not same_mapping(wanted, loaded.label_mapping):
            raise MfbError(
                f"{shown_path(from_path)}: scanned with a different label mapping than the options "
                "given; rescan, or drop the colour map / remap options"
            )
        return loaded.counts, with_count(loaded.counts, loaded.source)
    scanned = scan_masks(scan, spec, on_image, on_header=on_header)
    return scanned.counts, with_count(scanned.counts, scanned.source(scan))


def with_count(counts: ClassCounts, source: dict[str, Any]) -> dict[str, Any]:
    """The source record, saying what the counts count when they are physical volumes."""
    if counts.unit is None:
        return source
    return {
        **source,
        "count": "physical",
        "count_unit_mm3": str(counts.unit),
        "count_definition": "every pixel count (pixels, presence, totals) is a volume in "
        "units of count_unit_mm3 mm^3: each voxel counted by its volume, the product of its "
        "spacings, exactly",
    }


def class_stats_for(
    scan: ScanRequest,
    spec: LabelSpec,
    from_path: Path | None,
    on_image: Callable[[LabelSource, Int64Array, Int64Array], None] | None = None,
    on_header: Callable[[LabelSource, LabelHeader], None] | None = None,
) -> tuple[ClassCounts, ClassStats, dict[str, Any]]:
    """``counts_for`` resolved under the user's void/ignore choices (``on_image``,
    ``on_header``: see ``scan_masks``; PATH... only).

    The class set of the colour map / remap (given, or recorded in the statistics file)
    sets the default vector length.
    """
    from ..read.labels.class_sets import class_set_in, class_set_of
    from ..read.labels.datasets import recorded_ignore
    from ..weigh.classes import class_stats

    found = class_set_of(scan.read)
    spec = with_ignore(spec, None if scan.read.dataset is None else scan.read.dataset.ignore)
    counts, source = counts_for(
        scan, replace(spec, class_set=found), from_path, on_image, on_header
    )
    if found is None and from_path is not None:
        found = class_set_in(source.get("label_mapping", {}))
    if from_path is not None:
        spec = with_ignore(spec, recorded_ignore(source.get("label_mapping", {})))
    spec = replace(spec, class_set=found)
    try:
        return counts, class_stats(counts, spec), source
    except LabelRangeError as error:
        # How the files were read (a colour map that did not apply...) often explains it.
        warn_all(counts.warnings)
        # A scan names the offending mask; a statistics file can only name itself.
        if from_path is None:
            raise
        raise LabelRangeError(f"{from_path}: ", *error.parts) from error


def with_ignore(spec: LabelSpec, ignore: int | None) -> LabelSpec:
    """``spec`` with a dataset.json's ignore value among its ignored values."""
    if ignore is None or ignore in spec.ignore:
        return spec
    return replace(spec, ignore=tuple(sorted((*spec.ignore, ignore))))


def check_files(request: ScanRequest, spec: LabelSpec) -> CheckReport:
    """'mfb check' of the request's files (on --dask's cluster if given), with progress.

    Archives that cannot be listed are findings (bad files), not errors; -o naming one of
    the files is refused before any is read.
    """
    from ..count.check import check_masks
    from .dask_run import check_inspector

    unreadable: list[tuple[object, str]] = []  # archives that cannot be listed: bad files
    dataset = request.read.dataset
    spec = with_ignore(spec, None if dataset is None else dataset.ignore)
    files = find_sources(request, unreadable)
    refuse_output_among(files)
    with progress_bar(request, len(files)) as bar, check_inspector(request) as inspector:
        return check_masks(
            files,
            unreadable=unreadable,
            num_classes=spec.num_classes,
            ignore=frozenset(spec.ignore),
            read=request.read,
            jobs=request.jobs,
            skip_bad=request.skip_bad,
            pool=request.pool,
            on_file=lambda path: bar.update(),
            inspector=inspector,
            geometry=request.geometry,
        )
