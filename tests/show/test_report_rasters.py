"""mfb report's Rasters section: each raster's class map as an inline palette PNG, read
back from the page (the HTML parsed, the PNG decoded) and compared with ``whole[::B, ::B]``
of a GeoTIFF written in tmp_path (tests/read/test_raster_thumbnails.py).

The page in a real browser is tested in test_report_browser.py.
"""

from __future__ import annotations

import base64
import io
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mfb_cli.count.one_file import count_file_noted
from mfb_cli.read.base.thumbnail import Thumbnail
from mfb_cli.read.options import ReadOptions
from mfb_cli.show.report import MAX_THUMBNAILS, RasterThumbnail, ReportInput, report_record
from mfb_cli.show.report_html import render_report
from mfb_cli.show.report_rasters import OTHER_COLOUR, THUMBNAIL_COLOURS
from mfb_cli.weigh.classes import class_stats
from mfb_cli.weigh.spec import LabelSpec

from ..conftest import run, save_mask
from ..read.test_raster_thumbnails import LAYOUTS, STEP, whole, write

pytest.importorskip("tifffile")


class Figures(HTMLParser):
    """Every raster figure of a page: its path, step, image and legend {id: colour}."""

    def __init__(self) -> None:
        super().__init__()
        self.figures: list[dict] = []
        self.sections: list[str] = []
        self._inside = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "section":
            self.sections.append(found["id"] or "")
        elif tag == "figure" and found.get("class") == "raster":
            self._inside = True
            self.figures.append(
                {"path": found["data-path"], "step": int(found["data-step"] or 0), "legend": {}}
            )
        elif not self._inside:
            return
        elif tag == "img" and found.get("class") == "thumbnail":
            self.figures[-1]["img"] = found
        elif tag == "li":
            self.figures[-1]["_item"] = found["data-id"]
        elif tag == "span" and "_item" in self.figures[-1]:
            style = found.get("style") or ""
            colour = style.split("background:")[1] if "background:" in style else None
            self.figures[-1]["legend"][self.figures[-1].pop("_item")] = colour

    def handle_endtag(self, tag: str) -> None:
        if tag == "figure":
            self._inside = False


def figures(page: str) -> Figures:
    parser = Figures()
    parser.feed(page)
    return parser


def decoded(img: dict) -> tuple[np.ndarray, list[str], int | None]:
    """The PNG's palette indices, its palette as '#rrggbb' and its transparent index."""
    src = img["src"]
    assert src.startswith("data:image/png;base64,")
    image = Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1])))
    assert image.mode == "P"
    palette = image.getpalette() or []
    colours = [f"#{bytes(palette[i : i + 3]).hex()}" for i in range(0, len(palette), 3)]
    return np.asarray(image), colours, image.info.get("transparency")


def test_the_page_shows_the_decimated_raster(tmp_path: Path) -> None:
    path = write(tmp_path / "map.tif", whole(), **LAYOUTS["tiles-deflate"])
    result = run("report", path, "-o", tmp_path / "page.html")
    assert result.exit_code == 0, result.stderr
    page = (tmp_path / "page.html").read_text()
    found = figures(page)
    assert "rasters" in found.sections and len(found.figures) == 1
    figure = found.figures[0]
    assert figure["path"] == str(path) and figure["step"] == STEP
    assert (figure["img"]["width"], figure["img"]["height"]) == ("234", "367")
    indices, palette, transparent = decoded(figure["img"])
    assert indices.shape == (367, 234)
    legend = figure["legend"]
    nodata_swatch = legend.pop("nodata")
    assert nodata_swatch is None  # drawn by the page's CSS, as the transparent grey
    class_of = {colour: int(label) for label, colour in legend.items()}
    assert len(class_of) == len(legend) == 7  # classes 1..6 and 9, one colour each
    grid = whole()[::STEP, ::STEP]
    shown = np.full(grid.shape, -1)
    for index in np.unique(indices).tolist():
        if index == transparent:
            shown[indices == index] = 0
        else:
            shown[indices == index] = class_of[palette[index]]
    assert np.array_equal(shown, grid)  # nodata (0) transparent, every class exact
    # Classes without a colour table take Kelly's colours by their rank among those shown.
    assert legend == {str(c): THUMBNAIL_COLOURS[k] for k, c in enumerate((1, 2, 3, 4, 5, 6, 9))}
    assert len(page) < 120_000  # the map of 367 x 234 land-cover-like pixels is small
    # Self-contained still: the one src is the map's data URI; no URL, no url(), no @import.
    assert [s[:22] for s in re.findall(r' src="([^"]*)"', page)] == ["data:image/png;base64,"]
    assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", page)
    assert "url(" not in page and "@import" not in page


def test_from_a_statistics_file_there_is_no_map(tmp_path: Path) -> None:
    path = write(tmp_path / "map.tif", whole(), **LAYOUTS["tiles-deflate"])
    assert run("scan", path, "-o", tmp_path / "stats.json").exit_code == 0
    result = run("report", "--from", tmp_path / "stats.json", "-o", tmp_path / "page.html")
    assert result.exit_code == 0, result.stderr
    found = figures((tmp_path / "page.html").read_text())
    assert "rasters" not in found.sections and found.figures == []
    assert "summary" in found.sections


