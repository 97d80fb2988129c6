"""Errors a user can act on. The CLI turns each into one line on stderr and exit status 1.

An error that names one of the caller's parameters carries it as a ``Param`` (its
library name, and the value when there is one), not as text: ``str(error)`` reads
``num_classes=19`` to a library caller, and the CLI renders the same error with its own
flags (``--num-classes 19``): ``cli/messages.spell`` is the one translation, installed
with ``spelled_with`` for the length of a command (so that messages the library copies
into its results, such as ``mfb check``'s report, read in the CLI's terms there too).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path


class _NoValue:
    def __repr__(self) -> str:
        return "NO_VALUE"

    def __reduce__(self) -> str:
        # One sentinel in every process: a Param sent back from a worker (Dask, a process
        # pool) must still be "named without a value" when the client spells it.
        return "NO_VALUE"


#: A ``Param`` named without a value ("raise num_classes").
NO_VALUE = _NoValue()


@dataclass(frozen=True)
class Param:
    """A parameter an error message names, in library terms (``num_classes``, ``remap``)."""

    name: str
    value: object = NO_VALUE
    #: The parameter holds several values (``void``, ``ignore``) and ``value`` is one of them.
    item: bool = False
    #: A value to fill in, named: ``ID`` reads ``unknown_color=<ID>`` / ``--unknown-color ID``.
    metavar: str = ""
    #: ``value`` is text to show as it is (a number formatted to some digits), not repr'd.
    literal: bool = False

    def __str__(self) -> str:
        """How a library caller reads it: ``num_classes=19``, ``ignore=[255]``, ``colormap``."""
        if self.metavar:
            value = f"<{self.metavar}>"
            return f"{self.name}={f'[{value}]' if self.item else value}"
        if self.value is NO_VALUE:
            return self.name
        shown = str(self.value) if self.literal else repr(self.value)
        return f"{self.name}={f'[{shown}]' if self.item else shown}"


#: How ``str(error)`` spells parameters: library terms, unless a front end installs its
#: own for a while (``spelled_with``). Process-wide, not a ContextVar, on purpose: the
#: scan's worker threads render messages too (a bad file's problem in a check report).
_spellings: list[Callable[[Param], str]] = [str]


def spelled(*parts: str | Param) -> str:
    """A message for a result (a warning, a definition) spelled for whoever runs: library
    names, or the CLI's flags while a command runs. Errors render when shown instead.
    """
    return "".join(p if isinstance(p, str) else _spellings[-1](p) for p in parts)


@contextmanager
def spelled_with(spell: Callable[[Param], str]) -> Iterator[None]:
    """Within the block, every error message spells its parameters with ``spell``."""
    _spellings.append(spell)
    try:
        yield
    finally:
        _spellings.pop()


class MfbError(Exception):
    """Base class: a problem with the user's data or options, never a bug in mfb.

    The message is given in parts: text, and ``Param`` for each parameter it names.
    """

    def __init__(self, *parts: str | Param) -> None:
        self.parts: tuple[str | Param, ...] = parts
        super().__init__("".join(map(str, parts)))  # args: pickling keeps the text

    def __str__(self) -> str:
        return self.render(_spellings[-1])

    @property
    def params(self) -> tuple[str, ...]:
        """The library names of the parameters the message names, in order, each once."""
        return tuple(dict.fromkeys(p.name for p in self.parts if isinstance(p, Param)))

    def render(self, spell: Callable[[Param], str]) -> str:
        """The message with each parameter spelled by ``spell`` (the CLI's flags)."""
        return "".join(p if isinstance(p, str) else spell(p) for p in self.parts)


class NoMasksFoundError(MfbError):
    """The paths given contain no label file matching the pattern."""


class BadMaskError(MfbError):
    """One label file cannot be read as a mask; the message names the file."""

    def __init__(self, path: Path | str, *problem: str | Param) -> None:
        self.path = str(path)
        self._problem = problem
        super().__init__(f"{path}: ", *problem)

    @property
    def problem(self) -> str:
        """The message without the file's name, spelled as ``str(error)`` is."""
        return "".join(p if isinstance(p, str) else _spellings[-1](p) for p in self._problem)

    def __reduce__(self) -> tuple[type[BadMaskError], tuple[str, str]]:
        # Rebuilt from its two parts when it comes back from a worker process.
        return type(self), (self.path, self.problem)


class LabelRangeError(MfbError):
    """A label value has no place in the class vector (>= num_classes, or negative)."""


class OptionError(MfbError):
    """Options that contradict each other or the data (void out of range, void and ignore)."""


class MissingExtraError(MfbError):
    """An option needs an optional dependency that is not installed (an environment problem,
    not a usage error: the CLI exits 1)."""
