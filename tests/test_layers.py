"""The folders are the architecture: imports only go down the layers (issue 12, STYLE.md).

    errors.py, _version.py, _types.py   import nothing from mfb_cli (_types: Int64Array)
    read/     where files come from and how one becomes label ids
    count/    ClassCounts, the kernels, the one scan pipeline, statistics files, checks
    weigh/    class view (void/ignore) and the schemes: from counts alone, never from read/
    show/     records, formats, snippets, tables, plots, output writing
    cli/      Click commands and shared options; imported by nothing but __main__

Every import is read from the source with ``ast``, the ones inside functions included
(a lazy import is still a dependency). The layout tests are skipped until ``mfb_cli/read``
exists, so this file can land before the move; they run from the move on.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "mfb_cli"

#: Rank of each top-level part: a module may import its own layer and lower ranks only.
RANKS = {
    "errors": 0,
    "_version": 0,
    "_types": 0,
    "class_set": 0,  # the class-set value read/ builds and weigh/ uses
    "id_list": 0,  # class ids as text for messages, used by every layer
    "read": 1,
    "count": 2,
    "weigh": 3,
    "compute": 4,  # the one-call library entry: read, count and weigh in one call
    "show": 4,
    "cli": 5,
}
#: Imports that skip a rank but are still forbidden: weights come from counts alone.
FORBIDDEN = {("weigh", "read")}
#: Heavy or optional libraries: imported inside the functions that use them, never at
#: module level, so start-up stays small (STYLE.md).
HEAVY = (
    "rich",
    "yaml",
    "matplotlib",
    "tqdm",
    "cv2",
    "imagecodecs",
    "fsspec",
    "pyarrow",
    "dask",
    "cc3d",
    "scipy",
)
#: Imported only by the commands that read masks, never by ``mfb --help``.
ARRAYS = ("numpy", "PIL")

laid_out = pytest.mark.skipif(
    not (PACKAGE / "read").is_dir(),
    reason="mfb_cli is still flat: the layer move of issue 12 has not happened yet",
)


@dataclass(frozen=True)
class Import:
    """One import statement's target, resolved to an absolute name."""

    importer: str
    target: str  # a module, or a module's attribute (``mfb_cli.counting._ordered_map``)
    line: int
    top_level: bool  # executed when the importer is imported (not inside a function)
    type_only: bool  # under ``if TYPE_CHECKING:``

    def __str__(self) -> str:
        where = "module level" if self.top_level else "inside a function"
        return f"{self.importer} -> {self.target} (line {self.line}, {where})"


