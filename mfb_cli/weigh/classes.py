"""Lay ClassCounts out per class id 0..K-1 under the user's void / ignore choices.

Two kinds of non-class values, as the frameworks define them:

* **void** ids (CamVid's 11) are output channels of the model that must not be learned:
  they stay in the class vector, with weight 0;
* **ignore** values (255, -1) are not classes at all (PyTorch's ``ignore_index``): they are
  not in the vector, and their pixels are never counted as labelled.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from ..class_set import ClassSet, check_vector_length
from ..count.label_check import LabelCheck
from ..errors import LabelRangeError, OptionError, Param, spelled
from ..id_list import id_list
from .spec import LabelSpec

if TYPE_CHECKING:
    from collections.abc import Callable

    from .._types import Int64Array
    from ..count.counts import ClassCounts


@dataclass(frozen=True, eq=False)
class ClassStats:
    """Per-class counts of a dataset, indexed by class id 0..num_classes-1.

    ``presence[c]`` is the number of labelled pixels (neither void nor ignored) in the images
    containing c; ``presence_with_void[c]`` counts void and ignored pixels as labelled too
    (the SegNet convention, every pixel of those images). Both are exact sums taken from the
    co-occurrence counts. ``warnings`` are the surprises worth telling a person (a likely
    forgotten --ignore, classes never seen, and the scan's own warnings).
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
    #: Every pixel of the images containing each ignored value (for --void-in-median).
    ignored_presence: dict[int, int] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

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
    def length_rule(self) -> str:
        """Where ``num_classes`` comes from, for the output's definitions."""
        if self.spec.num_classes is not None:
            return spelled(Param("num_classes", self.spec.num_classes))
        if self.spec.class_set is not None:
            return (
                f"the class set of {self.spec.class_set.source}: 1 + its largest id that "
                "is not ignored"
            )
        return "1 + the largest label (or void id) that is not ignored"

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
        raise OptionError(
            f"id {min(void & ignore)} is given as both ", Param("void"), " and ", Param("ignore")
        )
    if any(v < 0 for v in void):
        raise OptionError(Param("void", min(void), item=True), ": class ids are >= 0")
    ids = counts.ids.tolist()
    classes = [i for i in ids if i not in ignore]
    negative = LabelCheck(None, frozenset(ignore)).problem(classes)
    if negative is not None:
        raise LabelRangeError(*negative)
    num_classes = spec.num_classes
    set_length = None if spec.class_set is None else spec.class_set.length(ignore)
    if num_classes is None and set_length is not None:
        num_classes = max(set_length, 1 + max(void, default=-1))
        too_big = [i for i in classes if i >= num_classes]
        if too_big:
            assert spec.class_set is not None
            raise LabelRangeError(outside_class_set(too_big[0], num_classes, spec.class_set))
    elif num_classes is None:
        num_classes = 1 + max([*classes, *void], default=-1)
    elif num_classes < 1:
        raise OptionError(Param("num_classes", num_classes), ": must be at least 1")
    else:
        beyond = LabelCheck(num_classes, frozenset(ignore)).problem(classes)
        if beyond is not None:
            raise LabelRangeError(*beyond)
    if num_classes == 0:
        raise LabelRangeError("no class labels: every pixel is ignored")
    check_vector_length(num_classes, spec.num_classes is not None, max(classes, default=-1))
    for value in sorted(void):
        if value >= num_classes:
            raise OptionError(
                Param("void", value, item=True),
                f" is outside the class range 0..{num_classes - 1} (",
                Param("num_classes", num_classes),
                ")",
            )
    for value in sorted(ignore):
        if 0 <= value < num_classes:
            raise OptionError(
                Param("ignore", value, item=True),
                f" is inside the class range 0..{num_classes - 1}: an ignored value has no "
                "output channel; use ",
                Param("void", value, item=True),
                " to keep its channel with weight 0",
            )

    index = np.asarray(ids, dtype=np.int64)
    is_class = np.isin(index, list(ignore), invert=True)
    not_void = is_class & np.isin(index, list(void), invert=True)
    presence_by_id = counts.cooc[:, not_void].sum(axis=1)
    presence_with_void_by_id = counts.cooc.sum(axis=1)

    # Physical counts (counts.unit) are Python integers of any size in object arrays.
    kind = counts.pixels.dtype if counts.unit is not None else np.int64
    pixels = np.zeros(num_classes, dtype=kind)
    images = np.zeros(num_classes, dtype=np.int64)
    presence = np.zeros(num_classes, dtype=kind)
    presence_with_void = np.zeros(num_classes, dtype=kind)
    slots = index[is_class]
    pixels[slots] = counts.pixels[is_class]
    images[slots] = counts.images[is_class]
    presence[slots] = presence_by_id[is_class]
    presence_with_void[slots] = presence_with_void_by_id[is_class]
    ignored = dict.fromkeys(sorted(ignore), 0)
    ignored.update(
        (int(i), int(n)) for i, n in zip(index[~is_class], counts.pixels[~is_class], strict=True)
    )
    ignored_presence = dict.fromkeys(sorted(ignore), 0)
    ignored_presence.update(
        (int(i), int(n))
        for i, n in zip(index[~is_class], presence_with_void_by_id[~is_class], strict=True)
    )
    stats = ClassStats(
        spec=LabelSpec(
            spec.num_classes, tuple(sorted(void)), tuple(sorted(ignore)), spec.class_set
        ),
        num_classes=num_classes,
        pixels=pixels,
        images=images,
        presence=presence,
        presence_with_void=presence_with_void,
        num_images=counts.num_images,
        total_pixels=counts.total_pixels,
        ignored_pixels=ignored,
        ignored_presence=ignored_presence,
    )
    return replace(stats, warnings=(*counts.warnings, *layout_warnings(stats)))


def outside_class_set(label: int, length: int, class_set: ClassSet) -> str:
    """The message for a label the class set has no place for."""
    what = (
        "marks pixels without a class in"
        if label in class_set.not_classes
        else f"is outside the {length} classes (ids 0..{length - 1}) of"
    )
    return (
        f"label {label} {what} {class_set.source}; pass --ignore {label} "
        "(or --num-classes to make it a class)"
    )


def label_check(spec: LabelSpec) -> Callable[[object, Int64Array], None]:
    """A scan's check of each file's labels: --num-classes, or else the class set's length.

    The scan names the first file with a label that has no place, as soon as it is read.
    """
    base = LabelCheck(spec.num_classes, frozenset(spec.ignore))
    class_set = spec.class_set
    length = None if class_set is None else class_set.length(spec.ignore)
    if spec.num_classes is not None or class_set is None or length is None:
        return base
    length = max(length, 1 + max(spec.void, default=-1))
    ignore = set(spec.ignore)

    def check(path: object, ids: Int64Array) -> None:  # path: a file or archive member
        base(path, ids)
        outside = [v for v in ids.tolist() if v >= length and v not in ignore]
        if outside:
            raise LabelRangeError(f"{path}: {outside_class_set(outside[0], length, class_set)}")

    return check


def layout_warnings(stats: ClassStats) -> tuple[str, ...]:
    """The class-layout surprises worth a line: a forgotten ignore value, classes never seen."""
    messages: list[str] = []
    suspect = likely_ignore_value(stats)
    if suspect is not None:
        below = [c for c in range(suspect) if stats.pixels[c] > 0]
        messages.append(
            spelled(
                f"label {suspect} is counted as class {suspect} of {stats.num_classes}, far "
                f"above the next label ({below[-1] if below else 'none'}); if it marks pixels "
                "without a class, pass ",
                Param("ignore", suspect, item=True),
                " (or ",
                Param("num_classes"),
                " to keep it)",
            )
        )
    void = likely_void_ignore_value(stats)
    if void is not None:
        below = [c for c in range(void) if stats.pixels[c] > 0 and c not in stats.void]
        messages.append(
            spelled(
                Param("void", void, item=True),
                f" makes a class vector of {stats.num_classes} entries, and label {void} lies "
                f"far above the next label ({below[-1] if below else 'none'}); if it marks "
                "pixels without a class (Pascal VOC's, Cityscapes' 255), pass ",
                Param("ignore", void, item=True),
                ": an ignored value takes no output channel",
            )
        )
    shorter = known_layouts_above(stats)
    if shorter:
        top = stats.num_classes - 1
        messages.append(
            spelled(
                f"the class vector has {stats.num_classes} entries, 1 + the largest label "
                f"({top}), as no ",
                Param("num_classes"),
                " was given; these ids also fit ",
                " and ".join(f"{name} ({count} classes)" for name, count in shorter),
                ": if the data is a subset of one, pass its class count (",
                Param("num_classes", shorter[0][1]),
                *(f" for {name}" for name, _ in shorter[:1]),
                ") so every class keeps its place",
            )
        )
    absent = [c for c in stats.absent if c != suspect and c != void]
    if absent:
        messages.append(f"classes never seen, given weight 0: {id_list(absent)}")
    return tuple(messages)


#: Class layouts whose ids 0..K-1 come with 255 as the ignored value: an inferred vector
#: shorter than one of them may be a subset of that dataset (train ids K, ignore 255).
KNOWN_LAYOUTS = (("Cityscapes trainIds", 19), ("Pascal VOC", 21))


def known_layouts_above(stats: ClassStats) -> tuple[tuple[str, int], ...]:
    """The known layouts with more classes than an inferred vector, when the ids fit them.

    The vector must be more than half as long as the layout (a subset of it, not a small
    dataset of its own). Only when the length was inferred (no --num-classes, no class
    set), 255 is ignored as those datasets do, and no void id is given (a void id fixes
    the layout itself).
    """
    if stats.spec.num_classes is not None or stats.spec.class_set is not None:
        return ()
    if 255 not in stats.ignore or stats.void:
        return ()
    # A vector of more than half the layout's length: a subset, not a small dataset of its own.
    return tuple(
        (name, count) for name, count in KNOWN_LAYOUTS if count / 2 < stats.num_classes < count
    )


def likely_void_ignore_value(stats: ClassStats) -> int | None:
    """A --void id that looks like a dataset's ignore value (255 far above every class).

    ``--void 255`` on VOC-like data makes a 256-entry vector whose ids 21..254 are absent;
    ``--ignore 255`` is what such a value asks for.
    """
    if stats.spec.num_classes is not None or not stats.void:
        return None
    top = max(stats.void)
    if top != stats.num_classes - 1 or top not in _USUAL_IGNORE_VALUES:
        return None
    below = [c for c in range(top) if stats.pixels[c] > 0 and c not in stats.void]
    return top if not below or below[-1] < top // 2 else None


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
