"""Lay ClassCounts out per class id 0..K-1 under the user's void / ignore choices.

Two kinds of non-class values, as the frameworks define them:

* **void** ids (CamVid's 11) are output channels of the model that must not be learned:
  they stay in the class vector, with weight 0;
* **ignore** values (255, -1) are not classes at all (PyTorch's ``ignore_index``): they are
  not in the vector, and their pixels are never counted as labelled.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from .counting import ClassCounts, Int64Array
from .errors import LabelRangeError, OptionError


@dataclass(frozen=True)
class LabelSpec:
    """The user's choices about which ids are classes."""

    num_classes: int | None = None
    void: tuple[int, ...] = ()
    ignore: tuple[int, ...] = ()

    @classmethod
    def of(
        cls, num_classes: int | None = None, void: Iterable[int] = (), ignore: Iterable[int] = ()
    ) -> LabelSpec:
        """A spec with void and ignore ids sorted and de-duplicated."""
        return cls(num_classes, tuple(sorted(set(void))), tuple(sorted(set(ignore))))

    def __post_init__(self) -> None:
        # Refused here, before any file is read, as well as in class_stats.
        if self.num_classes is not None and self.num_classes > MAX_CLASSES:
            _check_vector_length(self.num_classes, True, -1)
        if self.void and max(self.void) >= MAX_CLASSES:
            _check_vector_length(max(self.void) + 1, False, -1)


@dataclass(frozen=True, eq=False)
class ClassStats:
    """Per-class counts of a dataset, indexed by class id 0..num_classes-1.

    ``presence[c]`` is the number of labelled pixels (neither void nor ignored) in the images
    containing c; ``presence_with_void[c]`` counts void pixels as labelled too (the SegNet
    convention). Both are exact sums taken from the co-occurrence counts.
    """

    spec: LabelSpec
    num_classes: int
    pixels: Int64Array
    images: Int64Array
    presence: Int64Array
    presence_with_void: Int64Array
    num_images: int
    total_pixels: int
    ignored_pixels: dict[int, int]

    @property
    def void(self) -> tuple[int, ...]:
        return self.spec.void

    @property
    def ignore(self) -> tuple[int, ...]:
        return self.spec.ignore

    @property
    def void_pixels(self) -> int:
        return int(sum(int(self.pixels[v]) for v in self.void))

    @property
    def labelled_pixels(self) -> int:
        """Pixels that are neither void nor ignored."""
        return self.total_pixels - self.void_pixels - sum(self.ignored_pixels.values())

    @property
    def absent(self) -> tuple[int, ...]:
        """Non-void classes with no pixel at all."""
        return tuple(
            c for c in range(self.num_classes) if self.pixels[c] == 0 and c not in self.void
        )


