"""Split the modules that do several jobs, by a table: issue 12, after scripts/move_layers.sh.

For each module in ``SPLITS`` the listed top-level definitions (with the comments above
them) move to the named module of the same layer package or another one; unlisted ones
stay. Each new module gets the old module's imports (ruff then drops the unused ones) and
imports what it uses from its former siblings; every ``from ... import`` of a moved name
across mfb_cli/, tests/, scripts/ and benchmarks/ is re-pointed, as is the lazy
``_EXPORTS`` table of ``mfb_cli/__init__.py``. ``RENAMES`` makes private helpers public
where another module now needs them. A module left without definitions is deleted.

    python scripts/split_modules.py            # then: ruff check --fix, format, gates
    python scripts/split_modules.py --dry-run  # print where each name goes

It does not make imports lazy, unify the two scan pipelines, translate error messages or
rename public names: those are the hand-made steps of the plan. ``import mfb_cli.x as m``
followed by ``m.name`` (tests that monkeypatch a module) is listed, not rewritten.
"""

from __future__ import annotations

import argparse
import ast
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "mfb_cli"


def _all(target: str, *names: str) -> dict[str, str]:
    return dict.fromkeys(names, target)


#: module (below mfb_cli, after the move) -> {top-level name: new module}.
SPLITS: dict[str, dict[str, str]] = {
    "read.decode": {
        "Int64Array": "_types",
        **_all(
            "read.options",
            "DEFAULT_MAX_PIXELS",
            "AUTO_FAST_MIN_FILES",
            "DECODERS",
            "FAST_EXTRA_HINT",
            "ReadOptions",
        ),
        **_all("read.fast", "fast_modules", "_LibpngWarnings", "LIBPNG_WARNINGS"),
        **_all(
            "read.png_fast",
            "_PNG_SIGNATURE",
            "_PNG_GREY",
            "_FAST_BIT_DEPTHS",
            "read_png_fast",
            "_chunks_well_formed",
        ),
        **_all(
            "read.pillow",
            "LABEL_MODES",
            "_COLOUR_MODES",
            "COLOUR_MAPPED_MODES",
            "_LOSSY_FORMATS",
            "_DECODE_ERRORS",
            "open_mask",
            "mask_array",
            "_check_header",
            "check_size",
            "_file_size",
            "_unreadable_reason",
        ),
        **_all(
            "read.tiff",
            "SAMPLES_PER_PIXEL",
            "BITS_PER_SAMPLE",
            "SAMPLE_FORMAT",
            "tiff_tag",
            "label_values",
            "_integral",
        ),
        **_all("read.npy", "load_npy"),
        **_all("read.colours", "colour_codes", "palette_codes"),
        **_all("read.raw", "RawLabels", "read_raw"),
        **_all(
            "read.mapping",
            "map_histogram",
            "_apply_colormap",
            "_describe_code",
            "_apply_remap",
            "_merge",
        ),
    },
    "read.colormaps": {
        **_all("read.colours", "TRANSPARENT", "pack_rgb", "colour_name"),
        "Int64Array": "_types",
    },
    "read.lookup": {"Int64Array": "_types"},
    "read.remap": {"Int64Array": "_types"},
    "read.sources": _all("read.lists", "read_list_file"),
    "read.names": _all("show.records", "names_for"),
    "count.one_file": {
        "Int64Array": "_types",
        **_all(
            "count.counts",
            "MAX_DISTINCT_IDS",
            "ClassCounts",
            "_MAX_GROUPS",
            "_Group",
            "CountsAccumulator",
        ),
        **_all(
            "count.kernels",
            "_BINCOUNT_SPAN",
            "_PAIR_BINCOUNT_MIN",
            "_CALCHIST_MAX_PIXELS",
            "histogram_of_array",
            "_bincount_uint8_pairs",
            "_opencv",
            "histogram_fast",
            "histogram_of_image",
            "count_file",
            "histogram_of_raw",
        ),
        **_all("read.archives", "with_archive_bytes"),
        **_all("count.label_check", "LabelCheck"),
        **_all("count.pipeline", "default_jobs", "_Item", "_Result", "ordered_map"),
        **_all("count.scan", "count_masks"),
    },
    "count.check": _all("count.artefacts", "BLEND_SHARE", "MIN_BLEND_PIXELS", "blend_pixels"),
    "weigh.classes": {
        **_all("weigh.spec", "LabelSpec"),
        **_all("show.text", "id_ranges"),
    },
    "weigh.schemes": _all(
        "weigh.weights",
        "NORMALIZATIONS",
        "_exact",
        "_with_weights",
        "normalize_weights",
        "clip_weights",
        "POST_STEPS",
        "class_weights",
    ),
    "show.formats": {
        **_all("show.records", "Record", "weights_record", "rounded", "display_names"),
        **_all("show.serialize", "_SCALAR_ARRAY", "to_json", "to_yaml", "RECORD_FORMATS"),
        **_all(
            "show.snippets",
            "_vector",
            "_header",
            "_one_ignore",
            "_scale_note",
            "to_torch",
            "to_mmseg",
            "to_keras",
            "to_caffe",
        ),
    },
    "cli.options": {
        **_all(
            "cli.help",
            "CLASS_DEFINITIONS",
            "MAPPING_ORDER",
            "with_definitions",
            "scheme_help",
            "with_schemes",
            "scheme_option_default",
            "scheme_options",
        ),
        **_all("cli.scanning", "ScanRequest"),
    },
    "cli.scanning": _all("cli.messages", "warn", "warn_about_classes"),
}

