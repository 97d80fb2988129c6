"""Record what every mfb command prints, so a refactoring can prove it changed no output.

Runs every command (weights, histogram, scan, merge, check, --from, --help, --version)
and every -f format with a representative set of options, on ``sample_masks/`` and on
odd inputs this script writes itself (16-bit, palette, 1-bit, .npy, TIFF, colour masks,
archives, list files, bad files, labels out of range), and stores for each case the exit
status, stdout, stderr and any file written with -o in ``tests/golden/<case>.txt``.
``tests/test_golden.py`` runs the same cases and compares byte for byte.

Re-record (after a change that is MEANT to alter output; never to make a move pass):

    python scripts/record_golden.py            # rewrites tests/golden/*.txt
    python scripts/record_golden.py --check    # what the test does: exit 1 on a difference
    git diff --stat tests/golden               # review every changed output before committing

Determinism: the inputs are written from arithmetic (no random numbers, zip and tar
entries with fixed dates), the commands run in-process through Click's CliRunner with the
working directory set to a scratch folder and every path relative to it, at a fixed
terminal width, so the outputs hold no machine-specific path. The mfb version is replaced
by ``<VERSION>`` so a release does not change the goldens. Not covered: ``--plot`` (the
PNG/SVG bytes belong to matplotlib) and ``--decoder fast`` (needs an optional extra;
counts are identical with every decoder, tested elsewhere).
"""

from __future__ import annotations

import argparse
import difflib
import gzip
import io
import os
import re
import shutil
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden"
SAMPLES = ROOT / "sample_masks"
WIDTH = 80


@dataclass(frozen=True)
class Case:
    """One command line; ``files`` are written by it (-o) and recorded too."""

    name: str
    args: tuple[str, ...]
    files: tuple[str, ...] = ()


