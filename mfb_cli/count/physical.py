"""Physical counts: each voxel counted by its volume in mm^3, exactly.

A network trained after resampling every case to one spacing (nnU-Net does) sees physical
volume, not stored voxels: with ``--count physical`` a case's voxels of a class weigh its
voxel volume (the product of its spacings, an exact binary fraction of the floats the
file stores). The counts stay exact integers: they are kept in units of 1/D mm^3, D the
least common denominator of the voxel volumes seen so far (a power of two for binary
spacings), as Python integers of any size; a new case with a finer volume rescales what
was added before. Images are still counted one per image.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import MfbError, Param
from .counts import MAX_DISTINCT_IDS, ClassCounts, added_geometry

if TYPE_CHECKING:
    from .._types import Int64Array


class VolumeAccumulator:
    """Adds cases weighted by their voxel volume, exactly (the physical ClassCounts)."""

    def __init__(self) -> None:
        self.denominator = 1  # counts are in units of 1/denominator mm^3
        self.num_images = 0
        self._pixels: dict[int, int] = {}
        self._images: dict[int, int] = {}
        self._cooc: dict[tuple[int, int], int] = {}

    def add(self, ids: Int64Array, counts: Int64Array, volume: Fraction) -> None:
        """Add one case: its present ids, their voxels, and the volume of one voxel."""
        denominator = math.lcm(self.denominator, volume.denominator)
        if denominator != self.denominator:
            self._rescale(denominator // self.denominator)
            self.denominator = denominator
        per_voxel = volume.numerator * (denominator // volume.denominator)
        present = [int(i) for i in ids.tolist()]
        volumes = [int(n) * per_voxel for n in counts.tolist()]
        new = [i for i in present if i not in self._pixels]
        if len(self._pixels) + len(new) > MAX_DISTINCT_IDS:
            raise MfbError(f"more than {MAX_DISTINCT_IDS} distinct label values")
        for label, amount in zip(present, volumes, strict=True):
            self._pixels[label] = self._pixels.get(label, 0) + amount
            self._images[label] = self._images.get(label, 0) + 1
            for other, other_amount in zip(present, volumes, strict=True):
                key = (label, other)
                self._cooc[key] = self._cooc.get(key, 0) + other_amount
        self.num_images += 1

    def _rescale(self, factor: int) -> None:
        for table in (self._pixels, self._cooc):
            for key in table:
                table[key] *= factor  # type: ignore[index]

    def result(self) -> ClassCounts:
        """The accumulated volumes, ids sorted, in units of 1/denominator mm^3."""
        ids = sorted(self._pixels)
        where = {label: i for i, label in enumerate(ids)}
        cooc = np.zeros((len(ids), len(ids)), dtype=object)
        for (c, d), amount in self._cooc.items():
            cooc[where[c], where[d]] = amount
        return ClassCounts(
            ids=np.asarray(ids, dtype=np.int64),
            pixels=_objects([self._pixels[i] for i in ids]),
            images=np.asarray([self._images[i] for i in ids], dtype=np.int64),
            cooc=cooc,
            num_images=self.num_images,
            unit=Fraction(1, self.denominator),
        )


def _objects(values: list[int]) -> np.ndarray[Any, Any]:
    """A 1-D array of Python integers (exact at any size)."""
    array = np.zeros(len(values), dtype=object)
    array[:] = values
    return array


def in_unit(counts: ClassCounts, unit: Fraction) -> ClassCounts:
    """``counts`` expressed in a finer ``unit`` (a divisor of its own): values scaled."""
    assert counts.unit is not None
    factor = counts.unit / unit
    if factor.denominator != 1:
        raise ValueError(f"{unit} does not divide {counts.unit}")
    scale = int(factor)
    return ClassCounts(
        counts.ids,
        counts.pixels.astype(object) * scale,
        counts.images,
        counts.cooc.astype(object) * scale,
        counts.num_images,
        counts.warnings,
        counts.geometry,
        unit=unit,
    )


def add_physical(first: ClassCounts, second: ClassCounts) -> ClassCounts:
    """The sum of two physical counts (either may be empty), in their common unit."""
    if first.num_images == 0 and not len(first.ids):
        return _with_warnings(second, first.warnings)
    if second.num_images == 0 and not len(second.ids):
        return _with_warnings(first, second.warnings)
    if first.unit is None or second.unit is None:
        raise MfbError(
            "cannot add voxel counts and physical volumes (",
            Param("count", "physical"),
            "): scan every part with the same ",
            Param("count"),
        )
    unit = Fraction(1, math.lcm(first.unit.denominator, second.unit.denominator))
    a, b = in_unit(first, unit), in_unit(second, unit)
    ids = np.union1d(a.ids, b.ids).astype(np.int64)
    if len(ids) > MAX_DISTINCT_IDS:
        raise MfbError(f"{len(ids)} distinct label values, more than {MAX_DISTINCT_IDS}")
    pixels = np.zeros(len(ids), dtype=object)
    images = np.zeros(len(ids), dtype=np.int64)
    cooc = np.zeros((len(ids), len(ids)), dtype=object)
    for part in (a, b):
        where = np.searchsorted(ids, part.ids)
        pixels[where] += part.pixels
        images[where] += part.images
        cooc[np.ix_(where, where)] += part.cooc
    warnings = tuple(dict.fromkeys((*first.warnings, *second.warnings)))
    return ClassCounts(
        ids,
        pixels,
        images,
        cooc,
        first.num_images + second.num_images,
        warnings,
        added_geometry(first, second),
        unit=unit,
    )


def _with_warnings(counts: ClassCounts, more: tuple[str, ...]) -> ClassCounts:
    from dataclasses import replace

    return replace(counts, warnings=tuple(dict.fromkeys((*counts.warnings, *more))))


def unit_text(unit: Fraction) -> str:
    """A unit of mm^3 as exact text: '1/1048576' (or '1')."""
    return str(unit)
