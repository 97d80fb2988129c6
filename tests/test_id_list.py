"""Id lists in messages: runs as ranges, at most a few of them, the rest counted; every
message and warning that lists class ids goes through ``id_list``."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mfb_cli.count.counts import ClassCounts
from mfb_cli.id_list import MAX_SHOWN, id_list, id_runs
from mfb_cli.weigh.classes import class_stats, layout_warnings
from mfb_cli.weigh.priors import class_priors
from mfb_cli.weigh.spec import LabelSpec

from .conftest import run


def test_runs_and_ranges_by_hand():
    assert id_list([9, 1, 3, 4, 5, 6, 7]) == "1, 3-7, 9"
    assert id_list([]) == ""
    assert id_list([2]) == "2"
    assert id_list([5, 5, 4]) == "4-5"  # duplicates once
    assert id_list(np.array([3, 1], dtype=np.int64)) == "1, 3"


def test_past_the_limit_the_rest_is_counted():
    # Every other id of 0..99: 50 lone ids; the first 10 named, 40 counted.
    assert id_list(range(0, 100, 2)) == "0, 2, 4, 6, 8, 10, 12, 14, 16, 18 ... and 40 more"
    # 65,531 absent ids of a 16-bit mask in 3 runs: short whatever their number.
    assert id_list([2, *range(4, 7), *range(8, 65535)]) == "2, 4-6, 8-65534"
    # Ranges count their ids: runs 0-1, 3-4, ..., the ids after the 2nd run are counted.
    assert id_list([0, 1, 3, 4, 6, 7, 9], limit=2) == "0-1, 3-4 ... and 3 more"


@given(st.sets(st.integers(0, 70_000), max_size=300), st.integers(1, 12))
def test_the_text_names_or_counts_every_id(ids, limit):
    text = id_list(ids, limit)
    runs = id_runs(ids)
    named, _, rest = text.partition(" ... and ")
    parts = [p for p in named.split(", ") if p]
    assert len(parts) == min(limit, len(runs))
    covered = sum(int(p.split("-")[-1]) - int(p.split("-")[0]) + 1 for p in parts)
    more = int(rest.removesuffix(" more").replace(",", "")) if rest else 0
    assert covered + more == len(ids)
    assert len(text) <= limit * 12 + 30  # bounded by the limit, not by the ids


def many_absent_counts(present: int = 2048, step: int = 2) -> ClassCounts:
    """``present`` classes at ids 0, step, 2*step, ...: a lone absent id between each two."""
    ids = np.arange(0, present * step, step, dtype=np.int64)
    return ClassCounts.from_histogram(ids, np.arange(1, present + 1, dtype=np.int64))


def test_layout_warning_of_thousands_of_absent_classes_is_one_short_line():
    stats = class_stats(many_absent_counts(), LabelSpec())
    (line,) = [w for w in layout_warnings(stats) if w.startswith("classes never seen")]
    assert line == (
        "classes never seen, given weight 0: 1, 3, 5, 7, 9, 11, 13, 15, 17, 19 ... and 2,037 more"
    )
    assert list(stats.absent) == list(range(1, 4095, 2))  # the data keeps every one


def test_priors_warning_is_bounded_and_the_data_complete():
    stats = class_stats(many_absent_counts(), LabelSpec())
    priors = class_priors(stats)
    (line,) = [w for w in priors.warnings if "log prior" in w]
    assert line.endswith("not -inf: 1, 3, 5, 7, 9, 11, 13, 15, 17, 19 ... and 2,037 more")
    assert priors.floored == tuple(range(1, 4095, 2))


def test_rare_class_warning_is_bounded_and_the_data_complete(tmp_path):
    # 30 images; image k holds class k with 10 pixels and class 100 with 5000: every class
    # 0..29 has no image with more than 3000 pixels of it (left out), 100 is kept.
    lines = [json.dumps({"mfb_per_image": 1, "label_mapping": {}})]
    for k in range(30):
        lines.append(json.dumps({"image": f"{k}.png", "ids": [2 * k, 100], "pixels": [10, 5000]}))
    path = tmp_path / "images.jsonl"
    path.write_text("\n".join(lines) + "\n")
    result = run("sampling", "--from", path, "--scheme", "rare-class", "-f", "json")
    assert result.exit_code == 0, result.stderr
    warning = [w for w in result.stderr.splitlines() if "rare-class: classes" in w]
    shown = ", ".join(str(2 * k) for k in range(MAX_SHOWN))
    assert len(warning) == 1 and f"classes {shown} ... and 20 more have no image" in warning[0]
    data = json.loads(result.stdout)
    assert any(f"classes {shown} ... and 20 more" in w for w in data["warnings"])
    # The full list is in the data: every left-out class has probability 0.
    probability = data["class_probabilities"]
    assert sorted(int(c) for c, p in probability.items() if p == 0) == [2 * k for k in range(30)]


@pytest.mark.parametrize("command", ["weights", "histogram", "priors", "report"])
def test_no_command_prints_a_list_of_thousands_of_ids(tmp_path, command):
    from .show.test_report import write_stats

    stats = write_stats(tmp_path / "s.json", many_absent_counts(), 1)
    result = run(command, "--from", stats)
    assert result.exit_code == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    assert any(" ... and 2,037 more" in w for w in warnings)  # the 2,047 absent ids
    for line in warnings:
        assert len(line) < 400, line
