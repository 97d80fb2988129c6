from __future__ import annotations

import csv
import io
import json
import re
import sys
import types

import numpy as np
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from mfb_cli.count.counts import CountsAccumulator
from mfb_cli.count.kernels import histogram_of_array
from mfb_cli.show.records import rounded, weights_record
from mfb_cli.show.serialize import to_json
from mfb_cli.show.weights_formats import WEIGHTS_FORMATS
from mfb_cli.weigh.classes import class_stats
from mfb_cli.weigh.spec import LabelSpec
from mfb_cli.weigh.weights import class_weights

from ..numpy_frameworks import keras_modules

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


# Every output format carries the same numbers as the JSON: each one is parsed back (or,
# for the Python snippets, executed with numpy stand-ins for torch and tensorflow).

# n = [6, 3, 1] for classes 0..2, void 3 (two pixels), ignored 254 and 255.
IMAGE = np.array([[0, 0, 0, 0, 255], [0, 0, 1, 1, 254], [1, 2, 3, 3, 255]])


def make_record(ignore=(254, 255), names=None, decimals=None, scheme="inverse-frequency"):
    accumulator = CountsAccumulator()
    image = IMAGE.copy()
    for value in {254, 255} - set(ignore):
        image[image == value] = 0  # a value not ignored becomes a class-0 pixel
    accumulator.add(*histogram_of_array(image))
    stats = class_stats(accumulator.result(), LabelSpec.of(void=[3], ignore=ignore))
    result = class_weights(stats, scheme, normalize="mean")
    return rounded(weights_record(stats, result, names=names), decimals)


class FakeLoss:
    """Stands in for torch.nn.CrossEntropyLoss: keeps what it was built with."""

    def __init__(self, **kwargs):
        self.kwargs = kwargs


@pytest.fixture
def fake_frameworks(monkeypatch):
    torch = types.ModuleType("torch")
    nn = types.ModuleType("torch.nn")
    nn.CrossEntropyLoss = FakeLoss
    torch.nn = nn
    torch.tensor = lambda data: list(data)  # the literal list, to compare exactly
    keras = keras_modules()
    keras["keras"].losses = types.SimpleNamespace(SparseCategoricalCrossentropy=FakeLoss)
    for name, module in {"torch": torch, "torch.nn": nn, **keras}.items():
        monkeypatch.setitem(sys.modules, name, module)


def run_snippet(text):
    namespace = {}
    exec(compile(text, "<snippet>", "exec"), namespace)
    return namespace


def parse_weights(output_format, text, num_classes):
    """The weight vector in ``text``, read the way its consumer would read it."""
    if output_format == "json":
        return json.loads(text)["weights"]
    if output_format == "yaml":
        return yaml.safe_load(text)["weights"]
    if output_format == "csv":
        return [float(row["weight"]) for row in csv.DictReader(io.StringIO(text))]
    if output_format == "list":
        return json.loads(text)
    if output_format == "torch":
        return run_snippet(text)["criterion"].kwargs["weight"]
    if output_format == "mmseg":
        return run_snippet(text)["model"]["decode_head"]["loss_decode"]["class_weight"]
    if output_format == "keras":
        vector = run_snippet(text)["CLASS_WEIGHTS"]
        assert vector.dtype == np.float32
        return vector[:num_classes].tolist()
    if output_format == "caffe":
        return [float(x) for x in re.findall(r"^\s*class_weighting: (\S+)", text, re.M)]
    if output_format in ("nnunet", "monai"):  # CLASS_WEIGHTS = [...] (torch, nnU-Net, MONAI)
        from .test_medical_snippets import assigned

        return assigned(text, "CLASS_WEIGHTS")
    raise AssertionError(f"no parser for format {output_format!r}: add one")


@pytest.mark.parametrize("output_format", sorted(WEIGHTS_FORMATS))
@pytest.mark.parametrize("decimals", [None, 3])
@pytest.mark.parametrize("ignore", [(), (255,), (254, 255)])
def test_every_format_carries_the_json_numbers(fake_frameworks, output_format, decimals, ignore):
    record = make_record(ignore, decimals=decimals)
    expected = json.loads(to_json(record))["weights"]
    found = parse_weights(output_format, WEIGHTS_FORMATS[output_format](record), len(expected))
    if output_format == "keras":  # Keras computes in float32
        expected = np.float32(expected).tolist()
    assert found == expected
    assert len(found) == 4


