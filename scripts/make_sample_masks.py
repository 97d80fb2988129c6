"""Generate sample_masks/: 20 seeded, street-scene-like 480x360 label masks in CamVid's
11-class layout (ids 0-10) with 11 = void, as 8-bit 'L' PNGs, plus classes.txt.

Run from the repository root with the Python that has mfb's dependencies, e.g. the
development environment's: ``.venv/bin/python scripts/make_sample_masks.py``. The output
is byte-for-byte reproducible (fixed seed, no timestamps in the PNGs).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

try:
    import numpy as np
    from PIL import Image
except ImportError as missing:  # a Python without mfb's dependencies: say which to use
    sys.exit(
        f"{Path(sys.argv[0]).name}: needs NumPy and Pillow ({missing}); run it with the Python "
        "that has mfb installed, e.g. .venv/bin/python scripts/make_sample_masks.py"
    )

CLASSES = [
    "Sky", "Building", "Pole", "Road", "Pavement", "Tree",
    "SignSymbol", "Fence", "Car", "Pedestrian", "Bicyclist", "Unlabelled",
]  # fmt: skip
SKY, BUILDING, POLE, ROAD, PAVEMENT, TREE, SIGN, FENCE, CAR, PEDESTRIAN, BICYCLIST, VOID = range(12)
WIDTH, HEIGHT = 480, 360


def street_scene(rng: np.random.Generator) -> np.ndarray:
    """One mask: sky, buildings and trees above a road with pavements and small objects."""
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH]
    mask = np.full((HEIGHT, WIDTH), SKY, dtype=np.uint8)
    horizon = int(rng.integers(150, 195))

    # Buildings: a skyline of blocks rising from the horizon.
    left = 0
    while left < WIDTH:
        width = int(rng.integers(40, 140))
        top = int(rng.integers(20, horizon - 30))
        if rng.random() < 0.85:
            mask[top:horizon, left : left + width] = BUILDING
        left += width
    # Trees: a few crowns (ellipses) in front of the buildings.
    for _ in range(int(rng.integers(1, 5))):
        cx, cy = rng.integers(0, WIDTH), rng.integers(horizon - 90, horizon - 10)
        rx, ry = rng.integers(20, 60), rng.integers(15, 45)
        mask[((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1] = TREE

    # Ground: pavement everywhere below the horizon, then a road widening towards us.
    ground = y >= horizon
    mask[ground] = PAVEMENT
    vanish = int(rng.integers(180, 300))
    depth = (y - horizon) / (HEIGHT - horizon)
    half_width = 15 + depth * rng.integers(280, 400)
    road = ground & (np.abs(x - vanish - (WIDTH / 2 - vanish) * depth) <= half_width)
    mask[road] = ROAD
    if rng.random() < 0.6:  # a fence along the far pavement
        fence_top = horizon - int(rng.integers(8, 20))
        side = x < vanish - 60 if rng.random() < 0.5 else x > vanish + 60
        mask[(y >= fence_top) & (y < horizon + 6) & side] = FENCE

    # Cars on the road, nearer ones bigger.
    for _ in range(int(rng.integers(1, 6))):
        row = int(rng.integers(horizon + 10, HEIGHT - 20))
        scale = (row - horizon) / (HEIGHT - horizon)
        w, h = int(30 + 140 * scale), int(15 + 70 * scale)
        col = int(rng.integers(0, WIDTH - w))
        mask[max(row - h, 0) : row, col : col + w] = CAR
    # Poles (thin) with the odd sign on top.
    for _ in range(int(rng.integers(1, 5))):
        col, foot = int(rng.integers(5, WIDTH - 5)), int(rng.integers(horizon, HEIGHT - 40))
        top = int(rng.integers(30, horizon - 10))
        mask[top:foot, col : col + int(rng.integers(2, 5))] = POLE
        if rng.random() < 0.5:
            mask[top : top + 12, col - 6 : col + 8] = SIGN
    # Pedestrians and, more rarely, cyclists.
    for _ in range(int(rng.integers(0, 4))):
        foot, col = int(rng.integers(horizon + 5, HEIGHT)), int(rng.integers(0, WIDTH - 12))
        size = (foot - horizon) / (HEIGHT - horizon)
        mask[max(foot - int(25 + 60 * size), 0) : foot, col : col + int(6 + 14 * size)] = PEDESTRIAN
    if rng.random() < 0.3:
        foot, col = int(rng.integers(horizon + 20, HEIGHT)), int(rng.integers(0, WIDTH - 40))
        mask[max(foot - 45, 0) : foot, col : col + 35] = BICYCLIST

    # Void: the annotator's unlabelled seams between regions, and a blurred corner.
    if rng.random() < 0.7:
        seam = np.zeros_like(mask, dtype=bool)
        seam[:, 1:] |= mask[:, 1:] != mask[:, :-1]
        seam[1:, :] |= mask[1:, :] != mask[:-1, :]
        mask[seam] = VOID
    if rng.random() < 0.3:
        mask[HEIGHT - int(rng.integers(10, 30)) :, : int(rng.integers(20, 80))] = VOID
    return mask


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("sample_masks"))
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--seed", type=int, default=2015)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    for index in range(args.count):
        mask = street_scene(rng)
        Image.fromarray(mask).save(  # uint8, 2-D: mode L
            args.out / f"street_{index:03d}.png", optimize=True
        )
    (args.out / "classes.txt").write_text("\n".join(CLASSES) + "\n")


if __name__ == "__main__":
    main()
