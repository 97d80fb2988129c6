"""Shared helpers: the mfb command run in-process, tiny masks written to tmp_path, and a
naive reference for the weights."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result
from PIL import Image

from mfb_cli.cli import cli


def run(*args: object, stdin: str | None = None) -> Result:
    """``mfb ARGS...`` in-process (each argument passed through str); stderr kept apart."""
    return CliRunner().invoke(cli, [str(a) for a in args], input=stdin)


def save_mask(path: Path, labels: Sequence[Sequence[int]] | np.ndarray, mode: str = "L") -> Path:
    """Write ``labels`` as an image of the given Pillow mode and return its path."""
    array = np.asarray(labels)
    if mode == "L":
        image = Image.fromarray(array.astype(np.uint8))
    elif mode == "P":
        image = Image.fromarray(array.astype(np.uint8)).convert("P")
        # A palette whose colours are not the indices, so reading colours would be caught.
        image.putpalette([(7 * i + 100) % 256 for i in range(768)])
    elif mode == "I;16":
        image = Image.fromarray(array.astype(np.uint16))
    elif mode == "I":
        image = Image.fromarray(array.astype(np.int32))
    elif mode == "1":
        image = Image.fromarray(array.astype(bool))
    elif mode == "RGB":
        image = Image.fromarray(array.astype(np.uint8), mode="RGB")
    else:
        raise ValueError(mode)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    return path


@pytest.fixture
def mask_dir(tmp_path: Path) -> Callable[..., Path]:
    """Write several masks into one folder: mask_dir([a, b], mode='L') -> folder."""

    def write(arrays: Iterable[Sequence[Sequence[int]]], mode: str = "L", name: str = "m") -> Path:
        folder = tmp_path / name
        for index, labels in enumerate(arrays):
            save_mask(folder / f"{index:04d}.png", labels, mode)
        return folder

    return write


def naive_median_frequency(
    images: Iterable[np.ndarray],
    num_classes: int,
    void: Iterable[int] = (),
    ignore: Iterable[int] = (),
    void_in_median: bool = False,
) -> list[Fraction]:
    """The definition, spelled out with one comparison per class and image.

    Independent of mfb: no bincount, no co-occurrence table, exact fractions. With
    ``void_in_median`` void and ignored pixels are labelled and the frequencies of the void
    ids and ignored values present join the median (ignored values still get no entry).
    """
    void, ignore = set(void), set(ignore)
    images = list(images)
    values = sorted({*range(num_classes), *ignore})
    pixels = dict.fromkeys(values, 0)
    presence = dict.fromkeys(values, 0)
    for image in images:
        labelled = sum(
            int((image == value).sum())
            for value in np.unique(image).tolist()
            if void_in_median or (value not in ignore and value not in void)
        )
        for c in values:
            n = int((image == c).sum())
            if n:
                pixels[c] += n
                presence[c] += labelled
    in_median = [
        c for c in values if pixels[c] and (void_in_median or (c not in void and c not in ignore))
    ]
    freq = {c: Fraction(pixels[c], presence[c]) for c in in_median}
    ordered = sorted(freq.values())
    half = len(ordered) // 2
    median = ordered[half] if len(ordered) % 2 else (ordered[half - 1] + ordered[half]) / 2
    return [
        median / freq[c] if c in freq and c not in void else Fraction(0) for c in range(num_classes)
    ]
