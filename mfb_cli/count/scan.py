"""Count a set of label files into ClassCounts."""

from __future__ import annotations

from contextlib import closing
from dataclasses import replace
from typing import TYPE_CHECKING

from ..errors import BadMaskError, MfbError, NoMasksFoundError, OptionError, Param, spelled
from ..read.decode.rasters import tile_threads
from ..read.decode.raw import READ_NOTES
from ..read.options import AUTO_FAST_MIN_FILES, ReadOptions
from .counts import ClassCounts, CountsAccumulator
from .one_file import count_file_noted, count_file_patches
from .physical import VolumeAccumulator
from .pipeline import scan_in_order
from .pools import default_jobs

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from fractions import Fraction

    from .._types import Int64Array
    from ..read.base.chunks import LabelHeader
    from ..read.base.files import RangedFile
    from ..read.sources.archives import LabelSource
    from .connectivity import Connectivity
    from .geometry import ImageGeometry
    from .patches import PatchCounts, PatchGrid
    from .pools import Pool


#: One file's ids, counts, read note, geometry and header (a volume's), with --patch its
#: patches, or (with skip_bad) why it was skipped.
_Counted = (
    tuple[
        "Int64Array",
        "Int64Array",
        tuple[str, str] | None,
        "ImageGeometry | None",
        "LabelHeader | None",
    ]
    | tuple[
        "Int64Array",
        "Int64Array",
        tuple[str, str] | None,
        None,
        "LabelHeader | None",
        "list[PatchCounts]",
    ]
    | BadMaskError
)


def count_masks(
    paths: Sequence[LabelSource],
    *,
    jobs: int | None = None,
    read: ReadOptions = ReadOptions(),
    check: Callable[[LabelSource, Int64Array], None] | None = None,
    on_file: Callable[[LabelSource, int], None] | None = None,
    skip_bad: bool = False,
    on_skip: Callable[[LabelSource, BadMaskError], None] | None = None,
    on_image: Callable[[LabelSource, Int64Array, Int64Array], None] | None = None,
    on_note: Callable[[LabelSource, str, str], None] | None = None,
    pool: Pool = "auto",
    geometry: int | Connectivity | None = None,
    on_components: Callable[[LabelSource, Int64Array], None] | None = None,
    on_header: Callable[[LabelSource, LabelHeader], None] | None = None,
    patches: PatchGrid | None = None,
    on_patches: Callable[[LabelSource, list[PatchCounts]], None] | None = None,
) -> ClassCounts:
    """Count every label file in ``paths``, reading ``jobs`` files at a time.

    The result is identical for any ``jobs``: integer counts are added exactly and files
    are taken in the given order, so the first bad file reported is the first in the list.
    ``check`` can reject a file's labels; ``on_file(path, pixels)`` reports progress.
    With ``skip_bad``, files that cannot be read as masks (BadMaskError) are left out and
    passed to ``on_skip`` instead of stopping the run; label values ``check`` rejects are
    never skipped, since they mean the options do not fit the data, not a broken file.
    ``on_image(path, ids, pixels)`` gets each counted file's present ids and their pixels,
    in file order (per-image statistics stream from it; nothing per image is kept here).
    ``on_note(path, note, stored)`` hears of each file read in a way worth a warning.
    ``pool`` chooses threads or processes (see pools.POOLS); the counts never depend on it.
    ``geometry`` (a connectivity: count/geometry.py) also measures the connected components
    of every class of every image, one image at a time in the same pass: the result's
    ``geometry``; ``on_components(path, components)`` then gets each counted file's
    components per id (aligned with the ids ``on_image`` gets next).
    ``on_header(path, header)`` gets the header of each counted file read in chunks (a
    volume: shape, spacing), just before its ``on_image``. With ``read.count`` 'physical'
    each voxel counts its volume in mm^3 (count/physical.py); a file without spacing is
    then an error. ``patches`` (a PatchGrid: count/patches.py) also counts every patch of
    every file in the same pass; ``on_patches(path, patches)`` gets each counted file's
    patches (window, class ids, pixels), just before its ``on_image``.
    """
    if patches is not None and geometry is not None:
        raise OptionError(
            Param("patch"),
            " and ",
            Param("geometry"),
            " cannot be combined (components are measured per file)",
        )
    if read.decoder == "auto" and len(paths) < AUTO_FAST_MIN_FILES:
        read = replace(read, decoder="pillow")
    connectivity = None
    shapes = None
    if geometry is not None:
        from .connectivity import Connectivity
        from .geometry import components_module
        from .geometry_counts import GeometryAccumulator

        connectivity = Connectivity.of(geometry)
        components_module()  # the missing extra is named before any file is read
        shapes = GeometryAccumulator(connectivity)
    physical = read.count == "physical"
    accumulator: CountsAccumulator | VolumeAccumulator = (
        VolumeAccumulator() if physical else CountsAccumulator()
    )
    skipped: list[LabelSource] = []
    notes: dict[str, dict[str, int]] = {}  # note -> how the files were stored -> files

    def count(path: LabelSource, data: bytes | RangedFile | None) -> _Counted:
        if patches is not None:
            return count_file_patches(path, read, data, patches)
        return count_file_noted(path, read, data, connectivity)

    def recover(path: LabelSource, error: Exception) -> _Counted:
        if isinstance(error, BadMaskError) and skip_bad:
            return error
        if isinstance(error, MfbError):
            raise error
        # A bug (ours or a decoder's) must still name the file, and never leave the
        # other threads running or print a bare traceback; --debug shows the cause.
        raise MfbError(
            f"{path}: unexpected {type(error).__name__} while reading ({error}); "
            "please report it with the output of --debug"
        ) from error

    # One file (a land-cover raster): its tiles are decoded on every job's core.
    threads = (default_jobs() if jobs is None else max(1, jobs)) if len(paths) == 1 else 1
    results = scan_in_order(paths, count, read=read, jobs=jobs, recover=recover, pool=pool)
    with closing(results), tile_threads(threads):
        for path, result in zip(paths, results, strict=True):
            if isinstance(result, BadMaskError):
                skipped.append(path)
                if on_skip is not None:
                    on_skip(path, result)
                continue
            ids, counts, note, image_geometry, header = result[:5]
            if note is not None:
                stored = notes.setdefault(note[0], {})
                stored[note[1]] = stored.get(note[1], 0) + 1
                if on_note is not None:
                    on_note(path, *note)
            if check is not None:
                check(path, ids)
            try:
                if isinstance(accumulator, VolumeAccumulator):
                    accumulator.add(ids, counts, voxel_volume(path, header))
                else:
                    accumulator.add(ids, counts)
            except MfbError as error:
                raise MfbError(f"{path}: {error}") from error
            if on_header is not None and header is not None:
                on_header(path, header)
            if shapes is not None and image_geometry is not None:
                shapes.add(image_geometry)
                if on_components is not None:
                    on_components(path, image_geometry.components)
            if patches is not None and len(result) > 5 and not result[5]:
                stored = notes.setdefault(NO_PATCH, {})
                key = f"under {patches.size} x {patches.size} pixels"
                stored[key] = stored.get(key, 0) + 1
            if on_patches is not None and len(result) > 5:
                on_patches(path, result[5])
            if on_image is not None:
                on_image(path, ids, counts)
            if on_file is not None:
                on_file(path, int(counts.sum()))
    if skipped and len(skipped) == len(paths):
        raise NoMasksFoundError(f"all {len(skipped)} label files were bad and skipped")
    total = accumulator.result()
    return replace(
        total,
        warnings=scan_warnings(len(paths), skipped, notes),
        geometry=None if shapes is None else shapes.result(total.ids),
    )


