"""Report tables: HTML rows up to the row limit, a data island past it, with every value
once and nothing the page's script can make itself."""

from __future__ import annotations

import json
import re

from mfb_cli.show.report_tables import (
    MAX_HTML_ROWS,
    IdCell,
    NameCell,
    NumCell,
    Row,
    range_name,
    table_body,
)


def rows(count: int) -> list[Row]:
    """Rows 0, 2, 4...: a class with its id as name; rows 1, 3...: a run of two absent ids."""
    found = []
    for k in range(count):
        label = 2 * k if k % 2 == 0 else 2 * k - 1
        name = range_name(label, label + 1) if k % 2 else str(label)
        found.append(
            Row(
                (
                    IdCell(label, label + (k % 2)),
                    NameCell(name, name),
                    NumCell(k, f"{k:,}", " pixels", "int"),
                    NumCell(k / 3 if k != 5 else float("nan"), "x"),
                ),
                "range" if k % 2 else None,
            )
        )
    return found


def test_a_short_table_is_html_and_a_long_one_an_island():
    short = table_body("t", rows(MAX_HTML_ROWS))
    assert short.css == short.after == ""
    assert short.tbody.count("<tr") == MAX_HTML_ROWS
    long = table_body("t", rows(MAX_HTML_ROWS + 1))
    assert long.tbody == "<tbody></tbody>" and long.css == " paged"
    assert f"of {MAX_HTML_ROWS + 1:,}" in long.after
    found = re.search(r'<script type="application/json" id="t-data">(.*)</script>', long.after)
    data = json.loads(found[1])
    ids, names, pixels, ratio = data["columns"]
    assert ids["values"][:4] == [0, 1, 4, 5] and ids["last"][:4] == [0, 2, 4, 6]
    assert names["values"] is None  # every name is its id: the script writes it
    assert pixels == {
        "type": "num",
        "css": " pixels",
        "values": list(range(MAX_HTML_ROWS + 1)),
        "form": "int",
        "text": None,
    }
    assert ratio["values"][5] is None and ratio["values"][3] == 1.0  # NaN: no JSON number
    assert ratio["text"][:2] == ["x", "x"]  # a text the script cannot make is kept
    assert data["css"]["names"] == [None, "range"]
    assert data["css"]["codes"][:4] == [0, 1, 0, 1]


def test_names_are_kept_only_where_they_are_not_the_id_and_cannot_end_the_script():
    long = rows(MAX_HTML_ROWS + 1)
    long[0] = Row((IdCell(0, 0), NameCell("</script><b>", "</script><b> (void)")))
    long[1] = Row((IdCell(1, 9), NameCell(range_name(1, 9), range_name(1, 9))))
    long[2:] = [
        Row((IdCell(10 + k, 10 + k), NameCell(str(10 + k), str(10 + k))))
        for k in range(len(long) - 2)
    ]
    after = table_body("t", long).after
    assert "</script><b>" not in after
    data = json.loads(re.search(r'id="t-data">(.*)</script>', after)[1])
    names = data["columns"][1]
    assert names["values"][:3] == ["</script><b>", None, None]
    assert names["text"][:3] == ["</script><b> (void)", None, None]