def module_name(path: Path, root: Path = PACKAGE) -> str:
    parts = [root.name, *path.relative_to(root).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules(root: Path = PACKAGE) -> dict[str, Path]:
    return {module_name(path, root): path for path in sorted(root.rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(source: str, name: str, is_package: bool, known: set[str]) -> list[Import]:
    """Every import in ``source`` (module ``name``), relative ones made absolute.

    ``from .x import y`` becomes ``pkg.x.y`` when ``pkg.x.y`` is a module in ``known``,
    else ``pkg.x.y`` as an attribute of ``pkg.x``; its module is ``owner(target)``.
    """
    package = name if is_package else name.rpartition(".")[0]
    found: list[Import] = []

    def visit(node: ast.AST, top_level: bool, type_only: bool) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.append(Import(name, alias.name, node.lineno, top_level, type_only))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            for alias in node.names:
                full = f"{module}.{alias.name}"
                found.append(Import(name, full, node.lineno, top_level, type_only))
        inner = top_level and not isinstance(
            node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
        )
        for child in ast.iter_child_nodes(node):
            guarded = type_only or (isinstance(node, ast.If) and _is_type_checking(node.test))
            visit(child, inner, guarded)

    visit(ast.parse(source), True, False)
    return found


def owner(target: str, known: set[str]) -> str:
    """The module an import target lives in: itself if a module, else its parent."""
    while target and target not in known:
        target = target.rpartition(".")[0]
    return target


def all_imports(root: Path = PACKAGE) -> list[Import]:
    found = modules(root)
    known = set(found)
    return [
        item
        for name, path in found.items()
        for item in imports_of(
            path.read_text(encoding="utf-8"), name, path.name == "__init__.py", known
        )
    ]


def part(module: str) -> str:
    """The top-level part of mfb_cli a module belongs to: 'read', 'errors', '__init__'..."""
    pieces = module.split(".")
    return "__init__" if len(pieces) == 1 else pieces[1]


def internal(root: Path = PACKAGE) -> Iterator[tuple[Import, str]]:
    """Imports of mfb_cli's own modules, each with the module it resolves to."""
    known = set(modules(root))
    for item in all_imports(root):
        if item.target.split(".")[0] == root.name:
            yield item, owner(item.target, known)


# ------------------------------------------------------------------ the extractor itself


def test_the_extractor_resolves_relative_and_lazy_imports() -> None:
    known = {"mfb_cli", "mfb_cli.count", "mfb_cli.count.pipeline", "mfb_cli.read.decode"}
    source = (
        "from typing import TYPE_CHECKING\n"
        "from . import pipeline\n"
        "from ..read.decode import ReadOptions\n"
        "if TYPE_CHECKING:\n"
        "    from ..weigh.classes import ClassStats\n"
        "def f():\n"
        "    import numpy as np\n"
        "    from .pipeline import _private\n"
    )
    found = imports_of(source, "mfb_cli.count.kernels", False, known)
    assert [(i.target, i.top_level, i.type_only) for i in found] == [
        ("typing.TYPE_CHECKING", True, False),
        ("mfb_cli.count.pipeline", True, False),
        ("mfb_cli.read.decode.ReadOptions", True, False),
        ("mfb_cli.weigh.classes.ClassStats", True, True),
        ("numpy", False, False),
        ("mfb_cli.count.pipeline._private", False, False),
    ]
    assert owner("mfb_cli.read.decode.ReadOptions", known) == "mfb_cli.read.decode"
    assert owner("mfb_cli.count.pipeline", known) == "mfb_cli.count.pipeline"
    # In a package's __init__, '.' is the package itself.
    (item,) = imports_of("from .options import X\n", "mfb_cli.cli", True, known)
    assert item.target == "mfb_cli.cli.options.X"
    assert part("mfb_cli.read.decode") == "read" and part("mfb_cli") == "__init__"


def test_heavy_libraries_are_imported_only_where_they_are_used() -> None:
    eager = [
        str(item)
        for item in all_imports()
        if item.top_level and not item.type_only and item.target.split(".")[0] in HEAVY
    ]
    assert eager == [], "import these inside the function that uses them:\n" + "\n".join(eager)


# ------------------------------------------------------------------ the layout


@laid_out
def test_every_module_belongs_to_a_layer() -> None:
    stray = [
        name
        for name in modules()
        if part(name) not in RANKS and part(name) not in ("__init__", "__main__")
    ]
    assert stray == [], f"put these in read/, count/, weigh/, show/ or cli/: {stray}"


@laid_out
def test_imports_only_go_down_the_layers() -> None:
    wrong = []
    for item, target in internal():
        source, destination = part(item.importer), part(target)
        if source in ("__init__", "__main__") or source == destination:
            continue
        if destination in ("__init__", "__main__"):
            wrong.append(f"{item}: the package root is for users, not for its own modules")
        elif RANKS[destination] > RANKS[source] or (source, destination) in FORBIDDEN:
            wrong.append(f"{item}: {source}/ must not import {destination}/")
    assert wrong == [], "\n".join(wrong)


@laid_out
def test_the_foundations_import_nothing_of_the_package() -> None:
    # errors.py is the one foundation the others may use (a value type raises its errors).
    wrong = [
        str(i)
        for i, target in internal()
        if RANKS.get(part(i.importer), 1) == 0 and part(target) != "errors"
    ]
    assert wrong == [], "\n".join(wrong)


@laid_out
def test_nothing_but_main_imports_the_cli() -> None:
    wrong = [
        str(item)
        for item, target in internal()
        if part(target) == "cli" and part(item.importer) not in ("cli", "__main__")
    ]
    assert wrong == [], "\n".join(wrong)


@laid_out
def test_the_package_init_imports_lazily() -> None:
    """``import mfb_cli`` loads _version and errors only; the rest on first attribute use."""
    eager = [
        str(item)
        for item, target in internal()
        if item.importer == "mfb_cli"
        and item.top_level
        and not item.type_only
        and RANKS.get(part(target)) != 0
    ]
    assert eager == [], "re-export these through __getattr__ (PEP 562):\n" + "\n".join(eager)
    assert not any(item.importer == "mfb_cli" and part(t) == "cli" for item, t in internal())


@laid_out
def test_subpackage_inits_import_nothing_at_module_level() -> None:
    """Importing ``mfb_cli.read.sources.find`` must not drag in every reader (NumPy, Pillow)."""
    inits = {
        module_name(path) for path in PACKAGE.glob("*/__init__.py") if path.parent.name != "cli"
    }
    eager = [
        str(item)
        for item in all_imports()
        if item.importer in inits and item.top_level and not item.type_only
        if item.target not in ("__future__.annotations",)
    ]
    assert eager == [], "\n".join(eager)


@laid_out
def test_no_private_name_crosses_a_module_boundary() -> None:
    wrong = [
        str(item)
        for item, target in internal()
        if target != item.importer
        and item.target != target
        and item.target.rpartition(".")[2].startswith("_")
        and item.target.rpartition(".")[2] != "__version__"
    ]
    assert wrong == [], "make these public in their module, or move the caller:\n" + "\n".join(
        wrong
    )


@laid_out
def test_module_level_imports_have_no_cycle() -> None:
    graph: dict[str, set[str]] = {}
    for item, target in internal():
        if item.top_level and not item.type_only and target != item.importer:
            graph.setdefault(item.importer, set()).add(target)
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = 2
        path.pop()
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            pytest.fail("import cycle: " + " -> ".join(cycle))


def _assigned_names(path: Path) -> set[str]:
    """Names bound at module level by ``x = ...``, ``x: T = ...`` or ``type x = ...``."""
    names: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif type(node).__name__ == "TypeAlias":
            names.add(node.name.id)  # type: ignore[attr-defined]
    return names


@laid_out
@pytest.mark.parametrize(
    ("name", "home"), [("Int64Array", "mfb_cli._types"), ("__version__", "mfb_cli._version")]
)
def test_shared_names_are_defined_once(name: str, home: str) -> None:
    defined = sorted(m for m, path in modules().items() if name in _assigned_names(path))
    assert len(defined) == 1, f"{name} is defined in {defined}; define it once and import it"
    assert defined == [home], f"{name} belongs in {home}, not {defined[0]}"


# ------------------------------------------------------------------ start-up

PROBE = """
import sys
sys.argv = ["mfb", *sys.argv[1:]]
from mfb_cli.cli import main
try:
    main()
except SystemExit:
    pass
print(sorted(m for m in {names!r} if m in sys.modules), file=sys.stderr)
"""


@laid_out
@pytest.mark.parametrize(
    "args",
    [("--help",), ("--version",), ("weights", "--help"), ("histogram", "--help")],
    ids=" ".join,
)
def test_help_and_version_import_neither_numpy_nor_pillow(args: tuple[str, ...]) -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(names=ARRAYS), *args],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip(), "the command printed nothing"
    assert result.stderr.strip().splitlines()[-1] == "[]", result.stderr


#: The rooms of read/ and their rank: a room imports (at run time, lazily or not) only
#: rooms of a lower rank. base/ is what every source shares; sources/ (where bytes come
#: from) and decode/ (bytes -> values) never know each other; labels/ (values -> class
#: ids) sits above both; options.py (ReadOptions) gathers them. Annotations are exempt.
READ_ROOMS = {"base": 0, "sources": 1, "decode": 1, "labels": 2, "options": 3}


def _room(module: str) -> str | None:
    pieces = module.split(".")
    return pieces[2] if len(pieces) > 2 and pieces[1] == "read" else None


@laid_out
def test_read_rooms_import_only_lower_rooms() -> None:
    wrong = []
    for item, target in internal():
        source, destination = _room(item.importer), _room(target)
        if source is None or destination is None or source == destination or item.type_only:
            continue
        assert source in READ_ROOMS and destination in READ_ROOMS, (item, "a new room of read/?")
        if READ_ROOMS[destination] >= READ_ROOMS[source]:
            wrong.append(f"{item}: read/{source} must not import read/{destination}")
    assert wrong == [], "\n".join(wrong)


@laid_out
def test_read_is_laid_out_in_rooms() -> None:
    loose = sorted(
        path.name
        for path in (PACKAGE / "read").glob("*.py")
        if path.stem not in ("__init__", "options")
    )
    assert loose == [], f"put these in read/base, sources, decode or labels: {loose}"