#: Private helpers another module now needs: module -> {old: new}, applied in that module
#: and in whatever imports from it.
RENAMES: dict[str, dict[str, str]] = {
    "read.decode": {
        "_COLOUR_MAPPED_MODES": "COLOUR_MAPPED_MODES",
        "_LIBPNG_WARNINGS": "LIBPNG_WARNINGS",
        "_check_size": "check_size",
        "_tiff_tag": "tiff_tag",
        "_label_values": "label_values",
        "_colour_codes": "colour_codes",
        "_palette_codes": "palette_codes",
        "_SAMPLES_PER_PIXEL": "SAMPLES_PER_PIXEL",
        "_BITS_PER_SAMPLE": "BITS_PER_SAMPLE",
        "_SAMPLE_FORMAT": "SAMPLE_FORMAT",
    },
    "weigh.schemes": {"_median": "exact_median"},
    "count.one_file": {"_ordered_map": "ordered_map"},
    "show.formats": {"_names": "display_names"},
}

#: Tests that patch or read a module's attributes: the module changed, so the text must.
#: (file, old text, new text); a miss is logged as MANUAL, never guessed.
TEST_FIXES: list[tuple[str, str, str]] = [
    ("tests/test_fast.py", "from mfb_cli.count import counting\n",
     "from mfb_cli.count import counts, kernels, scan\n"),
    ("tests/test_fast.py", 'patch.object(counting, "_MAX_GROUPS"',
     'patch.object(counts, "_MAX_GROUPS"'),
    ("tests/test_fast.py", "from mfb_cli.read import decode\n",
     "from mfb_cli.read import fast, raw\n"),
    ("tests/test_fast.py", "decode.fast_modules", "fast.fast_modules"),
    ("tests/test_fast.py", "counting._opencv", "kernels._opencv"),
    ("tests/test_fast.py", 'patch.object(counting, "_opencv"', 'patch.object(kernels, "_opencv"'),
    ("tests/test_fast.py", 'setattr(decode, "read_png_fast"', 'setattr(raw, "read_png_fast"'),
    ("tests/test_fast.py", 'setattr(counting, "AUTO_FAST_MIN_FILES"',
     'setattr(scan, "AUTO_FAST_MIN_FILES"'),
    ("tests/test_fast.py", "decode._LIBPNG_WARNINGS", "fast.LIBPNG_WARNINGS"),
    ("tests/test_hardening.py", "from mfb_cli.count import counting\n",
     "from mfb_cli.count import scan\n"),
    ("tests/test_hardening.py", "counting.count_file", "scan.count_file"),
    ("tests/test_hardening.py", 'setattr(counting, "count_file"', 'setattr(scan, "count_file"'),
]  # fmt: skip

