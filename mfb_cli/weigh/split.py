"""Train/val/test splits and k folds, stratified on class presence, that never split a group.

The algorithm is iterative stratification (Sechidis, Tsoumakas and Vlahavas, ECML PKDD
2011) with groups as its units: a unit is a group of images (a video sequence, a city, a
patient), or one image when no groups are given, and carries, per class, the number of its
images holding the class and their pixels. Each part j has a share r_j; its demand for
class c starts at r_j * (images holding c) and falls by a unit's images of c when the unit
joins it. Then, until every unit is placed:

1. take the class held by the fewest units not yet placed (ties: fewest images, lowest id);
2. place its units, in the seed's random order, each in the part that
   (a) has room: wants at least half the unit's images (if no part has, all parts count),
   (b) wants the most units like this one for the class: its demand for the class divided
       by the unit's images of it, rounded up (Sechidis' rule, at the grain of the unit),
   (c) sees its pixel shares move least away from those of all units placed so far,
   (d) wants the most images of the class, then the most images overall,
   (e) wins a coin toss decided by the seed;
3. units holding no class go, largest first, to the part that wants the most images.

(c) is the pixel goal. It only decides between parts (b) finds equal, so class presence
comes first. The distance is the chi-square distance of the part's pixel shares, the
small-difference form of the Jensen-Shannon divergence; it is measured against the units
placed so far rather than the whole dataset because units come class by class: the first
ones all hold the rarest classes, and measuring them against the whole would push the
parts that take them towards units with less of those classes.

A coverage pass follows: while a part lacks a class that another part holds in two or more
units, one of those units moves over, provided every class it holds stays in the part it
leaves (so no part ever loses a class); a unit of the receiving part moves back when that
brings both parts' sizes closer to their targets. A class can then be missing from a part
only when no unit holding it can move without taking a class from the part it leaves.

Everything is exact (integer demands scaled by the sum of the shares) and deterministic:
the units are identified by their names (a group's, or an image's name below the folder all
images share), and every coin toss is a hash of the seed and the unit's name, so the same
images in any order, under any spelling of their folder, give the same split.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING

from ..count.label_check import LabelCheck
from ..errors import LabelRangeError, MfbError, OptionError, Param
from ..id_list import MAX_SHOWN, id_list
from .divergence import js_divergence
from .priors import scan_warnings_of

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    import regex

    from ..count.per_image import ImageCounts
    from .classes import ClassStats

#: How the parts of a ratio split are named, by their number (other numbers: part1, part2...).
RATIO_NAMES = {2: ("train", "val"), 3: ("train", "val", "test")}
#: Fold i's validation part; its training part is every other fold.
FOLD_NAME = "fold{}"
#: Most rows (parts x classes held) of the effect: it holds a row per class and part, for
#: this split and the random one, and the JSON record ~1 kB per row (2**18: 4,096 classes
#: in 64 parts, or 262 classes in 1,000 folds; ~1 GB at most).
MAX_EFFECT_ROWS = 2**18


class SplitError(MfbError):
    """The images cannot be split as asked (fewer groups than parts, an unmatched image...)."""


@dataclass(frozen=True)
class Parts:
    """The parts asked for: their names and shares (``weights[j] / sum(weights)``, exact)."""

    names: tuple[str, ...]
    weights: tuple[int, ...]
    folds: bool = False

    @classmethod
    def k_folds(cls, k: int) -> Parts:
        """k equal parts fold0..fold{k-1}; fold i is the validation part of fold i."""
        if k < 2:
            raise OptionError(Param("folds", k), ": must be at least 2")
        return cls(tuple(FOLD_NAME.format(i) for i in range(k)), (1,) * k, folds=True)

    @classmethod
    def of_ratios(
        cls, ratios: Sequence[str | int | float | Fraction], names: Sequence[str] | None = None
    ) -> Parts:
        """Parts in proportion to ``ratios`` (normalised: 0.8,0.1,0.1 = 8,1,1).

        Named train,val (two) or train,val,test (three), else part1, part2...
        """
        if len(ratios) < 2:
            raise OptionError(Param("ratios"), ": give at least two shares, e.g. 0.8,0.2")
        exact = [_fraction(r) for r in ratios]
        if any(r <= 0 for r in exact):
            raise OptionError(Param("ratios"), ": every share must be > 0")
        scale = math.lcm(*(r.denominator for r in exact))
        weights = [int(r * scale) for r in exact]
        common = math.gcd(*weights)
        if names is None:
            names = RATIO_NAMES.get(len(exact)) or [f"part{i + 1}" for i in range(len(exact))]
        names = tuple(names)
        if len(names) != len(exact):
            raise OptionError(f"{len(names)} part names for {len(exact)} shares")
        if len(set(names)) != len(names) or not all(names):
            raise OptionError("part names must be distinct and not empty")
        return cls(names, tuple(w // common for w in weights))

    def share(self, index: int) -> Fraction:
        return Fraction(self.weights[index], sum(self.weights))


#: Most digits of an int or Fraction share's numerator and denominator.
MAX_SHARE_DIGITS = 18


def _fraction(value: str | int | float | Fraction) -> Fraction:
    """A share, exactly. Text and floats are read to double precision, as the shortest
    decimal of their float (0.1 -> 1/10, not the binary neighbour): an exponent no float
    has (1e-9999999) would make Python build a number of millions of digits."""
    if isinstance(value, (int, Fraction)) and not isinstance(value, bool):
        exact = Fraction(value)
        if max(abs(exact.numerator), exact.denominator) >= 10**MAX_SHARE_DIGITS:
            raise OptionError(
                Param("ratios"), f": {value} is too precise; give at most {MAX_SHARE_DIGITS} digits"
            )
        return exact
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise OptionError(Param("ratios"), f": {value!r} is not a number") from None
    if not math.isfinite(number):
        raise OptionError(Param("ratios"), f": {value!r} is not a finite number")
    if number == 0 and re.search(r"[1-9]", str(value).lower().split("e")[0]):
        raise OptionError(Param("ratios"), f": {value!r} is too small for a float")
    return Fraction(repr(number))


# ---------------------------------------------------------------------------- groups


def file_name(image: str) -> str:
    """The part of an image's name after its last '/' (or '\\')."""
    return re.split(r"[/\\]", image)[-1]