def test_masks_have_no_map(tmp_path: Path) -> None:
    save_mask(tmp_path / "a.png", [[0, 1], [1, 2]])
    result = run("report", tmp_path, "-o", tmp_path / "page.html")
    assert result.exit_code == 0, result.stderr
    assert "rasters" not in figures((tmp_path / "page.html").read_text()).sections


def _input(thumbnails: list[Thumbnail], spec: LabelSpec = LabelSpec()) -> ReportInput:
    from mfb_cli.count.counts import ClassCounts

    counts = ClassCounts.empty()
    for thumbnail in thumbnails:
        ids, pixels = np.unique(thumbnail.values, return_counts=True)
        counts = counts + ClassCounts.from_histogram(ids, pixels)
    rasters = [RasterThumbnail(f"r{k}.tif", (9, 9), t) for k, t in enumerate(thumbnails)]
    return ReportInput("x", counts, class_stats(counts, spec), {}, None, rasters)


def _thumbnail(values: np.ndarray) -> Thumbnail:
    thumbnail = Thumbnail(values.shape)
    thumbnail.values, thumbnail.complete = values, True
    return thumbnail


def test_colours_are_the_reports_and_one_per_class_across_rasters() -> None:
    first = _thumbnail(np.array([[0, 2], [2, 5]], np.uint8))
    second = _thumbnail(np.array([[5, 7]], np.uint8))
    record = report_record([_input([first, second])], colours={5: "#123456"})
    rasters = record["rasters"]["rasters"]
    # Shown: 0, 2, 5, 7; 5 has the report's colour; the others Kelly's by rank (0, 1, 3).
    assert rasters[0]["classes"] == [
        {"id": 0, "colour": THUMBNAIL_COLOURS[0], "pixels": 1},
        {"id": 2, "colour": THUMBNAIL_COLOURS[1], "pixels": 2},
        {"id": 5, "colour": "#123456", "pixels": 1},
    ]
    assert rasters[1]["classes"] == [
        {"id": 5, "colour": "#123456", "pixels": 1},
        {"id": 7, "colour": THUMBNAIL_COLOURS[3], "pixels": 1},
    ]
    assert record["colours"][5] == "#123456"  # the distribution's bars: the same colour
    indices, palette, transparent = decoded({"src": rasters[0]["png"]})
    assert transparent is None  # no nodata in this map
    assert [[palette[i] for i in row] for row in indices.tolist()] == [
        [THUMBNAIL_COLOURS[0], THUMBNAIL_COLOURS[1]],
        [THUMBNAIL_COLOURS[1], "#123456"],
    ]


def test_a_map_of_more_classes_than_a_palette_holds() -> None:
    # 300 classes: 0..299, class c in c + 1 pixels (class 299 has most).
    values = np.repeat(np.arange(300), np.arange(1, 301)).astype(np.uint16)
    values = np.concatenate([values, np.zeros(300 * 301 // 2 % 150 or 150, np.uint16)])
    values = values[: values.size // 150 * 150].reshape(-1, 150)
    record = report_record([_input([_thumbnail(values)])])
    raster = record["rasters"]["rasters"][0]
    ids, pixels = np.unique(values, return_counts=True)
    named = sorted(sorted(ids.tolist(), key=lambda c: (-pixels[c], c))[:254])
    assert [c["id"] for c in raster["classes"]] == named
    assert raster["other_classes"] == sorted(set(ids.tolist()) - set(named))
    indices, palette, _ = decoded({"src": raster["png"]})
    other = np.isin(values, raster["other_classes"])
    assert (indices[other] == 255).all() and palette[255] == OTHER_COLOUR
    assert (indices[~other] != 255).all()
    assert "46 other classes" in render_report(record)


def test_the_first_rasters_are_drawn_the_rest_counted(tmp_path: Path) -> None:
    for k in range(MAX_THUMBNAILS + 2):
        write(tmp_path / f"map{k}.tif", whole()[100:160, :40], **LAYOUTS["tiles-raw"])
    result = run("report", tmp_path, "--glob", "*.tif", "-o", tmp_path / "page.html")
    assert result.exit_code == 0, result.stderr
    page = (tmp_path / "page.html").read_text()
    found = figures(page)
    assert [f["path"] for f in found.figures] == [
        str(tmp_path / f"map{k}.tif") for k in range(MAX_THUMBNAILS)
    ]
    assert "2 more rasters without a map" in page


def test_counting_with_the_map_changes_no_count(tmp_path: Path) -> None:
    path = write(tmp_path / "map.tif", whole(), **LAYOUTS["tiles-predictor"])
    with_map = count_file_noted(path, ReadOptions(thumbnail=True))
    without = count_file_noted(path, ReadOptions())
    assert np.array_equal(with_map[0], without[0]) and np.array_equal(with_map[1], without[1])
