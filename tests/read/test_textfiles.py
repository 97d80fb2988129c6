"""Every text input (tables, names, lists, statistics): size, depth and value limits."""

from __future__ import annotations

import copy
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mfb_cli.count import stats
from mfb_cli.count.counts import ClassCounts
from mfb_cli.count.stats import load_stats, merge_stats
from mfb_cli.errors import MfbError
from mfb_cli.read.labels.colormaps import load_colormap
from mfb_cli.read.labels.names import load_class_names
from mfb_cli.read.labels.remap import load_remap
from mfb_cli.read.sources import textfiles

from ..conftest import run, save_mask


def one_line_error(result, code: int = 1) -> str:
    """The single stderr line of a failed run (no traceback, no usage block)."""
    assert result.exit_code == code, (result.exit_code, result.stderr)
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("Error: ")
    return result.stderr.strip()


@pytest.fixture
def masks(tmp_path: Path) -> Path:
    save_mask(tmp_path / "m" / "a.png", [[0, 1], [1, 1]])
    return tmp_path / "m"


def stats_record(**changes: object) -> dict:
    record = {
        "format": "mfb-stats",
        "format_version": 1,
        "mfb_version": "0.1.0",
        "label_mapping": {},
        "num_images": 2,
        "total_pixels": 8,
        "files": 2,
        "files_digest": "sha256-sum:" + "0" * 64,
        "ids": [0, 1],
        "pixels": [3, 5],
        "images": [1, 2],
        "cooc": [[0, 0, 3], [0, 1, 1], [1, 0, 3], [1, 1, 5]],
        "source": {},
    }
    record.update(copy.deepcopy(changes))
    return record


# --- sizes: an endless stream is read only up to the cap --------------------------------

ENDLESS = [
    ("--list", "list"),
    ("--names", "class names"),
    ("--colormap", "colour table"),
    ("--map", "remap"),
    ("--from", "statistics"),
]


@pytest.mark.parametrize(("option", "what"), ENDLESS)
def test_a_text_input_is_read_only_up_to_the_cap(masks, tmp_path, monkeypatch, option, what):
    monkeypatch.setattr(textfiles, "MAX_TABLE_BYTES", 1000)
    monkeypatch.setattr(stats, "MAX_STATS_BYTES", 1000)
    long = tmp_path / "long.txt"
    long.write_text("x" * 1001)
    args = [option, long] if option in ("--list", "--from") else [masks, option, long]
    message = one_line_error(run("weights", *args))
    assert message == (
        f"Error: {long}: larger than the 1,000 bytes a {what} file may be; is it the right file?"
    )


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
@pytest.mark.parametrize(("option", "what"), ENDLESS)
def test_dev_zero_is_refused_at_its_first_byte(masks, option, what):
    # With the shipped limits (64 / 256 MiB): a NUL byte is never text, so the read stops
    # after its first chunk instead of at the cap.
    args = [option, "/dev/zero"] if option in ("--list", "--from") else [masks, option, "/dev/zero"]
    message = one_line_error(run("weights", *args))
    assert message == f"Error: /dev/zero: the {what} file is not text (a NUL byte at byte 0)"
    assert one_line_error(run("merge", "/dev/zero")) == (
        "Error: /dev/zero: the statistics file is not text (a NUL byte at byte 0)"
    )


class Zeros(io.RawIOBase):
    """An endless stream of NUL bytes that counts what was read from it."""

    def __init__(self) -> None:
        self.given = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        buffer[:] = bytes(len(buffer))
        self.given += len(buffer)
        return len(buffer)


