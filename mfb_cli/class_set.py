"""A class set, and the longest class vector mfb builds: values shared by read/ and weigh/.

A colour table or remap (read/) defines which class ids exist; the class view (weigh/)
fixes the vector length from it. Neither layer may import the other's modules for this,
so the value type lives here, below both, with no NumPy import.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import LabelRangeError, OptionError, Param

if TYPE_CHECKING:
    from collections.abc import Iterable


@dataclass(frozen=True)
class ClassSet:
    """The class ids a colour table or a remap defines, whether or not the data holds them.

    A table that names its classes (Cityscapes' 19 trainIds, CamVid's 32 colours) fixes the
    model's output channels: a class missing from a subset must keep its place, so the
    default vector length is 1 + the largest id of the set that is not ``--ignore``'d.
    """

    ids: tuple[int, ...]
    #: Where the set comes from, for messages: "--colormap cityscapes".
    source: str
    #: Values the table gives pixels without a class (Cityscapes' and VOC's 255).
    not_classes: tuple[int, ...] = ()

    def length(self, ignore: Iterable[int] = ()) -> int | None:
        """1 + the largest id of the set that is not ignored (None when every id is)."""
        ignored = set(ignore)
        kept = [i for i in self.ids if i not in ignored and i >= 0]
        return 1 + max(kept) if kept else None


#: The longest class vector mfb builds (ids 0..65,535, all of 16 bits). Every per-class
#: array is this long at most; a longer one is refused before anything is allocated.
MAX_CLASSES = 65_536


def check_vector_length(num_classes: int, given: bool, top_label: int) -> None:
    """Refuse a class vector longer than MAX_CLASSES before any per-class array exists."""
    if num_classes <= MAX_CLASSES:
        return
    limit = f"mfb builds class vectors of at most {MAX_CLASSES:,} entries"
    if given:
        raise OptionError(Param("num_classes", num_classes), f": {limit}")
    if top_label + 1 == num_classes:
        raise LabelRangeError(
            f"label {top_label} would need a class vector of {num_classes:,} entries; {limit} "
            "(instance ids or a depth map?); pass ",
            Param("ignore", top_label, item=True),
            " if it marks pixels without a class",
        )
    raise OptionError(Param("void", num_classes - 1, item=True), f": {limit}")
