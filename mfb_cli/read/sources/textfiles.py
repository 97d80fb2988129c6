"""Read the text files mfb is given (tables, names, lists, statistics) within fixed limits.

Every text input goes through ``read_text``: its size is capped, so an endless stream
(``/dev/zero``, a FIFO) or a huge file ends in one line instead of filling memory.
``parse_structured`` parses JSON or YAML within a nesting depth and, for YAML, a node count
that counts every alias as the nodes it stands for ("billion laughs" stays small).
"""

from __future__ import annotations

import json
import operator
import unicodedata
from collections.abc import Iterator
from itertools import chain, compress, tee
from pathlib import Path
from typing import Any, BinaryIO

from ...errors import MfbError

MIB = 1 << 20
#: Colour tables, remaps, class names and --list files.
MAX_TABLE_BYTES = 64 * MIB
#: Statistics files (--from, merge): ~4 million co-occurrence rows (2000 ids all meeting).
MAX_STATS_BYTES = 256 * MIB
#: Deepest nesting of lists and objects in a JSON or YAML file.
MAX_DEPTH = 64
#: Most YAML nodes, with each alias counted as the nodes of what it refers to.
MAX_YAML_NODES = 5_000_000
#: The range every id and count is computed in (numpy int64).
INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1


def read_text(path: Path | str, what: str, limit: int | None = None) -> str:
    """The UTF-8 text of ``path`` (a BOM is dropped), or a one-line MfbError.

    At most ``limit`` bytes (default MAX_TABLE_BYTES) are read, whatever the file is
    (regular file, FIFO, device, or a URL: read/remote.py).
    """
    from ..base.urls import is_url, shown_path

    limit = MAX_TABLE_BYTES if limit is None else limit
    if isinstance(path, str) and is_url(path):
        from .remote import read_url

        return _decode(read_url(path, what, limit + 1), shown_path(path), what, limit)
    path = Path(path)
    try:
        with path.open("rb") as stream:
            data = _read_until_binary(stream, path, what, limit)
    except FileNotFoundError:
        raise MfbError(f"{path}: no such {what} file") from None
    except IsADirectoryError:
        raise MfbError(f"{path}: a folder, not a {what} file") from None
    except OSError as error:
        raise MfbError(f"{path}: cannot read the {what} file ({error.strerror})") from None
    return _decode(data, path, what, limit)


#: Bytes read at a time, each looked at for a NUL byte before the next is read.
_CHUNK = 1 << 20


def _read_until_binary(stream: BinaryIO, path: Path | str, what: str, limit: int) -> bytes:
    """Up to ``limit + 1`` bytes of ``stream``, stopping at the first NUL byte, which no text
    mfb reads may hold: ``/dev/zero`` or a mask given as a table fails after one chunk, not
    after reading the whole limit (256 MiB for statistics files)."""
    data = bytearray()
    while len(data) <= limit:
        chunk = stream.read(min(_CHUNK, limit + 1 - len(data)))
        if not chunk:
            break
        nul = chunk.find(b"\0")
        if nul >= 0:
            at = len(data) + nul
            _decode(bytes(data) + chunk[:nul], path, what, limit)  # an earlier non-UTF-8 byte
            raise MfbError(f"{path}: the {what} file is not text (a NUL byte at byte {at})")
        data += chunk
    return bytes(data)


