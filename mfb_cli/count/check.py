"""Survey a set of label files for problems, reading every file and never stopping early.

``mfb check`` answers "can I trust the numbers the other commands would give?": which files
cannot be read (and why), which modes and sizes occur, which label values have no class,
which masks look interpolated or JPEG-compressed, which are empty, single-valued or
duplicated, and whether palette files agree on what each index means. The library returns
a CheckReport; the CLI renders it. Memory stays bounded whatever the file sizes: a file's
header is checked before it is decoded (as the scan does), and digests are computed by
streaming, never by reading a whole file.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from contextlib import closing
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from .._version import __version__
from ..errors import BadMaskError, MfbError
from ..read.base.files import RangedFile, open_regular
from ..read.decode.colours import colour_name, pack_rgb
from ..read.decode.pillow import mask_array
from ..read.decode.raw import RawLabels, read_raw
from ..read.labels.mapping import map_histogram
from ..read.options import ReadOptions
from .artefacts import BLEND_SHARE, MIN_BLEND_PIXELS, blend_pixels, blend_pixels_in_bands
from .image_headers import DEFINITION as HEADERS
from .image_headers import header_mismatches, images_of
from .kernels import histogram_of_chunk, histogram_of_raw, summed, without_nodata
from .label_check import LabelCheck
from .one_file import image_geometry, read_note
from .pipeline import scan_in_order
from .scan import scan_warnings

if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Sequence

    import numpy.typing as npt

    from .._types import Int64Array
    from ..read.base.chunks import LabelHeader
    from ..read.sources.archives import LabelSource
    from .connectivity import Connectivity
    from .pools import Pool

#: Components of fewer pixels are specks (as in the geometry of the other commands).
SPECK_PIXELS = 8
#: A class is speckled when at least this many of its components are specks...
SPECKLED_MIN = 16
#: ... and at least this share of all its components.
SPECKLED_SHARE = 0.5
#: Files named per speckled class, most specks first.
WORST_FILES = 5

DEFINITIONS = {
    "bad_files": "files that cannot be read as label masks (damaged, not an image, colour, "
    "JPEG, too large, unreadable)",
    "empty_files": "files of 0 bytes",
    "out_of_range": "label values that are not --ignore'd and are negative or >= --num-classes",
    "suspected_artefacts": f"masks where >= {BLEND_SHARE:.0%} (and >= {MIN_BLEND_PIXELS}) of "
    "the pixels on region boundaries lie strictly between their two horizontal or two vertical "
    "neighbours: the signature of bilinear resizing, JPEG compression or colours read as "
    "grey values",
    "duplicates": "files with identical content (sha256)",
    "palette_conflicts": "palette indices that mean different colours in different palette "
    "('P') files, whatever the options: read by index, such files mix classes; each colour "
    "is listed with the files whose palette gives it to the index (indices a file does not "
    "use are not compared)",
    "single_class": "masks holding one value only (reported, not a problem: tiles of pure "
    "background are common)",
}
#: The definition of the finding a check with geometry adds.
SPECKLED_DEFINITION = (
    f"classes (not --ignore'd) of which at least {SPECKLED_MIN} components, and at least "
    f"{SPECKLED_SHARE:.0%} of all, are specks of fewer than {SPECK_PIXELS} pixels (components "
    f"with the connectivity in settings): the signature of resizing or a careless brush; "
    f"the {WORST_FILES} files with most specks of each are named"
)


@dataclass(frozen=True)
class FileFindings:
    """What one file turned out to be; ``problem`` is set when it could not be decoded."""

    path: LabelSource
    bytes: int
    sha256: str | None
    problem: str | None = None
    mode: str | None = None
    #: (width, height) of an image; a volume's shape as stored (i, j, k).
    size: tuple[int, ...] | None = None
    ids: tuple[int, ...] = ()
    blend_pixels: int = 0
    boundary_pixels: int = 0
    #: For palette ('P') files: (index, packed colour) of each index present (-1: no colour).
    palette: tuple[tuple[int, int], ...] = ()
    #: (note, how it was stored) when the file was read in a way worth a warning (READ_NOTES).
    note: tuple[str, str] | None = None
    #: With geometry: the components of each of ``ids``, and how many are specks.
    components: tuple[int, ...] = ()
    specks: tuple[int, ...] = ()
    #: A volume's header (shape, spacing, affine), to compare with its image's.
    header: LabelHeader | None = None

    @property
    def suspect(self) -> bool:
        """Looks interpolated or lossy-compressed (see BLEND_SHARE)."""
        return (
            self.blend_pixels >= MIN_BLEND_PIXELS
            and self.blend_pixels >= BLEND_SHARE * self.boundary_pixels
        )


if TYPE_CHECKING:
    #: Reads the files elsewhere (the Dask engine): (paths, read, connectivity) -> findings.
    Inspector = Callable[
        [Sequence[LabelSource], ReadOptions, Connectivity | None],
        Generator[FileFindings, None, None],
    ]


@dataclass(frozen=True)
class CheckReport:
    """Every finding of a check, in sorted file order; ``clean`` decides the exit status."""

    files: int
    bad_files: list[tuple[str, str]]
    empty_files: list[str]
    modes: dict[str, int]
    sizes: dict[str, int]
    out_of_range: dict[int, list[str]]
    suspected_artefacts: list[tuple[str, float]]
    duplicates: list[list[str]]
    single_class: list[tuple[str, int]]
    settings: dict[str, Any] = field(default_factory=dict)
    #: index -> colour -> files, for the indices whose colour differs between files.
    palette_conflicts: dict[int, dict[int, list[str]]] = field(default_factory=dict)
    #: How files were read, when worth knowing (the same warnings a scan gives).
    warnings: tuple[str, ...] = ()
    #: With geometry (else None): the speckled classes (SPECKLED_MIN, SPECKLED_SHARE).
    speckled_classes: list[Speckled] | None = None
    #: (label, image, problem) where imagesTr/ sits beside labelsTr/; None: no images there.
    header_mismatches: list[tuple[str, str, str]] | None = None

    @property
    def problems(self) -> list[str]:
        """The kinds of problem found; bad and empty files do not count with skip_bad."""
        found = {
            "bad_files": bool(self.bad_files) and not self.settings.get("skip_bad"),
            "empty_files": bool(self.empty_files) and not self.settings.get("skip_bad"),
            "out_of_range": bool(self.out_of_range),
            "suspected_artefacts": bool(self.suspected_artefacts),
            "duplicates": bool(self.duplicates),
            "palette_conflicts": bool(self.palette_conflicts),
            "speckled_classes": bool(self.speckled_classes),
            "header_mismatches": bool(self.header_mismatches),
        }
        return [kind for kind, present in found.items() if present]

    @property
    def clean(self) -> bool:
        return not self.problems

    def record(self) -> dict[str, Any]:
        """The report as plain data for JSON/YAML (speckled classes with geometry only)."""
        defined = DEFINITIONS | (
            {} if self.header_mismatches is None else {"header_mismatches": HEADERS}
        )
        record = {
            "clean": self.clean,
            "problems": self.problems,
            "files": self.files,
            "bad_files": [{"path": p, "problem": why} for p, why in self.bad_files],
            "empty_files": self.empty_files,
            "modes": self.modes,
            "sizes": self.sizes,
            "out_of_range": [
                {"label": value, "files": files} for value, files in self.out_of_range.items()
            ],
            "suspected_artefacts": [
                {"path": p, "blend_share": share} for p, share in self.suspected_artefacts
            ],
            "duplicates": self.duplicates,
            "palette_conflicts": [
                {
                    "index": index,
                    "colours": [
                        {"colour": _colour(code), "files": files} for code, files in colours.items()
                    ],
                }
                for index, colours in self.palette_conflicts.items()
            ],
            "single_class": [{"path": p, "label": v} for p, v in self.single_class],
            **(
                {}
                if self.header_mismatches is None
                else {
                    "header_mismatches": [
                        {"label": label, "image": image, "problem": problem}
                        for label, image, problem in self.header_mismatches
                    ]
                }
            ),
            "settings": self.settings,
            "warnings": list(self.warnings),
            "definitions": defined,
            "mfb_version": __version__,
        }
        if self.speckled_classes is None:
            return record
        speckled = [
            {
                "label": one.label,
                "specks": one.specks,
                "components": one.components,
                "files": one.files,
                "worst_files": [{"path": p, "specks": n} for p, n in one.worst_files],
            }
            for one in self.speckled_classes
        ]
        ordered = list(record.items())
        at = [key for key, _ in ordered].index("settings")
        ordered.insert(at, ("speckled_classes", speckled))
        record = dict(ordered)
        record["definitions"] = {**defined, "speckled_classes": SPECKLED_DEFINITION}
        return record


def _colour(code: int) -> str:
    return "none (index beyond the palette)" if code < 0 else colour_name(code)


@dataclass(frozen=True)
class Speckled:
    """A class with many specks: its totals and the files holding most of them."""

    label: int
    specks: int
    components: int
    #: Files holding at least one speck of the class.
    files: int
    #: (path, specks of the class), most first (ties: file order), at most WORST_FILES.
    worst_files: list[tuple[str, int]]


class _Specks:
    """Per class: specks, components, files with specks, and the worst files so far."""

    def __init__(self) -> None:
        self.totals: dict[int, list[int]] = {}  # id -> [specks, components, files]
        self.worst: dict[int, list[tuple[int, int, str]]] = {}  # heaps of (specks, -order, path)
        self.order = 0

    def add(
        self, name: str, ids: Sequence[int], components: Sequence[int], specks: Sequence[int]
    ) -> None:
        import heapq

        self.order += 1
        for label, found, small in zip(ids, components, specks, strict=True):
            totals = self.totals.setdefault(label, [0, 0, 0])
            totals[0] += small
            totals[1] += found
            if not small:
                continue
            totals[2] += 1
            heap = self.worst.setdefault(label, [])
            entry = (small, -self.order, name)
            if len(heap) < WORST_FILES:
                heapq.heappush(heap, entry)
            else:
                heapq.heappushpop(heap, entry)

    def speckled(self, is_class: Callable[[int], bool]) -> list[Speckled]:
        found = []
        for label in sorted(self.totals):
            specks, components, files = self.totals[label]
            if not is_class(label) or specks < SPECKLED_MIN or specks < SPECKLED_SHARE * components:
                continue
            worst = sorted(self.worst[label], reverse=True)
            found.append(Speckled(label, specks, components, files, [(p, n) for n, _, p in worst]))
        return found


def file_digest(path: Path) -> tuple[int, str] | None:
    """Size and sha256 of a file, read in chunks (memory stays flat); None if unreadable."""
    try:
        # open_regular: a FIFO or device swapped in for a mask must not be read forever.
        with open_regular(str(path)) as stream:
            digest = hashlib.file_digest(stream, "sha256")
            return stream.tell(), digest.hexdigest()
    except (OSError, BadMaskError):
        return None  # read_raw names the reason


def _palette_of(raw: RawLabels, indices: npt.NDArray[np.int64]) -> tuple[tuple[int, int], ...]:
    """(index, packed colour) of the indices present in a palette file, else ()."""
    if raw.kind == "palette" and raw.palette is not None:
        codes = raw.palette
    elif isinstance(raw.values, Image.Image) and raw.values.mode == "P":
        colours = raw.values.getpalette() or []
        table = np.asarray(colours[: 3 * 256], dtype=np.int64)
        table = table[: len(table) - len(table) % 3].reshape(-1, 3)
        codes = np.full(256, -1, dtype=np.int64)
        codes[: len(table)] = pack_rgb(table)
    else:
        return ()
    return tuple((int(i), int(codes[i]) if 0 <= i < len(codes) else -1) for i in indices.tolist())


def inspect_file(
    path: LabelSource,
    read: ReadOptions = ReadOptions(),
    data: bytes | RangedFile | None = None,
    geometry: Connectivity | None = None,
) -> FileFindings:
    """Read one file as the other commands do and note what a check needs.

    The same decoding, colour map and remap as counting, so a file the check passes is
    one ``mfb weights`` reads, and the ids checked are the ids it would count. A bad file
    becomes a finding. Interpolation artefacts are looked for in the stored label values
    (not in colour codes or palette indices, whose order means nothing). A file on disk is
    decoded from its path (header first, as the scan does) and hashed by streaming; ``data``
    holds an archive member's bytes. With ``geometry``, each id's components and specks.
    """
    problem: str | None = None
    components: tuple[int, ...] = ()
    specks: tuple[int, ...] = ()
    blends = boundary = 0
    try:
        raw = read_raw(path, read, data)
        if raw.values is None:  # read in chunks: histogram and artefacts in one pass
            raw_ids, raw_counts, blends, boundary = _chunked_findings(raw, read)
        else:
            raw_ids, raw_counts = histogram_of_raw(raw, read)
        if geometry is None:
            ids, _ = map_histogram(str(path), raw, raw_ids, raw_counts, read)
        else:
            shapes = image_geometry(path, raw, raw_ids, raw_counts, read, geometry)
            ids = shapes.ids
            components = tuple(shapes.components.tolist())
            small = shapes.size_bins[:, : SPECK_PIXELS.bit_length() - 1]
            specks = tuple(small.sum(axis=1).tolist())
    except BadMaskError as error:
        problem = error.problem
    except MfbError as error:
        problem = str(error)
    sha: str | None
    if isinstance(data, RangedFile):  # read in place, by ranges: never hashed whole
        size_bytes, sha = data.size, None
    elif data is not None:
        size_bytes, sha = len(data), hashlib.sha256(data).hexdigest()
    else:
        digest = file_digest(path) if isinstance(path, Path) else None
        size_bytes, sha = digest if digest is not None else (-1, None)
    if problem is not None:
        return FileFindings(path, size_bytes, sha, problem=problem)
    image = raw.values
    if image is None:
        header = raw.described()
        return FileFindings(
            path,
            size_bytes,
            sha,
            mode=raw.mode,
            size=header.shape,
            ids=tuple(ids.tolist()),
            blend_pixels=blends,
            boundary_pixels=boundary,
            note=read_note(path, raw, raw_ids),
            header=raw.header,
            components=components,
            specks=specks,
        )
    if isinstance(image, Image.Image):
        mode, size = image.mode, image.size

        def rows(low: int, high: int) -> npt.NDArray[np.integer]:
            return mask_array(image.crop((0, low, image.width, high)))  # a band, not the image

        def artefacts() -> tuple[int, int]:
            return blend_pixels_in_bands(image.height, image.width, rows)
    else:
        values = image
        mode, size = raw.mode or f"array {values.dtype}", (values.shape[1], values.shape[0])

        def artefacts() -> tuple[int, int]:
            return blend_pixels(values)

    blends, boundary = artefacts() if raw.kind == "ids" else (0, 0)
    return FileFindings(
        path,
        size_bytes,
        sha,
        mode=mode,
        size=size,
        ids=tuple(ids.tolist()),
        blend_pixels=blends,
        boundary_pixels=boundary,
        palette=_palette_of(raw, raw_ids),
        note=read_note(path, raw),
        components=components,
        specks=specks,
    )


def _chunked_findings(raw: RawLabels, read: ReadOptions) -> tuple[Int64Array, Int64Array, int, int]:
    """Histogram and interpolation artefacts of a file read in chunks (a volume), in one
    pass: artefacts are looked for in each slice (the plane of its two fastest axes)."""
    parts = []
    blends = boundary = 0
    for chunk in raw.chunks():
        values = chunk.values
        parts.append(histogram_of_chunk(values, read))
        planes = [values] if values.ndim == 2 else [values[:, :, k] for k in range(values.shape[2])]
        for plane in planes:
            found, edges = blend_pixels(plane)
            blends, boundary = blends + found, boundary + edges
        del chunk, values, planes
        if len(parts) > 64:  # a raster of many bands: keep the partial sums few
            parts = [summed(parts)]
    ids, counts = without_nodata(*summed(parts), raw.nodata)
    return ids, counts, blends, boundary


def inspect_files(
    paths: Sequence[LabelSource],
    read: ReadOptions,
    jobs: int | None,
    pool: Pool = "auto",
    geometry: Connectivity | None = None,
) -> Generator[FileFindings, None, None]:
    """Each file's findings, in file order, ``jobs`` files at a time; a bad file is a finding.

    Close the generator when stopping early: that cancels the files still queued.
    """

    def inspect(path: LabelSource, data: bytes | RangedFile | None) -> FileFindings:
        return inspect_file(path, read, data, geometry)

    def recover(path: LabelSource, error: Exception) -> FileFindings:
        if isinstance(error, BadMaskError):  # the member could not be read from its archive
            return FileFindings(path, -1, None, problem=error.problem)
        # A decoder bug on one file must not hide the others.
        return FileFindings(path, -1, None, problem=f"unexpected {type(error).__name__}: {error}")

    with closing(
        scan_in_order(paths, inspect, read=read, jobs=jobs, recover=recover, pool=pool)
    ) as found:
        yield from found


def check_masks(
    paths: Sequence[LabelSource],
    *,
    num_classes: int | None = None,
    ignore: frozenset[int] = frozenset(),
    read: ReadOptions = ReadOptions(),
    jobs: int | None = None,
    skip_bad: bool = False,
    on_file: Callable[[LabelSource], None] | None = None,
    unreadable: Sequence[tuple[object, str]] = (),
    inspector: Inspector | None = None,
    pool: Pool = "auto",
    geometry: int | Connectivity | None = None,
) -> CheckReport:
    """Inspect every file in ``paths`` (in parallel, in order) and gather the findings.

    ``unreadable``: archives whose members could not be listed, and why; bad files too.
    ``inspector(paths, read, connectivity)`` yields the findings in file order instead of
    this process's threads (the Dask engine's); by default ``inspect_files`` with ``jobs``.
    ``geometry`` (a connectivity) also looks for classes made of specks (speckled_classes).
    """
    connectivity = None
    if geometry is not None:
        from .connectivity import Connectivity
        from .geometry import components_module

        connectivity = Connectivity.of(geometry)
        components_module()  # the missing extra is named before any file is read

    # Reported modes are Pillow's, whatever --decoder says; counts are the same anyway.
    read = replace(read, decoder="pillow")
    labels = LabelCheck(num_classes, ignore)
    bad: list[tuple[str, str]] = []
    empty: list[str] = []
    modes: Counter[str] = Counter()
    sizes: Counter[str] = Counter()
    out_of_range: defaultdict[int, list[str]] = defaultdict(list)
    suspects: list[tuple[str, float]] = []
    single: list[tuple[str, int]] = []
    by_hash: defaultdict[str, list[str]] = defaultdict(list)
    palettes: defaultdict[int, defaultdict[int, list[str]]] = defaultdict(lambda: defaultdict(list))
    notes: dict[str, dict[str, int]] = {}  # note -> how the files were stored -> files
    specks = _Specks()
    volumes: list[tuple[Path, LabelHeader]] = []  # labels to compare with their images

    def tally(findings: FileFindings) -> None:
        name = str(findings.path)
        if on_file is not None:
            on_file(findings.path)
        if findings.sha256 is not None and findings.bytes != 0:
            by_hash[findings.sha256].append(name)
        if findings.problem is not None:
            if findings.bytes == 0:
                empty.append(name)
            else:
                bad.append((name, findings.problem))
            return
        assert findings.mode is not None and findings.size is not None
        modes[findings.mode] += 1
        sizes["x".join(map(str, findings.size))] += 1
        for value in labels.outside(findings.ids):
            out_of_range[value].append(name)
        if findings.suspect:
            suspects.append((name, findings.blend_pixels / findings.boundary_pixels))
        if len(findings.ids) == 1:
            single.append((name, findings.ids[0]))
        for index, colour in findings.palette:
            palettes[index][colour].append(name)
        if findings.note is not None:
            stored = notes.setdefault(findings.note[0], {})
            stored[findings.note[1]] = stored.get(findings.note[1], 0) + 1
        if findings.components:
            specks.add(name, findings.ids, findings.components, findings.specks)
        if findings.header is not None and isinstance(findings.path, Path):
            volumes.append((findings.path, findings.header))

    # closing(): on an error or Ctrl-C the queued files are cancelled at once, not whenever
    # the generator is collected.
    found = (
        inspect_files(paths, read, jobs, pool, connectivity)
        if inspector is None
        else inspector(paths, read, connectivity)
    )
    with closing(found):
        for findings in found:
            tally(findings)
    bad += [(str(archive), problem) for archive, problem in unreadable]
    compared = any(images_of(path) is not None for path, _ in volumes)
    mismatches = header_mismatches(volumes) if compared else None
    return CheckReport(
        files=len(paths) + len(unreadable),
        bad_files=bad,
        empty_files=empty,
        modes=dict(sorted(modes.items())),
        sizes=dict(sorted(sizes.items(), key=lambda item: (-item[1], item[0]))),
        out_of_range=dict(sorted(out_of_range.items())),
        suspected_artefacts=suspects,
        duplicates=sorted(group for group in by_hash.values() if len(group) > 1),
        single_class=single,
        palette_conflicts={
            index: dict(sorted(colours.items(), key=lambda item: (-len(item[1]), item[0])))
            for index, colours in sorted(palettes.items())
            if len(colours) > 1
        },
        settings={
            "label_mapping": read.label_mapping(),
            "num_classes": num_classes,
            "ignore": sorted(ignore),
            "skip_bad": skip_bad,
            "max_pixels": read.max_pixels,
            **({} if connectivity is None else {"geometry": connectivity.record()}),
        },
        warnings=scan_warnings(len(paths), (), notes),
        speckled_classes=(
            None
            if connectivity is None
            else specks.speckled(lambda label: label not in ignore and not labels.outside([label]))
        ),
        header_mismatches=mismatches,
    )
