"""Which class ids a label mapping defines, so the vector has one entry per class of the set.

A colour table or a remap that lists a dataset's classes fixes the model's output channels:
Cityscapes' colours give trainIds 0-18 (and 255), CamVid's 32 colours ids 0-31. A subset in
which a class never occurs must still give that class its place (weight 0), so the set, not
the data, sets the default vector length. A generic shift such as ``reduce-zero-label``
(0 -> 255, k -> k-1) defines no set: it knows nothing of how many classes a dataset has
(ADE20K 150, COCO-Stuff 171), and its 255 ids would make every vector 254 long.

Statistics files record the set under ``label_mapping.class_set``, so ``--from`` gives the
same vector as a new scan; files written before it existed simply have no set.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from ...class_set import ClassSet
from ...errors import Param, spelled

if TYPE_CHECKING:
    from ..options import ReadOptions
    from .lookup import LookupTable

#: Built-in colour maps whose table holds more colours than classes: the VOC palette maps
#: all 256 colours to indices, but the dataset's classes are 0-20.
_BUILTIN_COLORMAP_CLASSES: dict[str, tuple[int, ...]] = {"voc": tuple(range(21))}

#: Values built-in tables give pixels without a class (not part of the vector unless
#: --num-classes says so): Cityscapes' and VOC's 255.
_BUILTIN_NOT_CLASSES: dict[str, tuple[int, ...]] = {
    "cityscapes": (255,),
    "voc": (255,),
    "cityscapes-trainid": (255,),
}

#: Built-in remaps that shift ids whatever the dataset, and so define no class set.
GENERIC_REMAPS = frozenset({"reduce-zero-label"})

_KEY = "class_set"


def class_set_of(read: ReadOptions) -> ClassSet | None:
    """The class set of the colour map and remap in force, or None when they define none.

    A remap after a colour map maps the colour map's set; a generic remap alone has none.
    """
    found: ClassSet | None = None
    colormap, remap = read.colormap, read.remap
    if colormap is None and remap is None and read.dataset is not None:
        return read.dataset.class_set
    if colormap is not None:
        found = _table_set(colormap, spelled(Param("colormap", colormap.name)))
        if colormap.builtin and colormap.name in _BUILTIN_COLORMAP_CLASSES:
            found = replace(found, ids=_BUILTIN_COLORMAP_CLASSES[colormap.name])
    if remap is None:
        return found
    if found is None:
        if remap.builtin and remap.name in GENERIC_REMAPS:
            return None
        return _table_set(remap, spelled(Param("remap", remap.name)))

    def mapped(ids: tuple[int, ...]) -> tuple[int, ...]:
        new, known = remap.lookup(np.asarray(ids, dtype=np.int64))
        return tuple(sorted(set(new[known].tolist())))

    not_classes = mapped(found.not_classes)
    if remap.builtin:
        not_classes = tuple(sorted({*not_classes, *_BUILTIN_NOT_CLASSES.get(remap.name, ())}))
    ids = tuple(i for i in mapped(found.ids) if i not in not_classes)
    return ClassSet(ids, spelled(found.source, " ", Param("remap", remap.name)), not_classes)


def _table_set(table: LookupTable, source: str) -> ClassSet:
    """Every id a table gives, less the built-ins' values for pixels without a class."""
    not_classes = _BUILTIN_NOT_CLASSES.get(table.name, ()) if table.builtin else ()
    ids = tuple(sorted(set(table.values.tolist()) - set(not_classes)))
    return ClassSet(ids, source, not_classes)


def recorded_mapping(read: ReadOptions) -> dict[str, Any]:
    """``read.label_mapping()`` and the class set it defines, as statistics files keep it."""
    mapping = read.label_mapping()
    found = class_set_of(read)
    if found is not None:
        mapping[_KEY] = {
            "ids": list(found.ids),
            "not_classes": list(found.not_classes),
            "source": found.source,
        }
    return mapping


def class_set_in(mapping: dict[str, Any]) -> ClassSet | None:
    """The class set a recorded label mapping holds (None for files that predate it)."""
    value = mapping.get(_KEY)
    if not isinstance(value, dict):
        return None
    ids, source = value.get("ids"), value.get("source")
    not_classes = value.get("not_classes", [])
    if not (ids and _int_list(ids) and _int_list(not_classes)):
        return None
    return ClassSet(
        tuple(sorted(set(ids))),
        str(source or "the statistics file's label mapping"),
        tuple(sorted(set(not_classes))),
    )


def _int_list(values: Any) -> bool:
    return isinstance(values, list) and all(
        isinstance(i, int) and not isinstance(i, bool) for i in values
    )


def same_mapping(first: dict[str, Any], second: dict[str, Any]) -> bool:
    """Whether two recorded label mappings give ids the same meaning.

    The class set follows from the tables, and files written before ``palette_index``
    recorded ``by_color`` (its opposite): both are compared as the tables they describe.
    """
    return _comparable(first) == _comparable(second)


def _comparable(mapping: dict[str, Any]) -> dict[str, Any]:
    result = {k: v for k, v in mapping.items() if k != _KEY}
    if "by_color" in result:
        result["palette_index"] = not result.pop("by_color")
    return result
