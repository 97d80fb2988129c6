"""The out-of-range rule: which label values have no class, and why."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..class_set import MAX_CLASSES
from ..errors import LabelRangeError, Param

if TYPE_CHECKING:
    from collections.abc import Iterable

    from .._types import Int64Array


@dataclass(frozen=True)
class LabelCheck:
    """Which label values a scan accepts, so a bad file is named the moment it is read."""

    num_classes: int | None = None
    ignore: frozenset[int] = frozenset()

    def outside(self, ids: Iterable[int]) -> list[int]:
        """The values that have no class: not ignored, and negative or >= num_classes.

        Without num_classes, a value the longest class vector cannot reach (MAX_CLASSES)
        has none either: 'mfb check' lists it, and a scan names its file at once.
        """
        top = MAX_CLASSES if self.num_classes is None else self.num_classes
        return [v for v in ids if v not in self.ignore and (v < 0 or v >= top)]

    def problem(self, ids: Iterable[int]) -> tuple[str | Param, ...] | None:
        """Why the first value without a class has none (and what to pass), else None.

        The one wording of the rule, for a file as it is read and for counts (class_stats),
        in parts so that each reader sees the parameters in its own terms.
        """
        bad = self.outside(ids)
        if not bad:
            return None
        value = bad[0]
        if value < 0:
            return (
                f"label {value} is negative; pass ",
                Param("ignore", value, item=True),
                " if it marks pixels without a class",
            )
        if self.num_classes is None:
            return (
                f"label {value} would need a class vector of {value + 1:,} entries; "
                f"mfb builds class vectors of at most {MAX_CLASSES:,} entries (instance ids "
                "or a depth map?); pass ",
                Param("ignore", value, item=True),
                " if it marks pixels without a class",
            )
        return (
            f"label {value} >= ",
            Param("num_classes", self.num_classes),
            "; pass ",
            Param("ignore", value, item=True),
            " or ",
            Param("void", value, item=True),
            ", or raise ",
            Param("num_classes"),
        )

    def __call__(self, path: object, ids: Int64Array) -> None:
        """Raise LabelRangeError naming the file and its first value without a class."""
        problem = self.problem(ids.tolist())
        if problem is not None:
            raise LabelRangeError(f"{path}: ", *problem)