DOCS: dict[str, str] = {
    "_types": "Array types shared by every layer.",
    "read.options": "How label files become label ids: the reading options and the decoders.",
    "read.fast": "The optional fast decoder (imagecodecs), imported once and only if asked.",
    "read.png_fast": "8/16-bit greyscale PNGs decoded by libpng; anything unusual goes to Pillow.",
    "read.pillow": "Open a label image with Pillow, refusing what does not hold exact labels.",
    "read.tiff": "TIFF fix-ups: signed and unsigned rasters Pillow misreads, float class rasters.",
    "read.npy": "Label arrays saved with NumPy (.npy), memory-mapped when on disk.",
    "read.colours": "Colours packed into integers: RGB(A) pixels and palette entries.",
    "read.raw": "One label file's values before any mapping: ids, colour codes or palette indices.",
    "read.mapping": "Turn a histogram of raw values into class ids: colour map, then remap.",
    "read.lists": "List files: one label path per line, or 'image label' pairs.",
    "count.counts": "ClassCounts, the mergeable counts of a set of images, and its accumulator.",
    "count.kernels": "Count the values of one image by the cheapest exact route.",
    "count.label_check": "The out-of-range rule: which label values have no class, and why.",
    "count.pipeline": "The one thread pool over label files, in file order, archives included.",
    "count.scan": "Count a set of label files into ClassCounts.",
    "count.artefacts": "Interpolation and lossy-compression artefacts in label masks.",
    "count.merge": "Add up the statistics of disjoint shards.",
    "weigh.spec": "Which ids are classes: num_classes, void and ignore.",
    "weigh.weights": "The one-call weights: scheme, then normalisation, then clipping.",
    "show.records": "Results as plain records, the source of every output format.",
    "show.serialize": "Records as JSON and YAML.",
    "show.snippets": "Weights as snippets to paste into PyTorch, mmsegmentation, Keras, Caffe.",
    "show.text": "Small text helpers for messages and tables.",
    "cli.help": "Help texts shared by the commands: definitions, mapping order, schemes.",
    "cli.messages": "Warnings for people, on stderr.",
}

TREES = ("mfb_cli", "tests", "scripts", "benchmarks")
SKIP = {"scripts/move_layers.py", "scripts/split_modules.py", "tests/test_layers.py"}


def dotted(path: Path) -> tuple[str, bool]:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    return ".".join(parts[:-1] if is_package else parts), is_package


def file_of(module: str) -> Path:
    return ROOT / PACKAGE / (module.replace(".", "/") + ".py")


def relative(target: str, importer: str, is_package: bool) -> str:
    here = importer.split(".") if is_package else importer.split(".")[:-1]
    there = target.split(".")
    common = 0
    while common < min(len(here), len(there)) and here[common] == there[common]:
        common += 1
    return "." * (len(here) - common + 1) + ".".join(there[common:])


def absolute(node: ast.ImportFrom, importer: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = importer.split(".") if is_package else importer.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def rename(text: str, names: dict[str, str]) -> str:
    for old, new in names.items():
        text = re.sub(rf"(?<![\w.]){re.escape(old)}\b", new, text)
    return text


def defined(node: ast.stmt) -> list[str]:
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return [node.name]
    if isinstance(node, ast.Assign):
        targets = [e for t in node.targets for e in (t.elts if isinstance(t, ast.Tuple) else [t])]
        return [t.id for t in targets if isinstance(t, ast.Name)]
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return [node.target.id]
    return []


def is_header(node: ast.stmt, index: int) -> bool:
    if index == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
        return True
    if isinstance(node, ast.Import | ast.ImportFrom):
        return True
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def used_names(source: str) -> set[str]:
    return {n.id for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Name)}


