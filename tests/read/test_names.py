from __future__ import annotations

import pytest

from mfb_cli.errors import MfbError
from mfb_cli.read.labels.names import load_class_names
from mfb_cli.show.records import names_for


@pytest.mark.parametrize(
    ("filename", "text"),
    [
        ("classes.txt", "Sky\nBuilding\n\nRoad\n"),
        ("classes.json", '["Sky", "Building", null, "Road"]'),
        ("classes.json", '{"0": "Sky", "1": "Building", "3": "Road"}'),
        ("classes.yaml", "0: Sky\n1: Building\n3: Road\n"),
        ("classes.yml", "names: [Sky, Building, null, Road]\n"),
    ],
)
def test_every_form_gives_the_same_names(tmp_path, filename, text):
    path = tmp_path / filename
    path.write_text(text)
    names = load_class_names(path)
    assert names == {0: "Sky", 1: "Building", 3: "Road"}
    assert names_for(names, 5) == ["Sky", "Building", "2", "Road", "4"]


def test_bad_names_files(tmp_path):
    (tmp_path / "a.json").write_text("{oops")
    with pytest.raises(MfbError, match=r"a\.json: not valid JSON"):
        load_class_names(tmp_path / "a.json")
    (tmp_path / "b.json").write_text('{"sky": 0}')
    with pytest.raises(MfbError, match=r"class id 'sky' is not an integer"):
        load_class_names(tmp_path / "b.json")
    (tmp_path / "c.json").write_text("3")
    with pytest.raises(MfbError, match="expected a list of names"):
        load_class_names(tmp_path / "c.json")
