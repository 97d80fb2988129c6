"""Which ids are classes: num_classes, void and ignore."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

    pass
from ..class_set import MAX_CLASSES, ClassSet, check_vector_length
from ..errors import OptionError, Param


@dataclass(frozen=True)
class LabelSpec:
    """The user's choices about which ids are classes."""

    num_classes: int | None = None
    void: tuple[int, ...] = ()
    ignore: tuple[int, ...] = ()
    #: The class set of the label mapping in force, which sets the default vector length.
    class_set: ClassSet | None = None

    @classmethod
    def of(
        cls,
        num_classes: int | None = None,
        void: Iterable[int] = (),
        ignore: Iterable[int] = (),
        class_set: ClassSet | None = None,
    ) -> LabelSpec:
        """A spec with void and ignore ids sorted and de-duplicated."""
        return cls(num_classes, tuple(sorted(set(void))), tuple(sorted(set(ignore))), class_set)

    def __post_init__(self) -> None:
        # Refused here, before any file is read, as well as in class_stats.
        if self.num_classes is not None and self.num_classes > MAX_CLASSES:
            check_vector_length(self.num_classes, True, -1)
        if self.void and max(self.void) >= MAX_CLASSES:
            check_vector_length(max(self.void) + 1, False, -1)
        # Contradictions of the options alone: refused before a scan, not after it.
        both = set(self.void) & set(self.ignore)
        if both:
            raise OptionError(
                f"id {min(both)} is given as both ", Param("void"), " and ", Param("ignore")
            )
        if self.void and min(self.void) < 0:
            raise OptionError(Param("void", min(self.void), item=True), ": class ids are >= 0")
        if self.num_classes is not None:
            self._check_against(self.num_classes)

    def _check_against(self, num_classes: int) -> None:
        """Every contradiction between --num-classes and --void / --ignore: decidable from
        the options alone, so refused before a file is read (the same words as after)."""
        if num_classes < 1:
            raise OptionError(Param("num_classes", num_classes), ": must be at least 1")
        for value in self.void:
            if value >= num_classes:
                raise OptionError(
                    Param("void", value, item=True),
                    f" is outside the class range 0..{num_classes - 1} (",
                    Param("num_classes", num_classes),
                    ")",
                )
        for value in self.ignore:
            if 0 <= value < num_classes:
                raise OptionError(
                    Param("ignore", value, item=True),
                    f" is inside the class range 0..{num_classes - 1}: an ignored value has no "
                    "output channel; use ",
                    Param("void", value, item=True),
                    " to keep its channel with weight 0",
                )
