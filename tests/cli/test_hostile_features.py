"""Hostile inputs to the newer commands (sampling, priors, report, remote, --dask): each is
refused in one line with the right exit code, or gives exactly the naive result."""

from __future__ import annotations

import json
import math
import os
import stat
import threading
from fractions import Fraction
from pathlib import Path

import pytest
from click.testing import CliRunner

from mfb_cli import load_per_image
from mfb_cli.cli import cli
from mfb_cli.count import per_image
from mfb_cli.count.per_image import PerImageError
from mfb_cli.errors import MfbError

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


def _per_image_file(tmp_path: Path) -> Path:
    """Class pixels 0: 24 (a 8, c 16), 1: 8 (a), 2: 15 (b), 255: 1 (b, ignored)."""
    path = tmp_path / "p.jsonl"
    path.write_bytes(
        HEADER
        + b'{"image":"a","ids":[0,1],"pixels":[8,8]}\n'
        + b'{"image":"b","ids":[2,255],"pixels":[15,1]}\n'
        + b'{"image":"c","ids":[0],"pixels":[16]}\n'
    )
    return path


def _probabilities(tmp_path: Path, *options: object) -> list[float]:
    result = run("sampling", "--from", _per_image_file(tmp_path), "--ignore", 255, "-f", "json",
                 *options)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "RuntimeWarning" not in result.stderr and "internal error" not in result.stderr
    return [one["probability"] for one in json.loads(result.stdout)["images"]]


def _naive_rcs(temperature: float, kept: dict[int, int]) -> dict[int, float]:
    """P(c) over the kept classes {c: pixels}, as 1 / sum_k exp((s_c - s_k) / T) in exact-ish
    steps: no shift, no softmax library, so nothing is shared with the code under test."""
    total = 24 + 8 + 15
    share = {c: Fraction(n, total) for c, n in kept.items()}
    out = {}
    for c in kept:
        exponents = [(share[c] - share[k]) / Fraction(temperature) for k in kept]
        big = max(exponents) > 700  # exp() beyond a float: P(c) is 0 to double precision
        out[c] = 0.0 if big else 1 / sum(math.exp(float(max(e, Fraction(-800)))) for e in exponents)
    return out


@pytest.mark.parametrize("temperature", [1e-4, 1e-300, 5e-324])
def test_rare_class_with_a_tiny_temperature_and_the_rarest_class_left_out(tmp_path, temperature):
    # class 1 (the rarest) has no image with more than 8 pixels: it is left out, and P(c) is
    # the softmax over 0 and 2 -- not 0/0 because exp() of the others underflowed.
    expected = _naive_rcs(temperature, {0: 24, 2: 15})
    got = _probabilities(tmp_path, "--scheme", "rare-class", "--temperature", temperature,
                         "--min-pixels", 8)  # fmt: skip
    # a: class 0 has 8 pixels, not more than 8; b: class 2; c: class 0 (16 pixels)
    assert got == pytest.approx([0.0, expected[2], expected[0]], rel=1e-12, abs=1e-300)
    assert got[1] == 1.0


def test_rare_class_temperature_underflowing_the_division(tmp_path):
    # (1 - f_c) / 5e-324 overflows: the limit T -> 0 draws only the rarest class (1, image a)
    got = _probabilities(tmp_path, "--scheme", "rare-class", "--temperature", 5e-324,
                         "--min-pixels", 0)  # fmt: skip
    assert got == [1.0, 0.0, 0.0]


def test_repeat_factor_with_a_huge_threshold_is_finite_and_exact(tmp_path):
    # f(0) = 2/3, f(1) = f(2) = 1/3; r(a) = r(b) = sqrt(3t), r(c) = sqrt(1.5t), ceil is a no-op
    t = 1e308
    ra, rc = math.sqrt(3) * math.sqrt(t), math.sqrt(1.5) * math.sqrt(t)
    total = 2 * ra + rc
    got = _probabilities(tmp_path, "--threshold", t)
    assert got == pytest.approx([ra / total, ra / total, rc / total], rel=1e-12)


