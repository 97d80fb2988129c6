"""The report's Geometry section: present when the counts hold geometry, the same numbers
as mfb histogram, offline (checked in Chromium by test_report_browser)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import run

pytest.importorskip("cc3d")

SAMPLE = ["sample_masks", "--names", "sample_masks/classes.txt", "--void", "11"]
ROOT = Path(__file__).resolve().parents[2]


def test_the_section_shows_what_histogram_gives(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    page = run("report", *SAMPLE, "--geometry", "-o", tmp_path / "r.html")
    assert page.exit_code == 0, page.stderr
    html = (tmp_path / "r.html").read_text()
    assert '<a href="#geometry">Geometry</a>' in html
    section = html[html.index('<section id="geometry">') :]
    section = section[: section.index("</section>")]
    histogram = json.loads(run("histogram", *SAMPLE, "--geometry", "-f", "json").stdout)
    rows = [r for r in [*histogram["classes"], *histogram["void"]]]
    shown = re.findall(r'<td class="num" data-value="(\d+)">\1</td><td data-value', section)
    assert [int(i) for i in shown] == [r["id"] for r in rows if r["geometry"]["components"]]
    for row in rows:
        assert f'data-value="{row["geometry"]["components"]}"' in section
        assert f'data-value="{row["geometry"]["boundary_share"]!r}"' in section
    for line in histogram["geometry"]["suggestions"].values():
        assert line["rule"].replace("'", "&#x27;") in section
    # One rectangle per non-empty size bin of each class, each with its exact count.
    cells = sum(sum(1 for n in r["geometry"]["size_bins"] if n) for r in rows)
    assert section.count("<rect ") == cells
    assert "http" not in section.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_the_same_section_from_a_statistics_file(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    stats = tmp_path / "s.json"
    assert run("scan", "sample_masks", "--geometry", "-q", "-o", stats).exit_code == 0
    scanned = run("report", *SAMPLE, "--geometry")
    loaded = run("report", "--from", stats, *SAMPLE[1:])
    assert scanned.exit_code == loaded.exit_code == 0

    def section(html: str) -> str:
        start = html.index('<section id="geometry">')
        return html[start : html.index("</section>", start)]

    assert section(loaded.stdout) == section(scanned.stdout)


def test_no_section_without_geometry(monkeypatch):
    monkeypatch.chdir(ROOT)
    page = run("report", *SAMPLE)
    assert page.exit_code == 0
    assert 'id="geometry"' not in page.stdout and "#geometry" not in page.stdout
