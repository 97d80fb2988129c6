"""Id remapping: table files, built-ins, unmapped values."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from mfb_cli.cli import cli
from mfb_cli.count.one_file import count_file
from mfb_cli.errors import LabelRangeError, MfbError, OptionError
from mfb_cli.read.labels.remap import load_remap
from mfb_cli.read.labels.tables import CITYSCAPES
from mfb_cli.read.options import ReadOptions

from ..conftest import save_mask

LABELS = [[0, 0, 1], [2, 2, 2], [5, 1, 0]]  # 0: 3, 1: 2, 2: 3, 5: 1


def counts(path, **options) -> dict[int, int]:
    ids, pixels = count_file(path, ReadOptions(**options))
    return dict(zip(ids.tolist(), pixels.tolist(), strict=True))


FILES = {
    "map.json": json.dumps({"0": 255, "1": 0, "2": 0, "5": 1}),
    "pairs.json": json.dumps([[0, 255], [1, 0], [2, 0], [5, 1]]),
    "map.yaml": "0: 255\n1: 0\n2: 0\n5: 1\n",
    "map.csv": "old,new\n0,255\n1,0\n2,0\n5,1\n",
    "bare.csv": "0,255\n1,0\n2,0\n5,1\n",
}


@pytest.mark.parametrize("name", sorted(FILES))
def test_each_remap_file_form(tmp_path, name):
    (tmp_path / name).write_text(FILES[name])
    path = save_mask(tmp_path / "m.png", LABELS)
    # 1 and 2 merge into 0; 0 becomes 255; 5 becomes 1.
    assert counts(path, remap=load_remap(str(tmp_path / name))) == {0: 5, 1: 1, 255: 3}


def test_unmapped_values_error_naming_file_and_value_or_take_an_id(tmp_path):
    (tmp_path / "m.json").write_text(json.dumps({"0": 0, "1": 1}))
    remap = load_remap(str(tmp_path / "m.json"))
    path = save_mask(tmp_path / "m.png", LABELS)
    with pytest.raises(
        LabelRangeError,
        match=r"m\.png: value\(s\) 2 \(3 pixels\), 5 \(1 pixels\) "
        r"not in remap='.*m\.json'; add them to the table or pass unmapped=<ID>$",
    ):
        counts(path, remap=remap)
    assert counts(path, remap=remap, unmapped=255) == {0: 3, 1: 2, 255: 4}
    with pytest.raises(OptionError, match=r"^unmapped needs remap$"):
        ReadOptions(unmapped=255)
    result = CliRunner().invoke(cli, ["weights", str(path), "--unmapped", "255"])
    assert (result.exit_code, result.stderr.splitlines()[-1]) == (
        2,
        "Error: --unmapped needs --map",
    )


def test_conflicting_and_broken_tables(tmp_path):
    (tmp_path / "twice.csv").write_text("1,2\n1,3\n")
    with pytest.raises(MfbError, match=r"twice\.csv: id 1 is mapped twice, to 2 and 3"):
        load_remap(str(tmp_path / "twice.csv"))
    (tmp_path / "bad.json").write_text(json.dumps({"a": 1}))
    with pytest.raises(MfbError, match=r"bad\.json: not an old -> new id table"):
        load_remap(str(tmp_path / "bad.json"))
    with pytest.raises(MfbError, match="neither a remap file nor a built-in"):
        load_remap("cityscapes")


def test_cityscapes_trainid_follows_labels_py(tmp_path):
    remap = load_remap("cityscapes-trainid")
    table = dict(zip(remap.keys.tolist(), remap.values.tolist(), strict=True))
    assert table[7] == 0 and table[33] == 18 and table[26] == 13  # road, bicycle, car
    assert table[-1] == 255 and table[18] == 255 and table[0] == 255  # plate, polegroup
    assert sorted(v for v in table.values() if v != 255) == list(range(19))
    assert len(table) == len(CITYSCAPES) == 35
    # A labelIds raster with the licence plate (-1), as a .npy of int16.
    labels = np.array([[7, 7, 26], [-1, 24, 0]], dtype=np.int16)
    np.save(tmp_path / "a.npy", labels)
    assert counts(tmp_path / "a.npy", remap=remap) == {0: 2, 11: 1, 13: 1, 255: 2}
    np.save(tmp_path / "b.npy", np.array([[7, 34]], dtype=np.int16))
    with pytest.raises(
        LabelRangeError, match=r"value\(s\) 34 \(1 pixels\) not in remap='cityscapes-trainid'"
    ):
        counts(tmp_path / "b.npy", remap=remap)


def test_reduce_zero_label(tmp_path):
    path = save_mask(tmp_path / "ade.png", [[0, 1, 150], [150, 255, 2]])
    assert counts(path, remap=load_remap("reduce-zero-label")) == {0: 1, 1: 1, 149: 2, 255: 2}


def test_colour_map_comes_before_the_remap(tmp_path):
    from mfb_cli.read.labels.colormaps import load_colormap

    colours = np.array([[(128, 0, 0), (128, 0, 0), (0, 0, 0)]], dtype=np.uint8)  # VOC 1, 1, 0
    path = save_mask(tmp_path / "c.png", colours, "RGB")
    read = {"colormap": load_colormap("voc"), "remap": load_remap("reduce-zero-label")}
    assert counts(path, **read) == {0: 2, 255: 1}


def test_skip_bad_never_skips_values_the_map_lacks(tmp_path):
    # A table that does not fit the data is an option problem, not a damaged file:
    # leaving those images out would change the weights silently.
    (tmp_path / "m.json").write_text(json.dumps({"0": 0, "1": 1}))
    save_mask(tmp_path / "d" / "a.png", [[0, 1]])
    save_mask(tmp_path / "d" / "b.png", [[0, 2]])
    result = CliRunner().invoke(
        cli, ["weights", str(tmp_path / "d"), "--map", str(tmp_path / "m.json"), "--skip-bad"]
    )
    assert result.exit_code == 1
    assert "b.png: value(s) 2 (1 pixels) not in --map" in result.stderr


@pytest.mark.parametrize("option", ["--map", "--colormap"])
def test_broken_yaml_tables_are_one_line_errors(tmp_path, option):
    (tmp_path / "t.yaml").write_text("a: [1, 2\n")
    save_mask(tmp_path / "m" / "a.png", [[0, 1]])
    result = CliRunner().invoke(
        cli, ["weights", str(tmp_path / "m"), option, str(tmp_path / "t.yaml")]
    )
    assert result.exit_code == 1, result.output  # the file's content is a data problem
    assert result.stderr.count("\n") == 1
    assert "t.yaml: not a" in result.stderr
    assert "not valid YAML" in result.stderr
    assert "Traceback" not in result.stderr
