from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from mfb_cli.formats import to_json

scalars = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False), st.integers(), st.none(), st.booleans()
)


@given(st.dictionaries(st.text(max_size=5), st.lists(scalars, max_size=6) | st.lists(st.text())))
def test_json_round_trips_exactly(record):
    text = to_json(record)
    assert json.loads(text) == record
    assert text.endswith("\n")


def test_strings_that_look_like_arrays_are_untouched():
    record = {"[ 1, 2 ]": ["[ 3 ]"], "x": [1, 2]}
    assert json.loads(to_json(record)) == record


def test_number_arrays_on_one_line_strings_stay_indented():
    text = to_json({"weights": [0.5, 1e-07, None], "paths": ["a", "b"]})
    assert '"weights": [0.5, 1e-07, null]' in text
    assert '"paths": [\n    "a",\n    "b"\n  ]' in text