def test_a_nul_byte_ends_the_read_after_one_chunk(tmp_path, monkeypatch):
    zeros = Zeros()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BufferedReader(zeros)))
    with pytest.raises(MfbError, match=r"not text \(a NUL byte at byte 0\)"):
        textfiles.read_stdin("list")
    assert zeros.given <= 2 << 20  # one chunk of 1 MiB (and the buffer's read-ahead)
    # Text before the NUL is looked at first: a non-UTF-8 byte before it is named as such.
    path = tmp_path / "t.txt"
    path.write_bytes(b"ok\n" * 10 + b"\xff" + b"\0")
    with pytest.raises(MfbError, match=r"not UTF-8 text \(byte 30\)"):
        textfiles.read_text(path, "list")
    path.write_bytes(b"ok\n" * 10 + b"\0")
    with pytest.raises(
        MfbError, match=r"t\.txt: the list file is not text \(a NUL byte at byte 30\)"
    ):
        textfiles.read_text(path, "list")


def test_read_text_caps_regular_files_and_fifos(tmp_path):
    path = tmp_path / "t.txt"
    path.write_bytes(b"x" * 11)
    assert textfiles.read_text(path, "list", limit=11) == "x" * 11
    with pytest.raises(MfbError, match=r"t\.txt: larger than the 10 bytes a list file may be"):
        textfiles.read_text(path, "list", limit=10)
    if hasattr(os, "mkfifo"):
        fifo = tmp_path / "fifo"
        os.mkfifo(fifo)
        # A writer that would go on for ever; the reader stops at the cap.
        writer = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import sys\nwith open(sys.argv[1], 'wb') as f:\n"
                "    while True: f.write(b'a.png\\n' * 1000)",
                str(fifo),
            ],
            stderr=subprocess.DEVNULL,
        )
        try:
            with pytest.raises(MfbError, match="larger than the 100,000 bytes a list file"):
                textfiles.read_text(fifo, "list", limit=100_000)
        finally:
            writer.kill()
            writer.wait()


# --- structure: depth, YAML aliases, one-line YAML errors ------------------------------

LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{b}: &{b} [{', '.join(['*' + a] * 10)}]\n"
    for a, b in zip("abcdefgh", "bcdefghi", strict=True)
)


@pytest.mark.parametrize("option", ["--names", "--colormap", "--map"])
def test_billion_laughs_is_refused_by_node_count(masks, tmp_path, option):
    (tmp_path / "t.yaml").write_text(LAUGHS)
    message = one_line_error(run("weights", masks, option, tmp_path / "t.yaml"))
    assert "more than 5,000,000 YAML nodes once aliases are expanded" in message


def test_a_few_aliases_are_fine(tmp_path):
    (tmp_path / "n.yaml").write_text("base: &n road\nnames: [*n, sky]\n")
    # {"base": ..., "names": [...]}: two keys, so the mapping is read as id -> name and fails
    with pytest.raises(MfbError, match="class id 'base' is not an integer"):
        load_class_names(tmp_path / "n.yaml")
    (tmp_path / "n.yaml").write_text("- &r road\n- *r\n")
    assert load_class_names(tmp_path / "n.yaml") == {0: "road", 1: "road"}


def test_a_recursive_alias_is_refused(tmp_path):
    (tmp_path / "r.yaml").write_text("&a [1, *a]\n")
    with pytest.raises(MfbError, match=r"alias \*a refers to itself"):
        load_remap(str(tmp_path / "r.yaml"))


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
@pytest.mark.parametrize("depth", [65, 100_000])
def test_deep_nesting_is_refused(tmp_path, suffix, depth):
    path = tmp_path / f"deep{suffix}"
    path.write_text("[" * depth + "]" * depth)
    with pytest.raises(MfbError, match="nested deeper than 64 levels"):
        load_colormap(str(path))
    with pytest.raises(MfbError, match="nested deeper than 64 levels"):
        load_class_names(path)


def test_nesting_up_to_the_limit_is_read():
    assert textfiles.parse_structured("[" * 64 + "]" * 64, ".json") is not None
    assert textfiles.parse_structured("[" * 64 + "]" * 64, ".yaml") is not None