#: A file with --patch but no patch (smaller than SIZE along a side): its counts are in
#: the totals, but it gives no line and no window, which a user would otherwise not see.
NO_PATCH = "no-patch"
_SCAN_NOTES: dict[str, tuple[str | Param, ...]] = {
    **READ_NOTES,
    NO_PATCH: (
        "{files} of {total} files are smaller than one patch ({modes}): they have no "
        "patch, so no line and no window; lower the SIZE of ",
        Param("patch"),
    ),
}


def voxel_volume(path: LabelSource, header: LabelHeader | None) -> Fraction:
    """A file's exact voxel volume (mm^3) for --count physical, or the error saying why not."""
    volume = None if header is None else header.voxel_volume
    if volume is None:
        what = "a 2D image" if header is None or not header.is_volume else "a volume"
        if header is not None and header.is_volume and header.spacing is not None:
            raise MfbError(
                f"has voxel spacing {list(header.spacing)} (mm), not three positive sizes; ",
                Param("count", "physical"),
                " needs a voxel volume",
            )
        raise MfbError(
            f"has no voxel spacing ({what} whose header gives none); ",
            Param("count", "physical"),
            " needs 3D volumes with spacing in their headers",
        )
    return volume


def scan_warnings(
    total: int, skipped: Sequence[LabelSource], notes: dict[str, dict[str, int]]
) -> tuple[str, ...]:
    """The scan's warnings: files read in a way worth knowing (READ_NOTES), files skipped."""
    messages = []
    for note, stored in sorted(notes.items()):
        details = {
            "files": sum(stored.values()),
            "total": total,
            "modes": ", ".join(f"{n} {mode}" for mode, n in sorted(stored.items())),
        }
        parts = _SCAN_NOTES[note]
        messages.append(spelled(*(p.format(**details) if isinstance(p, str) else p for p in parts)))
    if skipped:
        names = ", ".join(str(path) for path in skipped[:2])
        more = f" and {len(skipped) - 2} more" if len(skipped) > 2 else ""
        messages.append(
            f"{len(skipped)} of {total} files skipped as bad (--skip-bad): {names}{more}"[:200]
        )
    return tuple(messages)