def test_the_numbers_themselves():
    # inverse-frequency [5/9, 10/9, 10/3] with mean 5/3 -> [1/3, 2/3, 2]; void 3 -> 0.
    assert make_record()["weights"] == [1 / 3, 2 / 3, 2.0, 0.0]
    assert make_record(decimals=3)["weights"] == [0.333, 0.667, 2.0, 0.0]
    assert make_record(decimals=3)["frequencies"] == [0.6, 0.3, 0.1, None]


def test_csv_rows():
    rows = list(csv.reader(io.StringIO(WEIGHTS_FORMATS["csv"](make_record(names={0: "sky"})))))
    assert rows[0] == ["id", "name", "pixels", "frequency", "weight"]
    assert rows[1] == ["0", "sky", "6", "0.6", repr(1 / 3)]
    assert rows[4] == ["3", "3", "2", "", "0.0"]


def test_csv_name_is_empty_when_no_names_are_known():
    record = make_record()
    assert "names" not in json.loads(to_json(record))  # JSON: no names at all
    rows = list(csv.DictReader(io.StringIO(WEIGHTS_FORMATS["csv"](record))))
    assert [row["name"] for row in rows] == ["", "", "", ""]
    assert [row["id"] for row in rows] == ["0", "1", "2", "3"]


@pytest.mark.parametrize(("ignore", "argument"), [((), None), ((255,), 255), ((254, 255), 255)])
def test_torch_ignore_index(fake_frameworks, ignore, argument):
    text = WEIGHTS_FORMATS["torch"](make_record(ignore))
    names = run_snippet(text)
    kwargs = names["criterion"].kwargs
    assert ("training_target" in names) == (len(ignore) == 2)
    assert kwargs.get("ignore_index") == argument
    assert ("training_target maps 254 to 255" in text) == (len(ignore) == 2)


@pytest.mark.parametrize(("ignore", "head"), [((), None), ((255,), 255), ((254, 255), 255)])
def test_mmseg_ignore_index_is_on_the_decode_head(ignore, head):
    model = run_snippet(WEIGHTS_FORMATS["mmseg"](make_record(ignore)))["model"]
    decode = model["decode_head"]
    assert decode.get("ignore_index") == head
    assert decode["num_classes"] == 4
    assert decode["loss_decode"]["type"] == "CrossEntropyLoss"
    assert decode["loss_decode"]["avg_non_ignore"] is True
    assert decode["loss_decode"]["loss_weight"] == 1.0


@pytest.mark.parametrize("ignore", [(), (255,), (254, 255)])
def test_keras_sample_weights_follow_the_ground_truth(fake_frameworks, ignore):
    record = make_record(ignore)
    add_sample_weights = run_snippet(WEIGHTS_FORMATS["keras"](record))["add_sample_weights"]
    label = np.array([[0, 1, 2], [3, 0, 1]] if not ignore else [[0, 1, 2], [3, 255, 254]])
    if ignore == (255,):
        label[1, 2] = 1
    image, new_label, weight = add_sample_weights("image", label)
    weights = np.float32(record["weights"])
    valid = ~np.isin(label, ignore)
    assert image == "image"
    assert weight.tolist() == np.where(valid, weights[np.where(valid, label, 0)], 0).tolist()
    assert new_label.tolist() == np.where(valid, label, 0).tolist()
    assert int(new_label.max()) < 4


def test_keras_loss_averages_over_the_sample_weights(fake_frameworks):
    # Keras's default 'sum_over_batch_size' would count weight-0 pixels in the average.
    loss = run_snippet(WEIGHTS_FORMATS["keras"](make_record((255,))))["loss"]
    assert loss.kwargs == {"from_logits": True, "reduction": "mean_with_sample_weight"}