def _cases() -> list[Case]:
    cases: list[Case] = []

    def add(name: str, *args: str, files: tuple[str, ...] = ()) -> None:
        cases.append(Case(name, args, files))

    # --- help and version: the option definitions, their order and their defaults.
    add("version", "--version")
    add("help", "--help")
    commands = ("weights", "histogram", "scan", "merge", "check", "sampling", "priors", "split")
    for command in (*commands, "report"):
        add(f"help-{command}", command, "--help")

    # --- weights on sample_masks: every format, every scheme, the post-steps.
    s = ("samples", "-q")
    for fmt in ("json", "yaml", "csv", "list", "torch", "mmseg", "keras", "caffe"):
        add(f"weights-samples-void-{fmt}", "weights", *s, "--void", "11", "-f", fmt)
    add("weights-samples-plain", "weights", *s)
    add("weights-samples-ignore-11", "weights", *s, "--ignore", "11")
    add("weights-samples-void-in-median", "weights", *s, "--void", "11", "--void-in-median")
    add("weights-samples-names", "weights", *s, "--void", "11", "--names", "samples/classes.txt")
    add(
        "weights-samples-names-torch",
        "weights",
        *s,
        "--void",
        "11",
        "--names",
        "samples/classes.txt",
        "-f",
        "torch",
    )
    add("weights-samples-num-classes-14", "weights", *s, "--void", "11", "--num-classes", "14")
    for scheme in (
        "median-frequency",
        "inverse-frequency",
        "inverse-sqrt",
        "enet",
        "effective-number",
        "uniform",
    ):
        add(f"weights-samples-scheme-{scheme}", "weights", *s, "--void", "11", "--scheme", scheme)
    add("weights-samples-enet-c", "weights", *s, "--scheme", "enet", "--enet-c", "1.5")
    add("weights-samples-beta", "weights", *s, "--scheme", "effective-number", "--beta", "0.99")
    for how in ("mean", "sum", "median"):
        add(f"weights-samples-normalize-{how}", "weights", *s, "--void", "11", "--normalize", how)
    add("weights-samples-clip", "weights", *s, "--void", "11", "--normalize", "mean", "--clip", "2")
    add("weights-samples-decimals-json", "weights", *s, "--void", "11", "--decimals", "3")
    add("weights-samples-decimals-csv", "weights", *s, "--decimals", "2", "-f", "csv")
    add(
        "weights-ids-mmseg-two-ignores",
        "weights",
        "odd/ids",
        "-q",
        "--ignore",
        "254",
        "--ignore",
        "255",
        "-f",
        "mmseg",
    )
    add("weights-samples-jobs-1", "weights", *s, "--void", "11", "-j", "1")
    add("weights-samples-glob", "weights", *s, "--glob", "street_00*.png")
    add("weights-samples-output", "weights", *s, "--void", "11", "-o", "out/w.json",
        files=("out/w.json",))  # fmt: skip

    # --- histogram: every format and sort, names, void and ignore.
    for fmt in ("table", "json", "yaml", "csv"):
        add(f"histogram-samples-{fmt}", "histogram", *s, "--void", "11", "-f", fmt)
    add("histogram-samples-sort-pixels", "histogram", *s, "--sort", "pixels", "-f", "csv")
    add("histogram-samples-names", "histogram", *s, "--names", "samples/classes.txt")
    add("histogram-samples-ignore", "histogram", *s, "--ignore", "11", "--num-classes", "13")
    add("histogram-ids-ignore-table", "histogram", "odd/ids", "-q", "--ignore", "255")
    g = ("--geometry", "--names", "samples/classes.txt", "--void", "11")
    add("histogram-samples-geometry-table", "histogram", *s, *g)
    add("histogram-samples-geometry-csv", "histogram", *s, *g, "--connectivity", "4", "-f", "csv")

    # --- scan, merge and --from.
    add("scan-samples", "scan", *s)
    add("scan-samples-geometry", "scan", *s, "--geometry")
    add("scan-shard-a", "scan", "samples", "-q", "--glob", "street_00*.png", "-o", "out/a.json",
        files=("out/a.json",))  # fmt: skip
    add("scan-shard-b", "scan", "samples", "-q", "--glob", "street_01*.png", "-o", "out/b.json",
        files=("out/b.json",))  # fmt: skip
    add("merge-shards", "merge", "out/a.json", "out/b.json")
    add("merge-same-shard-twice", "merge", "out/a.json", "out/a.json")
    add("merge-shards-output", "merge", "out/a.json", "out/b.json", "-o", "out/all.json",
        files=("out/all.json",))  # fmt: skip
    add("weights-from", "weights", "--from", "out/all.json", "--void", "11")
    add("weights-from-mmseg", "weights", "--from", "out/all.json", "--ignore", "11", "-f", "mmseg")
    add("histogram-from", "histogram", "--from", "out/all.json", "--void", "11", "-f", "json")
    add("weights-from-out-of-range", "weights", "--from", "out/all.json", "--num-classes", "5")
    add("weights-from-and-path", "weights", "samples", "--from", "out/all.json")
    add("weights-from-other-mapping", "weights", "--from", "out/all.json", "--map", "odd/map.csv")
    add("merge-not-stats", "merge", "odd/not-stats.json")

    # --- per-image statistics, sampling and priors.
    add("scan-per-image", "scan", "samples", "-q", "--glob", "street_00*.png",
        "--per-image", "out/a.jsonl", files=("out/a.jsonl",))  # fmt: skip
    add("scan-per-image-b", "scan", "samples", "-q", "--glob", "street_01*.png",
        "--per-image", "out/b.jsonl", files=("out/b.jsonl",))  # fmt: skip
    add("merge-per-image", "merge", "out/a.jsonl", "out/b.jsonl")
    add("sampling-repeat-json", "sampling", *s, "--void", "11", "--threshold", "0.3")
    add("sampling-repeat-stochastic-csv", "sampling", "--from", "out/a.jsonl", "--from",
        "out/b.jsonl", "--void", "11", "--rounding", "stochastic", "-f", "csv")  # fmt: skip
    add("sampling-rare-class-table", "sampling", *s, "--void", "11", "--scheme", "rare-class",
        "--min-pixels", "50", "-f", "table")  # fmt: skip
    add("sampling-rare-class-daformer", "sampling", *s, "--void", "11", "--scheme",
        "rare-class", "--min-pixels", "50", "-f", "csv", "--daformer", "out/daformer",
        files=("out/daformer/sample_class_stats.json", "out/daformer/samples_with_class.json",
               "out/daformer/sample_class_stats_dict.json"))  # fmt: skip
    add("sampling-weighted-torch", "sampling", *s, "--void", "11", "--scheme", "weighted",
        "-f", "torch")  # fmt: skip
    add("sampling-mmengine", "sampling", *s, "--void", "11", "-f", "mmengine")
    add("sampling-unused-option", "sampling", *s, "--temperature", "0.1")
    add("priors-json", "priors", *s, "--void", "11")
    add("priors-torch", "priors", "--from", "out/all.json", "--void", "11", "-f", "torch")

    # --- split: a ratio split's table, folds as nnU-Net splits and list files, groups.
    add("split-table", "split", *s, "--void", "11", "-f", "table")
    add("split-folds-nnunet", "split", "--from", "out/a.jsonl", "--from", "out/b.jsonl",
        "--folds", "5", "--seed", "7", "-f", "nnunet")  # fmt: skip
    add("split-groups-csv", "split", *s, "--void", "11", "--group", r"_0\d(\d)", "--ratios",
        "0.5,0.3,0.2", "-f", "csv", "--out-dir", "out/lists", "--out-root", "samples",
        "--out-suffix", ".png", files=("out/lists/train.txt", "out/lists/val.txt",
                                       "out/lists/test.txt"))  # fmt: skip

    # --- check: tables and records, clean and troubled folders.
    add("check-samples-table", "check", *s, "--num-classes", "12")
    add("check-samples-json", "check", *s, "-f", "json")
    add("check-samples-yaml", "check", *s, "-f", "yaml")
    add("check-samples-geometry", "check", *s, "--geometry", "-f", "json")
    add("check-troubled-table", "check", "odd/troubled", "-q", "--num-classes", "4")
    add("check-troubled-json", "check", "odd/troubled", "-q", "--num-classes", "4", "-f", "json")
    add("check-troubled-skip-bad", "check", "odd/troubled", "-q", "--skip-bad", "-f", "json")
    add("check-archives", "check", "odd/masks.zip", "odd/masks.tar.gz", "-q", "-f", "json")
    add("check-colour", "check", "odd/colour", "-q", "--colormap", "camvid11", "-f", "json")
    add("check-colour-unknown-id", "check", "odd/colour", "-q", "--colormap", "camvid11",
        "--unknown-color", "11", "--num-classes", "11", "-f", "json")  # fmt: skip

    # --- odd inputs: modes, depths, containers, mappings.
    add("weights-ids-16bit", "weights", "odd/deep", "-q", "--glob", "*.png")
    add("histogram-16bit-csv", "histogram", "odd/deep", "-q", "-f", "csv")
    add("weights-palette", "weights", "odd/palette", "-q")
    add("weights-palette-by-color", "weights", "odd/palette", "-q", "--colormap", "voc",
        "--by-color", "--unknown-color", "255", "--ignore", "255")  # fmt: skip
    add("weights-one-bit", "weights", "odd/onebit", "-q")
    add("weights-npy", "weights", "odd/npy", "-q", "--glob", "*.npy", "--ignore", "-1")
    add("weights-npy-negative", "weights", "odd/npy", "-q", "--glob", "*.npy")
    add("weights-tiff", "weights", "odd/tiff", "-q", "--glob", "*.tif")
    add("weights-zip", "weights", "odd/masks.zip", "-q")
    add("weights-tar", "weights", "odd/masks.tar.gz", "-q", "-f", "csv")
    add("weights-tar-skip-bad", "weights", "odd/masks.tar.gz", "-q", "-f", "csv", "--skip-bad")
    add("weights-zip-glob", "weights", "odd/masks.zip", "-q", "--glob", "sub/*.png")
    add("weights-list", "weights", "--list", "odd/train.txt", "-q")
    add("weights-list-column", "weights", "--list", "odd/pairs.txt", "--column", "2", "-q")
    add("weights-list-root", "weights", "--list", "odd/names.txt", "--root", "odd/ids", "-q")
    add("weights-colour-camvid11", "weights", "odd/colour", "-q", "--colormap", "camvid11",
        "--unknown-color", "11", "--void", "11")  # fmt: skip
    add("weights-colour-camvid32", "weights", "odd/colour", "-q", "--colormap", "camvid32",
        "--unknown-color", "30", "--void", "30")  # fmt: skip
    add("weights-colour-cityscapes", "weights", "odd/cityscapes_colour", "-q", "--colormap",
        "cityscapes", "--ignore", "255", "--num-classes", "19")  # fmt: skip
    add("histogram-colour-camvid11", "histogram", "odd/colour", "-q", "--colormap", "camvid11",
        "--unknown-color", "11")  # fmt: skip
    add("weights-colour-table", "weights", "odd/colour", "-q", "--colormap", "odd/colours.csv",
        "--unknown-color", "7", "--void", "7")  # fmt: skip
    add("weights-colour-unknown", "weights", "odd/colour", "-q", "--colormap", "odd/colours.csv")
    add("weights-rgba-transparent", "weights", "odd/rgba", "-q", "--colormap", "camvid11",
        "--transparent", "255", "--ignore", "255")  # fmt: skip
    add("weights-rgba-no-transparent", "weights", "odd/rgba", "-q", "--colormap", "camvid11")
    add("weights-remap-file", "weights", "odd/ids", "-q", "--map", "odd/map.csv",
        "--unmapped", "255", "--ignore", "255")  # fmt: skip
    add("weights-remap-missing", "weights", "odd/ids", "-q", "--map", "odd/map.csv")
    add("weights-remap-reduce-zero", "weights", "odd/ids", "-q", "--map", "reduce-zero-label",
        "--ignore", "255", "-f", "csv")  # fmt: skip
    add("weights-remap-cityscapes", "weights", "odd/cityscapes", "-q", "--map",
        "cityscapes-trainid", "--ignore", "255", "--num-classes", "19")  # fmt: skip
    add("scan-remap", "scan", "odd/ids", "-q", "--map", "odd/map.csv", "--unmapped", "255",
        "-o", "out/mapped.json", files=("out/mapped.json",))  # fmt: skip
    add("merge-mapping-mismatch", "merge", "out/a.json", "out/mapped.json")

    # --- bad input: exit status and the one line on stderr.
    add("weights-troubled", "weights", "odd/troubled", "-q")
    add("weights-troubled-skip-bad", "weights", "odd/troubled", "-q", "--skip-bad")
    add("weights-all-bad-skip-bad", "weights", "odd/bad", "-q", "--skip-bad")
    add("weights-out-of-range", "weights", "odd/ids", "-q", "--num-classes", "3")
    add("histogram-out-of-range", "histogram", "odd/ids", "-q", "--num-classes", "3")
    add("weights-negative", "weights", "odd/npy", "-q", "--glob", "*.npy", "--num-classes", "9")
    add("weights-255-unflagged", "weights", "odd/ids", "-q")
    add("weights-void-and-ignore", "weights", *s, "--void", "3", "--ignore", "3")
    add("weights-ignore-inside", "weights", *s, "--ignore", "3")
    add("weights-void-outside", "weights", *s, "--void", "40")
    add("weights-enet-c-wrong-scheme", "weights", *s, "--enet-c", "1.1")
    add("weights-by-color-without-colormap", "weights", *s, "--by-color")
    add("weights-unmapped-without-map", "weights", *s, "--unmapped", "3")
    add("weights-bad-colormap-file", "weights", *s, "--colormap", "odd/not-stats.json")
    add("weights-unknown-builtin", "weights", *s, "--map", "no-such-map")
    add("weights-no-paths", "weights")
    add("weights-missing-path", "weights", "nowhere", "-q")
    add("weights-empty-folder", "weights", "odd/empty", "-q")
    add("weights-output-folder-missing", "weights", *s, "-o", "nowhere/w.json")
    add("weights-bad-format", "weights", *s, "-f", "xml")
    add("weights-jpeg", "weights", "odd/jpeg", "-q")
    add("weights-colour-without-colormap", "weights", "odd/colour", "-q")
    add("weights-too-large", "weights", *s, "--max-pixels", "100")
    add("weights-too-large-skip-bad", "weights", *s, "--max-pixels", "100", "--skip-bad")
    add("histogram-plot-suffix", "histogram", *s, "--plot", "out/chart.gif")
    add("merge-missing", "merge", "out/none.json")
    return cases