def shared_folder(images: Iterable[str]) -> str:
    """The folder all the names lie in, with its final '/' ('' when there is none):
    ``masks/a/x.png`` and ``masks/b/y.png`` share ``masks/``."""
    names = list(images)
    if not names:
        return ""
    first, last = min(names), max(names)  # every name shares what these two share
    same = next(
        (i for i, (a, b) in enumerate(zip(first, last, strict=False)) if a != b),
        min(len(first), len(last)),
    )
    prefix = first[:same]  # character by character: a URL's '//' is no path to normalise
    return prefix[: max(prefix.rfind("/"), prefix.rfind("\\")) + 1]


def names_below(images: Sequence[str]) -> dict[str, str]:
    """Each name without the folder they all share: what a split depends on, so that
    ``masks``, ``./masks/``, ``/data/masks``, a link to it or ``s3://bucket/masks`` give
    the same split of the same files."""
    cut = len(shared_folder(images))
    return {image: image[cut:] for image in images}


#: Longest a --group pattern may search one name (seconds): patterns that backtrack
#: without end ('^(a|aa)+\.png$' tries ~1.6**n ways on n letters) stop with an error.
MATCH_SECONDS = 1.0


def compile_group_pattern(pattern: str | re.Pattern[str]) -> regex.Pattern[str]:
    """``pattern`` (text, or an ``re`` pattern with its flags) for the ``regex`` module,
    whose searches take a timeout (``re`` has none); it must hold a capture group."""
    import regex

    text, flags = (pattern, 0) if isinstance(pattern, str) else (pattern.pattern, pattern.flags)
    try:
        compiled = regex.compile(text, flags & ~re.UNICODE)  # UNICODE is the default for str
    except regex.error as error:
        raise OptionError(Param("group", text), f": not a regular expression ({error})") from None
    if compiled.groups < 1:
        raise OptionError(
            Param("group", text),
            ": needs a capture group, e.g. '^([^_]+)_' (the text before the first '_')",
        )
    return compiled


