"""The report page in a real browser: Debian's headless Chromium driven by Playwright.

No browser is ever downloaded: the tests use /usr/bin/chromium (``apt-get install
chromium``) and skip, saying why, when it or the ``playwright`` package is missing. Every
request the page makes is recorded and refused; only the page's own file:// URL may load.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from mfb_cli.cli import cli
from mfb_cli.show.report_tables import PAGE_ROWS
from mfb_cli.weigh.schemes import SCHEMES

from .test_report import A, B, ade_like, counts_of, images_of, write_stats

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(
        "no /usr/bin/chromium (apt-get install chromium) for the browser tests",
        allow_module_level=True,
    )
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="no playwright package (pip install 'mfb-cli[test]')"
)

ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: The printable width of A4 with the page's 12 mm margins, in CSS pixels (96 per inch).
A4_PRINT_WIDTH = round((210 - 2 * 12) / 25.4 * 96)
ROWS = "#distribution-table tbody tr"
SAMPLE = ["sample_masks", "--names", "sample_masks/classes.txt", "--void", "11"]


def run(*args: object):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code == 0, result.stderr
    return result


class Browser:
    """One page opened from disk, with every request, console error and page error kept."""

    def __init__(self, playwright: object, profile: Path) -> None:
        self.context = playwright.chromium.launch_persistent_context(  # type: ignore[attr-defined]
            str(profile),
            executable_path=str(CHROMIUM),
            headless=True,
            args=ARGS,
            viewport={"width": 1280, "height": 900},
        )
        self.requests: list[str] = []  # every request routed (the page's own, and refused ones)
        self.seen: list[str] = []  # every request the page started, routed or not
        self.errors: list[str] = []

        def refuse(route: object) -> None:
            url = route.request.url  # type: ignore[attr-defined]
            self.requests.append(url)
            if url == self.url:
                route.continue_()  # type: ignore[attr-defined]
            else:
                route.abort()  # type: ignore[attr-defined]

        self.context.route("**/*", refuse)
        self.url = ""

    def open(self, path: Path) -> object:
        self.url = path.resolve().as_uri()
        page = self.context.new_page()
        page.on("request", lambda r: self.seen.append(r.url))
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.goto(self.url)
        page.wait_for_load_state("load")
        return page


@pytest.fixture
def browser(tmp_path):
    with sync_api.sync_playwright() as playwright:
        opened = Browser(playwright, tmp_path / "profile")
        try:
            yield opened
        finally:
            opened.context.close()


def values(page, selector: str) -> list[str]:
    return page.eval_on_selector_all(selector, "cells => cells.map(c => c.dataset.value)")


def test_sample_page_in_chromium(browser, tmp_path, monkeypatch):
    monkeypatch.chdir(Path(__file__).resolve().parents[2])
    path = tmp_path / "report.html"
    run("report", *SAMPLE, "-o", path)
    page = browser.open(path)

    for section in ("summary", "distribution", "weights", "cooc", "sampling", "splits", "problems"):
        text = page.inner_text(f"section#{section}")
        assert len(text) > 100, section
    assert page.locator("#distribution-table tbody tr").count() == 12
    assert page.locator("#weights-chart circle").count() == 6 * 11  # 11 counted classes
    assert page.locator("#weights-chart polyline").count() == 6
    assert page.locator("#sampling-chart polyline").count() == 1 + 3  # dataset, 3 schemes
    assert page.locator("#cooc-chart path").count() > 0
    box = page.locator("#cooc-chart").bounding_box()
    assert box["width"] > 200 and box["height"] > 200
    widths = page.eval_on_selector_all(
        "#distribution-table .bar", "bars => bars.map(b => b.getBoundingClientRect().width)"
    )
    assert len(widths) == 12 and all(w > 0 for w in widths)

    # The numbers read back from the DOM equal the JSON outputs.
    histogram = json.loads(run("histogram", *SAMPLE, "-f", "json").stdout)
    rows = [*histogram["classes"], *histogram["void"]]
    assert [int(v) for v in values(page, "#distribution-table td.pixels")] == [
        r["pixels"] for r in rows
    ]
    assert [int(v) for v in values(page, "#distribution-table td.images")] == [
        r["images"] for r in rows
    ]
    weights = [float(v) for v in values(page, "#weights-table td.weight")]
    for index, scheme in enumerate(SCHEMES):
        expected = json.loads(
            run("weights", *SAMPLE, "--scheme", scheme, "--normalize", "mean").stdout
        )["weights"]
        assert weights[index :: len(SCHEMES)] == expected, scheme

    # Sorting: Pixels descending on the first click, ascending on the second.
    page.click("#distribution-table th:nth-child(3)")
    by_pixels = sorted(rows, key=lambda r: (-r["pixels"], r["id"]))
    ids = page.eval_on_selector_all(ROWS, "r => r.map(x => +x.dataset.id)")
    assert ids == [r["id"] for r in by_pixels]
    page.click("#distribution-table th:nth-child(3)")
    ids = page.eval_on_selector_all(ROWS, "r => r.map(x => +x.dataset.id)")
    assert ids == [r["id"] for r in sorted(rows, key=lambda r: (r["pixels"], r["id"]))]
    page.click("#distribution-table th:nth-child(2)")  # by name, A to Z
    names = page.eval_on_selector_all(
        "#distribution-table tbody tr td:nth-child(2)", "c => c.map(x => x.dataset.value)"
    )
    assert names == sorted(names, key=str.lower)

    # The log/linear switch: linear bars are proportional to the pixels.
    scale = page.get_attribute("#distribution-table", "data-scale")
    assert scale == "log"  # imbalance ratio 238.7 > 100
    page.click("#scale-toggle")
    assert page.get_attribute("#distribution-table", "data-scale") == "linear"
    assert page.inner_text("#scale-toggle") == "linear"
    bars = page.eval_on_selector_all(
        "#distribution-table tbody tr",
        "rows => rows.map(r => [+r.dataset.id, r.querySelector('.bar').getBoundingClientRect()"
        ".width])",
    )
    width = dict(bars)
    pixels = {r["id"]: r["pixels"] for r in rows}
    top = max(pixels, key=pixels.__getitem__)
    for label, w in width.items():
        assert w == pytest.approx(width[top] * pixels[label] / pixels[top], abs=1.0)
    page.click("#scale-toggle")
    assert page.get_attribute("#distribution-table", "data-scale") == "log"

    # The heat map names the cell under the pointer: row Road (most pixels), column Sky.
    heat = page.locator("#cooc-chart")
    heat.scroll_into_view_if_needed()
    margin = float(heat.get_attribute("data-margin"))
    cell = float(heat.get_attribute("data-cell"))
    view = page.eval_on_selector("#cooc-chart", "s => s.viewBox.baseVal.width")
    box = heat.bounding_box()
    scale = box["width"] / view
    page.mouse.move(
        box["x"] + (margin + 1.5 * cell) * scale, box["y"] + (margin + 0.5 * cell) * scale
    )
    assert page.inner_text("#cooc-hover") == "100.00% of the pixels of Sky lie in images with Road"

    shot = tmp_path / "report.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    assert browser.errors == []
    assert browser.requests == browser.seen == [browser.url]


def test_geometry_section_in_chromium(browser, tmp_path, monkeypatch):
    pytest.importorskip("cc3d")
    monkeypatch.chdir(Path(__file__).resolve().parents[2])
    path = tmp_path / "report.html"
    run("report", *SAMPLE, "--geometry", "-o", path)
    page = browser.open(path)
    assert len(page.inner_text("section#geometry")) > 200
    assert page.locator("#geometry-table tbody tr").count() == 12
    box = page.locator("#geometry-chart").bounding_box()
    assert box["width"] > 200 and box["height"] > 150
    histogram = json.loads(run("histogram", *SAMPLE, "--geometry", "-f", "json").stdout)
    rows = [*histogram["classes"], *histogram["void"]]
    assert page.locator("#geometry-chart rect").count() == sum(
        sum(1 for n in r["geometry"]["size_bins"] if n) for r in rows
    )
    shown = [int(v) for v in values(page, "#geometry-table tbody td:nth-child(3)")]
    assert shown == [r["geometry"]["components"] for r in rows]
    page.click("#geometry-table th:nth-child(3)")  # sortable like the other tables
    ordered = [int(v) for v in values(page, "#geometry-table tbody td:nth-child(3)")]
    assert ordered == sorted(shown, reverse=True)
    assert page.locator("#geometry-suggestions li").count() == 2
    page.locator("section#geometry").screenshot(path=str(tmp_path / "geometry.png"))
    assert browser.errors == []
    assert browser.requests == browser.seen == [browser.url]


def test_raster_map_in_chromium(browser, tmp_path):
    """The Rasters section's map is drawn from its data URI (no request), at its size, with
    the colours of its legend; nodata pixels show the grey behind the image."""
    pytest.importorskip("tifffile")
    from ..read.test_raster_thumbnails import LAYOUTS, STEP, whole, write

    tif = write(tmp_path / "map.tif", whole(), **LAYOUTS["tiles-deflate"])
    path = tmp_path / "raster.html"
    run("report", tif, "-o", path)
    page = browser.open(path)
    image = page.locator("section#rasters img.thumbnail")
    assert image.count() == 1
    assert page.eval_on_selector(
        "section#rasters img.thumbnail", "i => [i.complete, i.naturalWidth, i.naturalHeight]"
    ) == [True, 234, 367]
    box = image.bounding_box()
    assert (box["width"], box["height"]) == (234, 367)  # drawn 1:1, no pixel blended
    assert page.locator("section#rasters .legend li").count() == 8  # 7 classes and nodata
    assert page.locator('nav a[href="#rasters"]').count() == 1
    # Read the pixels back through a canvas: the map's pixel (200, 100) is the raster's
    # (600, 300), its class's legend colour; row 0 is nodata (transparent).
    rgba = page.eval_on_selector(
        "section#rasters img.thumbnail",
        """i => {const c = document.createElement('canvas'); c.width = i.naturalWidth;
        c.height = i.naturalHeight; const g = c.getContext('2d'); g.drawImage(i, 0, 0);
        return [Array.from(g.getImageData(100, 200, 1, 1).data),
                Array.from(g.getImageData(5, 0, 1, 1).data)]}""",
    )
    label = int(whole()[200 * STEP, 100 * STEP])
    swatch = page.eval_on_selector(
        f'section#rasters .legend li[data-id="{label}"] .swatch', "s => s.style.background"
    )
    assert swatch == "rgb({}, {}, {})".format(*rgba[0][:3]) and rgba[0][3] == 255
    assert rgba[1][3] == 0
    assert browser.errors == []
    assert browser.requests == browser.seen == [browser.url]


def test_print_layout_fits_a4(browser, tmp_path, monkeypatch):
    monkeypatch.chdir(Path(__file__).resolve().parents[2])
    path = tmp_path / "report.html"
    run("report", *SAMPLE, "-o", path)
    page = browser.open(path)
    page.set_viewport_size({"width": A4_PRINT_WIDTH, "height": 1000})
    page.emulate_media(media="print")
    rights = page.eval_on_selector_all(
        "svg, table, .stats", "items => items.map(e => e.getBoundingClientRect().right)"
    )
    assert rights and max(rights) <= A4_PRINT_WIDTH + 0.5
    assert page.locator("#scale-toggle").is_hidden()  # controls are not printed
    assert browser.errors == []


def test_splits_and_150_classes_in_chromium(browser, tmp_path):
    train = write_stats(tmp_path / "train.json", ade_like(2, images=400), 400)
    val = write_stats(tmp_path / "val.json", ade_like(3, images=60), 60)
    path = tmp_path / "splits.html"
    run("report", "--from", train, "--from", val, "--ignore", 255, "--num-classes", 150, "-o", path)
    page = browser.open(path)
    assert page.locator("#distribution-table tbody tr").count() == 151
    assert page.locator("#weights-table tbody tr").count() == 150
    assert page.locator("#splits-table tbody tr").count() == 150
    assert page.locator("#js-table tbody tr").count() == 2
    divergence = float(values(page, "#js-table td")[1])
    assert 0 < divergence < 1
    assert page.locator("#missing-classes li").count() > 0  # val misses tail classes
    page.screenshot(path=str(tmp_path / "splits.png"), full_page=True)
    assert browser.errors == []
    assert browser.requests == browser.seen == [browser.url]


def test_small_splits_page_flags_the_missing_class(browser, tmp_path):
    train = write_stats(tmp_path / "train.json", counts_of(A, B), 2)
    val = write_stats(tmp_path / "val.json", counts_of([[0, 1], [1, 1]]), 1)
    path = tmp_path / "small.html"
    run("report", "--from", train, "--from", val, "-o", path)
    page = browser.open(path)
    assert page.inner_text("#missing-classes").strip() == (
        "2 (id 2): present in train, missing from val"
    )
    assert page.locator("#splits-table tr.flag").count() == 1
    assert browser.errors == []


def test_a_page_of_65536_classes_loads_with_absent_ranges(browser, tmp_path):
    from .test_report import SPANS_65535, scattered, sixteen_bit_mask

    path = tmp_path / "wide.html"
    run("report", sixteen_bit_mask(tmp_path / "m"), "-o", path, "-q")
    page = browser.open(path)
    spans = page.eval_on_selector_all(
        ROWS, "r => r.map(x => [+x.dataset.id, +(x.dataset.last || x.dataset.id)])"
    )
    assert [tuple(s) for s in spans] == SPANS_65535
    assert page.inner_text("#distribution-table tr[data-id='8'] td:nth-child(2)") == (
        "absent: 8-65534 (65,527 classes)"
    )
    page.click("#distribution-table th:nth-child(3)")  # by pixels: the range rows sort as 0
    ids = page.eval_on_selector_all(ROWS, "r => r.map(x => +x.dataset.id)")
    assert ids == [0, 1, 3, 7, 65535, 2, 4, 8]  # ties (1 pixel, 0 pixels) by id

    # 1,024 present classes among 65,536 ids, an absent run after each: 2,048 rows a table,
    # drawn by the script a page at a time.
    stats = write_stats(tmp_path / "scattered.json", scattered(1024, 64), 1024)
    many = tmp_path / "scattered.html"
    run("report", "--from", stats, "--num-classes", 65536, "-o", many, "-q")
    page = browser.open(many)
    for table in ("distribution", "weights"):
        assert page.locator(f"#{table}-table tbody tr").count() == PAGE_ROWS
        status = page.inner_text(f'.pager[data-table="{table}-table"] .pager-status')
        assert status == "rows 1\N{EN DASH}100 of 2,048"
    assert page.locator("#weights-chart polyline").count() == len(SCHEMES)
    assert browser.errors == []
    assert set(browser.requests) == {path.resolve().as_uri(), many.resolve().as_uri()}


def row_cells(page, table: str, label: int) -> list[str]:
    """The data-value of each cell of the row of ``label``, reached with 'Go to id'."""
    pager = f'.pager[data-table="{table}"]'
    page.fill(f"{pager} .goto", str(label))
    page.dispatch_event(f"{pager} .goto", "change")
    return page.eval_on_selector(
        f"#{table} tbody tr.target", "r => [...r.cells].map(c => c.dataset.value)"
    )


def test_the_worst_case_page_loads_and_pages_in_chromium(browser, tmp_path):
    """4,096 classes scattered over 65,536 ids (a scan's limit), with sampling: under 3 MB,
    no console error, and the numbers of classes checked against sums made here."""
    from .test_report import MAX_PAGE_BYTES, worst_case_images

    held = worst_case_images(tmp_path / "images.jsonl")
    path = tmp_path / "worst.html"
    run("report", "--from", tmp_path / "images.jsonl", "--num-classes", 65536, "-o", path, "-q")
    assert path.stat().st_size <= MAX_PAGE_BYTES
    page = browser.open(path)
    for table in ("distribution", "weights", "sampling"):
        assert page.locator(f"#{table}-table tbody tr").count() == PAGE_ROWS
        status = page.inner_text(f'.pager[data-table="{table}-table"] .pager-status')
        assert status == "rows 1\N{EN DASH}100 of 8,192", table
    images = len(images_of(tmp_path / "images.jsonl"))
    total = sum(sum(n) for n in held.values())
    for label in (0, 16, 4096, 37792, 65520):
        cells = row_cells(page, "distribution-table", label)
        assert int(cells[0]) == label
        assert int(cells[2]) == sum(held[label])  # pixels
        assert float(cells[3]) == sum(held[label]) / total  # share of labelled
        assert int(cells[4]) == len(held[label])  # images
        assert float(cells[5]) == len(held[label]) / images
        shown = page.inner_text("#distribution-table tbody tr.target td:nth-child(3)")
        assert shown == f"{sum(held[label]):,}"
    # An absent run is one row: 'Go to id' inside it finds it.
    cells = row_cells(page, "distribution-table", 40010)
    assert int(cells[0]) == 40001 and int(cells[2]) == 0
    assert page.inner_text("#distribution-table tbody tr.target td:nth-child(2)") == (
        "absent: 40001-40015 (15 classes)"
    )
    # Sorting by pixels runs over every row, not the page shown: the largest class first.
    page.click("#distribution-table th:nth-child(3)")
    top = max(held, key=lambda c: (sum(held[c]), -c))
    assert page.eval_on_selector("#distribution-table tbody tr", "r => +r.dataset.id") == top
    page.click('.pager[data-table="distribution-table"] .next')
    status = page.inner_text('.pager[data-table="distribution-table"] .pager-status')
    assert status == "rows 101\N{EN DASH}200 of 8,192"
    before = page.get_attribute("#distribution-table", "data-scale")
    page.click("#scale-toggle")  # the bars shown follow the scale, and those of later pages
    after = page.get_attribute("#distribution-table", "data-scale")
    assert {before, after} == {"log", "linear"}
    page.click('.pager[data-table="distribution-table"] .next')
    key = "data-log" if after == "log" else "data-lin"
    bars = page.eval_on_selector_all(
        "#distribution-table tbody .bar",
        f"b => b.map(x => [parseFloat(x.style.width), +x.getAttribute('{key}')])",
    )
    assert len(bars) == PAGE_ROWS and all(a == b for a, b in bars)
    assert page.locator("#cooc-chart path").count() > 0
    assert browser.errors == []
    assert browser.requests == browser.seen == [browser.url]


def same_numbers(html: str) -> str:
    return re.sub(r'data-value="([-0-9.e+]+)"', lambda m: f'data-value="{float(m[1])!r}"', html)


def test_rows_drawn_by_the_script_equal_the_html_rows(browser, tmp_path, monkeypatch):
    """The same 2,048-row tables written as HTML rows (the row limit lifted) and drawn by
    the script from the data island: every row shown is the same element."""
    from mfb_cli.show import report_tables

    from .test_report import scattered

    stats = write_stats(tmp_path / "scattered.json", scattered(1024, 64), 1024)
    paged, whole = tmp_path / "paged.html", tmp_path / "whole.html"
    run("report", "--from", stats, "--num-classes", 65536, "-o", paged, "-q")
    monkeypatch.setattr(report_tables, "MAX_HTML_ROWS", 10**6)
    run("report", "--from", stats, "--num-classes", 65536, "-o", whole, "-q")
    rows = "r => r.map(x => [x.dataset.id, x.outerHTML])"
    tables = ("distribution-table", "weights-table")
    written = {
        t: dict(browser.open(whole).eval_on_selector_all(f"#{t} tbody tr", rows)) for t in tables
    }
    page = browser.open(paged)
    for table in tables:
        assert len(written[table]) == 2048
        for _ in range(3):  # the first three pages
            drawn = page.eval_on_selector_all(f"#{table} tbody tr", rows)
            assert len(drawn) == PAGE_ROWS
            for label, html in drawn:  # data-value: the same number ('0.0' in JS is '0')
                assert same_numbers(html) == same_numbers(written[table][label]), label
            page.click(f'.pager[data-table="{table}"] .next')
    assert browser.errors == []
