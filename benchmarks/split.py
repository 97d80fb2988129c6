"""What stratifying buys, and how long a split takes: ``mfb split`` against a random split.

Not a test: run it by hand; it prints a markdown table and writes it into
``docs/splits.md`` (between the ``split-benchmark`` markers)::

    python benchmarks/split.py            # 40 seeds; 100,000 images timed
    python benchmarks/split.py --quick    # 5 seeds; 20,000 images timed

Quality: on ``sample_masks/`` (20 images, void 11) and on a generated set of 2,000 images
in 40 sequences of 50 frames (nine common classes, three rare ones held by 3, 5 and 8
sequences, split with the sequences as groups), for train/val/test 0.8,0.1,0.1 and for 5
folds: the worst per-part Jensen-Shannon divergence of the pixel shares to the whole
dataset's, the largest gap of a class's image share, and the classes missing from a part,
each the mean over the seeds, for the stratified split and for the random split with the
same seed and groups (which ``mfb split`` reports beside it); and how many seeds the
stratified split had the lower worst divergence. Time: ``mfb split --from images.jsonl``
on a per-image file of generated images (whole command, in its own process), and the
library call alone.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from mfb_cli import ClassCounts, ImageCounts, LabelSpec, Parts, class_stats, split_images
from mfb_cli.count.per_image import image_line, load_per_image

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DOCS = ROOT / "docs" / "splits.md"
START, END = "<!-- split-benchmark:start -->", "<!-- split-benchmark:end -->"
PIXELS = 480 * 360


def generate(
    count: int, frames: int = 50, seed: int = 0
) -> tuple[list[ImageCounts], dict[str, str]]:
    """``count`` images in sequences of ``frames``: each sequence has its own mix of the
    nine common classes (0-8); the rare classes 9, 10 and 11 are in 3, 5 and 8 sequences,
    in 30%, 10% and 5% of their frames."""
    rng = np.random.default_rng(seed)
    sequences = count // frames
    rare = ((9, 3, 0.3), (10, 5, 0.1), (11, 8, 0.05))
    holding = {c: set(rng.choice(sequences, size=k, replace=False).tolist()) for c, k, _ in rare}
    images, groups = [], {}
    for s in range(sequences):
        base = rng.dirichlet(np.ones(9))
        presence = rng.uniform(0.3, 1.0, size=9)
        for f in range(frames):
            mix = rng.dirichlet(base * 40 + 0.1)
            keep = rng.random(9) < presence
            keep[int(np.argmax(mix))] = True
            shares = {c: float(mix[c]) for c in range(9) if keep[c]}
            for c, _, p in rare:
                if s in holding[c] and rng.random() < p:
                    shares[c] = float(rng.uniform(0.001, 0.02))
            total = sum(shares.values())
            ids = sorted(shares)
            pixels = [max(1, int(shares[c] / total * PIXELS)) for c in ids]
            name = f"seq{s:04d}_{f:04d}.png"
            images.append(ImageCounts(name, tuple(ids), tuple(pixels)))
            groups[name] = f"seq{s:04d}"
    return images, groups


def stats_of(images: list[ImageCounts], spec: LabelSpec) -> object:
    totals: dict[int, int] = {}
    for one in images:
        for c, n in zip(one.ids, one.pixels, strict=True):
            totals[c] = totals.get(c, 0) + n
    ids = sorted(totals)
    counts = ClassCounts.from_histogram(np.array(ids), np.array([totals[c] for c in ids]))
    return class_stats(counts, spec)


def sample_images() -> list[ImageCounts]:
    """Per-image counts of sample_masks/, through 'mfb scan --per-image'."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "images.jsonl"
        subprocess.run(
            [sys.executable, "-m", "mfb_cli", "scan", str(ROOT / "sample_masks"), "-q",
             "-o", str(Path(folder) / "stats.json"), "--per-image", str(out)],
            check=True,
        )  # fmt: skip
        return list(load_per_image([out]).images)


def quality(images, groups, spec, parts, seeds) -> dict[str, float]:
    stats = stats_of(images, spec)
    rows = []
    for seed in seeds:
        s = split_images(images, stats, parts, seed=seed, groups=groups)
        rows.append(
            (
                s.effect.worst_js_divergence,
                s.random.worst_js_divergence,
                max(p.max_image_share_gap for p in s.effect.parts),
                max(p.max_image_share_gap for p in s.random.parts),
                sum(len(p.missing) for p in s.effect.parts),
                sum(len(p.missing) for p in s.random.parts),
                s.effect.worst_js_divergence < s.random.worst_js_divergence,
            )
        )
    columns = list(zip(*rows, strict=True))
    names = ("js", "js_random", "gap", "gap_random", "missing", "missing_random")
    result = {n: statistics.mean(c) for n, c in zip(names, columns, strict=False)}
    result["wins"] = sum(columns[-1])
    result["seeds"] = len(rows)
    return result


def timing(count: int) -> tuple[float, float]:
    """Seconds of 'mfb split --from FILE --folds 5' (whole process) and of the call alone."""
    images, _ = generate(count, frames=50, seed=1)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "images.jsonl"
        with path.open("w") as out:
            out.write(json.dumps({"mfb_per_image": 1, "label_mapping": {}}) + "\n")
            for one in images:
                out.write(image_line(one.image, one.ids, one.pixels))
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "mfb_cli", "split", "--from", str(path), "--folds", "5",
             "-o", str(Path(folder) / "split.json")],
            check=True,
        )  # fmt: skip
        command = time.perf_counter() - started
    stats = stats_of(images, LabelSpec.of())
    started = time.perf_counter()
    split_images(images, stats, Parts.k_folds(5), seed=0)
    return command, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    seeds = range(5 if args.quick else 40)
    count = 20_000 if args.quick else 100_000
    samples = sample_images()
    generated, groups = generate(2000)
    sets = [
        ("sample_masks (20 images)", samples, None, LabelSpec.of(void=[11])),
        ("generated, 2,000 images in 40 sequences", generated, groups, LabelSpec.of()),
    ]
    splits = [
        ("0.8,0.1,0.1", Parts.of_ratios(["0.8", "0.1", "0.1"])),
        ("5 folds", Parts.k_folds(5)),
    ]
    lines = [
        "| data | parts | worst JS, stratified | worst JS, random | stratified lower "
        "| image-share gap, stratified / random | classes missing, stratified / random |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for name, images, group_of, spec in sets:
        for label, parts in splits:
            q = quality(images, group_of, spec, parts, seeds)
            lines.append(
                f"| {name} | {label} | {q['js']:.5f} | {q['js_random']:.5f} "
                f"| {q['wins']} of {q['seeds']} seeds | {q['gap']:.3f} / {q['gap_random']:.3f} "
                f"| {q['missing']:.2f} / {q['missing_random']:.2f} |"
            )
    command, call = timing(count)
    lines += [
        "",
        f"Means over seeds 0-{len(seeds) - 1}. Time for {count:,} generated images from a "
        f"per-image file, 5 folds: {command:.1f} s for the whole `mfb split --from` command "
        f"(reading the file and writing the JSON included), {call:.1f} s for the split "
        "itself (`split_images`). Command: `python benchmarks/split.py`.",
    ]
    table = "\n".join(lines)
    print(table)
    text = DOCS.read_text()
    if START in text and END in text:
        head, rest = text.split(START, 1)
        tail = rest.split(END, 1)[1]
        DOCS.write_text(f"{head}{START}\n{table}\n{END}{tail}")
        print(f"wrote the table into {DOCS.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