def test_deep_statistics_files_are_refused(tmp_path):
    (tmp_path / "s.json").write_text(
        json.dumps(stats_record(source={"a": [[[[[]]]]]}))[:-1]
        + (', "x": ' + "[" * 5000 + "]" * 5000 + "}")
    )
    message = one_line_error(run("weights", "--from", tmp_path / "s.json"))
    assert message == f"Error: {tmp_path / 's.json'}: nested deeper than 64 levels"


def test_deep_nesting_behind_a_long_flat_list_is_refused(tmp_path):
    """The depth check goes a level at a time; a crafted nest 65 deep after 200,000 numbers
    of a statistics file's co-occurrence lists, or inside one of its objects, is found."""
    deep = "[" * 62 + "]" * 62  # in 'cooc' (2) and its 'n' list (3): 65 levels
    flat = ", ".join(["3"] * 200_000)
    pairs = '{"c": [0], "d": [0], "n": [' + flat + ", " + deep + "]}"
    record = json.dumps(stats_record(format_version=2, cooc={}))
    (tmp_path / "s.json").write_text(record.replace('"cooc": {}', f'"cooc": {pairs}'))
    message = one_line_error(run("weights", "--from", tmp_path / "s.json"))
    assert message == f"Error: {tmp_path / 's.json'}: nested deeper than 64 levels"
    nested = {"a": [1] * 1000 + [{"b": 2}], "c": {"d": json.loads("[" * 63 + "]" * 63)}}
    with pytest.raises(ValueError, match="nested deeper than 64 levels"):
        textfiles.check_depth(nested)
    nested["c"]["d"] = json.loads("[" * 62 + "]" * 62)  # 64 levels: read
    textfiles.check_depth(nested)


def _naive_depth(data: object) -> int:
    if isinstance(data, list):
        return 1 + max(map(_naive_depth, data), default=0)
    if isinstance(data, dict):
        return 1 + max(map(_naive_depth, data.values()), default=0)
    return 0


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=3),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=2), inner, max_size=4)
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_the_depth_check_agrees_with_a_naive_recursive_depth(data):
    limit = textfiles.MAX_DEPTH
    try:
        textfiles.MAX_DEPTH = 3  # small, so random data crosses it both ways
        refused = False
        try:
            textfiles.check_depth(data)
        except ValueError:
            refused = True
    finally:
        textfiles.MAX_DEPTH = limit
    assert refused == (_naive_depth(data) > 3)


def test_a_multi_line_yaml_error_is_one_line(masks, tmp_path):
    (tmp_path / "n.yaml").write_text("a: [1\nb: 2\n")
    message = one_line_error(run("weights", masks, "--names", tmp_path / "n.yaml"))
    assert message.endswith("n.yaml: not valid YAML (expected ',' or ']', but got ':', line 2)")


