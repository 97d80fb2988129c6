"""Time a scan with this checkout's mfb and with another git revision's, in one run.

Not a test: a change that should not slow anything (a refactoring of the decoders, say)
is checked by timing both versions on the same files, interleaved, in one run::

    python benchmarks/before_after.py main --files 300         # 300 street-like masks
    python benchmarks/before_after.py main --files 300 --ade    # 512x512, 151 ids

The other revision is exported with ``git archive`` to a temporary folder and run with the
same interpreter (``python -m mfb_cli``), so only the code differs. Each scan is a fresh
process (start-up included); the table gives medians and the ratio after / before.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench import ADE, STREET, ensure_dataset, run_child, subset, wait_for_quiet  # noqa: E402


def export(revision: str, into: Path) -> Path:
    """The mfb_cli package of ``revision``, extracted under ``into``."""
    into.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(HERE.parent), "archive", revision, "mfb_cli"],
        check=True,
        capture_output=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("revision", help="the git revision to compare with (e.g. main)")
    parser.add_argument("--files", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--ade", action="store_true", help="ADE-like 512x512 masks")
    parser.add_argument("--jobs", default="2")
    args = parser.parse_args()
    dataset = ADE if args.ade else STREET
    folder = subset(ensure_dataset(dataset, args.files), args.files, f"{dataset.name}-{args.files}")
    with tempfile.TemporaryDirectory(prefix="mfb-before-") as scratch:
        before = export(args.revision, Path(scratch) / "before")
        after = HERE.parent
        # python -m puts the working folder first on sys.path: run from an empty one, so
        # each version is imported from its PYTHONPATH alone.
        empty = Path(scratch) / "empty"
        empty.mkdir()
        os.chdir(empty)
        scan = ["-m", "mfb_cli", "weights", str(folder), "-j", args.jobs, "-q"]
        runs: dict[str, list[float]] = {"before": [], "after": []}
        outputs: dict[str, bytes] = {}
        for round_index in range(args.rounds):
            order = ("before", "after") if round_index % 2 == 0 else ("after", "before")
            for label in order:
                root = before if label == "before" else after
                command = ["/usr/bin/env", f"PYTHONPATH={root}", sys.executable, *scan]
                wait_for_quiet(limit=10.0)
                runs[label].append(run_child(command).seconds)
                outputs[label] = subprocess.run(command, check=True, capture_output=True).stdout
        versions = {
            label: subprocess.run(
                ["/usr/bin/env", f"PYTHONPATH={root}", sys.executable, "-c",
                 "import mfb_cli, sys; print(mfb_cli.__file__)"],
                check=True, capture_output=True, text=True,
            ).stdout.strip()
            for label, root in (("before", before), ("after", after))
        }  # fmt: skip
        print(f"compared: {versions}", file=sys.stderr)
    if outputs["before"] != outputs["after"]:
        raise SystemExit("the two revisions printed different weights")
    median = {label: statistics.median(times) for label, times in runs.items()}
    print(f"{args.files} {dataset.name} masks, -j {args.jobs}, {args.rounds} rounds (median s)")
    print("| revision | median s | after / before |")
    print("|---|---|---|")
    print(f"| {args.revision} | {median['before']:.3f} | |")
    print(f"| this checkout | {median['after']:.3f} | {median['after'] / median['before']:.3f} |")


if __name__ == "__main__":
    main()
