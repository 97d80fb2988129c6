"""The out-of-range rule: which label values have no class, and why."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import LabelRangeError

if TYPE_CHECKING:
    from collections.abc import Iterable

    from .._types import Int64Array


@dataclass(frozen=True)
class LabelCheck:
    """Which label values a scan accepts, so a bad file is named the moment it is read."""

    num_classes: int | None = None
    ignore: frozenset[int] = frozenset()

    def outside(self, ids: Iterable[int]) -> list[int]:
        """The values that have no class: not ignored, and negative or >= num_classes."""
        top = self.num_classes
        return [
            v for v in ids if v not in self.ignore and (v < 0 or (top is not None and v >= top))
        ]

    def problem(self, ids: Iterable[int]) -> str | None:
        """Why the first value without a class has none (and what to pass), else None."""
        bad = self.outside(ids)
        if not bad:
            return None
        value = bad[0]
        if value < 0:
            return (
                f"label {value} is negative; pass --ignore {value} "
                "if it marks pixels without a class"
            )
        return (
            f"label {value} >= --num-classes {self.num_classes}; pass "
            f"--ignore {value} or --void {value}, or raise --num-classes"
        )

    def __call__(self, path: object, ids: Int64Array) -> None:
        """Raise LabelRangeError naming the file and its first value without a class."""
        problem = self.problem(ids.tolist())
        if problem is not None:
            raise LabelRangeError(f"{path}: {problem}")
