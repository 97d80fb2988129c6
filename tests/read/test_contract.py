"""The one reading contract, held by every source kind: local files, links, archives on
disk and at URLs, objects over HTTP and S3 (moto's server on 127.0.0.1), parquet shards
on disk and at URLs, and WebDataset brace ranges.

Each class of rule has a test across the kinds: an input reached twice by any route is
counted once; no credential reaches any output, message or repr; a tar or zip at a URL
obeys exactly the rules it obeys on disk.
"""

from __future__ import annotations

import io
import json
import tarfile
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from mfb_cli.count.scan import count_masks
from mfb_cli.read.sources.find import find_label_sources

from ..conftest import run
from .servers import KEY_ID, SECRET, s3_server, serve_folder

fsspec = pytest.importorskip("fsspec", reason="remote paths need fsspec (the remote extra)")
pa = pytest.importorskip("pyarrow", reason="parquet shards need pyarrow (the parquet extra)")
pq = pytest.importorskip("pyarrow.parquet", reason="parquet shards need pyarrow")
pytest.importorskip("aiohttp", reason="http(s):// needs aiohttp (the remote extra)")


def png(labels: Any) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(labels, dtype=np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def mask(k: int) -> bytes:
    """Input k's mask: k pixels of class k, so the counts tell which inputs were counted
    and how many times (counted twice, class k would hold 2k pixels)."""
    return png(np.full((1, k), k))


def tar_bytes(members: list[tuple[str, bytes | tarfile.TarInfo]], mode: str = "w") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as archive:
        for name, payload in members:
            if isinstance(payload, tarfile.TarInfo):
                archive.addfile(payload)
                continue
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            archive.addfile(info, io.BytesIO(payload))
    return buffer.getvalue()


def parquet_bytes(rows: list[tuple[str | None, bytes | None]], group_rows: int = 3) -> bytes:
    image = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    column = pa.array([{"bytes": b, "path": p} for p, b in rows], type=image)
    buffer = io.BytesIO()
    pq.write_table(pa.table({"annotation": column}), buffer, row_group_size=group_rows)
    return buffer.getvalue()


def counts(*paths: object) -> dict[int, int]:
    found = find_label_sources([str(p) for p in paths])
    result = count_masks(found, jobs=2)
    return dict(zip(result.ids.tolist(), result.pixels.tolist(), strict=True))


# Every input, reachable by several routes --------------------------------------------


@pytest.fixture(scope="module")
def s3() -> Iterator[Any]:
    """One S3 server for the module (botocore keeps talking to the first one it met)."""
    with s3_server() as fs:
        yield fs


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, s3: Any) -> Iterator[dict[int, list[str]]]:
    """Inputs 1..9, each with its spellings (the routes that reach it)."""
    root = tmp_path_factory.mktemp("world")
    (root / "local").mkdir()
    (root / "local" / "a.png").write_bytes(mask(1))
    links = root / "links"
    links.mkdir()
    (links / "link_a.png").symlink_to(root / "local" / "a.png")
    (root / "t-0000.tar").write_bytes(tar_bytes([("b.png", mask(2))]))
    (links / "link_t.tar").symlink_to(root / "t-0000.tar")
    (root / "p.parquet").write_bytes(parquet_bytes([("c.png", mask(3))]))
    (links / "link_p.parquet").symlink_to(root / "p.parquet")
    served = root / "served"
    (served / "x").mkdir(parents=True)
    (served / "h.png").write_bytes(mask(4))
    (served / "w-0000.tar").write_bytes(tar_bytes([("d.png", mask(5))]))
    (served / "hp.parquet").write_bytes(parquet_bytes([("e.png", mask(9))]))
    with serve_folder(served, ranges=True) as http:
        s3.pipe_file("mfbcontract/k6/s.png", mask(6))
        s3.pipe_file("mfbcontract/k7/q.parquet", parquet_bytes([("f.png", mask(7))]))
        s3.pipe_file("mfbcontract/k8/r.tar", tar_bytes([("g.png", mask(8))]))
        credentials = http.replace("://", "://someone:pw0rd@")
        yield {
            1: [
                str(root / "local" / "a.png"),
                str(links / "link_a.png"),
                f"file://{root}/local/a.png",
                str(root / "local"),
                f"{root}/local/../local/a.png",
            ],
            2: [
                str(root / "t-0000.tar"),
                str(links / "link_t.tar"),
                f"{root}/t-{{0000,0000}}.tar",
                f"tar::file://{root}/t-0000.tar",
            ],
            3: [str(root / "p.parquet"), str(links / "link_p.parquet"), f"{root}/{{p,p}}.parquet"],
            4: [f"{http}/h.png", f"{credentials}/h.png", f"{http}/x/../h.png"],
            5: [f"{http}/w-0000.tar", f"{http}/w-{{0000,0000}}.tar", f"tar::{http}/w-0000.tar"],
            6: ["s3://mfbcontract/k6/s.png", "s3a://mfbcontract/k6/s.png", "s3://mfbcontract/k6/"],
            7: ["s3://mfbcontract/k7/q.parquet", "s3://mfbcontract/k7/*.parquet"],
            8: ["s3://mfbcontract/k8/r.tar", "tar::s3://mfbcontract/k8/r.tar"],
            9: [f"{http}/hp.parquet", f"{credentials}/hp.parquet"],
        }


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(picks=st.lists(st.tuples(st.integers(1, 9), st.integers(0, 4)), min_size=1, max_size=5))
def test_any_input_reached_twice_by_any_route_is_counted_once(
    world: dict[int, list[str]], picks: list[tuple[int, int]]
) -> None:
    routes = [world[k][choice % len(world[k])] for k, choice in picks]
    assert counts(*routes) == {k: k for k in {k for k, _ in picks}}


