"""Mutated and truncated zip and tar archives of tiny PNGs through the CLI.

Whatever the damage, ``mfb weights`` gives the exact counts of a naive reader (Python's
zipfile/tarfile and Pillow, member by member) or a one-line error with exit status 1;
with --skip-bad and in ``mfb check`` it never shows a traceback either.
"""

from __future__ import annotations

import fnmatch
import io
import json
import tarfile
import tempfile
import zipfile
from pathlib import Path

import numpy as np
from click.testing import CliRunner, Result
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from mfb_cli.cli import cli

KINDS = {
    "zip": zipfile.ZIP_STORED,
    "zip-deflate": zipfile.ZIP_DEFLATED,
    "zip-bzip2": zipfile.ZIP_BZIP2,
    "zip-lzma": zipfile.ZIP_LZMA,
    "tar": "w",
    "tar.gz": "w:gz",
    "tar.bz2": "w:bz2",
    "tar.xz": "w:xz",
}

masks = st.lists(
    st.integers(1, 3).flatmap(
        lambda h: st.integers(1, 3).flatmap(
            lambda w: st.lists(
                st.lists(st.integers(0, 3), min_size=w, max_size=w), min_size=h, max_size=h
            )
        )
    ),
    min_size=1,
    max_size=3,
)
mutations = st.one_of(
    st.just(("none", 0.0, 0)),
    st.tuples(st.just("flip"), st.floats(0, 1, exclude_max=True), st.integers(1, 255)),
    st.tuples(st.just("cut"), st.floats(0, 1, exclude_max=True), st.just(0)),
)


def png(labels: list[list[int]]) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(labels, dtype=np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def build(path: Path, kind: str, arrays: list[list[list[int]]]) -> None:
    members = {f"m/{i}.png": png(a) for i, a in enumerate(arrays)}
    if kind.startswith("zip"):
        with zipfile.ZipFile(path, "w", compression=KINDS[kind]) as archive:
            for name, data in members.items():
                archive.writestr(name, data)
        return
    with tarfile.open(path, KINDS[kind]) as archive:  # type: ignore[call-overload]
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))


def mutate(data: bytes, how: str, where: float, xor: int) -> bytes:
    position = int(where * len(data))
    if how == "flip":
        return data[:position] + bytes([data[position] ^ xor]) + data[position + 1 :]
    if how == "cut":
        return data[:position]
    return data


def _kept(name: str) -> bool:
    parts = [p for p in name.split("/") if p not in ("", ".")]
    hidden = any(p.startswith(".") or p == "__MACOSX" for p in parts)
    return not hidden and fnmatch.fnmatchcase(parts[-1].lower() if parts else "", "*.png")


def naive_counts(path: Path) -> dict[int, int] | None:
    """Pixel counts per value of the members mfb would read, or None if any step fails."""
    try:
        if path.name.endswith(".zip"):
            with zipfile.ZipFile(path) as archive:
                blobs = [
                    archive.read(info)
                    for info in archive.infolist()
                    if not info.is_dir() and _kept(info.filename)
                ]
        else:
            with tarfile.open(path, "r:*") as archive:
                blobs = []
                for member in archive.getmembers():
                    if member.isdir() or not _kept(member.name):
                        continue
                    stream = archive.extractfile(member)
                    if not member.isreg() or stream is None:
                        return None
                    blobs.append(stream.read())
        totals: dict[int, int] = {}
        for blob in blobs:
            with Image.open(io.BytesIO(blob)) as image:
                image.load()
                if image.mode != "L":
                    return None
                values = np.asarray(image).ravel()
            for value, count in zip(*np.unique(values, return_counts=True), strict=True):
                totals[int(value)] = totals.get(int(value), 0) + int(count)
        return totals if blobs else None
    except Exception:
        return None


def assert_clean_failure(result: Result) -> None:
    """Exit 1 with one line 'Error: ...' on stderr and no exception escaping the CLI."""
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert result.exit_code == 1, (result.exit_code, result.stderr)
    assert result.stderr.startswith("Error: "), result.stderr
    assert result.stderr.count("\n") == 1, result.stderr


@settings(max_examples=200, deadline=None)
@given(kind=st.sampled_from(sorted(KINDS)), arrays=masks, mutation=mutations)
def test_damaged_archives_give_exact_counts_or_one_line_errors(kind, arrays, mutation):
    runner = CliRunner()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"set.{kind.split('-')[0]}"
        build(path, kind, arrays)
        path.write_bytes(mutate(path.read_bytes(), *mutation))
        expected = naive_counts(path)

        result = runner.invoke(cli, ["weights", str(path), "-q"])
        if result.exit_code == 0:
            assert expected is not None
            record = json.loads(result.stdout)
            counted = {c: n for c, n in enumerate(record["pixel_counts"]) if n}
            assert counted == expected
        else:
            assert_clean_failure(result)
        if mutation[0] == "none":
            assert result.exit_code == 0, result.stderr

        skipping = runner.invoke(cli, ["weights", str(path), "--skip-bad", "-q"])
        assert skipping.exception is None or isinstance(skipping.exception, SystemExit)
        assert skipping.exit_code in (0, 1), skipping.stderr
        lines = skipping.stderr.splitlines()
        if skipping.exit_code == 1:  # skipped files are named first, each on one line
            assert lines[-1].startswith("Error: "), lines
            lines = lines[:-1]
        assert all(line.startswith(("skipped: ", "warning: ")) for line in lines), lines

        checked = runner.invoke(cli, ["check", str(path), "-f", "json"])
        assert checked.exception is None or isinstance(checked.exception, SystemExit)
        assert checked.exit_code in (0, 1), checked.stderr
        if checked.stdout:
            record = json.loads(checked.stdout)
            assert record["files"] == len(record["bad_files"]) + sum(record["modes"].values())
        else:
            assert_clean_failure(checked)
