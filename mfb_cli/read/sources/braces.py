"""Brace ranges in PATH arguments, as WebDataset names its shards: 'train-{000..099}.tar'.

Expanded as WebDataset's braceexpand does: ranges keep their zero padding, lists '{a,b}'
and nesting, left to right, the leftmost group varying slowest; '{x}' is kept as written.
The paths a pattern stands for are counted before any is built, and then built one at a
time: a pattern of a billion paths is refused at once, in constant memory. Parsing,
counting and building use explicit stacks, so braces nested to any depth are no problem.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Union

from ...errors import MfbError
from ..base.urls import shown_path

if TYPE_CHECKING:
    from collections.abc import Iterator

_RANGE = re.compile(r"(-?\d+)\.\.(-?\d+)")

#: The most paths one brace pattern may expand to: far beyond any shard list, and a
#: pattern such as '{1..1000000000}' is refused before it is built in memory.
MAX_BRACE_PATHS = 1_000_000


@dataclass
class _Seq:
    """Pieces one after the other: each path is one choice of every piece, joined."""

    pieces: list[_Node] = field(default_factory=list)
    count: int = 1


@dataclass
class _Choice:
    """'{a,b,c}': the paths of each alternative, in order."""

    options: list[_Seq]
    count: int = 1


@dataclass
class _Range:
    """'{01..10}': numbers, zero-padded to ``width``."""

    first: int
    step: int
    count: int
    width: int


@dataclass
class _Kept:
    """'{x}' (no comma, no range): kept with its braces, the inside expanded."""

    inside: _Seq
    count: int = 1


_Node = Union[str, _Seq, _Choice, _Range, _Kept]  # noqa: UP007 (a runtime alias)


def _too_many(pattern: str) -> MfbError:
    return MfbError(
        f"{shown_path(pattern)}: the brace ranges expand to more than {MAX_BRACE_PATHS} paths"
    )


def count_braces(pattern: str) -> int:
    """How many paths ``pattern`` stands for (an error past MAX_BRACE_PATHS); none built."""
    return _parse(pattern).count


def expand_braces(pattern: str) -> list[str]:
    """'a{00..02}b' -> a00b a01b a02b; '{x,y}' -> x y; nested lists; '{x}' kept as written."""
    return list(iter_braces(pattern))


def iter_braces(pattern: str) -> Iterator[str]:
    """The paths of ``pattern`` one at a time, after counting them (see count_braces)."""
    root = _parse(pattern)
    for index in range(root.count):
        yield _nth(root, index)


def _parse(pattern: str) -> _Seq:
    """The pattern as a tree of pieces, with each piece's number of paths (within limit)."""
    closing, commas = _pairs(pattern)
    root = _Seq()
    order: list[_Seq | _Choice | _Kept] = []  # parents after their children, reversed
    work = [(root, 0, len(pattern))]
    while work:
        seq, start, end = work.pop()
        order.append(seq)
        at = start
        while at < end:
            opening = pattern.find("{", at, end)
            if opening < 0 or closing.get(opening, -1) < 0:
                # No brace, or the first one is never closed: the rest is as written.
                seq.pieces.append(pattern[at:end])
                break
            shut = closing[opening]
            if opening > at:
                seq.pieces.append(pattern[at:opening])
            seq.pieces.append(_group(pattern, opening, shut, commas.get(opening, []), work, order))
            at = shut + 1
    for node in reversed(order):  # children first: each count is a sum or a product
        if isinstance(node, _Seq):
            node.count = _product(p if isinstance(p, str) else p.count for p in node.pieces)
        elif isinstance(node, _Choice):
            node.count = sum(option.count for option in node.options)
        else:
            node.count = node.inside.count
        if node.count > MAX_BRACE_PATHS:
            raise _too_many(pattern)
    return root


def _group(
    pattern: str,
    opening: int,
    shut: int,
    commas: list[int],
    work: list[tuple[_Seq, int, int]],
    order: list[_Seq | _Choice | _Kept],
) -> _Node:
    body = pattern[opening + 1 : shut]
    if commas:
        bounds = [opening, *commas, shut]
        options = [_Seq() for _ in range(len(bounds) - 1)]
        for option, start, end in zip(options, bounds, bounds[1:], strict=False):
            work.append((option, start + 1, end))
        choice = _Choice(options)
        order.append(choice)
        return choice
    ranged = _RANGE.fullmatch(body)
    if ranged:
        first_text, last_text = ranged.groups()
        try:
            first, last = int(first_text), int(last_text)
        except ValueError:  # more digits than Python turns into a number
            raise _too_many(pattern) from None
        if abs(last - first) >= MAX_BRACE_PATHS:
            raise _too_many(pattern)
        padded = any(
            len(n.lstrip("-")) > 1 and n.lstrip("-").startswith("0")
            for n in (first_text, last_text)
        )
        width = max(len(first_text), len(last_text)) if padded else 0
        step = 1 if last >= first else -1
        return _Range(first, step, abs(last - first) + 1, width)
    kept = _Kept(_Seq())
    work.append((kept.inside, opening + 1, shut))
    order.append(kept)
    return kept


def _pairs(pattern: str) -> tuple[dict[int, int], dict[int, list[int]]]:
    """Each '{' with its closing '}' (-1 if none) and its own commas (not a nested group's)."""
    closing: dict[int, int] = {}
    commas: dict[int, list[int]] = {}
    open_now: list[int] = []
    for index, char in enumerate(pattern):
        if char == "{":
            open_now.append(index)
            closing[index] = -1
        elif char == "}" and open_now:
            closing[open_now.pop()] = index
        elif char == "," and open_now:
            commas.setdefault(open_now[-1], []).append(index)
    return closing, commas


def _product(counts: Iterator[int | str]) -> int:
    total = 1
    for count in counts:
        if isinstance(count, int):
            total = min(total * count, MAX_BRACE_PATHS + 1)  # a bound, not a huge number
    return total


def _nth(root: _Seq, index: int) -> str:
    """The index-th path of the tree (the first piece varies slowest), without recursion."""
    out: list[str] = []
    stack: list[tuple[_Node, int]] = [(root, index)]
    while stack:
        node, k = stack.pop()
        if isinstance(node, str):
            out.append(node)
        elif isinstance(node, _Range):
            out.append(str(node.first + node.step * k).zfill(node.width))
        elif isinstance(node, _Kept):
            stack += [("}", 0), (node.inside, k), ("{", 0)]
        elif isinstance(node, _Choice):
            for option in node.options:
                if k < option.count:
                    stack.append((option, k))
                    break
                k -= option.count
        else:  # a sequence: mixed-radix digits, the last piece the fastest
            digits: list[tuple[_Node, int]] = []
            for piece in reversed(node.pieces):
                size = 1 if isinstance(piece, str) else piece.count
                digits.append((piece, k % size))
                k //= size
            stack += digits  # the first piece, appended last, is taken first
    return "".join(out)