def groups_from_pattern(images: Iterable[str], pattern: str | re.Pattern[str]) -> dict[str, str]:
    """Each image's group: the first capture group of ``pattern`` searched in its file name
    (when the pattern holds a '/', in its name below the folder all images share, so that
    '^(patient\\d+)/' finds the patient folders however their folder is spelled). An image
    it does not match is an error: a group silently made of one image would leak its
    sequence into two parts."""
    compiled = compile_group_pattern(pattern)
    images = list(images)
    below = names_below(images) if "/" in compiled.pattern else None
    found: dict[str, str] = {}
    for image in images:
        try:
            match = compiled.search(
                file_name(image) if below is None else below[image], timeout=MATCH_SECONDS
            )
        except TimeoutError:
            raise SplitError(
                f"{image}: ",
                Param("group", compiled.pattern),
                f" took more than {MATCH_SECONDS:g} s on its name (catastrophic backtracking: "
                "a repeat inside a repeat, such as (a+)+); simplify the pattern",
            ) from None
        if match is None or not match.group(1):
            where = (
                "file name"
                if below is None
                else f"name below the folder all images share ({below[image]})"
            )
            # An empty capture is no group: every image capturing it would form one.
            problem = "does not match" if match is None else "captures nothing from"
            raise SplitError(
                f"{image}: ",
                Param("group", compiled.pattern),
                f" {problem} its {where}; fix the pattern or give the groups in a file",
            )
        found[image] = match.group(1)
    return found


def groups_from_table(
    images: Sequence[str], table: Mapping[str, str], where: str = "the groups table"
) -> tuple[dict[str, str], list[str]]:
    """Each image's group from an ``image -> group`` table; also the warnings (table rows
    naming no image). A row names an image by its name, or by its name below the folder all
    images share (a row's own below the folder all rows share: 'train/a.png' and
    '/x/data/train/a.png' both name data/train/a.png), or else by its file name. An image
    no row names is an error."""
    by_file: dict[str, list[str]] = {}
    for name in table:
        by_file.setdefault(file_name(name), []).append(name)
    below = names_below(images)
    rows_below = {short: name for name, short in names_below(list(table)).items()}
    found: dict[str, str] = {}
    used: set[str] = set()
    for image in images:
        short = below[image]
        if image in table:
            rows = [image]
        elif short in table or short in rows_below:
            rows = [short if short in table else rows_below[short]]
        else:
            rows = by_file.get(file_name(image), [])
        if not rows:
            raise SplitError(
                f"{image}: not in {where} (by name, name below the shared folder or file "
                "name); add a row for it"
            )
        named = sorted({table[row] for row in rows})
        if len(named) > 1:
            raise SplitError(
                f"{image}: {where} gives its file name {file_name(image)} two groups "
                f"({', '.join(named)}); list it by its full name"
            )
        found[image] = named[0]
        used.update(rows)
    unused = [name for name in table if name not in used]
    warnings = []
    if unused:
        warnings.append(
            f"{_many(len(unused), 'row')} of {where} "
            f"{'names' if len(unused) == 1 else 'name'} no image of this split "
            f"(first: {unused[0]})"
        )
    return found, warnings


@dataclass(frozen=True)
class Grouping:
    """How images form groups: a pattern's first capture group, or an image -> group table."""

    pattern: str | None = None
    table: Mapping[str, str] | None = None
    #: How the table is named in messages and the output (its file).
    table_name: str = "the groups table"

    def resolve(self, images: Sequence[str]) -> tuple[dict[str, str], list[str]]:
        """Each image's group, and the warnings (table rows naming no image)."""
        if (self.pattern is None) == (self.table is None):
            raise OptionError("give a group pattern or a groups table (one of them)")
        if self.pattern is not None:
            return groups_from_pattern(images, self.pattern), []
        assert self.table is not None
        return groups_from_table(images, self.table, self.table_name)

    def describe(self) -> dict[str, str | int]:
        if self.pattern is not None:
            return {"by": "pattern", "pattern": self.pattern}
        return {"by": "table", "table": self.table_name}


# ---------------------------------------------------------------------------- results


@dataclass(frozen=True)
class SplitPart:
    """One part: its name, share, target size and the images and groups it holds (sorted)."""

    name: str
    share: float
    target_images: float
    images: tuple[str, ...]
    groups: tuple[str, ...]


@dataclass(frozen=True)
class PartEffect:
    """One part's class shares beside the whole dataset's (``SplitEffect.classes`` order).

    ``image_share[c]`` = images of the part holding c / images of the part;
    ``pixel_share[c]`` = pixels of c / labelled pixels of the part; ``js_divergence`` is
    that of the pixel shares to the whole's (None for a part without labelled pixels);
    ``missing`` are the classes the dataset has and this part has not.
    """

    name: str
    images: int
    labelled_pixels: int
    #: Per class: the part's images holding it, and its pixels (exact counts).
    class_images: tuple[int, ...]
    class_pixels: tuple[int, ...]
    image_share: tuple[float, ...]
    pixel_share: tuple[float, ...]
    js_divergence: float | None
    max_image_share_gap: float
    missing: tuple[int, ...]


