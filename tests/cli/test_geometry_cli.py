"""The --geometry and --connectivity options: where they apply, and the missing extra."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from mfb_cli import count_masks
from mfb_cli.errors import MissingExtraError
from tests.conftest import run, save_mask

pytest.importorskip("cc3d")


def test_connectivity_without_geometry_is_a_usage_error(tmp_path):
    save_mask(tmp_path / "a.png", [[0, 1]])
    result = run("scan", tmp_path / "a.png", "--connectivity", "4")
    assert result.exit_code == 2
    assert "--connectivity has no effect without --geometry" in result.stderr


def test_geometry_with_from_is_a_usage_error(tmp_path):
    save_mask(tmp_path / "a.png", [[0, 1]])
    stats = tmp_path / "s.json"
    assert run("scan", tmp_path / "a.png", "-q", "-o", stats).exit_code == 0
    result = run("histogram", "--from", stats, "--geometry")
    assert result.exit_code == 2
    assert "--geometry has no effect with --from: no image is read" in result.stderr


def test_a_missing_extra_is_one_line_naming_it(tmp_path, monkeypatch):
    import mfb_cli.cli.geometry_option as option

    save_mask(tmp_path / "a.png", [[0, 1]])
    real = option.importlib.util.find_spec
    monkeypatch.setattr(
        option.importlib.util, "find_spec", lambda name: None if name == "cc3d" else real(name)
    )
    result = run("scan", tmp_path / "a.png", "--geometry")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: --geometry needs the 'geometry' extra: pip install 'mfb-cli[geometry]' "
        "(connected-components-3d)\n"
    )


def test_the_library_names_the_extra_too(tmp_path, monkeypatch):
    from mfb_cli.count.geometry import components_module

    path = save_mask(tmp_path / "a.png", [[0, 1]])
    monkeypatch.setitem(sys.modules, "cc3d", None)  # import cc3d now fails
    components_module.cache_clear()
    try:
        with pytest.raises(MissingExtraError, match="geometry needs the 'geometry' extra"):
            count_masks([path], geometry=8)
    finally:
        components_module.cache_clear()


def test_histogram_table_and_csv_gain_the_geometry(tmp_path):
    save_mask(tmp_path / "m" / "a.png", np.array([[0, 1, 0], [1, 0, 1]]))
    plain = run("histogram", tmp_path / "m", "-f", "csv")
    shaped = run("histogram", tmp_path / "m", "-f", "csv", "--geometry", "--connectivity", "4")
    assert plain.exit_code == shaped.exit_code == 0
    header = shaped.stdout.splitlines()[0].split(",")
    assert header[: len(plain.stdout.splitlines()[0].split(","))] == plain.stdout.splitlines()[
        0
    ].split(",")
    assert header[-11:] == [
        "components",
        "components_per_image",
        "max_components_per_image",
        "median_size_min",
        "median_size_max",
        "specks",
        "speck_share",
        "boundary_share",
        "median_height_max",
        "median_width_max",
        "median_depth_max",
    ]
    # 4-connected checkerboard rows: three single pixels of each class.
    rows = [line.split(",") for line in shaped.stdout.splitlines()[1:]]
    assert [row[header.index("components")] for row in rows] == ["3", "3"]
    assert [row[header.index("speck_share")] for row in rows] == ["1.0", "1.0"]
