"""The mechanical half of issue 12's layer move: whole modules into layer folders.

Moves every flat module of ``mfb_cli/`` into ``read/``, ``count/``, ``weigh/``, ``show/``
or ``cli/`` with ``git mv`` (history follows), then rewrites every import of them across
``mfb_cli/``, ``tests/``, ``scripts/``, ``benchmarks/`` and ``pyproject.toml``:

* relative imports inside the package (``from .decode import X`` in what is now
  ``count/counting.py`` becomes ``from ..read.decode import X``), lazy ones included;
* absolute imports (``from mfb_cli.counting import X``, ``from mfb_cli import counting``)
  and dotted strings (``monkeypatch.setattr("mfb_cli.decode.fast_modules", ...)``);
* ``from . import __version__`` becomes an import from the new ``_version.py``;
* the package ``__init__`` becomes lazy (PEP 562 ``__getattr__``), same public names;
* ``cli/__init__.py`` re-exports ``cli`` and ``main`` (``mfb = "mfb_cli.cli:main"`` holds).

It splits no module and renames nothing inside one: that is the manual half, listed in
/work/plan-layers.md. Run it through ``scripts/move_layers.sh`` (which also sorts the
imports with ruff and runs the gates), on a clean tree:

    scripts/move_layers.sh            # move, rewrite, ruff --fix, gates
    python scripts/move_layers.py --dry-run   # print the moves only
"""

from __future__ import annotations

import argparse
import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "mfb_cli"

#: Old flat module -> new dotted place below mfb_cli (whole modules only).
MOVES: dict[str, str] = {
    "sources": "read.sources",
    "archives": "read.archives",
    "names": "read.names",
    "lookup": "read.lookup",
    "colormaps": "read.colormaps",
    "remap": "read.remap",
    "tables": "read.tables",
    "textfiles": "read.textfiles",
    "classsets": "read.class_sets",
    "decode": "read.decode",
    "counting": "count.one_file",
    "stats": "count.stats",
    "check": "count.check",
    "classes": "weigh.classes",
    "weighting": "weigh.schemes",
    "formats": "show.formats",
    "histogram": "show.distribution",
    "report": "show.distribution_table",
    "check_table": "show.check_table",
    "plot": "show.plot",
    "output": "show.output",
    "options": "cli.options",
    "runs": "cli.scanning",
    "cli": "cli.commands",
}

LAYER_DOCS = {
    "read": "Where label files come from and how one becomes label ids.",
    "count": "ClassCounts, the counting kernels, the scan pipeline, statistics files, checks.",
    "weigh": "The class view (void / ignore) and the weighting schemes, from counts alone.",
    "show": "Records, formats and snippets, tables, plots and output writing.",
    "cli": "The mfb command: Click commands and shared options over the library.",
}

#: Files never rewritten: they already speak of the new layout.
SKIP = {"scripts/move_layers.py", "tests/test_layers.py"}


def new_name(old: str) -> str | None:
    """``mfb_cli.decode`` -> ``mfb_cli.read.decode``; None when the name is not moved."""
    parts = old.split(".")
    if parts[0] != PACKAGE or len(parts) < 2 or parts[1] not in MOVES:
        return None
    return ".".join([PACKAGE, MOVES[parts[1]], *parts[2:]])