def _decode(data: bytes, path: Path | str, what: str, limit: int) -> str:
    if len(data) > limit:
        raise MfbError(
            f"{path}: larger than the {_size(limit)} a {what} file may be; is it the right file?"
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise MfbError(f"{path}: the {what} file is not UTF-8 text (byte {error.start})") from None


def read_stdin(what: str) -> str:
    """Standard input as UTF-8 text, within MAX_TABLE_BYTES (a --list of '-')."""
    import sys

    limit, name = MAX_TABLE_BYTES, Path("(standard input)")
    return _decode(_read_until_binary(sys.stdin.buffer, name, what, limit), name, what, limit)


def _size(limit: int) -> str:
    return f"{limit // MIB} MiB" if limit % MIB == 0 else f"{limit:,} bytes"


def parse_structured(text: str, suffix: str) -> Any:
    """JSON, or YAML for .yaml/.yml, within the depth and node limits.

    A syntax error or an exceeded limit is a ValueError with a one-line message.
    """
    if suffix == ".json":
        try:
            data = json.loads(text, object_pairs_hook=_unique_keys)
        except json.JSONDecodeError as error:
            raise ValueError(f"not valid JSON ({error.msg}, line {error.lineno})") from None
        except RecursionError:
            raise ValueError(f"nested deeper than {MAX_DEPTH} levels") from None
        except ValueError as error:  # e.g. an integer of more than 4300 digits
            raise ValueError(f"not valid JSON ({one_line(str(error))})") from None
        check_depth(data)
        return data
    return _load_yaml(text)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object, refusing a key given twice (json keeps the last one, silently)."""
    data: dict[str, Any] = {}
    for key, value in pairs:
        if key in data:
            raise ValueError(f"key {short(key)} appears twice in one object")
        data[key] = value
    return data


def check_depth(data: Any) -> None:
    """Refuse data nested deeper than MAX_DEPTH, as json builds it (dict and list).

    Walked a level at a time, without recursion, by C-level iteration (map, compress,
    isdisjoint): a flat list of millions of numbers (a statistics file's counts) costs one
    pass that takes no Python step per number.
    """
    lists: list[list[Any]] = [[data]]
    dicts: list[dict[Any, Any]] = []
    depth = 0
    while not _CONTAINERS.isdisjoint(map(type, _children(lists, dicts))):  # stops at the first
        depth += 1
        if depth > MAX_DEPTH:
            raise ValueError(f"nested deeper than {MAX_DEPTH} levels")
        values, kinds = tee(_children(lists, dicts))
        found = list(compress(values, map(_CONTAINERS.__contains__, map(type, kinds))))
        is_list = list(map(_LIST.__contains__, map(type, found)))
        lists = list(compress(found, is_list))
        dicts = list(compress(found, map(operator.not_, is_list)))


def _children(lists: list[list[Any]], dicts: list[dict[Any, Any]]) -> Iterator[Any]:
    return chain(chain.from_iterable(lists), chain.from_iterable(map(dict.values, dicts)))


#: What json builds for arrays and objects (never a subclass).
_CONTAINERS = frozenset({list, dict})
_LIST = frozenset({list})


def check_name(name: str, what: str) -> str:
    """A class name as one line of printable text: tables, snippets and CSV print it as is.

    A newline would split a table row in two; an escape sequence would drive the terminal.
    """
    bad = next((ch for ch in name if unicodedata.category(ch) in ("Cc", "Zl", "Zp")), None)
    if bad is not None:
        raise ValueError(
            f"{what}: name {short(name)} holds the control character {bad!r}; "
            "a class name is one line of printable text"
        )
    return name


def one_line(text: str) -> str:
    """Collapse a multi-line message (YAML's, say) into one line."""
    return " ".join(text.split())


def _load_yaml(text: str) -> Any:
    import yaml  # only YAML files pay for the import

    class BoundedLoader(yaml.SafeLoader):
        """SafeLoader that counts nodes (aliases as what they expand to) and depth."""

        nodes = 0
        depth = 0
        sizes: dict[str, int]
        open_anchors: set[str]

        def compose_node(self, parent: Any, index: Any) -> Any:
            event = self.peek_event()  # type: ignore[no-untyped-call]
            if isinstance(event, yaml.AliasEvent):
                if event.anchor in self.open_anchors:
                    raise ValueError(f"alias *{event.anchor} refers to itself")
                self._count(self.sizes.get(str(event.anchor), 1))
                return super().compose_node(parent, index)
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise ValueError(f"nested deeper than {MAX_DEPTH} levels")
            before = self.nodes
            self._count(1)
            anchor = getattr(event, "anchor", None)
            if anchor is not None:
                self.open_anchors.add(anchor)
            node = super().compose_node(parent, index)
            if anchor is not None:
                self.open_anchors.discard(anchor)
                self.sizes[anchor] = self.nodes - before
            self.depth -= 1
            return node

        def construct_yaml_int(self, node: Any) -> Any:
            # YAML 1.1 reads 010 as 8 (octal) and 1:30 as 90 (base 60), where a person,
            # and YAML 1.2, read 10 and text: such an id or channel is refused, not guessed.
            text = str(node.value).replace("_", "").lstrip("+-")
            if ":" in text or (len(text) > 1 and text[0] == "0" and text[1].isdigit()):
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"{node.value} is octal or base 60 in YAML 1.1; write it in decimal "
                    "(or quote it)",
                    node.start_mark,
                )
            return super().construct_yaml_int(node)

        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            # PyYAML keeps the last of two equal keys, silently ('1: 2' then '1: 3' maps
            # 1 to 3); keys a merge ('<<') brings in may be overridden, as YAML allows.
            if isinstance(node, yaml.MappingNode):
                seen: set[Any] = set()
                for key_node, _ in node.value:
                    if key_node.tag == "tag:yaml.org,2002:merge":
                        continue
                    key = self.construct_object(key_node, deep=True)
                    if isinstance(key, (str, int, float, bool)) or key is None:
                        if key in seen:
                            raise yaml.constructor.ConstructorError(
                                None, None, f"key {short(key)} appears twice", key_node.start_mark
                            )
                        seen.add(key)
            return super().construct_mapping(node, deep)

        def _count(self, nodes: int) -> None:
            self.nodes += nodes
            if self.nodes > MAX_YAML_NODES:
                raise ValueError(
                    f"more than {MAX_YAML_NODES:,} YAML nodes once aliases are expanded"
                )

    BoundedLoader.add_constructor("tag:yaml.org,2002:int", BoundedLoader.construct_yaml_int)
    try:
        loader = BoundedLoader(text)  # the reader refuses control characters right here
    except yaml.YAMLError as error:
        raise ValueError(f"not valid YAML ({one_line(str(error))})") from None
    loader.sizes, loader.open_anchors = {}, set()
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f", line {mark.line + 1}" if mark is not None else ""
        raise ValueError(f"not valid YAML ({one_line(str(error.problem))}{where})") from None
    except yaml.YAMLError as error:
        raise ValueError(f"not valid YAML ({one_line(str(error))})") from None
    except RecursionError:
        raise ValueError(f"nested deeper than {MAX_DEPTH} levels") from None
    finally:
        loader.dispose()


def as_int(value: Any, what: str, low: int = INT64_MIN, high: int = INT64_MAX) -> int:
    """An integer from a table entry (int, integral float, or decimal text) within a range.

    Booleans, fractions (1.7 is not read as 1), floats past 2**53 (no longer exact), NaN and
    values outside ``low..high`` are a ValueError naming ``what``.
    """
    number: int
    if isinstance(value, bool):
        raise ValueError(f"{what} {value!r} is not an integer")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer() and abs(value) <= 2**53:
        number = int(value)  # 2.0 written by a tool that has only floats; exact up to 2**53
    elif isinstance(value, str) and _is_decimal(value.strip()):
        number = int(value.strip())
    else:
        raise ValueError(f"{what} {short(value)} is not an integer")
    if not low <= number <= high:
        raise ValueError(f"{what} {short(number)} is outside {low}..{high}")
    return number


def _is_decimal(text: str) -> bool:
    digits = text[1:] if text[:1] in "+-" else text
    return 0 < len(digits) <= 40 and digits.isascii() and digits.isdigit()


def short(value: Any, limit: int = 40) -> str:
    """A repr cut to ``limit`` characters, to quote a value from a file in one line."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value.bit_length() > 128:  # str() of a huge int is slow, or refused
            return f"(a {value.bit_length()}-bit number)"
        return str(value)
    text = one_line(repr(value))
    return text if len(text) <= limit else text[: limit - 3] + "..."