def class_stats(counts: ClassCounts, spec: LabelSpec = LabelSpec()) -> ClassStats:
    """Resolve ``counts`` into per-class statistics, checking every id has a place."""
    void, ignore = set(spec.void), set(spec.ignore)
    if void & ignore:
        raise OptionError(f"id {min(void & ignore)} is given as both --void and --ignore")
    if any(v < 0 for v in void):
        raise OptionError(f"--void {min(void)}: class ids are >= 0")
    ids = counts.ids.tolist()
    classes = [i for i in ids if i not in ignore]
    negative = [i for i in classes if i < 0]
    if negative:
        raise LabelRangeError(
            f"label {negative[0]} is negative; pass --ignore {negative[0]} "
            "if it marks pixels without a class"
        )
    num_classes = spec.num_classes
    if num_classes is None:
        num_classes = 1 + max([*classes, *void], default=-1)
    elif num_classes < 1:
        raise OptionError(f"--num-classes {num_classes}: must be at least 1")
    else:
        too_big = [i for i in classes if i >= num_classes]
        if too_big:
            raise LabelRangeError(
                f"label {too_big[0]} >= --num-classes {num_classes}; pass --ignore "
                f"{too_big[0]} or --void {too_big[0]}, or raise --num-classes"
            )
    if num_classes == 0:
        raise LabelRangeError("no class labels: every pixel is ignored")
    _check_vector_length(num_classes, spec.num_classes is not None, max(classes, default=-1))
    for value in sorted(void):
        if value >= num_classes:
            raise OptionError(
                f"--void {value} is outside the class range 0..{num_classes - 1} "
                f"(--num-classes {num_classes})"
            )
    for value in sorted(ignore):
        if 0 <= value < num_classes:
            raise OptionError(
                f"--ignore {value} is inside the class range 0..{num_classes - 1}: an ignored "
                f"value has no output channel; use --void {value} to keep its channel with "
                "weight 0"
            )

    index = np.asarray(ids, dtype=np.int64)
    is_class = np.isin(index, list(ignore), invert=True)
    not_void = is_class & np.isin(index, list(void), invert=True)
    presence_by_id = counts.cooc[:, not_void].sum(axis=1)
    presence_with_void_by_id = counts.cooc[:, is_class].sum(axis=1)

    pixels = np.zeros(num_classes, dtype=np.int64)
    images = np.zeros(num_classes, dtype=np.int64)
    presence = np.zeros(num_classes, dtype=np.int64)
    presence_with_void = np.zeros(num_classes, dtype=np.int64)
    slots = index[is_class]
    pixels[slots] = counts.pixels[is_class]
    images[slots] = counts.images[is_class]
    presence[slots] = presence_by_id[is_class]
    presence_with_void[slots] = presence_with_void_by_id[is_class]
    ignored = dict.fromkeys(sorted(ignore), 0)
    ignored.update(
        (int(i), int(n)) for i, n in zip(index[~is_class], counts.pixels[~is_class], strict=True)
    )
    return ClassStats(
        spec=LabelSpec(spec.num_classes, tuple(sorted(void)), tuple(sorted(ignore))),
        num_classes=num_classes,
        pixels=pixels,
        images=images,
        presence=presence,
        presence_with_void=presence_with_void,
        num_images=counts.num_images,
        total_pixels=counts.total_pixels,
        ignored_pixels=ignored,
    )


def id_ranges(ids: Iterable[int]) -> str:
    """'1, 3-7, 9': sorted ids with runs shortened, for messages about many classes."""
    parts: list[str] = []
    run: list[int] = []
    for value in sorted(ids):
        if run and value != run[-1] + 1:
            parts.append(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}")
            run = []
        run.append(value)
    if run:
        parts.append(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}")
    return ", ".join(parts)


# Values datasets use to mark "no class" (VOC's and Cityscapes' 255, 16-bit rasters' 65535).
_USUAL_IGNORE_VALUES = (255, 65535)


def likely_ignore_value(stats: ClassStats) -> int | None:
    """The top label when it looks like an unflagged ignore value, else None.

    With the vector length inferred, a forgotten ``--ignore 255`` silently makes 255 a
    class and the vector 256 long. It is suspected when the largest label is 255 or 65535,
    is neither void nor given by --num-classes, and the next label present is well below.
    """
    if stats.spec.num_classes is not None:
        return None
    top = stats.num_classes - 1
    if top not in _USUAL_IGNORE_VALUES or top in stats.void or stats.pixels[top] == 0:
        return None
    below = [c for c in range(top) if stats.pixels[c] > 0]
    return top if not below or below[-1] < top // 2 else None


#: The longest class vector mfb builds (ids 0..65,535, all of 16 bits). Every per-class
#: array is this long at most; a longer one is refused before anything is allocated.
MAX_CLASSES = 65_536


def _check_vector_length(num_classes: int, given: bool, top_label: int) -> None:
    """Refuse a class vector longer than MAX_CLASSES before any per-class array exists."""
    if num_classes <= MAX_CLASSES:
        return
    limit = f"mfb builds class vectors of at most {MAX_CLASSES:,} entries"
    if given:
        raise OptionError(f"--num-classes {num_classes}: {limit}")
    if top_label + 1 == num_classes:
        raise LabelRangeError(
            f"label {top_label} would need a class vector of {num_classes:,} entries; {limit} "
            f"(instance ids or a depth map?); pass --ignore {top_label} if it marks pixels "
            "without a class"
        )
    raise OptionError(f"--void {num_classes - 1}: {limit}")