@dataclass(frozen=True)
class SplitEffect:
    """The class shares of every part beside the whole dataset's, over the classes held
    (``held_classes``: some image holds them, neither void nor ignored)."""

    classes: tuple[int, ...]
    images: int
    class_images: tuple[int, ...]
    class_pixels: tuple[int, ...]
    image_share: tuple[float, ...]
    pixel_share: tuple[float, ...]
    parts: tuple[PartEffect, ...]

    @property
    def worst_js_divergence(self) -> float | None:
        values = [p.js_divergence for p in self.parts if p.js_divergence is not None]
        return max(values) if values else None


@dataclass(frozen=True)
class OversizedGroup:
    """A group holding more images than the share of the part it is in."""

    group: str
    images: int
    part: str
    target_images: float


@dataclass(frozen=True)
class Split:
    """A split: its parts, each image's part and group, the effect beside a random split's."""

    folds: bool
    seed: int
    grouped: bool
    parts: tuple[SplitPart, ...]
    part_of: dict[str, str]
    group_of: dict[str, str]
    effect: SplitEffect
    #: The same numbers for a random split with the same seed and groups.
    random: SplitEffect
    oversized: tuple[OversizedGroup, ...] = ()
    #: Units the coverage pass moved to put a class into a part lacking it.
    moved: int = 0
    #: How the groups were formed: {"by": "image" | "pattern" | "table" | "mapping", ...}.
    grouping: dict[str, str | int] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()


# ---------------------------------------------------------------------------- algorithm


@dataclass
class _Unit:
    """A group (or one image): its images, and per class it holds (a column of
    ``held_classes``) its images holding the class and their pixels of it."""

    key: str
    images: list[int]
    classes: dict[int, int]
    pixels: dict[int, int]
    rank: int
    size: int = 0
    labelled: int = 0


def _hash(seed: int, *parts: object) -> int:
    text = "\0".join(str(p) for p in (seed, *parts))
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def held_classes(images: Iterable[ImageCounts], stats: ClassStats) -> tuple[int, ...]:
    """The classes some image holds, by id: neither void nor ignored (nor out of range).

    The split and its effect work over these alone: a class no image holds has share 0 in
    every part and says nothing, and sizing the work by ``num_classes`` (up to 65,536) times
    the parts would cost far more than the data.
    """
    void = set(stats.void)
    return tuple(
        sorted(
            {
                label
                for one in images
                for label in one.ids
                if 0 <= label < stats.num_classes and label not in void
            }
        )
    )


def _units(
    images: Sequence[ImageCounts],
    column: Mapping[int, int],
    group_of: Mapping[str, str] | None,
    seed: int,
) -> list[_Unit]:
    """The units in name order (so the split does not depend on the input's order), named
    by their group, or by the image's name below the shared folder (``names_below``); their
    classes are columns of ``column`` (class id -> 0..m-1, in id order)."""
    by_key: dict[str, _Unit] = {}
    below = names_below([one.image for one in images]) if group_of is None else {}
    for index, one in enumerate(images):
        key = below[one.image] if group_of is None else group_of[one.image]
        unit = by_key.get(key)
        if unit is None:
            unit = by_key[key] = _Unit(key, [], {}, {}, _hash(seed, "unit", key))
        unit.images.append(index)
        unit.size += 1
        for id_, n in zip(one.ids, one.pixels, strict=True):
            label = column.get(id_)
            if label is not None:
                unit.classes[label] = unit.classes.get(label, 0) + 1
                unit.pixels[label] = unit.pixels.get(label, 0) + n
                unit.labelled += n
    ordered = [by_key[k] for k in sorted(by_key)]
    for unit in ordered:  # columns in id order: float sums do not depend on the input order
        unit.classes = dict(sorted(unit.classes.items()))
        unit.pixels = dict(sorted(unit.pixels.items()))
    return ordered