# --- values: not integers, too large, out of range -------------------------------------


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("f.json", '{"#000000": 1.7}', "entry '#000000': cannot read 1.7 as a colour"),
        ("f.json", '{"1": "#000000", "2.5": "#000001"}', "entry '2.5': id '2.5' is not an integer"),
        ("f.json", '[{"id": 1.7, "color": "#000000"}]', "entry 1: id 1.7 is not an integer"),
        ("t.json", '{"#000000": true}', "entry '#000000': cannot read True as a colour"),
        ("c.json", "[[1.5, 0, 0]]", "entry 1: colour channel 1.5 is not an integer"),
        ("c.json", "[[256, 0, 0]]", "entry 1: colour channel 256 is outside 0..255"),
        ("c.json", "[[true, 0, 0]]", "entry 1: colour channel True is not an integer"),
        (
            "b.json",
            '{"1" : [0, 0, 0], "10000000000000000000000000000000": "#000001"}',
            "entry '10000000000000000000000000000000': id 10000000000000000000000000000000 is "
            "outside -9223372036854775808..9223372036854775807)",
        ),
        ("i.json", '[{"id": 1e30, "color": "#000000"}]', "entry 1: id 1e+30 is not an integer"),
        ("i.json", '[{"id": 2.0, "color": "#000000"}]', None),  # an integral float is 2
        ("s.csv", "name,r,g,b\nroad,1,2\n", "row 2: 3 column(s), the header has 4"),
        ("h.csv", "name,r,g\nroad,1,2\n", "the header 'name,r,g' has no 'b' column"),
        ("x.csv", "1,2\n", "row 1: 2 column(s), not r,g,b / id,r,g,b / name,r,g,b"),
        ("d.csv", "99999999999999999999999,1,2,3\n", "row 1: id 99999999999999999999999 is "),
        ("l.txt", "1 2 3.5 road\n", "entry 1: colour channel '3.5' is not an integer"),
    ],
)
def test_colour_table_values(tmp_path, name, text, message):
    (tmp_path / name).write_text(text)
    if message is None:
        assert load_colormap(str(tmp_path / name)).values.tolist() == [2]
        return
    with pytest.raises(MfbError) as error:
        load_colormap(str(tmp_path / name))
    assert f"{name}: not a colour table ({message}" in str(error.value)


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("a.json", '{"1": 1.7}', "entry '1': new id 1.7 is not an integer"),
        ("b.json", '{"1": false}', "entry '1': new id False is not an integer"),
        ("c.json", "[[1e30, 2]]", "entry 1: old id 1e+30 is not an integer"),
        ("d.json", "[[100000000000000000000, 2]]", "entry 1: old id 100000000000000000000 is "),
        ("e.yaml", "0x10000000000000000: 1", "entry 18446744073709551616: old id 1844674407"),
        ("f.csv", "1,2.5\n", "row 1: new id '2.5' is not an integer"),
        ("g.csv", "old,new\n1\n", "row 1 is not 'old,new'"),
    ],
)
def test_remap_values(tmp_path, name, text, message):
    (tmp_path / name).write_text(text)
    with pytest.raises(MfbError) as error:
        load_remap(str(tmp_path / name))
    assert f"{name}: not an old -> new id table ({message}" in str(error.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{1.7: road}", "class id 1.7 is not an integer"),
        ("{true: road}", "class id True is not an integer"),
        ("{-1: road}", "class id -1 is outside 0..9223372036854775807"),
        ("{100000000000000000000: road}", "class id 100000000000000000000 is outside"),
        ("[[road]]", "class 0: ['road'] is not a name"),
        ("{1: road, '01': sky}", "class id 1 is named twice"),
    ],
)
def test_names_values(tmp_path, text, message):
    (tmp_path / "n.yaml").write_text(text)
    with pytest.raises(MfbError) as error:
        load_class_names(tmp_path / "n.yaml")
    assert str(error.value).startswith(f"{tmp_path / 'n.yaml'}: {message}")


BIG = 10**30


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"num_images": BIG}, f"'num_images' {BIG} is more than mfb counts (2**63 - 1)"),
        ({"files": 2**63}, f"'files' {2**63} is more than mfb counts (2**63 - 1)"),
        ({"pixels": [3, BIG]}, "a count in 'pixels' is more than mfb counts (2**63 - 1)"),
        ({"ids": [0, BIG]}, "an id in 'ids' does not fit a 64-bit label"),
        ({"ids": [-(2**63) - 1, 1]}, "an id in 'ids' does not fit a 64-bit label"),
        ({"pixels": [3, 5.0]}, "'pixels' must be a list of integers"),
        ({"images": [1, True]}, "'images' must be a list of integers"),
        ({"num_images": 2.0}, "'num_images' must be an integer, not 2.0"),
        ({"total_pixels": -8}, "negative count in 'total_pixels'"),
        (
            {"cooc": [[0, 0, 3], [0, 1, BIG], [1, 0, 3], [1, 1, 5]]},
            "'cooc' row [0, 1, 1000000000000000000000000000000] exceeds the 5 pixels of 1",
        ),
        (
            {"cooc": [[0, 0, 3], [0, BIG, 1], [1, 0, 3], [1, 1, 5]]},
            "'cooc' row [0, 1000000000000000000000000000000, 1] names an id not in 'ids'",
        ),
    ],
)
def test_statistics_values(tmp_path, changes, message):
    path = tmp_path / "s.json"
    path.write_text(json.dumps(stats_record(**changes)))
    assert one_line_error(run("weights", "--from", path)) == f"Error: {path}: {message}"


