"""Remote and sharded datasets (issue 15): S3 (a moto server on 127.0.0.1), memory://,
parquet shards and WebDataset tars give the statistics of the same masks as local files."""

from __future__ import annotations

import io
import json
import re
import string
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mfb_cli.read.base.urls import safe_url
from mfb_cli.read.sources.shards import expand_braces

from ..conftest import run, save_mask
from .servers import s3_server, serve_folder

fsspec = pytest.importorskip("fsspec", reason="remote paths need fsspec (the remote extra)")
pa = pytest.importorskip("pyarrow", reason="parquet shards need pyarrow (the parquet extra)")
pq = pytest.importorskip("pyarrow.parquet", reason="parquet shards need pyarrow")

#: Dummy credentials: the test asserts neither ever appears in any output or message.
KEY_ID = "AKIAMFBTESTKEYID0000"
SECRET = "mfbTestSecretKey/DoNotPrint0000000000000"

#: The masks every route reads: classes 0..4 and 255, in two image sizes.
MASKS = [
    np.array([[0, 1, 1], [2, 2, 2]]),
    np.array([[3, 3, 0, 0], [1, 255, 4, 4], [4, 4, 4, 0]]),
    np.array([[2]]),
    np.array([[1, 0], [0, 1], [255, 255]]),
]


def _png_bytes(folder: Path) -> list[tuple[str, bytes]]:
    return [(p.name, p.read_bytes()) for p in sorted(folder.glob("*.png"))]


@pytest.fixture
def local(tmp_path: Path) -> Path:
    for index, labels in enumerate(MASKS):
        save_mask(tmp_path / "png" / f"{index:06d}.seg.png", labels)
    return tmp_path / "png"


def _without_source(text: str) -> dict[str, Any]:
    """The statistics without where they came from: ``source`` and the digest of the
    file names (files_digest: sha256 of each file's identity, which names the route)."""
    record = json.loads(text)
    record.pop("source")
    record.pop("files_digest")
    return dict(record)


def _expected() -> dict[int, int]:
    counts: dict[int, int] = {}
    for labels in MASKS:
        for value in labels.ravel().tolist():
            counts[value] = counts.get(value, 0) + 1
    return counts


def _scan(*args: object) -> str:
    result = run("scan", *args)
    assert result.exit_code == 0, result.output + str(result.exception)
    return result.output


def _write_parquet(path: Path, rows: list[tuple[str | None, bytes | None]], **extra: Any) -> Path:
    image = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    columns = {"annotation": pa.array([{"bytes": b, "path": p} for p, b in rows], type=image)}
    columns.update(extra)
    pq.write_table(pa.table(columns), path, row_group_size=3)  # several row groups
    return path


