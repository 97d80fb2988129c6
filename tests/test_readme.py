"""The worked example of README's "Using the weights", recomputed from its definitions."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from mfb_cli.count.counts import CountsAccumulator
from mfb_cli.count.kernels import histogram_of_array
from mfb_cli.weigh.classes import class_stats
from mfb_cli.weigh.weights import class_weights

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")

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
def test_the_readme_shows_these_numbers(row):
    assert row in README


def test_the_readme_torch_example_is_current_output():
    from click.testing import CliRunner

    from mfb_cli.cli import cli

    samples = Path(__file__).resolve().parent.parent / "sample_masks"
    args = ["weights", str(samples), "--void", "11", "--names", str(samples / "classes.txt")]
    result = CliRunner().invoke(cli, [*args, "--decimals", "4", "-f", "torch"])
    assert result.exit_code == 0, result.stderr
    # The snippet's page is docs/frameworks.md (tests/test_docs_frameworks.py).
    frameworks = (Path(__file__).resolve().parent.parent / "docs" / "frameworks.md").read_text()
    assert "```python\n" + result.stdout + "```" in frameworks


ROOT = Path(__file__).resolve().parent.parent


def _first_block_after(heading: str, fence: str) -> str:
    start = README.index(fence, README.index(heading)) + len(fence)
    return README[start : README.index("```\n", start)]


def test_the_readme_shows_the_real_output_of_its_first_command(monkeypatch):
    from click.testing import CliRunner

    from mfb_cli.cli import cli

    monkeypatch.chdir(ROOT)  # the command is typed in the repository's root
    result = CliRunner().invoke(cli, ["weights", "sample_masks", "--void", "11"])
    assert result.exit_code == 0, result.stderr
    assert _first_block_after("## Output of the first command", "```json\n") == result.stdout


def test_ci_runs_the_two_commands_the_readme_opens_with():
    commands = README.split("```bash\n", 1)[1].split("```\n", 1)[0].strip().splitlines()
    assert len(commands) == 2
    ci = (ROOT / ".ci" / "run").read_text()
    for command in commands:
        assert command in ci
