"""Errors a user can act on. The CLI turns each into one line on stderr and exit status 1."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path


class MfbError(Exception):
    """Base class: a problem with the user's data or options, never a bug in mfb."""


class NoMasksFoundError(MfbError):
    """The paths given contain no label file matching the pattern."""


class BadMaskError(MfbError):
    """One label file cannot be read as a mask; the message names the file."""

    def __init__(self, path: Path | str, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{path}: {problem}")

    def __reduce__(self) -> tuple[type[BadMaskError], tuple[str, str]]:
        # Rebuilt from its two parts when it comes back from a worker process.
        return type(self), (self.path, self.problem)


class LabelRangeError(MfbError):
    """A label value has no place in the class vector (>= num_classes, or negative)."""


class OptionError(MfbError):
    """Options that contradict each other or the data (void out of range, void and ignore)."""