def module_of(path: Path) -> tuple[str, bool]:
    """Dotted name of a module file below ROOT, and whether it is a package __init__."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    return ".".join(parts[:-1] if is_package else parts), is_package


def _relative(target: str, importer: str, is_package: bool) -> str:
    """``target`` spelled relative to ``importer`` ('..read.decode')."""
    here = importer.split(".") if is_package else importer.split(".")[:-1]
    there = target.split(".")
    common = 0
    while common < min(len(here), len(there)) and here[common] == there[common]:
        common += 1
    dots = "." * (len(here) - common + 1)
    return dots + ".".join(there[common:])


def _absolute(node: ast.ImportFrom, importer: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = importer.split(".") if is_package else importer.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def _names(aliases: list[ast.alias]) -> str:
    return ", ".join(a.name if a.asname is None else f"{a.name} as {a.asname}" for a in aliases)


def rewrite_import(
    node: ast.ImportFrom | ast.Import, importer: str, is_package: bool, inside: bool
) -> list[str] | None:
    """The statement(s) replacing ``node`` after the move, or None when it is unchanged.

    ``importer`` is the module's NEW dotted name; ``inside`` says whether it lives in
    mfb_cli (relative imports there stay relative, spelled from the new place).
    """
    if isinstance(node, ast.Import):
        changed = False
        out = []
        for alias in node.names:
            moved = new_name(alias.name)
            changed |= moved is not None
            name = moved or alias.name
            out.append(name if alias.asname is None else f"{name} as {alias.asname}")
        return [f"import {', '.join(out)}"] if changed else None
    if node.level > 1 or (node.level and not inside):
        return None  # written after the move, or relative to tests/ or scripts/
    old_spelling = "." * node.level + (node.module or "")
    # Every old module sat directly in mfb_cli, so '.' meant mfb_cli.
    source = PACKAGE + (f".{node.module}" if node.module else "") if node.level else old_spelling
    if source != PACKAGE and not source.startswith(PACKAGE + "."):
        return None

    def spell(target: str) -> str:
        return _relative(target, importer, is_package) if inside and node.level else target

    def unless_same(target: str) -> list[str] | None:
        new = spell(target)
        return None if new == old_spelling else [f"from {new} import {_names(node.names)}"]

    if source == f"{PACKAGE}.cli":
        return unless_same(source)  # the cli package re-exports cli and main
    moved = new_name(source)
    if moved is not None:  # from mfb_cli.decode import X / from .decode import X
        return unless_same(moved)
    if source != PACKAGE:  # not moved (errors): only the relative spelling changes
        return unless_same(source)
    # from mfb_cli import counting, decode, __version__ / from . import tables
    groups: dict[str, list[ast.alias]] = {}
    for alias in node.names:
        if alias.name == "__version__" and inside:
            groups.setdefault(f"{PACKAGE}._version", []).append(alias)
        elif alias.name in MOVES and alias.name != "cli":
            package, _, leaf = f"{PACKAGE}.{MOVES[alias.name]}".rpartition(".")
            asname = alias.asname or (alias.name if leaf != alias.name else None)
            groups.setdefault(package, []).append(ast.alias(leaf, asname))
        else:
            groups.setdefault(PACKAGE, []).append(alias)
    if list(groups) == [PACKAGE] and spell(PACKAGE) == old_spelling:
        return None
    return [f"from {spell(home)} import {_names(aliases)}" for home, aliases in groups.items()]


_DOTTED = re.compile(rf"\b{PACKAGE}\.({'|'.join(sorted(MOVES, key=len, reverse=True))})\b")


def rewrite_strings(text: str) -> str:
    """Dotted names in strings and comments: 'mfb_cli.decode.fast_modules' and the like."""

    def replace(match: re.Match[str]) -> str:
        if match.group(1) == "cli":
            return match.group(0)  # mfb_cli.cli stays importable (a package now)
        return f"{PACKAGE}.{MOVES[match.group(1)]}"

    return _DOTTED.sub(replace, text)


def rewrite_file(path: Path, importer: str, is_package: bool, inside: bool) -> bool:
    """Rewrite one Python file in place; whether it changed."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    edits: list[tuple[int, int, list[str]]] = []
    for node in ast.walk(ast.parse(text)):
        if not isinstance(node, ast.Import | ast.ImportFrom):
            continue
        statements = rewrite_import(node, importer, is_package, inside)
        if statements is None:
            continue
        indent = " " * node.col_offset
        end = node.end_lineno or node.lineno
        tail = lines[end - 1][node.end_col_offset or 0 :].rstrip("\n")  # a trailing comment
        replacement = [f"{indent}{statement}\n" for statement in statements]
        replacement[-1] = replacement[-1][:-1] + tail + "\n"
        edits.append((node.lineno, end, replacement))
    for start, end, replacement in sorted(edits, reverse=True):
        lines[start - 1 : end] = replacement
    result = rewrite_strings("".join(lines))
    if result != text:
        path.write_text(result, encoding="utf-8")
        return True
    return False


