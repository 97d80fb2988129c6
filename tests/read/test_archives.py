"""Zip and tar archives: each member read as itself, one-line errors, bounded bytes in flight."""

from __future__ import annotations

import io
import json
import tarfile
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mfb_cli.count.scan import count_masks
from mfb_cli.read.base import budget
from mfb_cli.read.base.budget import ByteBudget
from mfb_cli.read.sources.find import find_label_sources

from ..conftest import run

GOOD = [[0, 1], [1, 1]]  # a.png: one 0, three 1s
OTHER = [[2, 2], [2, 0]]  # b.png: three 2s, one 0


def png(labels) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(labels, dtype=np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def write_zip(path: Path, members: dict[str, bytes], method: int = zipfile.ZIP_STORED) -> Path:
    with zipfile.ZipFile(path, "w", compression=method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def central_header(data: bytes, name: bytes) -> int:
    """Offset of the central directory record of member ``name``."""
    offset = data.index(b"PK\x01\x02" + data[data.index(b"PK\x01\x02") + 4 :][:0])
    while True:
        length = int.from_bytes(data[offset + 28 : offset + 30], "little")
        if data[offset + 46 : offset + 46 + length] == name:
            return offset
        offset = data.index(b"PK\x01\x02", offset + 4)


def patch(path: Path, offset: int, new: bytes) -> None:
    data = bytearray(path.read_bytes())
    data[offset : offset + len(new)] = new
    path.write_bytes(bytes(data))


def weights_pixels(result) -> list[int]:
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)["pixel_counts"]


def assert_one_line_error(result, message: str) -> None:
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: "), result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def assert_check_lists_the_archive(path: Path, problem: str) -> None:
    """mfb check reports an archive it cannot list as a bad file, and goes on."""
    result = run("check", path, "-f", "json")
    assert result.exit_code == 1, result.stderr
    record = json.loads(result.stdout)
    assert record["problems"] == ["bad_files"]
    assert [b["path"] for b in record["bad_files"]] == [str(path)]
    assert record["bad_files"][0]["problem"].startswith(problem), record["bad_files"]


# Duplicate names -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["zip", "tar", "tar-dot"])
def test_an_archive_with_two_members_of_one_name_is_refused(tmp_path, kind):
    if kind == "zip":
        path = tmp_path / "set.zip"
        with zipfile.ZipFile(path, "w") as archive, pytest.warns(UserWarning):
            archive.writestr("x/a.png", png(GOOD))
            archive.writestr("x/b.png", png(OTHER))
            archive.writestr("x/a.png", png(OTHER))
    else:
        path = tmp_path / "set.tar"
        with tarfile.open(path, "w") as archive:
            names = ["x/a.png", "x/b.png", "./x/a.png" if kind == "tar-dot" else "x/a.png"]
            for name, labels in zip(names, [GOOD, OTHER, OTHER], strict=True):
                data = png(labels)
                info = tarfile.TarInfo(name)
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
    for command in (["weights"], ["weights", "--skip-bad"]):
        result = run(*command, path)
        assert_one_line_error(result, f"{path}: holds several members named 'x/a.png'")
    assert_check_lists_the_archive(path, "holds several members named 'x/a.png'")
    # A duplicated name the glob leaves out changes nothing.
    result = run("weights", path, "--glob", "b.png", "-q")
    assert weights_pixels(result) == [1, 0, 3]


# Members that are not regular files ----------------------------------------------------


def tar_with(path: Path, special: tarfile.TarInfo) -> Path:
    with tarfile.open(path, "w") as archive:
        data = png(GOOD)
        info = tarfile.TarInfo("a.png")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
        archive.addfile(special)
    return path


@pytest.mark.parametrize(
    ("kind", "linkname", "shown"),
    [
        (tarfile.SYMTYPE, "a.png", "a symbolic link (to 'a.png')"),
        (tarfile.SYMTYPE, "loop.png", "a symbolic link (to 'loop.png')"),
        (tarfile.LNKTYPE, "a.png", "a hard link (to 'a.png')"),
        (tarfile.CHRTYPE, "", "a device"),
        (tarfile.FIFOTYPE, "", "a FIFO"),
    ],
)
def test_links_and_devices_in_a_tar_are_bad_members(tmp_path, kind, linkname, shown):
    special = tarfile.TarInfo("z.png" if linkname != "loop.png" else "loop.png")
    special.type, special.linkname = kind, linkname
    path = tar_with(tmp_path / "set.tar", special)
    member = f"{path}:{special.name}"
    assert_one_line_error(run("weights", path, "-q"), f"{member}: is {shown} inside the archive")
    skipped = run("weights", path, "--skip-bad", "-q")
    assert weights_pixels(skipped) == [1, 3]
    assert json.loads(skipped.stdout)["source"]["skipped_files"] == [member]
    checked = json.loads(run("check", path, "-f", "json").stdout)
    assert [b["path"] for b in checked["bad_files"]] == [member]


# Zip members that cannot be read -------------------------------------------------------


def two_member_zip(tmp_path: Path, method: int = zipfile.ZIP_STORED) -> Path:
    return write_zip(tmp_path / "set.zip", {"a.png": png(GOOD), "b.png": png(OTHER)}, method)


def test_an_encrypted_member_is_a_bad_member(tmp_path):
    path = two_member_zip(tmp_path)
    offset = central_header(path.read_bytes(), b"b.png")
    patch(path, offset + 8, b"\x01\x00")  # general purpose flag: encrypted
    message = f"{path}:b.png: is encrypted (password-protected)"
    assert_one_line_error(run("weights", path, "-q"), message)
    assert weights_pixels(run("weights", path, "--skip-bad", "-q")) == [1, 3]
    checked = json.loads(run("check", path, "-f", "json").stdout)
    assert checked["bad_files"][0]["problem"].startswith("is encrypted")


@pytest.mark.parametrize(("method", "name"), [(9, "deflate64"), (98, "PPMd"), (77, "unknown")])
def test_an_unsupported_compression_method_is_named(tmp_path, method, name):
    path = two_member_zip(tmp_path)
    offset = central_header(path.read_bytes(), b"b.png")
    patch(path, offset + 10, method.to_bytes(2, "little"))
    message = f"{path}:b.png: uses zip compression method {method} ({name})"
    assert_one_line_error(run("weights", path, "-q"), message)
    assert weights_pixels(run("weights", path, "--skip-bad", "-q")) == [1, 3]


def test_a_name_flagged_utf8_that_is_not_refuses_the_archive(tmp_path):
    path = write_zip(tmp_path / "set.zip", {"a.png": png(GOOD), "cafX.png": png(OTHER)})
    offset = central_header(path.read_bytes(), b"cafX.png")
    patch(path, offset + 8, b"\x00\x08")  # flag bit 11: the name is UTF-8
    patch(path, offset + 46 + 3, b"\xe9")  # ...but it holds a Latin-1 byte
    problem = "cannot read archive (a member name marked as UTF-8 is not valid UTF-8)"
    for command in (["weights"], ["weights", "--skip-bad"]):
        assert_one_line_error(run(*command, path), f"{path}: {problem}")
    assert_check_lists_the_archive(path, problem)


@pytest.mark.parametrize(
    "method", [zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA, zipfile.ZIP_STORED]
)
def test_corrupt_member_data_is_a_bad_member(tmp_path, method):
    data = png(np.arange(64 * 64).reshape(64, 64) % 7)
    path = write_zip(tmp_path / "set.zip", {"a.png": png(GOOD), "b.png": data}, method)
    raw = path.read_bytes()
    start = raw.index(b"b.png", raw.index(b"PK\x03\x04", 4)) + len(b"b.png")
    patch(path, start + 20, b"\xff" * 16)  # inside the compressed stream (stored: the PNG)
    result = run("weights", path, "-q")
    assert_one_line_error(result, f"{path}:b.png: ")
    assert weights_pixels(run("weights", path, "--skip-bad", "-q")) == [1, 3]
    checked = json.loads(run("check", path, "-f", "json").stdout)
    assert [b["path"] for b in checked["bad_files"]] == [f"{path}:b.png"]


def test_a_crc_error_is_named(tmp_path):
    path = two_member_zip(tmp_path)
    raw = path.read_bytes()
    start = raw.index(b"b.png", raw.index(b"PK\x03\x04", 4)) + len(b"b.png")
    # The PNG signature's last byte: the PNG would still decode, the zip CRC catches it.
    patch(path, start + 7, b"\x0b")
    assert_one_line_error(run("weights", path, "-q"), f"{path}:b.png: cannot read from the archive")


# Truncated archives --------------------------------------------------------------------


def three_member_tar(path: Path, mode: str = "w") -> tuple[Path, list[int]]:
    """A tar of a.png, b.png, c.png; also the byte offset where each member's header starts."""
    starts = []
    with tarfile.open(path, mode) as archive:
        for name, labels in [("a.png", GOOD), ("b.png", OTHER), ("c.png", GOOD)]:
            data = png(labels)
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
            starts.append(archive.offset - 512 - 512 * ((len(data) + 511) // 512))
    return path, starts


def test_a_tar_cut_inside_a_later_header_is_refused_not_shortened(tmp_path):
    path, starts = three_member_tar(tmp_path / "set.tar")
    path.write_bytes(path.read_bytes()[: starts[2] + 100])
    assert_one_line_error(
        run("weights", path, "-q"),
        f"{path}: cannot read archive (damaged or truncated: no valid member header at byte "
        f"{starts[2]})",
    )


def test_a_tar_cut_inside_member_data_is_refused(tmp_path):
    path, starts = three_member_tar(tmp_path / "set.tar")
    path.write_bytes(path.read_bytes()[: starts[2] + 512 + 20])
    for command in (["weights"], ["weights", "--skip-bad"]):
        result = run(*command, path)
        assert_one_line_error(result, f"{path}: cannot read archive (unexpected end of data)")
    assert_check_lists_the_archive(path, "cannot read archive (unexpected end of data)")


@pytest.mark.parametrize("suffix", ["tar.gz", "tar.bz2", "tar.xz", "zip"])
def test_a_cut_compressed_archive_is_a_one_line_error(tmp_path, suffix):
    if suffix == "zip":
        path = two_member_zip(tmp_path)
    else:
        path, _ = three_member_tar(tmp_path / f"set.{suffix}", f"w:{suffix.split('.')[1]}")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    result = run("weights", path, "-q")
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"Error: {path}")
    assert_check_lists_the_archive(path, "cannot read archive (")


@pytest.mark.parametrize(
    ("compress", "suffix"),
    [
        (lambda data: __import__("gzip").compress(data, compresslevel=0, mtime=0), "tar.gz"),
        (lambda data: __import__("bz2").compress(data), "tar.bz2"),
        (lambda data: __import__("lzma").compress(data), "tar.xz"),
    ],
)
def test_a_changed_byte_in_a_compressed_tar_is_caught_by_its_checksum(tmp_path, compress, suffix):
    """gzip at level 0 stores the member as it is: one changed pixel byte inflates fine,
    and only the trailer's CRC-32 (after the tar's end block, which tarfile never reads)
    tells. The other formats check their blocks as they go."""
    buffer = io.BytesIO()
    labels = npy(np.ones((40, 50), dtype=np.uint8))
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("m.npy")
        info.size = len(labels)
        tar.addfile(info, io.BytesIO(labels))
    packed = bytearray(compress(buffer.getvalue()))
    path = tmp_path / f"m.{suffix}"
    path.write_bytes(bytes(packed))
    assert json.loads(run("histogram", path, "--glob", "*.npy", "-f", "json").stdout)["images"] == 1
    if suffix == "tar.gz":
        packed[packed.find(labels[200:260]) + 5] = 7  # one pixel: 1 -> 7
    else:
        packed[len(packed) // 2] ^= 0x10
    path.write_bytes(bytes(packed))
    result = run("histogram", path, "--glob", "*.npy", "-f", "json")
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith(f"Error: {path}: cannot read archive (")
    assert result.stderr.count("\n") == 1


# Bytes in flight -----------------------------------------------------------------------


def npy(labels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, labels)
    return buffer.getvalue()


def test_member_bytes_in_flight_stay_within_the_budget(tmp_path, monkeypatch):
    # 24 members of 40,128 bytes each (deflate makes each a few hundred); a budget of 3.
    member = npy(np.zeros((200, 200), dtype=np.uint8))
    arrays = {f"m{i:02d}.npy": member for i in range(24)}
    path = write_zip(tmp_path / "set.zip", arrays, zipfile.ZIP_DEFLATED)
    monkeypatch.setattr(budget, "BYTES_IN_FLIGHT", 3 * len(member))
    peak = [0]
    lock = threading.Lock()
    take = ByteBudget.take

    def recording_take(self: ByteBudget, size: int) -> None:
        take(self, size)
        with lock:
            peak[0] = max(peak[0], self.used)

    monkeypatch.setattr(ByteBudget, "take", recording_take)
    sources = find_label_sources([path], glob="*.npy")
    counts = count_masks(sources, jobs=4)
    assert counts.pixels.tolist() == [24 * 200 * 200]
    assert len(member) <= peak[0] <= 3 * len(member)


def test_a_member_larger_than_the_budget_is_read_alone(tmp_path, monkeypatch):
    small, large = npy(np.ones((2, 2), np.uint8)), npy(np.zeros((100, 100), np.uint8))
    path = write_zip(tmp_path / "set.zip", {"a.npy": small, "b.npy": large, "c.npy": small})
    monkeypatch.setattr(budget, "BYTES_IN_FLIGHT", len(large) // 2)
    held: list[int] = []
    take = ByteBudget.take

    def recording_take(self: ByteBudget, size: int) -> None:
        take(self, size)
        held.append(self.used)

    monkeypatch.setattr(ByteBudget, "take", recording_take)
    counts = count_masks(find_label_sources([path], glob="*.npy"), jobs=4)
    assert dict(zip(counts.ids.tolist(), counts.pixels.tolist(), strict=True)) == {
        0: 10_000,
        1: 8,
    }
    assert len(large) in held  # the large member was the only one held when it was read


def test_a_header_bomb_in_a_compressed_tar_is_refused_without_inflating_it(tmp_path):
    import tracemalloc

    path = tmp_path / "bomb.tar.gz"
    with tarfile.open(path, "w:gz", format=tarfile.PAX_FORMAT) as archive:
        data = png(GOOD)
        info = tarfile.TarInfo("a.png")
        info.size = len(data)
        info.pax_headers = {"comment": "x" * (64 << 20)}  # 64 MiB, a few dozen kB compressed
        archive.addfile(info, io.BytesIO(data))
    assert path.stat().st_size < 1 << 20
    tracemalloc.start()
    try:
        result = run("weights", path, "-q")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert_one_line_error(result, f"{path}: cannot read archive (a header or record of ")
    assert peak < 32 << 20


def _bytes_held(error: BaseException) -> list[int]:
    """Sizes of the bytes objects the frames of an error's tracebacks (and causes) hold."""
    sizes, pending, seen = [], [error], set()
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        tb = current.__traceback__
        while tb is not None:
            sizes += [len(v) for v in tb.tb_frame.f_locals.values() if isinstance(v, bytes)]
            tb = tb.tb_next
        pending += [current.__cause__, current.__context__]
    return sizes


@pytest.mark.parametrize("skip_bad", [True, False])
def test_the_error_of_a_bad_member_does_not_hold_its_bytes(tmp_path, skip_bad):
    # b.png is not an image: decoding fails after its bytes were read.
    path = write_zip(tmp_path / "set.zip", {"a.png": png(GOOD), "b.png": bytes(200_000)})
    errors: list[BaseException] = []
    sources = find_label_sources([path])
    if skip_bad:
        count_masks(sources, jobs=2, skip_bad=True, on_skip=lambda p, e: errors.append(e))
    else:
        with pytest.raises(Exception) as raised:
            count_masks(sources, jobs=2)
        errors.append(raised.value)
    assert "not an image file" in str(errors[0])
    assert max(_bytes_held(errors[0]), default=0) < 200_000


def test_check_goes_on_past_an_archive_it_cannot_list(tmp_path):
    good = write_zip(tmp_path / "good.zip", {"a.png": png(GOOD)})
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    result = run("check", good, broken, "-f", "json")
    assert result.exit_code == 1, result.stderr
    record = json.loads(result.stdout)
    assert record["files"] == 2
    assert record["modes"] == {"L": 1}
    assert record["bad_files"] == [
        {"path": str(broken), "problem": "cannot read archive (File is not a zip file)"}
    ]
    # With --skip-bad it is listed and does not fail the check, like any bad file.
    assert run("check", good, broken, "--skip-bad").exit_code == 0