def test_every_route_to_an_input_gives_it_one_key(world: dict[int, list[str]]) -> None:
    from mfb_cli.read.sources.shards import source_key

    keys = {k: {source_key(s) for route in routes for s in find_label_sources([route])}
            for k, routes in world.items()}  # fmt: skip
    assert all(len(found) == 1 for found in keys.values()), keys
    assert len(set.union(*keys.values())) == len(world)  # and one input's key is its own
    for found in keys.values():
        (key,) = found
        assert "pw0rd" not in repr(key) and "someone" not in str(key)


def test_every_route_twice_over_counts_each_input_once(world: dict[int, list[str]]) -> None:
    every = [route for spellings in world.values() for route in spellings]
    assert counts(*every, *reversed(every)) == {k: k for k in world}


# Credentials ---------------------------------------------------------------------------

#: Secrets typed into URLs: never in any output, message or repr.
PASSWORD, TOKEN = "hunter2Pw0rd", "SigN4tureT0ken"


@pytest.fixture(scope="module")
def secret_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(plain URL, URL with user:password@) of a folder of every remote kind."""
    served = tmp_path_factory.mktemp("secret")
    (served / "h.png").write_bytes(mask(4))
    (served / "w-0000.tar").write_bytes(tar_bytes([("d.png", mask(5)), ("bad.png", b"junk")]))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("z.png", mask(6))
    (served / "z.zip").write_bytes(buffer.getvalue())
    (served / "hp.parquet").write_bytes(parquet_bytes([("e.png", mask(7)), ("n.png", b"junk")]))
    (served / "list.txt").write_text("img.jpg h.png\n")
    with serve_folder(served, ranges=True) as http:
        yield http, http.replace("://", f"://alice:{PASSWORD}@")


@pytest.mark.parametrize(
    "route",
    ["h.png", "w-0000.tar", "w-{0000,0000}.tar", "z.zip", "hp.parquet", "--list list.txt",
     "missing.png"],
)  # fmt: skip
def test_no_credential_reaches_an_output_message_or_repr(
    secret_site: tuple[str, str], tmp_path: Path, route: str
) -> None:
    plain, secret = secret_site
    query = f"?token={TOKEN}&X-Amz-Signature={TOKEN}"
    args = [arg if arg.startswith("--") else f"{secret}/{arg}{query}" for arg in route.split()]
    stats, per_image = tmp_path / "stats.json", tmp_path / "images.jsonl"
    result = run("scan", *args, "--skip-bad", "-o", stats, "--per-image", per_image, "-j", 2)
    texts = [result.stdout, result.stderr]
    if result.exit_code == 0:
        texts += [stats.read_text(), per_image.read_text()]
        assert f"{plain}/" in stats.read_text()  # named, without the secrets
    else:
        assert result.stderr.count("\n") == 1 and f"{plain}/missing.png" in result.stderr
    if route != "--list list.txt" and result.exit_code == 0:
        texts += [repr(list(find_label_sources(args))), str(list(find_label_sources(args)))]
        texts += [str(source) for source in find_label_sources(args)]
    for text in texts:
        assert PASSWORD not in text and TOKEN not in text and "alice" not in text, text


def test_s3_credentials_never_reach_an_output(world: dict[int, list[str]], tmp_path: Path) -> None:
    stats, per_image = tmp_path / "s.json", tmp_path / "i.jsonl"
    routes = [*world[6], *world[7], *world[8], "s3://mfbcontract/nothing/"]
    for route in routes:
        result = run("scan", route, "-o", stats, "--per-image", per_image)
        texts = [result.output]
        if result.exit_code == 0:
            texts += [stats.read_text(), per_image.read_text()]
        for text in texts:
            assert SECRET not in text and KEY_ID not in text


# Archive member rules, wherever the archive lives --------------------------------------


def _link(name: str, target: str, kind: bytes) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info


def _fifo(name: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.FIFOTYPE
    return info


def _zip(members: list[tuple[str, bytes, int]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns of a duplicate name: wanted here
        for name, data, mode in members:
            info = zipfile.ZipInfo(name)
            info.create_system = 3
            info.external_attr = mode << 16
            archive.writestr(info, data)
    return buffer.getvalue()


def _gz_with_bad_crc() -> bytes:
    data = bytearray(tar_bytes([("a.png", mask(1))], mode="w:gz"))
    data[-8] ^= 0xFF  # the CRC-32 in gzip's trailer
    return bytes(data)


ARCHIVES = {
    "dup.tar": tar_bytes([("x.png", mask(1)), ("x.png", mask(2))]),
    "dotdup.tar": tar_bytes([("./x.png", mask(1)), ("x.png", mask(2))]),
    "symlink.tar": tar_bytes([("a.png", mask(1)), ("", _link("l.png", "a.png", tarfile.SYMTYPE))]),
    "hardlink.tar": tar_bytes([("a.png", mask(1)), ("", _link("h.png", "a.png", tarfile.LNKTYPE))]),
    "fifo.tar": tar_bytes([("a.png", mask(1)), ("f.png", _fifo("f.png"))]),
    "hidden.tar": tar_bytes([(n, mask(k)) for n, k in [(".h.png", 2), ("__MACOSX/x.png", 3),
                                                        ("d/.x.png", 4), ("a.png", 1)]]),
    "order.tar": tar_bytes([("z.png", b"bad z"), ("m.png", mask(2)), ("a.png", b"bad a")]),
    "badcrc.tar.gz": _gz_with_bad_crc(),
    "cut.tar": tar_bytes([("a.png", mask(1)), ("b.png", mask(2))])[:700],
    "good.tar.xz": tar_bytes([("b.png", mask(2)), ("a.png", mask(1))], mode="w:xz"),
    "dup.zip": _zip([("x.png", b"1", 0o100644), ("x.png", b"2", 0o100644)]),
    "symlink.zip": _zip([("a.png", mask(1), 0o100644), ("l.png", b"a.png", 0o120777)]),
}  # fmt: skip


@pytest.fixture(scope="module")
def archive_sites(tmp_path_factory: pytest.TempPathFactory, s3: Any) -> Iterator[dict[str, str]]:
    """The same archives on disk, over HTTP and on S3: where -> folder URL or path."""
    folder = tmp_path_factory.mktemp("archives")
    for name, data in ARCHIVES.items():
        (folder / name).write_bytes(data)
    with serve_folder(folder, ranges=True) as http:
        for name, data in ARCHIVES.items():
            s3.pipe_file(f"mfbcontract/arch/{name}", data)
        yield {"disk": str(folder), "http": http, "s3": "s3://mfbcontract/arch"}


def _outcome(where: str, name: str) -> tuple[int, str, str]:
    result = run("scan", f"{where}/{name}", "--skip-bad", "-j", 1)
    stdout = result.stdout
    if result.exit_code == 0:
        record = json.loads(stdout)
        record.pop("files_digest")
        record["source"].pop("paths")
        stdout = json.dumps(record, sort_keys=True)
    return result.exit_code, stdout.replace(where, "WHERE"), result.stderr.replace(where, "WHERE")


@pytest.mark.parametrize("name", sorted(ARCHIVES))
def test_an_archive_at_a_url_obeys_the_rules_it_obeys_on_disk(
    archive_sites: dict[str, str], name: str
) -> None:
    on_disk = _outcome(archive_sites["disk"], name)
    assert _outcome(archive_sites["http"], name) == on_disk
    assert _outcome(archive_sites["s3"], name) == on_disk


def _checked(where: str, name: str) -> tuple[int, str]:
    result = run("check", f"{where}/{name}", "-f", "json", "-q", "-j", 1)
    return result.exit_code, result.stdout.replace(where, "WHERE")


@pytest.mark.parametrize("name", sorted(ARCHIVES))
def test_check_reports_an_archive_at_a_url_as_it_reports_one_on_disk(
    archive_sites: dict[str, str], name: str
) -> None:
    on_disk = _checked(archive_sites["disk"], name)
    assert json.loads(on_disk[1])["files"] >= 1  # a report, not an error
    assert _checked(archive_sites["http"], name) == on_disk
    assert _checked(archive_sites["s3"], name) == on_disk


def test_the_local_archive_rules_are_what_the_remote_ones_are_compared_with(
    archive_sites: dict[str, str],
) -> None:
    # The comparison above is worth something only if the rules bite on disk.
    disk = archive_sites["disk"]
    for name, problem in [
        ("dup.tar", "holds several members named 'x.png'"),
        ("dotdup.tar", "holds several members named 'x.png'"),
        ("dup.zip", "holds several members named 'x.png'"),
        ("badcrc.tar.gz", "cannot read archive ("),
        ("cut.tar", "cannot read archive ("),
    ]:
        code, _, stderr = _outcome(disk, name)
        assert code == 1 and problem in stderr, (name, stderr)
    for name, member, kind in [
        ("symlink.tar", "l.png", "a symbolic link (to 'a.png')"),
        ("hardlink.tar", "h.png", "a hard link (to 'a.png')"),
        ("fifo.tar", "f.png", "a FIFO"),
        ("symlink.zip", "l.png", "a symbolic link"),
    ]:
        code, stdout, stderr = _outcome(disk, name)
        assert code == 0 and f"WHERE/{name}:{member}: is {kind} inside the archive" in stderr
        assert json.loads(stdout)["pixels"] == [1]
    code, stdout, _ = _outcome(disk, "hidden.tar")
    assert json.loads(stdout)["ids"] == [1]
    code, stdout, _ = _outcome(disk, "order.tar")
    assert json.loads(stdout)["source"]["skipped_files"] == [
        "WHERE/order.tar:z.png",
        "WHERE/order.tar:a.png",
    ]
