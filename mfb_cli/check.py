"""Survey a set of label files for problems, reading every file and never stopping early.

``mfb check`` answers "can I trust the numbers the other commands would give?": which files
cannot be read (and why), which modes and sizes occur, which label values have no class,
which masks look interpolated or JPEG-compressed, which are empty, single-valued or
duplicated. The library returns a CheckReport; the CLI renders it.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from . import __version__
from .counting import _ordered_map, histogram_of_image
from .decode import ReadOptions, mask_array, open_mask
from .errors import BadMaskError, MfbError

#: A mask is suspected of interpolation or lossy-compression artefacts when at least this
#: share of its boundary pixels are "blends": strictly between their two horizontal or two
#: vertical neighbours. Clean label maps stay below 2% (a thin strip between two classes
#: whose ids bracket its own); bilinear resizing and JPEG at quality 95 give 10% and more.
BLEND_SHARE = 0.05
#: ...and at least this many blend pixels, so a few thin strips never trigger it.
MIN_BLEND_PIXELS = 16

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
    "single_class": "masks holding one value only (reported, not a problem: tiles of pure "
    "background are common)",
}


@dataclass(frozen=True)
class FileFindings:
    """What one file turned out to be; ``problem`` is set when it could not be decoded."""

    path: Path
    bytes: int
    sha256: str | None
    problem: str | None = None
    mode: str | None = None
    size: tuple[int, int] | None = None
    ids: tuple[int, ...] = ()
    blend_pixels: int = 0
    boundary_pixels: int = 0

    @property
    def suspect(self) -> bool:
        """Looks interpolated or lossy-compressed (see BLEND_SHARE)."""
        return (
            self.blend_pixels >= MIN_BLEND_PIXELS
            and self.blend_pixels >= BLEND_SHARE * self.boundary_pixels
        )


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

    @property
    def problems(self) -> list[str]:
        """The kinds of problem found; bad and empty files do not count with skip_bad."""
        found = {
            "bad_files": bool(self.bad_files) and not self.settings.get("skip_bad"),
            "empty_files": bool(self.empty_files) and not self.settings.get("skip_bad"),
            "out_of_range": bool(self.out_of_range),
            "suspected_artefacts": bool(self.suspected_artefacts),
            "duplicates": bool(self.duplicates),
        }
        return [kind for kind, present in found.items() if present]

    @property
    def clean(self) -> bool:
        return not self.problems

    def record(self) -> dict[str, Any]:
        """The report as plain data for JSON/YAML."""
        return {
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
            "single_class": [{"path": p, "label": v} for p, v in self.single_class],
            "settings": self.settings,
            "definitions": DEFINITIONS,
            "mfb_version": __version__,
        }


def blend_pixels(labels: npt.NDArray[np.integer]) -> tuple[int, int]:
    """Pixels strictly between two opposite neighbours, and pixels on a region boundary."""
    if labels.ndim != 2 or min(labels.shape) < 3:
        return 0, 0
    centre = labels[1:-1, 1:-1]

    def between(a: npt.NDArray[np.integer], b: npt.NDArray[np.integer]) -> npt.NDArray[np.bool_]:
        above: npt.NDArray[np.bool_] = centre > np.minimum(a, b)
        below: npt.NDArray[np.bool_] = centre < np.maximum(a, b)
        return above & below

    blends = between(labels[1:-1, :-2], labels[1:-1, 2:]) | between(
        labels[:-2, 1:-1], labels[2:, 1:-1]
    )
    edge = np.zeros(labels.shape, dtype=bool)
    across = labels[:, :-1] != labels[:, 1:]
    down = labels[:-1] != labels[1:]
    edge[:, :-1] |= across
    edge[:, 1:] |= across
    edge[:-1] |= down
    edge[1:] |= down
    return int(blends.sum()), int(edge.sum())


def _sha256(path: Path) -> str | None:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return None  # open_mask names the reason
    return digest.hexdigest()


def inspect_file(path: Path, read: ReadOptions = ReadOptions()) -> FileFindings:
    """Decode one file and note what a check needs; a bad file becomes a finding."""
    try:
        size_bytes = path.stat().st_size
    except OSError:
        size_bytes = -1
    sha = _sha256(path)
    try:
        image = open_mask(path, read.max_pixels)
    except BadMaskError as error:
        return FileFindings(path, size_bytes, sha, problem=error.problem)
    except MfbError as error:
        return FileFindings(path, size_bytes, sha, problem=str(error))
    ids, _ = histogram_of_image(image)
    blends, boundary = blend_pixels(mask_array(image))
    return FileFindings(
        path,
        size_bytes,
        sha,
        mode=image.mode,
        size=image.size,
        ids=tuple(ids.tolist()),
        blend_pixels=blends,
        boundary_pixels=boundary,
    )


def check_masks(
    paths: Sequence[Path],
    *,
    num_classes: int | None = None,
    ignore: frozenset[int] = frozenset(),
    read: ReadOptions = ReadOptions(),
    jobs: int | None = None,
    skip_bad: bool = False,
    on_file: Callable[[Path], None] | None = None,
) -> CheckReport:
    """Inspect every file in ``paths`` (in parallel, in order) and gather the findings."""

    def inspect(path: Path) -> FileFindings:
        try:
            return inspect_file(path, read)
        except Exception as error:  # a decoder bug on one file must not hide the others
            return FileFindings(
                path, -1, None, problem=f"unexpected {type(error).__name__}: {error}"
            )

    bad: list[tuple[str, str]] = []
    empty: list[str] = []
    modes: Counter[str] = Counter()
    sizes: Counter[str] = Counter()
    out_of_range: defaultdict[int, list[str]] = defaultdict(list)
    suspects: list[tuple[str, float]] = []
    single: list[tuple[str, int]] = []
    by_hash: defaultdict[str, list[str]] = defaultdict(list)
    for findings in _ordered_map(inspect, paths, jobs):
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
            continue
        assert findings.mode is not None and findings.size is not None
        modes[findings.mode] += 1
        sizes["{}x{}".format(*findings.size)] += 1
        for value in findings.ids:
            too_big = num_classes is not None and value >= num_classes
            if value not in ignore and (value < 0 or too_big):
                out_of_range[value].append(name)
        if findings.suspect:
            suspects.append((name, findings.blend_pixels / findings.boundary_pixels))
        if len(findings.ids) == 1:
            single.append((name, findings.ids[0]))
    return CheckReport(
        files=len(paths),
        bad_files=bad,
        empty_files=empty,
        modes=dict(sorted(modes.items())),
        sizes=dict(sorted(sizes.items(), key=lambda item: (-item[1], item[0]))),
        out_of_range=dict(sorted(out_of_range.items())),
        suspected_artefacts=suspects,
        duplicates=sorted(group for group in by_hash.values() if len(group) > 1),
        single_class=single,
        settings={
            "num_classes": num_classes,
            "ignore": sorted(ignore),
            "skip_bad": skip_bad,
            "max_pixels": read.max_pixels,
        },
    )