def test_caffe_has_one_line_per_channel_and_the_ignore_label():
    text = WEIGHTS_FORMATS["caffe"](make_record((255,)))
    assert len(re.findall(r"^\s*class_weighting:", text, re.M)) == 4
    assert re.findall(r"^\s*ignore_label: (\d+)$", text, re.M) == ["255"]
    assert not re.search(r"^\s*ignore_label", WEIGHTS_FORMATS["caffe"](make_record(())), re.M)
    assert text.count("{") == text.count("}")


def test_names_stay_inside_comments(fake_frameworks):
    record = make_record(names={0: "sky\nimport os; raise SystemExit", 2: "pole\x00\r"})
    for output_format in ("torch", "mmseg", "keras"):
        text = WEIGHTS_FORMATS[output_format](record)
        run_snippet(text)
        assert "# 0 sky import os; raise SystemExit" in text
        assert "# 2 pole" in text


def test_mmseg_without_ignore_when_255_is_a_class():
    record = {**make_record(()), "num_classes": 300, "weights": [1.0] * 300}
    decode = run_snippet(WEIGHTS_FORMATS["mmseg"](record))["model"]["decode_head"]
    assert decode["ignore_index"] == -100
    assert len(decode["loss_decode"]["class_weight"]) == 300


def test_decimals_round_the_exact_weight_not_its_float(tmp_path):
    """107/40 = 2.675 exactly; its float is 2.67499999..., which rounds to 2.67."""
    from decimal import ROUND_HALF_EVEN, Decimal

    from ..conftest import run, save_mask

    save_mask(tmp_path / "a.png", np.array([[0] * 40 + [1] * 107 + [2] * 200]))
    record = json.loads(run("weights", tmp_path, "--decimals", 2).stdout)

    def half_even(numerator: int, denominator: int) -> float:
        exact = Decimal(numerator) / Decimal(denominator)  # exact: both divide a power of 10
        return float(exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN))

    # median frequency 107/347; weights (107/347) / (n/347) = 107/n.
    assert record["weights"] == [half_even(107, 40), 1.0, half_even(107, 200)] == [2.68, 1.0, 0.54]
    assert round(107 / 40, 2) == 2.67  # what rounding the float gave
    rows = list(
        csv.reader(io.StringIO(run("weights", tmp_path, "--decimals", 2, "-f", "csv").stdout))
    )
    assert [row[-1] for row in rows[1:]] == ["2.68", "1.0", "0.54"]


# --- to_json: the text of json.dumps(indent=2) with arrays of numbers on one line --------


def _to_json_naively(record: object) -> str:
    """json's own indented text, then every array holding only numbers, booleans or null
    joined onto one line by a regular expression (a newline after '[' is never in a string)."""
    text = json.dumps(record, indent=2, allow_nan=False)
    scalar_array = re.compile(r"\[\n\s+([-+.\w\s,]*?)\n\s*\]")
    return scalar_array.sub(lambda m: "[" + re.sub(r"\s+", " ", m[1]) + "]", text) + "\n"


class _Id(int):
    """An int subclass: json writes it as a number, though its type is not int."""


_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(-5, 5).map(_Id)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=4)
)
_records = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.lists(inner, max_size=3).map(tuple)
        | st.dictionaries(
            st.text(max_size=3) | st.integers(-3, 3) | st.booleans(), inner, max_size=4
        )
    ),
    max_leaves=40,
)


@given(_records)
def test_to_json_is_json_dumps_with_number_arrays_on_one_line(record):
    assert to_json(record) == _to_json_naively(record)


def test_to_json_by_hand():
    record = {"a": [1, 2.5, None, True], "b": [], "c": {}, "d": [[1, 2], ["x"], [{}]], 3: "é"}
    assert to_json(record) == (
        '{\n  "a": [1, 2.5, null, true],\n  "b": [],\n  "c": {},\n  "d": [\n    [1, 2],\n'
        '    [\n      "x"\n    ],\n    [\n      {}\n    ]\n  ],\n  "3": "\\u00e9"\n}\n'
    )
    with pytest.raises(ValueError, match="Out of range float values"):
        to_json({"x": [float("nan")]})
    with pytest.raises(TypeError):
        to_json({("a",): 1})
