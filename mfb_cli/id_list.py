"""Lists of class ids in text for people: runs shortened to ranges, and never more than a
few of them, so a message stays one readable line whatever the number of ids (a 16-bit
mask can leave 65,000 classes absent). The full lists stay in the data of every output.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

#: Runs (single ids or ranges) named in a message at most; the rest are counted.
MAX_SHOWN = 10


def id_runs(ids: Iterable[int]) -> list[tuple[int, int]]:
    """The distinct ids in order as (first, last) runs of consecutive ids."""
    runs: list[tuple[int, int]] = []
    for value in sorted({int(i) for i in ids}):
        if runs and value == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], value)
        else:
            runs.append((value, value))
    return runs


def id_list(ids: Iterable[int], limit: int = MAX_SHOWN) -> str:
    """'1, 3-7, 9': the ids in order, consecutive ones as a range; past ``limit`` runs,
    '... and N more' (N: the ids not named)."""
    runs = id_runs(ids)
    shown = ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs[:limit])
    if len(runs) <= limit:
        return shown
    more = sum(b - a + 1 for a, b in runs[limit:])
    return f"{shown} ... and {more:,} more"