def test_the_valid_statistics_record_loads(tmp_path):
    (tmp_path / "s.json").write_text(json.dumps(stats_record()))
    assert load_stats(tmp_path / "s.json").counts.pixels.tolist() == [3, 5]


# --- exact counts: a merge never wraps ------------------------------------------------


def huge(pixels: list[int], num_images: int = 1) -> ClassCounts:
    ids = np.arange(len(pixels), dtype=np.int64)
    values = np.asarray(pixels, dtype=np.int64)
    cooc = np.broadcast_to(values, (len(pixels), len(pixels))).copy()
    return ClassCounts(ids, values, np.ones(len(pixels), dtype=np.int64), cooc, num_images)


def test_total_pixels_is_exact_past_what_numpy_sums():
    counts = huge([2**62, 2**62 - 1, 2**62])
    assert counts.total_pixels == 3 * 2**62 - 1  # numpy's int64 sum would be negative
    assert int(counts.pixels.sum()) < 0  # the wrap this guards against


def test_adding_up_to_the_int64_limit_is_exact_and_past_it_refused():
    total = huge([2**62]) + huge([2**62 - 1])
    assert total.pixels.tolist() == [2**63 - 1]
    assert total.total_pixels == 2**63 - 1
    with pytest.raises(MfbError, match=r"add up to 9223372036854775808 pixels, more than mfb"):
        total + huge([1])
    with pytest.raises(MfbError, match=r"add up to 9223372036854775808 images"):
        huge([1], num_images=2**62) + huge([1], num_images=2**62)


def huge_stats(tmp_path: Path, name: str, pixels: int) -> Path:
    path = tmp_path / name
    record = stats_record(
        files_digest="sha256-sum:" + name[0] * 64,
        num_images=1,
        total_pixels=pixels,
        ids=[7],
        pixels=[pixels],
        images=[1],
        cooc=[[7, 7, pixels]],
    )
    path.write_text(json.dumps(record))
    return path


def test_merge_of_huge_counts_is_exact_or_refused(tmp_path):
    a = huge_stats(tmp_path, "a.json", 2**62)
    b = huge_stats(tmp_path, "b.json", 2**62 - 1)
    result = run("merge", a, b)
    assert result.exit_code == 0, result.stderr
    merged = json.loads(result.stdout)
    assert merged["pixels"] == [2**63 - 1]
    assert merged["total_pixels"] == 2**63 - 1
    assert merged["cooc"] == [[7, 7, 2**63 - 1]]
    c = huge_stats(tmp_path, "c.json", 2**62)
    message = one_line_error(run("merge", a, c))
    assert message == (
        f"Error: {c}: added to the shards before it: the counts add up to 9223372036854775808 "
        "pixels, more than mfb counts exactly (2**63 - 1)"
    )
    parts = [(str(p), load_stats(p)) for p in (a, b)]
    assert merge_stats(parts).counts.total_pixels == 2**63 - 1


def test_merge_refuses_a_file_count_past_int64(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(stats_record(files=2**62)))
    b.write_text(json.dumps(stats_record(files=2**62, files_digest="sha256-sum:" + "1" * 64)))
    message = one_line_error(run("merge", a, b))
    assert message == (
        "Error: the files add up to 9223372036854775808, more than mfb counts exactly (2**63 - 1)"
    )


