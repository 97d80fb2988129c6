"""The worked example of docs/frameworks.md, recomputed from its definitions."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from mfb_cli.count.counts import CountsAccumulator
from mfb_cli.count.kernels import histogram_of_array
from mfb_cli.weigh.classes import class_stats
from mfb_cli.weigh.weights import class_weights

PAGE = (Path(__file__).resolve().parent.parent / "docs" / "frameworks.md").read_text(
    encoding="utf-8"
)

TARGET = np.array([0, 0, 1, 2, 255])
LOSS = np.array([0.2, 0.4, 0.6, 1.0, 7.0])  # the ignored pixel's loss must not matter
IGNORE = 255


def pytorch_mean(weights):
    """nn.CrossEntropyLoss(weight, ignore_index, reduction='mean') as documented."""
    keep = TARGET != IGNORE
    w = np.asarray(weights, dtype=float)[TARGET[keep]]
    return float((w * LOSS[keep]).sum() / w.sum())


def pixel_mean(weights):
    """mmseg 0.30-1.1.x (avg_non_ignore=True): divide by the non-ignored pixel count."""
    keep = TARGET != IGNORE
    w = np.asarray(weights, dtype=float)[TARGET[keep]]
    return float((w * LOSS[keep]).sum() / keep.sum())


def weights_of_one_image(normalize="none"):
    accumulator = CountsAccumulator()
    accumulator.add(*histogram_of_array(np.array([[0, 0, 0, 0, 0], [0, 1, 1, 1, 2]])))
    return class_weights(class_stats(accumulator.result()), normalize=normalize)


def test_the_weights_of_the_example():
    assert weights_of_one_image().weights == (0.5, 1.0, 3.0)
    assert weights_of_one_image("mean").exact == (Fraction(1, 3), Fraction(2, 3), Fraction(2))


def test_the_losses_of_the_example():
    w = weights_of_one_image().weights
    normalized = weights_of_one_image("mean").weights
    assert pixel_mean([1, 1, 1]) == pytest.approx(0.55)
    assert pytorch_mean(w) == pytest.approx(0.78)
    assert pytorch_mean([2 * x for x in w]) == pytest.approx(0.78)
    assert pytorch_mean(normalized) == pytest.approx(0.78)
    assert pixel_mean(w) == pytest.approx(0.975)
    assert pixel_mean([2 * x for x in w]) == pytest.approx(1.95)
    assert pixel_mean(normalized) == pytest.approx(0.65)


@pytest.mark.parametrize(
    "row",
    [
        "| unweighted | | 2.2 | 4 pixels | 0.55 |",
        "| PyTorch, `reduction='mean'` | [0.5, 1, 3] | 3.9 | sum(w[y]) = 5 | 0.78 |",
        "| PyTorch, weights doubled | [1, 2, 6] | 7.8 | 10 | 0.78 |",
        "| mmseg 0.30-1.1.x, `avg_non_ignore=True` | [0.5, 1, 3] | 3.9 | 4 pixels | 0.975 |",
        "| mmseg 0.30-1.1.x, weights doubled | [1, 2, 6] | 7.8 | 4 pixels | 1.95 |",
    ],
)
def test_the_page_shows_these_numbers(row):
    assert row in PAGE