def lazy_init(old_init: str) -> tuple[str, str]:
    """The package __init__ with every re-export made lazy (PEP 562), same names."""
    tree = ast.parse(old_init)
    doc = ast.get_docstring(tree) or ""
    exports: dict[str, str] = {}
    version = '"0.0.0"'
    names: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
            home = new_name(f"{PACKAGE}.{node.module}") or f"{PACKAGE}.{node.module}"
            for alias in node.names:
                exports[alias.asname or alias.name] = home
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id == "__version__"
        ):
            version = ast.unparse(node.value)
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id == "__all__"
        ):
            names = list(ast.literal_eval(node.value))
    eager = {name: home for name, home in exports.items() if home == f"{PACKAGE}.errors"}
    lazy = {name: home for name, home in exports.items() if name not in eager}
    by_home: dict[str, list[str]] = {}
    for name, home in lazy.items():
        by_home.setdefault(home, []).append(name)
    names = names or sorted([*exports, "__version__"])
    lines = [
        f'"""{doc}\n"""' if doc else "",
        "",
        "from __future__ import annotations",
        "",
        "import importlib",
        "from typing import TYPE_CHECKING, Any",
        "",
        "from ._version import __version__",
        f"from .errors import {', '.join(sorted(eager))}",
        "",
        "if TYPE_CHECKING:  # what mypy and editors see; nothing is imported at run time",
        *[
            f"    from {_relative(home, PACKAGE, True)} import {', '.join(sorted(ns))}"
            for home, ns in sorted(by_home.items())
        ],
        "",
        "#: Public name -> the module that defines it, imported on first use (PEP 562), so",
        "#: ``import mfb_cli`` (and ``mfb --help``) loads neither NumPy nor Pillow.",
        "_EXPORTS: dict[str, str] = {",
        *[f'    "{name}": "{home}",' for name, home in sorted(lazy.items())],
        "}",
        "",
        "__all__ = [",
        *[f'    "{name}",' for name in names],
        "]",
        "",
        "",
        "def __getattr__(name: str) -> Any:",
        "    try:",
        "        home = _EXPORTS[name]",
        "    except KeyError:",
        '        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None',
        "    value = getattr(importlib.import_module(home), name)",
        "    globals()[name] = value  # later look-ups skip __getattr__",
        "    return value",
        "",
        "",
        "def __dir__() -> list[str]:",
        "    return sorted({*globals(), *__all__})",
        "",
    ]
    return "\n".join(lines), version


def git(*args: str) -> None:
    subprocess.run(["git", *args], cwd=ROOT, check=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--dry-run", action="store_true", help="print the moves only")
    options = parser.parse_args(argv)
    package = ROOT / PACKAGE
    if options.dry_run:
        for old, new in MOVES.items():
            print(f"{PACKAGE}/{old}.py -> {PACKAGE}/{new.replace('.', '/')}.py")
        return 0
    missing = [old for old in MOVES if not (package / f"{old}.py").exists()]
    if missing or (package / "read").exists():
        print(f"not a flat mfb_cli (missing {missing} or read/ exists)", file=sys.stderr)
        return 1

    old_init = (package / "__init__.py").read_text(encoding="utf-8")
    for layer in LAYER_DOCS:
        (package / layer).mkdir()
    for old, new in MOVES.items():
        git("mv", f"{PACKAGE}/{old}.py", f"{PACKAGE}/{new.replace('.', '/')}.py")
    for layer, doc in LAYER_DOCS.items():
        init = package / layer / "__init__.py"
        body = f'"""{doc}"""\n'
        if layer == "cli":
            body += '\nfrom .commands import cli, main\n\n__all__ = ["cli", "main"]\n'
        init.write_text(body, encoding="utf-8")
        git("add", str(init.relative_to(ROOT)))

    # Every file: relative imports are judged from the module's new place.
    changed = []
    for path in sorted(package.rglob("*.py")):
        if path.name == "__init__.py":
            continue  # written above for the new layout
        name, is_package = module_of(path)
        if rewrite_file(path, name, is_package, inside=True):
            changed.append(path)
    for folder in ("tests", "scripts", "benchmarks"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path.relative_to(ROOT).as_posix() in SKIP:
                continue
            name, is_package = module_of(path)
            if rewrite_file(path, name, is_package, inside=False):
                changed.append(path)

    init_text, version = lazy_init(old_init)
    (package / "__init__.py").write_text(init_text, encoding="utf-8")
    (package / "_version.py").write_text(
        f'"""The version of mfb, in one place (pyproject.toml reads the same)."""\n\n'
        f"__version__ = {version}\n",
        encoding="utf-8",
    )
    git("add", f"{PACKAGE}/_version.py")

    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        if doc.exists():  # 'mfb_cli.stats.load_stats' in prose
            doc.write_text(rewrite_strings(doc.read_text(encoding="utf-8")), encoding="utf-8")
    pyproject = ROOT / "pyproject.toml"
    text = rewrite_strings(pyproject.read_text(encoding="utf-8"))
    text = text.replace(
        'packages = ["mfb_cli"]',
        'packages = ["mfb_cli", ' + ", ".join(f'"mfb_cli.{layer}"' for layer in LAYER_DOCS) + "]",
    )
    pyproject.write_text(text, encoding="utf-8")
    print(f"moved {len(MOVES)} modules, rewrote {len(changed)} files", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