def test_numbers_longer_than_python_parses_are_one_line(tmp_path):
    (tmp_path / "n.json").write_text('{"' + "1" * 5000 + '": "road"}')
    with pytest.raises(MfbError, match=r"n\.json: class id '1{36}\.\.\. is not an integer$"):
        load_class_names(tmp_path / "n.json")
    (tmp_path / "s.json").write_text('{"num_images": ' + "9" * 5000 + "}")
    with pytest.raises(MfbError, match=r"s\.json: not valid JSON \(Exceeds the limit"):
        load_stats(tmp_path / "s.json")


def test_weights_of_huge_counts_stay_exact(tmp_path):
    # Two classes of 2**62 pixels each, never in one image: median frequency 1 and 1.
    path = tmp_path / "s.json"
    half = 2**62 - 1
    record = stats_record(
        num_images=2,
        total_pixels=2 * half,
        ids=[0, 1],
        pixels=[half, half],
        images=[1, 1],
        cooc=[[0, 0, half], [1, 1, half]],
    )
    path.write_text(json.dumps(record))
    result = run("weights", "--from", path)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["weights"] == [1.0, 1.0]


# --- list files ----------------------------------------------------------------------


def test_a_missing_list_entry_names_the_folder_it_was_looked_for_in(tmp_path):
    save_mask(tmp_path / "ann" / "a.png", [[1]])
    (tmp_path / "l.txt").write_text("a.png\n")
    message = one_line_error(run("weights", "--list", tmp_path / "l.txt"))
    assert message == (
        f"Error: {tmp_path / 'l.txt'}:1: a.png: no such file in {tmp_path.as_posix()} "
        "(set the folder with --root)"
    )
    message = one_line_error(
        run("weights", "--list", tmp_path / "l.txt", "--root", tmp_path, "--suffix", ".x")
    )
    assert message == f"Error: {tmp_path / 'l.txt'}:1: a.png.x: no such file in {tmp_path}"


def test_an_absolute_list_entry_is_named_as_used(tmp_path):
    (tmp_path / "l.txt").write_text("/SegNet/CamVid/trainannot/a.png\n")
    message = one_line_error(run("weights", "--list", tmp_path / "l.txt"))
    assert message == (
        f"Error: {tmp_path / 'l.txt'}:1: /SegNet/CamVid/trainannot/a.png: no such file "
        "(an absolute path in a list is used as it is)"
    )


def test_mmseg_split_files_with_root_and_suffix(tmp_path):
    save_mask(tmp_path / "ann" / "city" / "x_000_gtFine_labelTrainIds.png", [[0, 1], [1, 1]])
    save_mask(tmp_path / "ann" / "city" / "y_000_gtFine_labelTrainIds.png", [[1, 1], [1, 2]])
    (tmp_path / "split").mkdir()
    (tmp_path / "split" / "train.txt").write_text("city/x_000\ncity/y_000\n")
    result = run(
        "histogram",
        "--list",
        tmp_path / "split" / "train.txt",
        "--root",
        tmp_path / "ann",
        "--suffix",
        "_gtFine_labelTrainIds.png",
        "-f",
        "json",
    )
    assert result.exit_code == 0, result.stderr
    record = json.loads(result.stdout)
    assert [row["pixels"] for row in record["classes"]] == [1, 6, 1]
    assert record["source"]["root"] == str(tmp_path / "ann")
    assert record["source"]["suffix"] == "_gtFine_labelTrainIds.png"
    assert "column" not in record["source"]


def test_a_list_on_standard_input_resolves_against_the_current_folder(tmp_path, monkeypatch):
    save_mask(tmp_path / "CamVid" / "trainannot" / "a.png", [[0, 1], [1, 1]])
    monkeypatch.chdir(tmp_path)
    # SegNet's train.txt after `sed 's|/SegNet/||'`: 'image label' pairs relative to here.
    listing = "CamVid/train/a.png CamVid/trainannot/a.png\n"
    result = run("histogram", "--list", "-", "-f", "json", stdin=listing)
    assert result.exit_code == 0, result.stderr
    assert [row["pixels"] for row in json.loads(result.stdout)["classes"]] == [1, 3]
    message = one_line_error(run("histogram", "--list", "-", stdin="b.png\n"))
    assert (
        message
        == "Error: (standard input):1: b.png: no such file in . (set the folder with --root)"
    )