def test_rare_class_on_an_all_void_dataset_does_not_say_lower_min_pixels(tmp_path):
    path = tmp_path / "v.jsonl"
    path.write_bytes(HEADER + b'{"image":"a","ids":[7],"pixels":[16]}\n')
    result = run("sampling", "--from", path, "--void", 7, "--scheme", "rare-class",
                 "--min-pixels", 0)  # fmt: skip
    _one_line_error(result, "no image contains a counted class")
    assert "lower it" not in result.stderr


SECRET_URL = "memory://user:hunter2@bucket/{name}?X-Amz-Signature=topsecret"


def _in_memory(name: str, data: bytes) -> str:
    fsspec = pytest.importorskip("fsspec")
    fs = fsspec.filesystem("memory")
    fs.pipe_file(f"/bucket/{name}", data)
    return f"memory://bucket/{name}"


def test_sampling_and_priors_read_a_per_image_url_like_a_local_file(tmp_path):
    local = _per_image_file(tmp_path)
    url = _in_memory("h2-p.jsonl", local.read_bytes())
    for command in ("sampling", "priors"):
        from_local = run(command, "--from", local, "--ignore", 255)
        from_url = run(command, "--from", url, "--ignore", 255)
        assert from_local.exit_code == from_url.exit_code == 0, from_url.output
        assert json.loads(from_url.stdout)["warnings"] == json.loads(from_local.stdout)["warnings"]
        strip = lambda text: text.replace(url, "X").replace(str(local), "X")  # noqa: E731
        assert strip(from_url.stdout) == strip(from_local.stdout)


@pytest.mark.parametrize(
    ("command", "name"),
    [("sampling", "none.jsonl"), ("priors", "none.jsonl"), ("priors", "none.json"),
     ("report", "none.json")],
)  # fmt: skip
def test_a_missing_url_for_from_is_one_line_without_its_secrets(tmp_path, command, name):
    pytest.importorskip("fsspec")
    url = SECRET_URL.format(name=name)
    args = ["-o", tmp_path / "r.html"] if command == "report" else []
    result = run(command, "--from", url, *args)
    _one_line_error(result, f"memory://bucket/{name}: cannot read")
    assert "hunter2" not in result.output and "topsecret" not in result.output
    assert not (tmp_path / "r.html").exists()


def test_report_from_a_url_reads_it_and_names_the_split_by_its_stem(tmp_path):
    from ..conftest import save_mask

    save_mask(tmp_path / "m" / "a.png", [[0, 1], [1, 1]])
    stats = tmp_path / "train.json"
    assert run("scan", tmp_path / "m", "-o", stats, "-q").exit_code == 0
    url = _in_memory("h2-train.json", stats.read_bytes())
    page = tmp_path / "r.html"
    result = run("report", "--from", url, "--from", stats, "-o", page, "-q")
    assert result.exit_code == 0, result.output
    text = page.read_text()
    # the splits are named by their stems, the URL's as a local file's
    assert "<th>h2-train</th>" in text or ">h2-train<" in text
    alone = run("report", "--from", url, "-o", tmp_path / "one.html", "-q")
    assert alone.exit_code == 0 and "train" in (tmp_path / "one.html").read_text()


@pytest.mark.parametrize(
    "address",
    ["tcp://u:hunter2@127.0.0.1:1", "tcp://[::1", "tcp://127.0.0.1:notaport", "bogus://x:1",
     "tcp://h"],
)  # fmt: skip
def test_a_bad_dask_address_is_a_usage_error_before_any_connection(tmp_path, address):
    pytest.importorskip("distributed")
    from ..conftest import save_mask

    save_mask(tmp_path / "a.png", [[0, 1]])
    result = run("weights", tmp_path / "a.png", "--dask", address)
    assert result.exit_code == 2, result.output
    assert "Invalid value for '--dask'" in result.stderr and "internal error" not in result.stderr
    assert "hunter2" not in result.output


