"""Garbage into every text-file reader, through the CLI: a result or one line, never a traceback.

Each reader (colour tables in each format, remaps, class names, list files, statistics
files for --from and merge) gets random bytes, random JSON / YAML structures, valid files
cut short, and valid files with numbers swapped for huge, fractional or boolean ones.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mfb_cli.cli import cli
from mfb_cli.read.labels.colormaps import load_colormap

from ..conftest import save_mask

# (option, file suffix, a valid file of that kind)
READERS = [
    ("--colormap", ".json", '[{"id": 0, "name": "road", "color": "#804080"}, [1, 2, 3]]'),
    (
        "--colormap",
        ".yaml",
        "classes:\n  - {name: road, color: [128, 64, 128]}\n  - {label: sky, rgb: '0,0,255'}\n",
    ),
    ("--colormap", ".csv", "name,r,g,b\nroad,128,64,128\nsky,0,0,255\n"),
    ("--colormap", ".txt", "128 64 128 Road\n0 0 255 Sky\n"),
    ("--map", ".json", '{"0": 1, "1": 0}'),
    ("--map", ".yaml", "- [0, 1]\n- [1, 0]\n"),
    ("--map", ".csv", "old,new\n0,1\n1,0\n"),
    ("--names", ".txt", "road\nsky\n"),
    ("--names", ".json", '["road", "sky"]'),
    ("--names", ".yaml", "{0: road, 1: sky}\n"),
    ("--list", ".txt", "m/a.png\n"),
    ("--from", ".json", ""),  # filled with a real statistics file below
    ("merge", ".json", ""),
]

STATS = {
    "format": "mfb-stats",
    "format_version": 1,
    "mfb_version": "0.1.0",
    "label_mapping": {},
    "num_images": 1,
    "total_pixels": 4,
    "files": 1,
    "files_digest": "sha256-sum:" + "1" * 64,
    "ids": [0, 1],
    "pixels": [1, 3],
    "images": [1, 1],
    "cooc": [[0, 0, 1], [0, 1, 3], [1, 0, 1], [1, 1, 3]],
    "source": {"paths": ["m"]},
}

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
)
structures = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(st.text(max_size=8) | st.integers(-5, 300).map(str), children, max_size=5)
    ),
    max_leaves=25,
)
weird_numbers = st.sampled_from(
    [10**30, -(10**30), 2**63, 2**64 - 1, -1, 1.7, 2.0, 1e300, True, False, None, "7", "x"]
)


def _swap_numbers(data: object, value: object, every: int) -> object:
    """``data`` with every ``every``-th integer replaced by ``value``."""
    count = [0]

    def walk(item: object) -> object:
        if isinstance(item, list):
            return [walk(v) for v in item]
        if isinstance(item, dict):
            return {k: walk(v) for k, v in item.items()}
        if isinstance(item, int) and not isinstance(item, bool):
            count[0] += 1
            return value if count[0] % every == 0 else item
        return item

    return walk(data)


@st.composite
def garbage(draw: st.DrawFn, valid: str, suffix: str) -> bytes:
    kind = draw(st.sampled_from(["bytes", "json", "yaml", "truncated", "numbers"]))
    if kind == "bytes":
        return draw(st.binary(max_size=200))
    if kind == "json":
        return json.dumps(draw(structures)).encode()
    if kind == "yaml":
        return yaml.safe_dump(draw(structures)).encode()
    if kind == "truncated":
        data = valid.encode()
        return data[: draw(st.integers(0, max(len(data) - 1, 0)))]
    parsed = json.loads(valid) if suffix == ".json" else yaml.safe_load(valid)
    swapped = _swap_numbers(parsed, draw(weird_numbers), draw(st.integers(1, 4)))
    text = json.dumps(swapped) if suffix == ".json" else yaml.safe_dump(swapped)
    if suffix in (".csv", ".txt") and isinstance(parsed, str):
        text = valid.replace("1", str(draw(weird_numbers)), draw(st.integers(1, 3)))
    return text.encode()


def _check(result) -> None:  # type: ignore[no-untyped-def]
    assert result.exit_code in (0, 1, 2), (result.exit_code, result.stderr)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.stderr
    assert "Traceback" not in result.stderr
    if result.exit_code:
        lines = result.stderr.splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith("Error: "), result.stderr


def _reader_case(index: int):  # type: ignore[no-untyped-def]
    option, suffix, valid = READERS[index]
    if option in ("--from", "merge"):
        valid = json.dumps(STATS)
    return option, suffix, valid


@st.composite
def cases(draw: st.DrawFn) -> tuple[str, str, bytes]:
    option, suffix, valid = _reader_case(draw(st.integers(0, len(READERS) - 1)))
    return option, suffix, draw(garbage(valid, suffix))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_every_text_reader_gives_a_result_or_one_line(case: tuple[str, str, bytes]) -> None:
    option, suffix, data = case
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        save_mask(root / "m" / "a.png", [[0, 1], [1, 1]])
        table = root / f"t{suffix}"
        table.write_bytes(data)
        if option == "--list":
            args = ["weights", "--list", str(table)]
        elif option == "--from":
            args = ["weights", "--from", str(table)]
        elif option == "merge":
            (root / "good.json").write_text(json.dumps(STATS))
            args = ["merge", str(root / "good.json"), str(table)]
        else:
            args = ["weights", str(root / "m"), option, str(table)]
        _check(CliRunner().invoke(cli, args))


def test_the_valid_seeds_are_valid(tmp_path: Path) -> None:
    # The seeds must be read without error, or the truncations above test nothing.
    save_mask(tmp_path / "m" / "a.png", [[0, 1], [1, 1]])
    for index in range(len(READERS)):
        option, suffix, valid = _reader_case(index)
        table = tmp_path / f"t{index}{suffix}"
        table.write_text(valid)
        if option in ("--list", "--from"):
            args = ["histogram", option, str(table)]
        elif option == "merge":
            args = ["merge", str(table)]
        else:
            args = ["histogram", str(tmp_path / "m"), option, str(table)]
        if option == "--colormap":  # grey masks would not use it: load it directly
            assert len(load_colormap(str(table)).keys) == 2, suffix
            continue
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, (option, suffix, result.stderr)