def test_a_list_that_is_not_text_is_one_line(tmp_path):
    (tmp_path / "l.txt").write_bytes(b"\xff\xfe\x00")
    message = one_line_error(run("weights", "--list", tmp_path / "l.txt"))
    assert message == f"Error: {tmp_path / 'l.txt'}: the list file is not UTF-8 text (byte 0)"


def _readme_command(start: str) -> str:
    """The command of a row of the dataset recipes' table (docs/datasets.md)."""
    readme = (Path(__file__).resolve().parents[2] / "docs" / "datasets.md").read_text()
    row = next(line for line in readme.splitlines() if line.startswith(start))
    return row.rsplit("| `", 1)[1].rstrip("` |")


@pytest.mark.skipif(shutil.which("bash") is None, reason="the recipe is a bash command")
def test_the_readme_segnet_list_command_works_as_written(tmp_path):
    annot = tmp_path / "CamVid" / "trainannot"
    save_mask(annot / "0001TP_006690.png", [[0, 1], [11, 1]])
    save_mask(annot / "0001TP_006720.png", [[2, 2], [2, 11]])
    (tmp_path / "CamVid" / "train.txt").write_text(
        "".join(
            f"/SegNet/CamVid/train/{n}.png /SegNet/CamVid/trainannot/{n}.png\n"
            for n in ("0001TP_006690", "0001TP_006720")
        )
    )
    command = _readme_command("| CamVid, SegNet's `train.txt`")
    assert (
        command == "mfb weights --list <(sed 's#/SegNet/##g' CamVid/train.txt) --root . --void 11"
    )
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(
        ["bash", "-c", command + " -f json"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert record["images"] == 2
    assert record["pixel_counts"] == [1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0, 2]  # by hand


def test_the_readme_voc_split_command_works_as_written(tmp_path, monkeypatch):
    command = _readme_command("| Pascal VOC 2012, the `train` split")
    save_mask(tmp_path / "VOC2012" / "SegmentationClass" / "2007_000032.png", [[0, 1], [255, 1]])
    split = tmp_path / "VOC2012" / "ImageSets" / "Segmentation"
    split.mkdir(parents=True)
    (split / "train.txt").write_text("2007_000032\n")
    monkeypatch.chdir(tmp_path)
    args = command.split()[1:]
    assert args[0] == "weights"
    result = run(*args, "-f", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["pixel_counts"] == [1, 2]


def test_co_occurrence_sums_reach_the_limit_exactly(tmp_path):
    # One image holding both ids: each id's presence is the whole 2**63 - 1 pixels.
    path = tmp_path / "s.json"
    a, b = 2**62, 2**62 - 1
    record = stats_record(
        num_images=1,
        total_pixels=a + b,
        ids=[0, 1],
        pixels=[a, b],
        images=[1, 1],
        cooc=[[0, 0, a], [0, 1, b], [1, 0, a], [1, 1, b]],
    )
    path.write_text(json.dumps(record))
    result = run("weights", "--from", path)
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["presence_pixels"] == [2**63 - 1, 2**63 - 1]
    assert out["total_pixels"] == out["labelled_pixels"] == 2**63 - 1
    assert out["pixel_counts"] == [a, b]


def test_an_unknown_table_name_is_a_usage_error_naming_it_as_typed(masks):
    result = run("weights", masks, "--map", "nope")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == (
        "Error: Invalid value for '--map': nope: neither a remap file nor a built-in remap "
        "(cityscapes-trainid, reduce-zero-label)"
    )