def split_one(module: str, table: dict[str, str], log: list[str]) -> dict[str, str]:
    """Split one module; returns name -> new home for the importers' rewrite."""
    path = file_of(module)
    text = rename(path.read_text(encoding="utf-8"), RENAMES.get(module, {}))
    lines = text.splitlines(keepends=True)
    tree = ast.parse(text)
    header_imports: list[str] = []
    pieces: dict[str, list[str]] = defaultdict(list)  # destination -> segments
    names_at: dict[str, str] = {}
    previous_end = 0
    for index, node in enumerate(tree.body):
        start = previous_end
        segment = "".join(lines[start : node.end_lineno])
        previous_end = node.end_lineno or previous_end
        if is_header(node, index):
            if not (index == 0 and isinstance(node, ast.Expr)):
                header_imports.append(ast.get_source_segment(text, node) or "")
            pieces[module].append(segment) if index == 0 else None
            continue
        names = defined(node)
        homes = {table.get(name, module) for name in names} or {module}
        if len(homes) > 1:
            raise SystemExit(f"{module}: {names} are defined together but sent apart")
        home = homes.pop()
        for name in names:
            names_at[name] = home
        pieces[home].append(segment.lstrip("\n") if home != module else segment)
    missing = [name for name in table if name not in names_at]
    if missing:
        log.append(f"{module}: not found (already moved or renamed?): {missing}")
    moved = {name: home for name, home in names_at.items() if home != module}

    def imports_for(home: str, body: str, is_package: bool = False) -> list[str]:
        needed: dict[str, list[str]] = defaultdict(list)
        for name in sorted(used_names(body)):
            other = names_at.get(name)
            if other is not None and other != home:
                needed[other].append(name)
        return [
            f"from {relative(f'{PACKAGE}.{other}', f'{PACKAGE}.{home}', is_package)} "
            f"import {', '.join(names)}\n"
            for other, names in sorted(needed.items())
        ]

    def respelled(home: str) -> list[str]:
        """The old module's imports, spelled from the new module's place."""
        out = []
        for statement in header_imports:
            node = ast.parse(statement).body[0]
            if isinstance(node, ast.ImportFrom) and node.module == "__future__":
                continue
            if isinstance(node, ast.ImportFrom) and node.level:
                target = absolute(node, f"{PACKAGE}.{module}", False)
                if target == f"{PACKAGE}.{home}":
                    continue  # the new home importing itself
                names = ", ".join(ast.unparse(alias) for alias in node.names)
                spelled = relative(target, f"{PACKAGE}.{home}", False)
                out.append(f"from {spelled} import {names}\n")
            elif isinstance(node, ast.If):
                out.append(statement + "\n")  # TYPE_CHECKING block: fixed by hand if needed
            else:
                out.append(statement + "\n")
        return out

    for home, segments in pieces.items():
        if home == module:
            continue
        target = file_of(home)
        if target.exists():
            present = {
                n for node in ast.parse(target.read_text("utf-8")).body for n in defined(node)
            }
            segments = [s for s in segments if not set(defined(ast.parse(s).body[0])) <= present]
        body = "".join(segments)
        extra = respelled(home) + imports_for(home, body)
        if target.exists():
            old = target.read_text(encoding="utf-8")
            old_tree = ast.parse(old)
            ends = [
                n.end_lineno or 0
                for n in old_tree.body
                if isinstance(n, ast.Import | ast.ImportFrom)
            ]
            last_import = max(ends, default=1)  # fmt: skip
            old_lines = old.splitlines(keepends=True)
            new = "".join(old_lines[:last_import] + extra + old_lines[last_import:])
            new = new.rstrip("\n") + "\n\n\n" + body
        else:
            doc = DOCS.get(home, "TODO: one line saying what this module is for.")
            new = f'"""{doc}"""\n\nfrom __future__ import annotations\n\n' + "".join(extra)
            new += "\n\n" + body
        target.write_text(new, encoding="utf-8")
        log.append(f"{module} -> {home}: {', '.join(n for n, h in moved.items() if h == home)}")

    staying = "".join(pieces[module][1:]) if module in pieces else ""
    if staying.strip():
        docstring = pieces[module][0] if pieces[module] else ""
        rest = "".join(header_imports[i] + "\n" for i in range(len(header_imports)))
        new = docstring.rstrip("\n") + "\n\n" + rest + "".join(imports_for(module, staying))
        new += "\n\n" + staying.lstrip("\n")
        path.write_text(new, encoding="utf-8")
    else:
        subprocess.run(["git", "rm", "-q", "-f", str(path.relative_to(ROOT))], cwd=ROOT, check=True)
        log.append(f"{module}: emptied and removed")
    return moved