@pytest.mark.parametrize(
    "pattern",
    ["x-{1..1000000000}.tar", "x-{000..999}{000..999}{0..9}.tar",
     "memory://u:hunter2@b/x-{0..99999999}.tar?sig=topsecret"],
)  # fmt: skip
def test_a_brace_range_too_large_is_refused_before_it_is_built(pattern):
    from mfb_cli.read.sources.braces import MAX_BRACE_PATHS, expand_braces

    with pytest.raises(MfbError, match=f"expand to more than {MAX_BRACE_PATHS} paths"):
        expand_braces(pattern)
    result = run("weights", pattern)
    _one_line_error(result, "the brace ranges expand to more than")
    assert "hunter2" not in result.output and "topsecret" not in result.output


def test_brace_ranges_at_the_limit_still_expand(monkeypatch):
    from mfb_cli.read.sources import braces

    monkeypatch.setattr(braces, "MAX_BRACE_PATHS", 6)
    assert braces.expand_braces("{a,b}{1..3}") == ["a1", "a2", "a3", "b1", "b2", "b3"]
    with pytest.raises(MfbError):
        braces.expand_braces("{a,b}{1..4}")
    with pytest.raises(MfbError):
        braces.expand_braces("{0..6}")


def test_parquet_column_without_a_parquet_shard_is_a_usage_error(tmp_path):
    from ..conftest import save_mask

    save_mask(tmp_path / "m" / "a.png", [[0, 1]])
    for command in ("weights", "scan", "sampling", "report"):
        result = run(command, tmp_path / "m", "--parquet-column", "annotation")
        assert result.exit_code == 2, (command, result.output)
        assert "--parquet-column annotation has no effect" in result.stderr


def test_per_image_output_follows_links_and_never_replaces_a_device(tmp_path):
    from ..conftest import save_mask

    save_mask(tmp_path / "m" / "a.png", [[0, 1], [1, 1]])
    target = tmp_path / "real.jsonl"
    link = tmp_path / "link.jsonl"
    link.symlink_to(target.name)
    result = run("scan", tmp_path / "m", "-o", tmp_path / "s.json", "--per-image", link, "-q")
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and target.read_text().count("\n") == 2  # header + 1 image
    merged = tmp_path / "merged.jsonl"
    merged_link = tmp_path / "merged-link.jsonl"
    merged_link.symlink_to(merged.name)
    assert run("merge", target, target, "-o", merged_link, "-q").exit_code == 0
    assert merged_link.is_symlink() and merged.read_text().count("\n") == 3
    # a FIFO stands in for a device (a test must not write to /dev): written through
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    result = run("scan", tmp_path / "m", "-o", tmp_path / "s2.json", "--per-image", fifo, "-q")
    reader.join(timeout=30)
    assert result.exit_code == 0, result.output
    assert stat.S_ISFIFO(fifo.lstat().st_mode)  # still the FIFO, not a regular file
    assert received[0] == target.read_bytes()


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full")
def test_per_image_to_a_full_device_fails_naming_it_and_writes_nothing(tmp_path):
    from ..conftest import save_mask

    save_mask(tmp_path / "m" / "a.png", [[0, 1], [1, 1]])
    before = Path("/dev/full").stat()
    stats = tmp_path / "s.json"
    result = run("scan", tmp_path / "m", "-o", stats, "--per-image", "/dev/full", "-q")
    _one_line_error(result, "/dev/full: No space left on device")
    assert not stats.exists()
    after = Path("/dev/full").stat()
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev


def test_daformer_into_something_that_is_not_a_folder_is_a_usage_error(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)  # neither a folder nor a regular file, as /dev/null
    output = tmp_path / "o.json"
    result = run("sampling", "--from", _per_image_file(tmp_path), "--ignore", 255,
                 "--daformer", fifo, "-o", output)  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "exists and is not a folder" in result.stderr
    assert not output.exists()