def _stratify(
    units: Sequence[_Unit], weights: Sequence[int], num_classes: int, seed: int
) -> list[int]:
    """Iterative stratification over units: the part of each unit (module docstring)."""
    parts = range(len(weights))
    scale = sum(weights)
    images_of = [0] * num_classes
    holders: list[list[int]] = [[] for _ in range(num_classes)]
    for index, unit in enumerate(units):
        for c, n in unit.classes.items():
            images_of[c] += n
            holders[c].append(index)
    total = sum(u.size for u in units)
    # Demands scaled by sum(weights): integers, compared exactly.
    want_images = [[w * n for n in images_of] for w in weights]
    want_size = [w * total for w in weights]
    shares = _RunningShares(len(weights), num_classes)
    part_of = [-1] * len(units)
    left_units = [len(h) for h in holders]
    left_images = list(images_of)
    active = {c for c in range(num_classes) if left_units[c]}

    def place(index: int, j: int) -> None:
        unit = units[index]
        part_of[index] = j
        want_size[j] -= scale * unit.size
        shares.add(unit, j)
        for c, n in unit.classes.items():
            want_images[j][c] -= scale * n
            left_units[c] -= 1
            left_images[c] -= n
            if not left_units[c]:
                active.discard(c)

    def best(index: int, key: list[tuple[float, ...]]) -> int:
        top = max(key)
        tied = [j for j in parts if key[j] == top]
        if len(tied) == 1:
            return tied[0]
        return min(tied, key=lambda j: _hash(seed, "part", units[index].key, j))

    def fits(unit: _Unit) -> list[bool]:  # the part wants at least half the unit's images
        room = [2 * want_size[j] >= scale * unit.size for j in parts]
        return room if any(room) else [True] * len(room)

    def choice(unit: _Unit, c: int) -> list[tuple[float, ...]]:
        room = fits(unit)
        grain = scale * unit.classes[c]
        # (a) room, (b) units like this one j still wants (rounded up): the image goal.
        goal = [(room[j], -(-want_images[j][c] // grain)) for j in parts]
        top = max(goal)
        if goal.count(top) == 1:  # no tie: the pixel goal is not asked (it costs most)
            return [(*g, 0.0, 0, 0) for g in goal]
        moved = shares.moved(unit)
        return [
            (*goal[j], -moved[j], want_images[j][c], want_size[j]) if goal[j] == top else goal[j]
            for j in parts
        ]

    while active:  # at most one round per class
        c = min(active, key=lambda c: (left_units[c], left_images[c], c))
        waiting = [i for i in holders[c] if part_of[i] < 0]
        waiting.sort(key=lambda i: (units[i].rank, units[i].key))
        for i in waiting:
            place(i, best(i, choice(units[i], c)))
    rest = [i for i in range(len(units)) if part_of[i] < 0]
    rest.sort(key=lambda i: (-units[i].size, units[i].rank, units[i].key))
    for i in rest:
        room = fits(units[i])
        place(i, best(i, [(room[j], want_size[j]) for j in parts]))
    return part_of


class _RunningShares:
    """Each part's pixel shares beside those of every unit placed so far (the reference).

    For part j with pixels h_jd (L_j in all) and reference pixels r_d (R in all), the
    chi-square distance sum_d (h_jd / L_j - r_d / R)^2 / (r_d / R), which the Jensen-Shannon
    divergence is for small differences, equals R (R Q_j / L_j^2 - 1) with
    Q_j = sum_d h_jd^2 / r_d. Q_j is kept up to date, so that asking how far a unit would
    move each part costs one term per class of the unit and part, not per class.
    Following the units placed so far rather than the whole dataset matters: the units
    come class by class, so the reference shares the bias of the units placed so far.
    """

    def __init__(self, count: int, num_classes: int) -> None:
        self.count = count
        self.have = [[0] * count for _ in range(num_classes)]  # per class, per part
        self.size = [0] * count
        self.reference = [0] * num_classes
        self.total = 0
        self.q = [0.0] * count
        self._quoted: tuple[_Unit | None, list[float]] = (None, [])

    def _requoted(self, unit: _Unit) -> list[float]:
        """Each Q_j with the reference holding the unit's pixels too (placed nowhere yet)."""
        if self._quoted[0] is unit:
            return self._quoted[1]
        q = list(self.q)
        for d, n in unit.pixels.items():
            r = self.reference[d]
            if r:
                factor = 1 / (r + n) - 1 / r
                for j, h in enumerate(self.have[d]):
                    if h:
                        q[j] += h * h * factor
        self._quoted = (unit, q)
        return q

    def moved(self, unit: _Unit) -> list[float]:
        """Per part, how much its distance to the reference grows if it takes ``unit``."""
        added = unit.labelled
        if not added:
            return [0.0] * self.count
        total = self.total + added
        after = self._requoted(unit)
        old = [
            total * (total * q / (size * size) - 1) if size else 0.0
            for q, size in zip(after, self.size, strict=True)
        ]
        after = list(after)
        for d, n in unit.pixels.items():
            share = self.reference[d] + n
            for j, h in enumerate(self.have[d]):
                after[j] += (2 * h * n + n * n) / share
        return [
            total * (total * q / (size + added) ** 2 - 1) - before
            for q, size, before in zip(after, self.size, old, strict=True)
        ]

    def add(self, unit: _Unit, j: int) -> None:
        """Part j takes ``unit``; the reference grows by its pixels."""
        self.q = list(self._requoted(unit))
        self._quoted = (None, [])
        for d, n in unit.pixels.items():
            h = self.have[d][j]
            self.q[j] += (2 * h * n + n * n) / (self.reference[d] + n)
            self.have[d][j] = h + n
            self.reference[d] += n
        self.size[j] += unit.labelled
        self.total += unit.labelled


def _random(units: Sequence[_Unit], weights: Sequence[int]) -> list[int]:
    """The baseline: units in the seed's random order, each to the part furthest below its
    size (first part on ties); with one image per unit, a uniformly random split."""
    scale = sum(weights)
    total = sum(u.size for u in units)
    want = [w * total for w in weights]
    part_of = [-1] * len(units)
    for i in sorted(range(len(units)), key=lambda i: (units[i].rank, units[i].key)):
        j = max(range(len(weights)), key=lambda j: (want[j], -j))
        part_of[i] = j
        want[j] -= scale * units[i].size
    return part_of


def _fill(units: Sequence[_Unit], part_of: list[int], count: int) -> int:
    """Give every empty part a unit: the smallest of a part holding two or more, one whose
    classes all stay in the part it leaves when there is one; returns the number moved."""
    moves = 0
    while True:
        members: list[list[int]] = [[] for _ in range(count)]
        for i, j in enumerate(part_of):
            members[j].append(i)
        empty = [j for j in range(count) if not members[j]]
        if not empty:
            return moves
        holding: list[dict[int, int]] = [{} for _ in range(count)]
        for i, j in enumerate(part_of):
            for c in units[i].classes:
                holding[j][c] = holding[j].get(c, 0) + 1

        donors = [
            (
                not all(holding[part_of[i]][c] > 1 for c in units[i].classes),
                units[i].size,
                units[i].rank,
                units[i].key,
                i,
            )
            for j in range(count)
            if len(members[j]) > 1
            for i in members[j]
        ]
        part_of[min(donors)[-1]] = empty[0]
        moves += 1


def _cover(
    units: Sequence[_Unit], part_of: list[int], weights: Sequence[int], num_classes: int
) -> int:
    """Move units so that parts lacking a class get it, never taking a class from a part
    (module docstring); returns the number of moves (each adds a class to a part)."""
    count = len(weights)
    scale = sum(weights)
    total = sum(u.size for u in units)
    holding = [[0] * num_classes for _ in range(count)]  # units of part j holding class c
    size = [0] * count
    members: list[set[int]] = [set() for _ in range(count)]
    holders: list[list[int]] = [[] for _ in range(num_classes)]
    for i, unit in enumerate(units):
        members[part_of[i]].add(i)
        size[part_of[i]] += unit.size
        for c in unit.classes:
            holding[part_of[i]][c] += 1
            holders[c].append(i)

    def spare(i: int, j: int) -> bool:  # unit i can leave part j without j losing a class
        return len(members[j]) > 1 and all(holding[j][c] > 1 for c in units[i].classes)

    def move(i: int, j: int) -> None:
        k = part_of[i]
        members[k].discard(i)
        members[j].add(i)
        size[k] -= units[i].size
        size[j] += units[i].size
        for c in units[i].classes:
            holding[k][c] -= 1
            holding[j][c] += 1
        part_of[i] = j

    def error(j: int, k: int, back: int = 0) -> int:
        """Both parts' distance to their sizes (scaled), ``back`` images moved from j to k."""
        return abs(scale * (size[j] - back) - weights[j] * total) + abs(
            scale * (size[k] + back) - weights[k] * total
        )

    order = sorted(
        (c for c in range(num_classes) if len(holders[c]) > 1),
        key=lambda c: (len(holders[c]), c),
    )
    moves = 0
    changed = True
    while changed:
        changed = False
        for c in order:
            for j in range(count):
                if holding[j][c]:
                    continue
                candidates = [
                    i for i in holders[c] if holding[part_of[i]][c] > 1 and spare(i, part_of[i])
                ]
                if not candidates:
                    continue
                i = min(
                    candidates,
                    key=lambda i: (
                        -holding[part_of[i]][c],
                        units[i].size,
                        units[i].rank,
                        units[i].key,
                    ),
                )
                k = part_of[i]
                move(i, j)
                moves += 1
                changed = True
                # One unit of j back to k, if that brings both sizes closer to their shares.
                back = [
                    (error(j, k, units[v].size), units[v].rank, units[v].key, v)
                    for v in members[j]
                    if v != i and spare(v, j)
                ]
                if back:
                    after, _, _, v = min(back)
                    if after < error(j, k):
                        move(v, k)
    return moves


# ---------------------------------------------------------------------------- effect


def split_effect(
    images: Sequence[ImageCounts],
    stats: ClassStats,
    part_names: Sequence[str],
    part_index: Sequence[int],
) -> SplitEffect:
    """Each part's image and pixel shares per class held beside the whole dataset's,
    exactly from the per-image counts (``part_index[i]`` is image i's part)."""
    classes = held_classes(images, stats)
    column = {c: k for k, c in enumerate(classes)}
    count = len(part_names)
    sizes = [0] * count
    with_class = [[0] * len(classes) for _ in range(count)]
    pixels = [[0] * len(classes) for _ in range(count)]
    for one, j in zip(images, part_index, strict=True):
        sizes[j] += 1
        for label, n in zip(one.ids, one.pixels, strict=True):
            k = column.get(label)
            if k is not None:
                with_class[j][k] += 1
                pixels[j][k] += n
    all_images = [sum(row[k] for row in with_class) for k in range(len(classes))]
    all_pixels = [sum(row[k] for row in pixels) for k in range(len(classes))]
    whole_image = _shares(all_images, sum(sizes))
    whole_pixel = _shares(all_pixels, sum(all_pixels))
    effects = []
    for j, name in enumerate(part_names):
        labelled = sum(pixels[j])
        image_share = _shares(with_class[j], sizes[j])
        pixel_share = _shares(pixels[j], labelled)
        effects.append(
            PartEffect(
                name=name,
                images=sizes[j],
                labelled_pixels=labelled,
                class_images=tuple(with_class[j]),
                class_pixels=tuple(pixels[j]),
                image_share=image_share,
                pixel_share=pixel_share,
                js_divergence=js_divergence(pixel_share, whole_pixel)
                if labelled and sum(all_pixels)
                else None,
                max_image_share_gap=max(
                    (abs(a - b) for a, b in zip(image_share, whole_image, strict=True)),
                    default=0.0,
                ),
                missing=tuple(
                    c for k, c in enumerate(classes) if all_images[k] and not with_class[j][k]
                ),
            )
        )
    return SplitEffect(
        classes,
        sum(sizes),
        tuple(all_images),
        tuple(all_pixels),
        whole_image,
        whole_pixel,
        tuple(effects),
    )


def _shares(counts: Sequence[int], total: int) -> tuple[float, ...]:
    return tuple(n / total if total else 0.0 for n in counts)  # int / int: rounded once


# ---------------------------------------------------------------------------- the call


def split_images(
    images: Sequence[ImageCounts],
    stats: ClassStats,
    parts: Parts,
    *,
    seed: int = 0,
    groups: Grouping | Mapping[str, str] | None = None,
) -> Split:
    """Split ``images`` into ``parts``, stratified on class presence, groups kept whole.

    ``stats`` (``class_stats`` of the images' totals) says which ids are classes: void and
    ignored ids take no part. ``groups`` is a ``Grouping`` (pattern or table) or maps each
    image name to its group (every image must have one); without it each image is its own
    group. The result holds the parts
    (images sorted), the effect beside a random split's with the same seed and groups,
    the groups larger than their part's share and the warnings.
    """
    if not images:
        raise SplitError("no images to split")
    _check_images(images, stats)
    names = [one.image for one in images]
    grouping: dict[str, str | int] = {"by": "image"}
    group_warnings: list[str] = []
    if isinstance(groups, Grouping):
        grouping = groups.describe()
        groups, group_warnings = groups.resolve(names)
    elif groups is not None:
        grouping = {"by": "mapping"}
        missing = [n for n in names if n not in groups]
        if missing:
            raise SplitError(f"{missing[0]}: no group given for it")
    classes = held_classes(images, stats)
    count = len(parts.names)
    if count * len(classes) > MAX_EFFECT_ROWS:
        raise SplitError(
            f"{count} parts x {len(classes)} classes held = {count * len(classes):,} rows of "
            f"effect, more than mfb shows ({MAX_EFFECT_ROWS:,}); ask for fewer parts"
        )
    units = _units(images, {c: k for k, c in enumerate(classes)}, groups, seed)
    if len(units) < count:
        what = "group" if groups is not None else "image"
        raise SplitError(
            f"{_many(len(units), what)} cannot fill {count} parts; ask for fewer parts"
            + (" or give finer groups" if groups is not None else "")
        )
    stratified = _stratify(units, parts.weights, len(classes), seed)
    moved = _fill(units, stratified, count)
    moved += _cover(units, stratified, parts.weights, len(classes))
    baseline = _random(units, parts.weights)
    _fill(units, baseline, count)
    image_part = [0] * len(images)
    random_part = [0] * len(images)
    for u, unit in enumerate(units):
        for i in unit.images:
            image_part[i] = stratified[u]
            random_part[i] = baseline[u]
    effect = split_effect(images, stats, parts.names, image_part)
    random = split_effect(images, stats, parts.names, random_part)
    total = len(images)
    split_parts = []
    oversized = []
    for j, name in enumerate(parts.names):
        target = float(parts.share(j) * total)
        held = [u for u, p in zip(units, stratified, strict=True) if p == j]
        split_parts.append(
            SplitPart(
                name=name,
                share=float(parts.share(j)),
                target_images=target,
                images=tuple(sorted(names[i] for u in held for i in u.images)),
                groups=tuple(sorted(u.key for u in held)) if groups is not None else (),
            )
        )
        if groups is not None:
            oversized += [
                OversizedGroup(u.key, u.size, name, target)
                for u in held
                if u.size > parts.share(j) * total
            ]
    warnings = [*scan_warnings_of(stats), *group_warnings]
    warnings += [
        f"group {g.group} holds {g.images} images, more than part {g.part}'s share of "
        f"{g.target_images:g}: that part is off its size; use finer groups or other shares"
        for g in oversized
    ]
    units_with = dict.fromkeys(classes, 0)
    for unit in units:
        for k in unit.classes:
            units_with[classes[k]] += 1
    for part in effect.parts:
        if part.missing:
            warnings.append(
                _missing_text(part, effect, units_with, parts.folds, groups is not None)
            )
    part_of = {names[i]: parts.names[image_part[i]] for i in range(len(images))}
    group_of = {n: (groups[n] if groups is not None else n) for n in names}
    return Split(
        folds=parts.folds,
        seed=seed,
        grouped=groups is not None,
        parts=tuple(split_parts),
        part_of=dict(sorted(part_of.items())),
        group_of=dict(sorted(group_of.items())),
        effect=effect,
        random=random,
        oversized=tuple(oversized),
        moved=moved,
        grouping={**grouping, "groups": len(units)} if groups is not None else grouping,
        warnings=tuple(warnings),
    )


def _check_images(images: Sequence[ImageCounts], stats: ClassStats) -> None:
    """Each image once, as ImageCounts holds it, with no label ``stats`` has no place for
    (stats of other images would silently drop it from the split and its effect)."""
    check = LabelCheck(stats.num_classes, frozenset(stats.ignore))
    seen: set[str] = set()
    for one in images:
        if one.image in seen:
            raise SplitError(
                f"{one.image}: listed twice (a per-image file given twice?); an image can be "
                "in one part only"
            )
        seen.add(one.image)
        if (
            len(one.ids) != len(one.pixels)
            or any(b <= a for a, b in itertools.pairwise(one.ids))
            or any(n <= 0 for n in one.pixels)
        ):
            raise SplitError(
                f"{one.image}: ids must be sorted and distinct, pixels > 0, one per id"
            )
        if one.ids and (one.ids[0] < 0 or one.ids[-1] >= stats.num_classes):  # ids sorted
            problem = check.problem(one.ids)
            if problem is not None:
                raise LabelRangeError(f"{one.image}: ", *problem)


def _missing_text(
    part: PartEffect, effect: SplitEffect, units_with: Mapping[int, int], folds: bool, grouped: bool
) -> str:
    where = f"{part.name} (a validation part)" if folds else f"part {part.name}"
    index = {c: k for k, c in enumerate(effect.classes)}
    unit = "group" if grouped else "image"
    held = "; ".join(
        f"{c}: {_many(effect.class_images[index[c]], 'image')}"
        + (f" in {_many(units_with[c], 'group')}" if grouped else "")
        for c in part.missing[:MAX_SHOWN]
    ) + ("; ..." if len(part.missing) > MAX_SHOWN else "")
    return (
        f"{where} holds no image of classes {id_list(part.missing)} ({held}): no {unit} holding "
        f"them could move there without its own part losing a class"
    )


def _many(count: int, noun: str) -> str:
    """'1 image', '2 images'."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
