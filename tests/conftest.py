"""Shared fixtures: tiny masks written to tmp_path, and a naive reference for the weights."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from PIL import Image


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

    Independent of mfb: no bincount, no co-occurrence table, exact fractions.
    """
    void, ignore = set(void), set(ignore)
    pixels = [0] * num_classes
    presence = [0] * num_classes
    for image in images:
        labelled = sum(
            int((image == value).sum())
            for value in np.unique(image).tolist()
            if value not in ignore and (void_in_median or value not in void)
        )
        for c in range(num_classes):
            n = int((image == c).sum())
            if n:
                pixels[c] += n
                presence[c] += labelled
    in_median = [c for c in range(num_classes) if pixels[c] and (void_in_median or c not in void)]
    freq = {c: Fraction(pixels[c], presence[c]) for c in in_median}
    ordered = sorted(freq.values())
    half = len(ordered) // 2
    median = ordered[half] if len(ordered) % 2 else (ordered[half - 1] + ordered[half]) / 2
    return [
        median / freq[c] if c in freq and c not in void else Fraction(0) for c in range(num_classes)
    ]
