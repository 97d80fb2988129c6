"""Colour-coded masks: every table form, every built-in map, unknown colours, RGBA."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from mfb_cli.cli import cli
from mfb_cli.count.one_file import count_file
from mfb_cli.errors import BadMaskError, MfbError, OptionError
from mfb_cli.read.labels.colormaps import BUILTIN_COLORMAPS, load_colormap, parse_colour
from mfb_cli.read.labels.remap import load_remap
from mfb_cli.read.labels.tables import CAMVID11, CAMVID32, CITYSCAPES, voc_palette
from mfb_cli.read.options import ReadOptions

from ..conftest import save_mask

PURPLE, GREEN, GREY = (128, 64, 128), (0, 128, 0), (10, 20, 30)
# A colour mask and the counts by class id its table below implies.
COLOURS = np.array(
    [[PURPLE, PURPLE, GREEN], [GREY, GREEN, GREEN]],
    dtype=np.uint8,
)


def counts(path, **options) -> dict[int, int]:
    ids, pixels = count_file(path, ReadOptions(**options))
    return dict(zip(ids.tolist(), pixels.tolist(), strict=True))


def render(labels: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """An index mask drawn in a palette: what a colour-coded dataset ships."""
    return palette[labels].astype(np.uint8)


@pytest.fixture
def colour_mask(tmp_path):
    return save_mask(tmp_path / "c.png", COLOURS, "RGB")


TABLES = {
    "dict.json": json.dumps({"#804080": 7, "#008000": 1, "0a141e": 2}),
    "reverse.json": json.dumps({"7": "#804080", "1": [0, 128, 0], "2": "10,20,30"}),
    "objects.json": json.dumps(
        [
            {"id": 7, "name": "road", "color": [128, 64, 128]},
            {"id": 1, "name": "grass", "color": "#008000"},
            {"id": 2, "name": "x", "colour": "#0A141E"},
        ]
    ),
    "table.yaml": "'#804080': 7\n'#008000': 1\n'#0a141e': 2\n",
    "ids.csv": "id,name,r,g,b\n7,road,128,64,128\n1,grass,0,128,0\n2,x,10,20,30\n",
    "noheader.csv": "7,128,64,128\n1,0,128,0\n2,10,20,30\n",
}


@pytest.mark.parametrize("name", sorted(TABLES))
def test_each_table_form_with_explicit_ids(tmp_path, colour_mask, name):
    (tmp_path / name).write_text(TABLES[name])
    assert counts(colour_mask, colormap=load_colormap(str(tmp_path / name))) == {1: 3, 2: 1, 7: 2}


@pytest.mark.parametrize(
    ("name", "text"),
    [
        # CamVid's class_dict.csv and label_colors.txt: the id is the row number.
        ("class_dict.csv", "name,r,g,b\nroad,128,64,128\ngrass,0,128,0\nx,10,20,30\n"),
        ("label_colors.txt", "128 64 128\tRoad\n0 128 0\tGrass\n\n10 20 30 Some thing\n"),
        ("list.json", json.dumps([[128, 64, 128], "#008000", [10, 20, 30]])),
    ],
)
def test_table_forms_numbered_by_row(tmp_path, colour_mask, name, text):
    (tmp_path / name).write_text(text)
    assert counts(colour_mask, colormap=load_colormap(str(tmp_path / name))) == {0: 2, 1: 3, 2: 1}


def test_broken_tables_are_named(tmp_path):
    (tmp_path / "two.json").write_text(json.dumps({"#804080": 1, "128,64,128": 2}))
    with pytest.raises(MfbError, match=r"two\.json: colour #804080 is given two ids, 1 and 2"):
        load_colormap(str(tmp_path / "two.json"))
    (tmp_path / "bad.csv").write_text("name,r,g,b\nroad,300,0,0\n")
    with pytest.raises(
        MfbError,
        match=r"bad\.csv: not a colour table \(row 2: colour channel 300 is outside 0\.\.255\)",
    ):
        load_colormap(str(tmp_path / "bad.csv"))
    with pytest.raises(MfbError, match="neither a colour table file nor a built-in map"):
        load_colormap("nope")
    with pytest.raises(ValueError):
        parse_colour("#12345")


def _builtin_palette(name: str) -> tuple[np.ndarray, int]:
    if name == "camvid32":
        return np.array([c for _, c in CAMVID32]), 32
    if name == "camvid11":
        return np.array([c for _, c in CAMVID11]), 12
    return voc_palette().astype(np.int64), 256


@pytest.mark.parametrize("name", ["camvid32", "camvid11", "voc"])
def test_builtin_maps_give_the_counts_of_the_index_mask(tmp_path, name):
    palette, size = _builtin_palette(name)
    rng = np.random.default_rng(5)
    labels = rng.integers(0, size, (9, 7))
    labels[0, :3] = size - 1  # the last entry (Wall, Unlabelled, VOC's boundary 255)
    index_mask = save_mask(tmp_path / "index.png", labels, "L")
    colour_mask = save_mask(tmp_path / "colour.png", render(labels, palette), "RGB")
    by_colour = counts(colour_mask, colormap=load_colormap(name))
    assert by_colour == counts(index_mask)
    values, pixels = np.unique(labels, return_counts=True)
    assert by_colour == dict(zip(values.tolist(), pixels.tolist(), strict=True))


def test_voc_palette_known_entries():
    palette = voc_palette()
    assert palette[:4].tolist() == [[0, 0, 0], [128, 0, 0], [0, 128, 0], [128, 128, 0]]
    assert palette[15].tolist() == [192, 128, 128]  # person
    assert palette[255].tolist() == [224, 224, 192]  # boundary
    assert len({tuple(c) for c in palette.tolist()}) == 256


def test_cityscapes_colours_give_the_train_ids_of_the_label_ids(tmp_path):
    # Every labelId whose colour is its own: the colour rendering decoded with the
    # 'cityscapes' map counts the same as the labelIds remapped with cityscapes-trainid.
    shared = {17, 18, 26, -1, 0, 1, 2, 3, 4}  # colours used by more than one label
    usable = [label_id for _, label_id, _, _ in CITYSCAPES if label_id not in shared]
    colours = {label_id: colour for _, label_id, _, colour in CITYSCAPES}
    rng = np.random.default_rng(1)
    labels = rng.choice(np.array([*usable, 0, 17, 26]), size=(12, 10))
    palette = np.zeros((256, 3), dtype=np.int64)
    for label_id, colour in colours.items():
        if label_id >= 0:
            palette[label_id] = colour
    ids_mask = save_mask(tmp_path / "a_labelIds.png", labels, "L")
    colour_mask = save_mask(tmp_path / "a_color.png", render(labels, palette), "RGB")
    by_colour = counts(colour_mask, colormap=load_colormap("cityscapes"))
    by_id = counts(ids_mask, remap=load_remap("cityscapes-trainid"))
    assert by_colour == by_id
    train = {label_id: train_id for _, label_id, train_id, _ in CITYSCAPES}
    expected: dict[int, int] = {}
    for value in labels.ravel().tolist():
        expected[train[value]] = expected.get(train[value], 0) + 1
    assert by_colour == expected


def test_cityscapes_shared_colours_go_to_the_trained_class(tmp_path):
    # pole/polegroup and car/licence plate share a colour: the colour means the class.
    mask = np.array([[(153, 153, 153), (0, 0, 142)], [(0, 0, 0), (111, 74, 0)]])
    path = save_mask(tmp_path / "c.png", mask, "RGB")
    assert counts(path, colormap=load_colormap("cityscapes")) == {5: 1, 13: 1, 255: 2}


def test_every_builtin_is_loadable():
    for name in BUILTIN_COLORMAPS:
        table = load_colormap(name)
        assert table.describe()["name"] == name
        assert len(table.describe()["sha256"]) == 64


def test_unknown_colour_is_named_with_its_pixel_count(tmp_path, colour_mask):
    (tmp_path / "t.json").write_text(json.dumps({"#804080": 0, "#008000": 1}))
    table = load_colormap(str(tmp_path / "t.json"))
    with pytest.raises(
        BadMaskError,
        match=r"c\.png: 1 colour\(s\) not in the colour map: "
        r"#0a141e \(1 pixels\); a mask saved as JPEG",
    ):
        counts(colour_mask, colormap=table)
    assert counts(colour_mask, colormap=table, unknown_color=255) == {0: 2, 1: 3, 255: 1}
    assert counts(colour_mask, colormap=table, unknown_color=1) == {0: 2, 1: 4}


def test_rgba_opaque_alpha_is_ignored_and_transparency_needs_an_id(tmp_path):
    rgba = np.zeros((2, 3, 4), dtype=np.uint8)
    rgba[..., :3] = COLOURS
    rgba[..., 3] = 255
    table = load_colormap("camvid11")  # PURPLE is Road (3); GREEN and GREY are unknown
    opaque = tmp_path / "opaque.png"
    Image.fromarray(rgba, "RGBA").save(opaque)
    assert counts(opaque, colormap=table, unknown_color=99) == {3: 2, 99: 4}
    rgba[1, :, 3] = 0  # the bottom row fully transparent: GREY and two GREENs
    clear = tmp_path / "clear.png"
    Image.fromarray(rgba, "RGBA").save(clear)
    with pytest.raises(
        BadMaskError,
        match=r"clear\.png: has 3 fully transparent pixels; pass transparent=<ID> to give "
        r"them an id \(and ignore=\[<ID>\] to leave them out\)$",
    ):
        counts(clear, colormap=table, unknown_color=99)
    assert counts(clear, colormap=table, unknown_color=99, transparent=255) == {3: 2, 99: 1, 255: 3}
    rgba[0, 0, 3] = 128
    partial = tmp_path / "partial.png"
    Image.fromarray(rgba, "RGBA").save(partial)
    with pytest.raises(BadMaskError, match="has 1 partly transparent pixels"):
        counts(partial, colormap=table, unknown_color=99, transparent=255)


def test_palette_images_are_read_by_colour_unless_palette_index(tmp_path):
    labels = np.array([[0, 1, 1], [2, 2, 2]])
    image = Image.fromarray(labels.astype(np.uint8), "P")
    image.putpalette([128, 64, 128, 0, 128, 0, 10, 20, 30] + [0] * (768 - 9))
    image.save(tmp_path / "p.png")
    (tmp_path / "t.json").write_text(TABLES["dict.json"])
    table = load_colormap(str(tmp_path / "t.json"))
    assert counts(tmp_path / "p.png", colormap=table) == {7: 1, 1: 2, 2: 3}
    assert counts(tmp_path / "p.png", colormap=table, palette_index=True) == {0: 1, 1: 2, 2: 3}


def test_colour_options_need_a_colour_map():
    # Library terms for a library caller; the CLI's flags for a command line.
    with pytest.raises(OptionError, match=r"^palette_index needs colormap$") as raised:
        ReadOptions(palette_index=True)
    assert raised.value.params == ("palette_index", "colormap")
    with pytest.raises(OptionError, match=r"^unknown_color needs colormap$"):
        ReadOptions(unknown_color=3)
    for flag in ("--palette-index", "--unknown-color 3", "--transparent 0"):
        result = CliRunner().invoke(cli, ["weights", ".", *flag.split()])
        assert result.exit_code == 2
        assert result.stderr.splitlines()[-1] == f"Error: {flag.split()[0]} needs --colormap"


def test_label_mapping_names_builtins_and_hashes_tables(tmp_path):
    assert ReadOptions().label_mapping() == {}
    (tmp_path / "a.json").write_text(TABLES["dict.json"])
    (tmp_path / "b.csv").write_text(TABLES["ids.csv"])
    a = ReadOptions(colormap=load_colormap(str(tmp_path / "a.json"))).label_mapping()
    b = ReadOptions(colormap=load_colormap(str(tmp_path / "b.csv"))).label_mapping()
    assert a == b  # the same table in two forms means the same ids
    assert a["colormap"]["name"] == "file"
    voc = ReadOptions(colormap=load_colormap("voc"), unknown_color=255).label_mapping()
    assert voc["colormap"]["name"] == "voc"
    assert voc["unknown_color"] == 255
    assert voc != ReadOptions(colormap=load_colormap("voc")).label_mapping()
    json.dumps(voc)


@pytest.mark.parametrize(
    ("filename", "text"),
    [
        ("class_dict.csv", "name,r,g,b\nSky,128,128,128\nRoad,128,64,128\n"),
        ("label_colors.txt", "128 128 128\tSky\n128 64 128\tRoad\n"),
        (
            "table.json",
            '[{"name": "Sky", "color": "#808080"}, {"name": "Road", "color": [128, 64, 128]}]',
        ),
        ("plain.csv", "Sky,128,128,128\nRoad,128,64,128\n"),
    ],
)
def test_colour_tables_name_their_classes(tmp_path, filename, text):
    (tmp_path / filename).write_text(text)
    assert load_colormap(str(tmp_path / filename)).names == {0: "Sky", 1: "Road"}


def test_built_in_maps_name_their_classes():
    assert load_colormap("camvid11").names[11] == "Unlabelled"
    assert load_colormap("voc").names[15] == "person"
    assert 255 not in load_colormap("voc").names
    cityscapes = load_colormap("cityscapes").names
    assert (cityscapes[0], cityscapes[18], len(cityscapes)) == ("road", "bicycle", 19)


def test_outputs_take_names_from_the_colour_table_unless_told_otherwise(tmp_path):
    from click.testing import CliRunner

    from mfb_cli.cli import cli

    (tmp_path / "class_dict.csv").write_text("name,r,g,b\nSky,128,128,128\nRoad,128,64,128\n")
    rgb = np.zeros((2, 2, 3), dtype=np.uint8)
    rgb[0], rgb[1] = (128, 128, 128), (128, 64, 128)
    save_mask(tmp_path / "m" / "a.png", rgb, "RGB")
    table = str(tmp_path / "class_dict.csv")

    def names(*extra: str) -> list[str] | None:
        args = ["weights", str(tmp_path / "m"), "--colormap", table, "-q", *extra]
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, result.stderr
        return json.loads(result.stdout).get("names")

    assert names() == ["Sky", "Road"]
    (tmp_path / "names.txt").write_text("sky\nroad\n")
    assert names("--names", str(tmp_path / "names.txt")) == ["sky", "road"]
    (tmp_path / "swap.json").write_text('{"0": 1, "1": 0}')
    assert names("--map", str(tmp_path / "swap.json")) is None  # ids renumbered: no names


# Issue 10: the forms colour tables come in, each read as road=0 (128,64,128), sky=1 (0,0,255).
NESTED_FORMS = [
    (
        "classes.json",
        '{"classes": [{"name": "road", "color": "#804080"}, {"name": "sky", "color": "#0000ff"}]}',
    ),
    (
        "title.json",
        '{"dataset": "x", "labels": [{"title": "road", "color": [128, 64, 128]}, '
        '{"title": "sky", "color": [0, 0, 255]}]}',
    ),
    (
        "label.yaml",
        "categories:\n  - {label: road, rgb: '128,64,128'}\n  - {label: sky, rgb: '0, 0, 255'}\n",
    ),
    (
        "ids.yaml",
        "colormap:\n  - {id: 0, class_name: road, colour: '#804080'}\n"
        "  - {id: 1, class_name: sky, colour: '#0000FF'}\n",
    ),
    ("metainfo.json", '{"classes": ["road", "sky"], "palette": [[128, 64, 128], [0, 0, 255]]}'),
    ("byname.json", '{"road": "#804080", "sky": "0,0,255"}'),
    (
        "rgbkeys.json",
        '[{"name": "road", "r": 128, "g": 64, "b": 128}, '
        '{"name": "sky", "r": 0, "g": 0, "b": 255}]',
    ),
    (
        "nested.json",
        '{"road": {"id": 0, "color": "#804080"}, "sky": {"id": 1, "color": [0,0,255]}}',
    ),
    (
        "single.yaml",
        "my_table:\n  - {name: road, color: '#804080'}\n  - {name: sky, color: '#0000ff'}\n",
    ),
]


@pytest.mark.parametrize(("filename", "text"), NESTED_FORMS)
def test_nested_and_named_table_forms(tmp_path, filename, text):
    (tmp_path / filename).write_text(text)
    table = load_colormap(str(tmp_path / filename))
    assert table.keys.tolist() == [0x0000FF, 0x804080]
    assert table.values.tolist() == [1, 0]
    assert dict(table.names) == {0: "road", 1: "sky"}


def test_mmseg_metainfo_lengths_must_agree(tmp_path):
    (tmp_path / "m.json").write_text('{"classes": ["road"], "palette": [[1, 2, 3], [4, 5, 6]]}')
    with pytest.raises(
        MfbError, match=r"m\.json: not a colour table \(1 class names for 2 palette"
    ):
        load_colormap(str(tmp_path / "m.json"))


def test_an_unrecognised_table_is_quoted_briefly(tmp_path):
    entries = [{"name": f"class{i}", "hue": i} for i in range(500)]
    (tmp_path / "u.json").write_text(json.dumps({"classes": entries}))
    with pytest.raises(MfbError) as error:
        load_colormap(str(tmp_path / "u.json"))
    message = str(error.value)
    assert message == (
        f"{tmp_path / 'u.json'}: not a colour table (entry 1: {{'name': 'class0', 'hue': 0}} "
        "has no colour ('color', 'rgb' or r, g, b))"
    )
    (tmp_path / "s.json").write_text(json.dumps("x" * 10_000))
    with pytest.raises(MfbError) as error:
        load_colormap(str(tmp_path / "s.json"))
    assert len(str(error.value)) < len(str(tmp_path)) + 200
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(
    ("text", "entries"),
    [
        ('{"3": [128, 64, 128]}', ([0x804080], [3], {})),
        ('{"road": [128, 64, 128]}', ([0x804080], [0], {0: "road"})),
        ('{"colors": [[128, 64, 128]]}', ([0x804080], [0], {})),
        ('{"road": {"id": 2, "rgb": "#804080"}}', ([0x804080], [2], {2: "road"})),
    ],
)
def test_one_entry_tables_are_not_mistaken_for_wrappers(tmp_path, text, entries):
    (tmp_path / "one.json").write_text(text)
    table = load_colormap(str(tmp_path / "one.json"))
    assert (table.keys.tolist(), table.values.tolist(), dict(table.names)) == entries
