"""Hostile inputs to the newer commands (sampling, priors, report, remote, --dask): each is
refused in one line with the right exit code, or gives exactly the naive result."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from mfb_cli import load_per_image
from mfb_cli.cli import cli
from mfb_cli.count import per_image
from mfb_cli.count.per_image import PerImageError

HEADER = b'{"mfb_per_image":1,"label_mapping":{}}\n'


def run(*args: object):
    return CliRunner().invoke(cli, [str(a) for a in args])


def _one_line_error(result, message: str, code: int = 1) -> None:
    assert result.exit_code == code, result.output
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"image":"x","ids":[0,1],"pixels":[99999999999999999999,3]}\n', "i.jsonl:2: a count"),
        (b'{"image":"x","ids":[0,9223372036854775808],"pixels":[1,3]}\n', "i.jsonl:2: a count"),
        (b'{"image":"x\xff","ids":[0],"pixels":[1]}\n', "i.jsonl:2: not UTF-8"),
    ],
)
def test_per_image_values_beyond_int64_and_bad_bytes_are_one_line(tmp_path, body, message):
    path = tmp_path / "i.jsonl"
    path.write_bytes(HEADER + body)
    with pytest.raises(PerImageError, match=message):
        load_per_image([path])
    for command in ("sampling", "priors"):
        _one_line_error(run(command, "--from", path), message)


def test_a_per_image_line_longer_than_the_limit_is_refused_without_reading_it_all(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(per_image, "MAX_LINE_BYTES", 100)
    path = tmp_path / "i.jsonl"
    path.write_bytes(HEADER + b'{"image":"' + b"a" * 10_000 + b'","ids":[0],"pixels":[1]}\n')
    _one_line_error(run("sampling", "--from", path), "i.jsonl:2: a line longer than 100 bytes")
    # a line at the limit is read
    short = tmp_path / "s.jsonl"
    short.write_bytes(HEADER + b'{"image":"a","ids":[0],"pixels":[1]}\n')
    assert load_per_image([short]).images[0].pixels == (1,)


def test_dev_zero_as_a_per_image_file_is_refused(monkeypatch):
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero")
    monkeypatch.setattr(per_image, "MAX_LINE_BYTES", 1 << 16)
    _one_line_error(run("sampling", "--from", "/dev/zero"), "/dev/zero:1: a line longer")