def _write_tars(folder: Path, members: list[tuple[str, bytes]], per_shard: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for shard, start in enumerate(range(0, len(members), per_shard)):
        with tarfile.open(folder / f"train-{shard:06d}.tar", "w") as tar:
            for name, data in members[start : start + per_shard]:
                # A WebDataset sample: the image beside its mask, sharing the basename.
                for member, payload in ((name.replace(".seg.png", ".jpg"), b"jpeg"), (name, data)):
                    info = tarfile.TarInfo(member)
                    info.size = len(payload)
                    tar.addfile(info, io.BytesIO(payload))


def test_local_parquet_and_webdataset_shards_count_as_the_png_files(
    local: Path, tmp_path: Path
) -> None:
    reference = _scan(local)
    record = json.loads(reference)
    assert dict(zip(record["ids"], record["pixels"], strict=True)) == _expected()
    files = _png_bytes(local)
    _write_parquet(tmp_path / "train-0.parquet", [(n, b) for n, b in files[:3]])
    _write_parquet(tmp_path / "train-1.parquet", [(n, b) for n, b in files[3:]])
    shards = [tmp_path / "train-0.parquet", tmp_path / "train-1.parquet"]
    assert _without_source(_scan(*shards)) == _without_source(reference)
    _write_tars(tmp_path / "wds", files, per_shard=3)
    pattern = str(tmp_path / "wds" / "train-{000000..000001}.tar")
    by_tar = _scan(pattern, "--glob", "*.seg.png")
    assert _without_source(by_tar) == _without_source(reference)
    assert json.loads(by_tar)["source"]["paths"] == [pattern]
    # Identities shard:row and shard:member, stable across runs (so the digest is too).
    assert _scan(*shards) == _scan(*shards)
    assert by_tar == _scan(pattern, "--glob", "*.seg.png")


def test_a_bad_parquet_row_is_named_by_shard_row_and_path(local: Path, tmp_path: Path) -> None:
    files = _png_bytes(local)
    shard = _write_parquet(
        tmp_path / "s.parquet", [files[0], ("broken.png", b"not a png"), (None, b"junk")]
    )
    result = run("scan", shard)
    assert result.exit_code == 1
    assert f"{shard}:1 (broken.png):" in result.output
    skipped = run("scan", shard, "--skip-bad")
    assert skipped.exit_code == 0
    # Rows are recorded as shard:ROW (listed lazily, without reading them); a message
    # about a row read adds its path field.
    assert json.loads(skipped.stdout)["source"]["skipped_files"] == [f"{shard}:1", f"{shard}:2"]
    assert f"skipped: {shard}:1 (broken.png): not an image file" in skipped.stderr


def test_parquet_image_column_is_picked_or_the_choices_are_listed(
    local: Path, tmp_path: Path
) -> None:
    files = _png_bytes(local)
    image = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    other = pa.array([{"bytes": b, "path": None} for _, b in files[:2]], type=image)
    shard = _write_parquet(tmp_path / "two.parquet", files[:2], image=other)
    result = run("scan", shard)
    assert result.exit_code == 1
    assert "image columns (struct with bytes) are annotation, image" in result.output
    assert "--parquet-column" in result.output
    picked = json.loads(_scan(shard, "--parquet-column", "annotation"))
    assert picked["files"] == 2
    missing = run("scan", shard, "--parquet-column", "label")
    assert missing.exit_code == 1
    assert "no image column 'label'" in missing.output


@pytest.fixture
def memory_masks(local: Path) -> Iterator[str]:
    fs = fsspec.filesystem("memory")
    for name, data in _png_bytes(local):
        fs.pipe_file(f"/mfbtest/masks/{name}", data)
    fs.pipe_file("/mfbtest/masks/notes.txt", b"not a mask")
    yield "memory://mfbtest/masks"
    fs.rm("/mfbtest", recursive=True)


def test_memory_urls_count_as_the_png_files(local: Path, memory_masks: str) -> None:
    reference = _scan(local)
    by_url = _scan(memory_masks, "--glob", "*.png")
    assert _without_source(by_url) == _without_source(reference)
    assert json.loads(by_url)["source"]["paths"] == [memory_masks]


def test_output_to_a_url_is_the_same_bytes(local: Path, memory_masks: str, tmp_path: Path) -> None:
    run("scan", local, "-o", tmp_path / "out.json")
    result = run("scan", local, "-o", "memory://mfbtest/out/stats.json")
    assert result.exit_code == 0, result.output
    written = fsspec.filesystem("memory").cat_file("/mfbtest/out/stats.json")
    assert written == (tmp_path / "out.json").read_bytes()


def test_urls_with_secrets_never_show_them() -> None:
    url = "s3://alice:hunter2@bucket/masks/?X-Amz-Signature=abc123&token=zz"
    assert safe_url(url) == "s3://bucket/masks/"
    assert safe_url("zip::https://u:p@host/a.zip?sig=1") == "zip::https://host/a.zip"
    assert safe_url("memory:///a/b.png") == "memory:///a/b.png"
    revision = "hf://datasets/org/ds@refs%2Fconvert%2Fparquet/cfg/train/*.parquet"
    assert safe_url(revision) == revision
    assert safe_url("file:///x/y.png#frag") == "file:///x/y.png"
    assert safe_url("tar::memory:///a/b.tar") == "tar::memory:///a/b.tar"
    result = run("scan", "memory://alice:hunter2@nowhere/masks?sig=abc123")
    assert result.exit_code == 1
    assert "hunter2" not in result.output and "abc123" not in result.output
    assert "no such object" in result.output


def test_a_url_whose_backend_is_missing_names_the_package() -> None:
    try:
        import gcsfs  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("gcsfs is installed here")
    result = run("weights", "gs://bucket/masks/")
    assert result.exit_code == 1
    assert result.output.count("\n") == 1
    assert "gcsfs" in result.output and "mfb-cli[remote]" in result.output


@pytest.mark.parametrize(
    "pattern",
    [
        "a{000..003}.tar",
        "x{a,b}y{1..2}",
        "{9..11}",
        "p{03..1}",
        "n{a,{b,c}}",
        "{x}.tar",
        "none",
        "{08..10}",
        "s{1..3}-{a,b{0..1}}",
        "u{,x}",
    ],
)
def test_brace_ranges_expand_as_webdataset(pattern: str) -> None:
    braceexpand = pytest.importorskip("braceexpand", reason="the reference braceexpand")
    assert expand_braces(pattern) == list(braceexpand.braceexpand(pattern))


# The S3 protocol, served by moto on 127.0.0.1: the endpoint comes from AWS_ENDPOINT_URL
# (the standard variable botocore, and so s3fs, reads), the keys from the standard ones.
@pytest.fixture(scope="module")
def s3() -> Iterator[Any]:
    with s3_server("mfbtest", KEY_ID, SECRET) as fs:
        yield fs


def _no_secret(*texts: str) -> None:
    for text in texts:
        assert SECRET not in text and KEY_ID not in text


def test_s3_folder_parquet_and_tar_count_as_the_png_files(
    s3: Any, local: Path, tmp_path: Path
) -> None:
    reference = _scan(local)
    files = _png_bytes(local)
    for name, data in files:
        s3.pipe_file(f"mfbtest/route/masks/{name}", data)
    s3.pipe_file("mfbtest/route/masks/.hidden.png", b"debris")
    _write_parquet(tmp_path / "train-0.parquet", files[:2])
    _write_parquet(tmp_path / "train-1.parquet", files[2:])
    for shard in ("train-0.parquet", "train-1.parquet"):
        s3.put_file(str(tmp_path / shard), f"mfbtest/route/pq/{shard}")
    _write_tars(tmp_path / "wds", files, per_shard=2)
    for shard in sorted((tmp_path / "wds").iterdir()):
        s3.put_file(str(shard), f"mfbtest/route/wds/{shard.name}")
    routes = [
        ("s3://mfbtest/route/masks/",),
        ("s3://mfbtest/route/masks",),
        ("s3://mfbtest/route/pq/*.parquet",),
        ("s3://mfbtest/route/pq/train-0.parquet", "s3://mfbtest/route/pq/train-1.parquet"),
        ("s3://mfbtest/route/wds/train-{000000..000001}.tar", "--glob", "*.seg.png"),
    ]
    for route in routes:
        result = run("scan", *route)
        assert result.exit_code == 0, result.output
        assert _without_source(result.stdout) == _without_source(reference), route
        _no_secret(result.output)
    named = json.loads(_scan("s3://mfbtest/route/masks/", "-j", "1"))
    assert named["source"]["paths"] == ["s3://mfbtest/route/masks/"]


def test_s3_bad_objects_are_named_and_a_failed_output_leaves_no_object(
    s3: Any, local: Path, tmp_path: Path
) -> None:
    for name, data in _png_bytes(local):
        s3.pipe_file(f"mfbtest/bad/masks/{name}", data)
    s3.pipe_file("mfbtest/bad/masks/000002.seg.png", b"\x89PNG broken")
    result = run("scan", "s3://mfbtest/bad/masks/", "-o", "s3://mfbtest/bad/out.json")
    assert result.exit_code == 1
    assert "s3://mfbtest/bad/masks/000002.seg.png:" in result.output
    s3.invalidate_cache()
    assert not s3.exists("mfbtest/bad/out.json")
    _no_secret(result.output)
    good = run("scan", "s3://mfbtest/bad/masks/", "--skip-bad", "-o", "s3://mfbtest/bad/out.json")
    assert good.exit_code == 0, good.output
    s3.invalidate_cache()
    stored = json.loads(s3.cat_file("mfbtest/bad/out.json"))
    assert stored["source"]["skipped_files"] == ["s3://mfbtest/bad/masks/000002.seg.png"]
    assert stored["files"] == 3
    _no_secret(good.output, json.dumps(stored))
    missing = run("scan", "s3://mfbtest/nothing/here/")
    assert missing.exit_code == 1
    assert "s3://mfbtest/nothing/here/: no such object or prefix" in missing.output
    _no_secret(missing.output)


@pytest.fixture
def http_root(local: Path) -> Iterator[str]:
    """The masks' folder served over HTTP on 127.0.0.1 (the query string is ignored)."""
    pytest.importorskip("aiohttp", reason="http(s):// needs aiohttp (the remote extra)")
    with serve_folder(local.parent) as url:
        yield url


def test_a_signed_url_is_read_and_recorded_without_its_secret(
    local: Path, http_root: str, tmp_path: Path
) -> None:
    one = local / "000001.seg.png"
    reference = _scan(one)
    url = f"{http_root.replace('://', '://alice:hunter2@')}/png/000001.seg.png?X-Sig=abc123"
    result = run("scan", url, "-o", tmp_path / "out.json")
    assert result.exit_code == 0, result.output
    written = (tmp_path / "out.json").read_text()
    assert _without_source(written) == _without_source(reference)
    assert json.loads(written)["source"]["paths"] == [f"{http_root}/png/000001.seg.png"]
    for text in (written, result.output):
        assert "hunter2" not in text and "abc123" not in text and "alice" not in text
    missing = run("scan", url.replace("000001", "999999"))
    assert missing.exit_code == 1
    assert f"{http_root}/png/999999.seg.png" in missing.output
    assert "hunter2" not in missing.output and "abc123" not in missing.output


def test_from_colormap_map_and_names_files_at_urls(local: Path, tmp_path: Path) -> None:
    fs = fsspec.filesystem("memory")
    stats = _scan(local)
    fs.pipe_file("/mfbtabs/stats.json", stats.encode())
    fs.pipe_file("/mfbtabs/map.json", b'{"0": 10, "1": 10, "2": 12, "3": 13, "4": 14, "255": 255}')
    fs.pipe_file("/mfbtabs/names.txt", b"zero\none\ntwo\nthree\nfour\n")
    try:
        from_url = run("weights", "--from", "memory://mfbtabs/stats.json", "--void", "255")
        from_file = run("weights", local, "--void", "255")
        assert from_url.exit_code == 0, from_url.output
        assert json.loads(from_url.stdout)["weights"] == json.loads(from_file.stdout)["weights"]
        mapped = json.loads(_scan(local, "--map", "memory://mfbtabs/map.json"))
        expected = _expected()
        assert dict(zip(mapped["ids"], mapped["pixels"], strict=True)) == {
            10: expected[0] + expected[1],
            12: expected[2],
            13: expected[3],
            14: expected[4],
            255: expected[255],
        }
        named = run("histogram", local, "--names", "memory://mfbtabs/names.txt", "-f", "json")
        assert named.exit_code == 0, named.output
        assert "three" in named.stdout
        missing = run("scan", local, "--map", "memory://mfbtabs/nothing.json")
        assert missing.exit_code == 1
        assert "memory://mfbtabs/nothing.json: cannot read the remap file" in missing.output
    finally:
        fs.rm("/mfbtabs", recursive=True)


def test_a_prefix_is_listed_once_not_once_per_object(
    local: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fsspec.implementations.memory import MemoryFileSystem

    data = (local / "000000.seg.png").read_bytes()
    fs = fsspec.filesystem("memory")
    for index in range(120):
        fs.pipe_file(f"/mfbmany/part{index % 3}/{index:04d}.png", data)
    calls: dict[str, int] = {}
    for name in ("find", "ls", "info", "isfile", "exists", "size", "glob"):
        original = getattr(MemoryFileSystem, name)

        def counted(self: Any, *args: Any, _name: str = name, _f: Any = original, **kw: Any) -> Any:
            calls[_name] = calls.get(_name, 0) + 1
            return _f(self, *args, **kw)

        monkeypatch.setattr(MemoryFileSystem, name, counted)
    try:
        result = json.loads(_scan("memory://mfbmany/", "-j", "2"))
        assert result["files"] == 120
        assert result["total_pixels"] == 120 * MASKS[0].size
        # One recursive listing; the other calls are about the URL itself, not per object.
        assert calls.get("find") == 1
        assert sum(calls.values()) - calls.get("find", 0) <= 4, calls
    finally:
        monkeypatch.undo()
        fs.rm("/mfbmany", recursive=True)


def test_check_names_a_bad_object_and_counts_the_rest(local: Path) -> None:
    fs = fsspec.filesystem("memory")
    for name, data in _png_bytes(local):
        fs.pipe_file(f"/mfbcheck/{name}", data)
    fs.pipe_file("/mfbcheck/000009.seg.png", b"\x89PNG\r\n\x1a\n cut")
    try:
        result = run("check", "memory://mfbcheck", "-f", "json", "-q")
        assert result.exit_code == 1
        report = json.loads(result.stdout)
        assert [entry["path"] for entry in report["bad_files"]] == [
            "memory:///mfbcheck/000009.seg.png"
        ]
    finally:
        fs.rm("/mfbcheck", recursive=True)


@given(
    scheme=st.sampled_from(["s3", "gs", "az", "hf", "http", "https", "memory", "zip::s3"]),
    # A password as a URL holds it (RFC 3986 userinfo: '/', '?', '#', '@' percent-encoded);
    # a query or fragment value, anything.
    secret=st.text(alphabet=string.ascii_letters + string.digits + "-._~!$&'()*+,;=:%"),
    # (text reading as a chained URL, '::proto://', would be read so by fsspec too)
    anything=st.text(alphabet=string.printable.strip()).filter(
        lambda text: re.search(r"::[a-z][a-z0-9+.-]*://", f"=SECRET{text}", re.I) is None
    ),
    path=st.text(alphabet=string.ascii_lowercase + "/._-", max_size=20),
)
def test_no_secret_survives_in_a_shown_url(
    scheme: str, secret: str, anything: str, path: str
) -> None:
    secret, anything = f"SECRET{secret}", f"SECRET{anything}"  # never in a lower-case path
    for url, hidden in (
        (f"{scheme}://user:{secret}@host/{path}", secret),
        (f"{scheme}://{secret}@host/{path}", secret),
        (f"{scheme}://host/{path}?token={anything}", anything),
        (f"{scheme}://host/{path}?a=1#{anything}", anything),
    ):
        shown = safe_url(url)
        assert hidden not in shown
        assert shown.endswith(f"host/{path}")


def test_a_list_at_a_url_or_with_a_url_root(local: Path, tmp_path: Path) -> None:
    fs = fsspec.filesystem("memory")
    names = [name for name, _ in _png_bytes(local)]
    for name, data in _png_bytes(local):
        fs.pipe_file(f"/mfblist/masks/{name}", data)
    fs.pipe_file("/mfblist/masks/train.txt", "".join(f"img.jpg {n}\n" for n in names).encode())
    (tmp_path / "bare.txt").write_text("# stems\n" + "".join(f"{n[:6]}\n" for n in names))
    reference = _scan(local)
    try:
        by_list = _scan("--list", "memory://mfblist/masks/train.txt")
        assert _without_source(by_list) == _without_source(reference)
        by_root = _scan(
            "--list",
            tmp_path / "bare.txt",
            "--root",
            "memory://mfblist/masks",
            "--suffix",
            ".seg.png",
        )
        assert _without_source(by_root) == _without_source(reference)
        (tmp_path / "bad.txt").write_text("000000.seg.png\nmissing.png\n")
        missing = run("scan", "--list", tmp_path / "bad.txt", "--root", "memory://mfblist/masks")
        assert missing.exit_code == 1
        assert "bad.txt:2: missing.png: no such object in memory://mfblist/masks" in (
            missing.output
        )
    finally:
        fs.rm("/mfblist", recursive=True)


def test_a_damaged_or_oversized_parquet_shard_is_named(local: Path, tmp_path: Path) -> None:
    damaged = tmp_path / "cut.parquet"
    damaged.write_bytes(b"PAR1 not really")
    result = run("scan", damaged)
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {damaged}: cannot read as parquet (")
    assert result.output.count("\n") == 1
    files = _png_bytes(local)
    shard = _write_parquet(tmp_path / "ok.parquet", files[:2])
    # --max-pixels 1 allows 8 + 1 MiB bytes a file: a padded row is refused unread.
    padded = _write_parquet(tmp_path / "big.parquet", [("big.png", files[0][1] + bytes(9 << 20))])
    big = run("scan", shard, padded, "--max-pixels", 1, "--skip-bad")
    assert f"{padded}:0 (big.png): is {len(files[0][1]) + (9 << 20)} bytes, more than" in (
        big.stderr
    )


def test_a_remote_tar_is_read_in_stored_order(local: Path, tmp_path: Path) -> None:
    files = _png_bytes(local)
    members = [("b.seg.png", files[0][1]), ("zz.seg.png", b"bad one"), ("a.seg.png", b"bad two")]
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, payload in members:
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    fs = fsspec.filesystem("memory")
    fs.pipe_file("/mfbtar/s-000.tar", buffer.getvalue())
    try:
        result = run(
            "scan", "memory://mfbtar/s-{000..000}.tar", "--glob", "*.seg.png", "--skip-bad"
        )
        assert result.exit_code == 0, result.output
        skipped = json.loads(result.stdout)["source"]["skipped_files"]
        assert skipped == [  # named archive:member, as an archive on disk
            "memory:///mfbtar/s-000.tar:zz.seg.png",
            "memory:///mfbtar/s-000.tar:a.seg.png",
        ]
    finally:
        fs.rm("/mfbtar", recursive=True)