def repoint(moves: dict[str, dict[str, str]], log: list[str]) -> None:
    """Re-point every import of a moved name, and the lazy export table."""
    gone = {m for m in moves if not file_of(m).exists()}
    for tree_name in TREES:
        for path in sorted((ROOT / tree_name).rglob("*.py")):
            if path.relative_to(ROOT).as_posix() in SKIP or not path.exists():
                continue
            importer, is_package = dotted(path)
            inside = tree_name == PACKAGE
            text = path.read_text(encoding="utf-8")
            lines = text.splitlines(keepends=True)
            edits = []
            renamed_here: dict[str, str] = {}
            for node in ast.walk(ast.parse(text)):
                if not isinstance(node, ast.ImportFrom):
                    continue
                if node.level and not inside:
                    continue
                source = absolute(node, importer, is_package)
                short = source.removeprefix(PACKAGE + ".")
                if short not in moves:
                    if source.startswith(PACKAGE) and any(
                        f"{source}.{a.name}".removeprefix(PACKAGE + ".") in gone for a in node.names
                    ):
                        log.append(f"CHECK {path.relative_to(ROOT)}:{node.lineno}: module import")
                    continue
                renames = RENAMES.get(short, {})
                renamed_here.update(
                    {a.name: renames[a.name] for a in node.names if a.name in renames}
                )
                groups: dict[str, list[str]] = defaultdict(list)
                for alias in node.names:
                    name = renames.get(alias.name, alias.name)
                    home = moves[short].get(name, short)
                    if f"{PACKAGE}.{home}" == importer:
                        continue  # the name now lives in the importer itself
                    shown = name if alias.asname is None else f"{name} as {alias.asname}"
                    groups[home].append(shown)
                statements = []
                for home, names in groups.items():
                    full = f"{PACKAGE}.{home}"
                    spelled = relative(full, importer, is_package) if node.level else full
                    statements.append(f"from {spelled} import {', '.join(names)}")
                if not statements:
                    statements = ["pass"] if node.col_offset else []
                indent = " " * node.col_offset
                replacement = [f"{indent}{s}\n" for s in statements]
                edits.append((node.lineno, node.end_lineno or node.lineno, replacement))
            for start, end, replacement in sorted(edits, reverse=True):
                lines[start - 1 : end] = replacement
            new = rename("".join(lines), renamed_here)  # uses of a renamed helper
            if importer == PACKAGE:
                new = _repoint_exports(new, moves)
            for module, names in RENAMES.items():  # module.attr uses in tests (monkeypatch)
                if module in moves and re.search(rf"\b{module.rsplit('.', 1)[1]}\.", new):
                    for old in names:
                        if re.search(rf"\.{re.escape(old)}\b", new):
                            log.append(f"MANUAL {path.relative_to(ROOT)}: uses .{old}")
            if new != text:
                path.write_text(new, encoding="utf-8")


def _repoint_exports(text: str, moves: dict[str, dict[str, str]]) -> str:
    def replace(match: re.Match[str]) -> str:
        name, module = match.group(1), match.group(2).removeprefix(PACKAGE + ".")
        home = moves.get(module, {}).get(name, module)
        return f'"{name}": "{PACKAGE}.{home}",'

    return re.sub(rf'"(\w+)": "({PACKAGE}\.[\w.]+)",', replace, text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--dry-run", action="store_true")
    parser.add_argument("modules", nargs="*", help="split only these (default: all)")
    options = parser.parse_args(argv)
    chosen = options.modules or list(SPLITS)
    if options.dry_run:
        for module in chosen:
            for name, home in SPLITS[module].items():
                print(f"{module}.{name} -> {home}")
        return 0
    if not (ROOT / PACKAGE / "read").is_dir():
        print("run scripts/move_layers.sh first", file=sys.stderr)
        return 1
    log: list[str] = []
    moves = {module: split_one(module, SPLITS[module], log) for module in chosen}
    for name, old, new in [] if options.modules else TEST_FIXES:
        path = ROOT / name
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        if old not in text:
            log.append(f"MANUAL {name}: {old.strip()!r} not found; patch by hand")
            continue
        path.write_text(text.replace(old, new), encoding="utf-8")
    repoint(moves, log)
    pyproject = ROOT / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    for module, table in moves.items():
        for name, home in table.items():
            text = text.replace(f'"{PACKAGE}.{module}.{name}"', f'"{PACKAGE}.{home}.{name}"')
    pyproject.write_text(text, encoding="utf-8")
    print("\n".join(log), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