CASES = _cases()


# ------------------------------------------------------------------ inputs


def _grid(height: int, width: int, values: list[int]) -> np.ndarray:
    """A deterministic label pattern: bands of ``values`` with a diagonal twist."""
    rows, cols = np.indices((height, width))
    return np.asarray(values)[(rows // 2 + cols // 3 + rows * cols % 2) % len(values)]


def _save(path: Path, image: Image.Image) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)


def _zip(path: Path, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            archive.writestr(info, data)


def _tar(path: Path, members: dict[str, bytes]) -> None:
    # gzip's header holds a time stamp: fixed at 0, so two builds are byte-identical.
    with (
        path.open("wb") as raw,
        gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as packed,
        tarfile.open(fileobj=packed, mode="w") as archive,
    ):
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            archive.addfile(info, io.BytesIO(data))


def _png_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array.astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def build_inputs(folder: Path) -> None:
    """Write every input the cases read into ``folder`` (samples/, odd/, out/)."""
    shutil.copytree(SAMPLES, folder / "samples")
    odd = folder / "odd"
    (folder / "out").mkdir()
    (odd / "empty").mkdir(parents=True)

    ids = [_grid(6, 8, [0, 1, 2, 255]), _grid(5, 7, [2, 0, 1]), _grid(4, 4, [1, 255])]
    for index, array in enumerate(ids):
        _save(odd / "ids" / f"i{index}.png", Image.fromarray(array.astype(np.uint8)))
    (odd / "ids" / "i0_extra.png").write_bytes(_png_bytes(_grid(3, 5, [4, 1, 0])))

    for index, values in enumerate(([0, 1000, 65535], [7, 1000])):
        deep = _grid(5, 6, values).astype(np.uint16)
        _save(odd / "deep" / f"d{index}.png", Image.fromarray(deep))

    for index, values in enumerate(([0, 15, 3], [3, 1])):
        image = Image.fromarray(_grid(4, 5, values).astype(np.uint8)).convert("P")
        voc = [0, 0, 0, 128, 0, 0, 0, 128, 0, 128, 128, 0]  # VOC indices 0..3
        image.putpalette(voc + [(7 * i + 100) % 256 for i in range(12, 768)])
        _save(odd / "palette" / f"p{index}.png", image)

    for index, values in enumerate(([0, 1], [1])):
        _save(odd / "onebit" / f"b{index}.png", Image.fromarray(_grid(4, 6, values).astype(bool)))

    (odd / "npy").mkdir()
    np.save(odd / "npy" / "n0.npy", _grid(4, 5, [-1, 0, 4]).astype(np.int16))
    np.save(odd / "npy" / "n1.npy", _grid(3, 3, [2, 4]).astype(np.int64))

    _save(odd / "tiff" / "t0.tif", Image.fromarray(_grid(4, 4, [0, 2, 5]).astype(np.float32)))
    _save(odd / "tiff" / "t1.tif", Image.fromarray(_grid(3, 5, [300, 2]).astype(np.int32)))

    members = {
        "a.png": _png_bytes(_grid(4, 4, [0, 1])),
        "sub/b.png": _png_bytes(_grid(4, 6, [1, 2, 3])),
        "./c.png": _png_bytes(_grid(2, 3, [3])),
        "__MACOSX/._a.png": b"resource fork",
        "notes.txt": b"not a mask",
    }
    _zip(odd / "masks.zip", members)
    _tar(odd / "masks.tar.gz", {**members, "bad.png": b"\x89PNG\r\n\x1a\ntruncated"})

    (odd / "train.txt").write_text("# a list file\nids/i0.png\n\nids/i1.png\n", encoding="utf-8")
    (odd / "pairs.txt").write_text(
        "images/x.jpg ids/i1.png extra\nimages/y.jpg ids/i2.png extra\n", encoding="utf-8"
    )
    (odd / "names.txt").write_text("i0.png\ni2.png\n", encoding="utf-8")

    colours = [(128, 128, 128), (128, 0, 0), (192, 192, 128), (0, 0, 0), (10, 20, 30)]
    palette = np.asarray(colours, dtype=np.uint8)
    for index, values in enumerate(([0, 1, 3], [2, 1, 4, 0])):
        rgb = palette[_grid(4, 6, values)]
        _save(odd / "colour" / f"c{index}.png", Image.fromarray(rgb, mode="RGB"))
    city = np.asarray([(128, 64, 128), (244, 35, 232), (0, 0, 0)], dtype=np.uint8)
    rgb = city[_grid(4, 6, [0, 1, 2, 0])]  # road, sidewalk, unlabelled (-> 255)
    _save(odd / "cityscapes_colour" / "x_color.png", Image.fromarray(rgb, mode="RGB"))
    (odd / "colours.csv").write_text(
        "name,r,g,b\nsky,128,128,128\nbuilding,128,0,0\npole,192,192,128\nvoid,0,0,0\n",
        encoding="utf-8",
    )
    rgba = np.zeros((4, 4, 4), dtype=np.uint8)
    rgba[..., :3] = palette[_grid(4, 4, [0, 1])]
    rgba[..., 3] = 255
    rgba[0, :2, 3] = 0
    _save(odd / "rgba" / "r0.png", Image.fromarray(rgba, mode="RGBA"))

    (odd / "map.csv").write_text("old,new\n0,0\n1,2\n2,1\n255,255\n", encoding="utf-8")
    _save(
        odd / "cityscapes" / "x_labelIds.png",
        Image.fromarray(_grid(4, 6, [7, 8, 26, 0, 24]).astype(np.uint8)),
    )
    (odd / "not-stats.json").write_text('{"weights": [1, 2]}\n', encoding="utf-8")

    troubled = odd / "troubled"
    troubled.mkdir()
    for name in ("a.png", "dup.png"):
        (troubled / name).write_bytes(_png_bytes(_grid(4, 4, [0, 1, 2])))
    (troubled / "b_range.png").write_bytes(_png_bytes(_grid(4, 4, [1, 9])))
    (troubled / "c_empty.png").write_bytes(b"")
    (troubled / "d_text.png").write_bytes(b"hello, not a png\n")
    header_only = _png_bytes(_grid(8, 8, [0, 3]))[:33]  # signature and IHDR, no data
    (troubled / "e_truncated.png").write_bytes(header_only)
    (troubled / "f_single.png").write_bytes(_png_bytes(np.full((3, 3), 2)))
    ramp = np.tile(np.arange(8) % 4, (8, 1))  # every pixel between its two neighbours
    (troubled / "g_blend.png").write_bytes(_png_bytes(ramp))

    bad = odd / "bad"
    bad.mkdir()
    (bad / "x.png").write_bytes(b"")
    (bad / "y.png").write_bytes(b"GIF89a nonsense")

    buffer = io.BytesIO()
    Image.fromarray(_grid(8, 8, [0, 1]).astype(np.uint8)).save(buffer, format="JPEG")
    (odd / "jpeg").mkdir()
    (odd / "jpeg" / "j.png").write_bytes(buffer.getvalue())


# ------------------------------------------------------------------ running


def _normalise(text: str, version: str) -> str:
    """Replace the mfb version where outputs print it."""
    v = re.escape(version)
    for pattern, replacement in (
        (rf'"mfb_version": "{v}"', '"mfb_version": "<VERSION>"'),
        (rf"mfb_version: {v}\b", "mfb_version: <VERSION>"),
        (rf"# mfb {v}:", "# mfb <VERSION>:"),
        (rf"mfb, version {v}\b", "mfb, version <VERSION>"),
    ):
        text = re.sub(pattern, replacement, text)
    return text


@contextmanager
def _inside(folder: Path) -> Iterator[None]:
    previous = Path.cwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(previous)


def run_cases(folder: Path, cases: list[Case] = CASES) -> dict[str, str]:
    """Run every case in order inside ``folder`` (inputs built there); name -> recorded text."""
    from click.testing import CliRunner

    import mfb_cli
    from mfb_cli.cli import cli

    build_inputs(folder)
    runner = CliRunner(env={"COLUMNS": str(WIDTH), "LINES": "24", "NO_COLOR": None})
    recorded: dict[str, str] = {}
    with _inside(folder):
        for case in cases:
            result = runner.invoke(
                cli, list(case.args), prog_name="mfb", terminal_width=WIDTH, catch_exceptions=True
            )
            parts = [
                f"$ mfb {' '.join(case.args)}",
                f"exit: {result.exit_code}",
                "--- stdout",
                result.stdout,
                "--- stderr",
                result.stderr,
            ]
            if result.exception is not None and not isinstance(result.exception, SystemExit):
                parts.append(f"--- exception\n{type(result.exception).__name__}")
            for name in case.files:
                path = Path(name)
                content = path.read_text(encoding="utf-8") if path.exists() else "<missing>"
                parts += [f"--- file {name}", content]
            recorded[case.name] = _normalise("\n".join(parts), mfb_cli.__version__)
    return recorded


def record_all(cases: list[Case] = CASES) -> dict[str, str]:
    """Run every case in a fresh scratch folder (removed afterwards)."""
    with tempfile.TemporaryDirectory(prefix="mfb-golden-") as scratch:
        return run_cases(Path(scratch), cases)


def golden_path(name: str) -> Path:
    return GOLDEN / f"{name}.txt"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    options = parser.parse_args(argv)
    recorded = record_all()
    if options.check:
        differ = 0
        for name, text in recorded.items():
            path = golden_path(name)
            old = path.read_text(encoding="utf-8") if path.exists() else ""
            if old != text:
                differ += 1
                sys.stdout.writelines(
                    difflib.unified_diff(
                        old.splitlines(True), text.splitlines(True), str(path), "now"
                    )
                )
        print(f"{differ} of {len(recorded)} cases differ", file=sys.stderr)
        return 1 if differ else 0
    GOLDEN.mkdir(parents=True, exist_ok=True)
    for stale in GOLDEN.glob("*.txt"):
        if stale.stem not in recorded:
            stale.unlink()
    for name, text in recorded.items():
        golden_path(name).write_text(text, encoding="utf-8", newline="\n")
    print(f"recorded {len(recorded)} cases in {GOLDEN.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
