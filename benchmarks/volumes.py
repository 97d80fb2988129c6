"""Benchmark mfb on 3D label volumes: peak memory on one huge volume, speed against nibabel.

Not a test: run it by hand on a quiet machine; it prints a markdown table::

    python benchmarks/volumes.py                      # 100 CT-sized cases + the huge one
    python benchmarks/volumes.py --cases 10 --depth 400   # a smaller run

Data are generated once, seeded, under ``benchmarks/data/volumes-*`` (gitignored):
CT-sized label volumes of 512 x 512 x 200 uint8 voxels (.nii.gz, gzip level 6), a body of
background with ellipsoid "organs" (ids 1-4) and a few small "lesions" (id 5), so the
files compress and decode like real segmentations; and one 512 x 512 x depth volume
(default 2000 slices, 500 million voxels) for peak memory. Each contender is a fresh
process (start-up included), in interleaved rounds; medians. The floor is nibabel alone
loading every array (``np.asanyarray(nib.load(path).dataobj)``, one after the other).
``mfb scan --geometry`` is timed beside them (components of every class, joined across
slabs: the file is read twice).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench import DATA, machine, run_child, wait_for_quiet, write_section  # noqa: E402

SHAPE = (512, 512, 200)


def case(seed: int, depth: int) -> np.ndarray:
    """One label volume (i, j, k): ellipsoid organs 1-4 and small lesions 5 in a body 0."""
    rng = np.random.default_rng(seed)
    i, j = np.ogrid[:512, :512]
    volume = np.zeros((512, 512, depth), np.uint8)
    organs = [
        (rng.uniform(150, 360), rng.uniform(150, 360), rng.uniform(0.2, 0.8) * depth,
         rng.uniform(30, 90), rng.uniform(30, 90), rng.uniform(0.1, 0.3) * depth, label)
        for label in (1, 2, 3, 4)
    ] + [
        (rng.uniform(150, 360), rng.uniform(150, 360), rng.uniform(0.1, 0.9) * depth,
         rng.uniform(3, 10), rng.uniform(3, 10), rng.uniform(2, 6), 5)
        for _ in range(3)
    ]  # fmt: skip
    for k in range(depth):
        plane = volume[:, :, k]
        for ci, cj, ck, ri, rj, rk, label in organs:
            dz = (k - ck) / rk
            if abs(dz) < 1:
                plane[((i - ci) / ri) ** 2 + ((j - cj) / rj) ** 2 < 1 - dz * dz] = label
    return volume


def ensure_cases(count: int) -> Path:
    import nibabel as nib

    folder = DATA / "volumes-ct"
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        path = folder / f"case_{index:03d}.nii.gz"
        if not path.exists():
            image = nib.Nifti1Image(case(index, SHAPE[2]), np.diag([0.78125, 0.78125, 2.5, 1]))
            nib.save(image, path)
    subset = DATA / f"volumes-ct-{count}"
    subset.mkdir(exist_ok=True)
    for index in range(count):
        link = subset / f"case_{index:03d}.nii.gz"
        if not link.exists():
            link.hardlink_to(folder / link.name)
    return subset


def ensure_huge(depth: int) -> Path:
    import nibabel as nib

    path = DATA / f"volumes-huge-{depth}" / "huge.nii.gz"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        nib.save(nib.Nifti1Image(case(1000, depth), np.eye(4)), path)
    return path.parent


FLOOR = """
import sys
from pathlib import Path
import nibabel as nib
import numpy as np
total = 0
for path in sorted(Path(sys.argv[1]).glob("*.nii.gz")):
    total += np.asanyarray(nib.load(path).dataobj).size
print(total)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=100)
    parser.add_argument("--depth", type=int, default=2000, help="slices of the huge volume")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--output", type=Path, default=HERE / "VOLUMES.md")
    args = parser.parse_args()
    print("generating volumes (once)", file=sys.stderr)
    cases = ensure_cases(args.cases)
    huge = ensure_huge(args.depth)
    mfb = [sys.executable, "-m", "mfb_cli", "scan", "--glob", "*.nii.gz", "-q"]
    contenders = {
        "nibabel alone (the floor)": [sys.executable, "-c", FLOOR, str(cases)],
        "mfb scan -j 1": [*mfb, str(cases), "-j", "1"],
        "mfb scan (all cores)": [*mfb, str(cases)],
        "mfb scan --geometry (all cores)": [*mfb, str(cases), "--geometry"],
    }
    times: dict[str, list[float]] = {name: [] for name in contenders}
    peaks: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(args.rounds):
        for name, command in contenders.items():
            wait_for_quiet(limit=10.0)
            run = run_child(command)
            times[name].append(run.seconds)
            peaks[name].append(run.peak_mib)
    floor = statistics.median(times["nibabel alone (the floor)"])
    lines = [
        f"Machine: {machine()}.",
        "",
        f"Command: `python benchmarks/volumes.py {' '.join(sys.argv[1:])}`",
        "",
        f"**{args.cases} CT-sized cases** (512 x 512 x 200 uint8, .nii.gz), {args.rounds} rounds:",
        "",
        "| contender | median s | / floor | peak MiB |",
        "|---|---|---|---|",
    ]
    for name in contenders:
        median = statistics.median(times[name])
        lines.append(f"| {name} | {median:.2f} | {median / floor:.2f} | {max(peaks[name]):.0f} |")
    big = run_child([*mfb, str(huge), "-j", "1"])
    shaped = run_child([*mfb, str(huge), "-j", "1", "--geometry"])
    voxels = 512 * 512 * args.depth
    lines += [
        "",
        f"**One 512 x 512 x {args.depth} uint8 volume** ({voxels / 1e6:.0f} M voxels, .nii.gz): "
        f"mfb scan took {big.seconds:.1f} s with a peak of {big.peak_mib:.0f} MiB; with "
        f"--geometry (components labelled slab by slab, the file read twice) "
        f"{shaped.seconds:.1f} s with a peak of {shaped.peak_mib:.0f} MiB.",
    ]
    text = "\n".join(lines) + "\n"
    print(text, end="")
    write_section(args.output, "volumes", text)  # docs/volumes.md and docs/speed.md include it


if __name__ == "__main__":
    main()
