"""URLs made hostile: secrets holding pattern characters, spellings that differ only in
percent-escapes, redirects off the server, compressed replies. Every source passes the
same text rules (read/base/urls.py, keys.py) and the same http session (http.py)."""

from __future__ import annotations

import json
import string
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mfb_cli.read.base.keys import url_key
from mfb_cli.read.base.urls import (
    expand_outside_secrets,
    pattern_text,
    safe_text,
    safe_url,
    split_url,
)
from mfb_cli.read.sources.braces import iter_braces

from ..conftest import run, save_mask
from .servers import Misbehaving, serve_folder

#: Any character a careless password or token may hold (unencoded), patterns included.
WILD = string.ascii_letters + string.digits + "-._~!$&'()*+,;=[]{}?/#%:@ "


@given(password=st.text(WILD, max_size=16), query=st.text(WILD, max_size=16))
def test_no_secret_survives_any_password_or_query(password: str, query: str) -> None:
    for scheme in ("http", "https", "s3", "gs"):
        url = f"{scheme}://user:SECRET{password}@host:8080/d/a.png?sig=SECRET{query}"
        assert "SECRET" not in safe_url(url)
        if not set(password) & set("@/?#"):  # else the URL may parse as another (RFC 3986)
            assert safe_url(url) == f"{scheme}://host:8080/d/a.png"
        key = url_key(url)  # never raises, never holds the password
        assert "SECRET" not in str(key) and "SECRET" not in repr(key)
        assert "SECRET" not in safe_text(f"failed: {url} ({password!r} refused)", url)
        assert "*" not in pattern_text(url) and "[" not in pattern_text(url)


@given(text=st.text(max_size=40))
def test_splitting_any_text_never_fails(text: str) -> None:
    split_url(text)
    safe_url(text)
    for url in (f"http://{text}", f"s3://{text}", f"zip::http://{text}"):
        split_url(url)
        safe_url(url)
        url_key(url)


def test_braces_expand_in_hosts_and_paths_never_in_secrets() -> None:
    url = "http://u:{p,q}@h{1,2}/a{0..1}.png?t={x,y}#f{z,w}"
    assert list(expand_outside_secrets(url, iter_braces)) == [
        f"http://u:{{p,q}}@h{h}/a{a}.png?t={{x,y}}#f{{z,w}}" for h in (1, 2) for a in (0, 1)
    ]


def test_spellings_that_differ_in_escapes_share_a_key(tmp_path: Path) -> None:
    same = ["http://h/m/0.png", "http://h/m/%30.png", "http://h/m/0%2epng", "http://h/m/0%2Epng"]
    assert len({url_key(u) for u in same}) == 1
    assert url_key("http://h/a%2fb.png") == url_key("http://h/a%2Fb.png")
    assert url_key("http://h/a%2Fb.png") != url_key("http://h/a/b.png")  # '/' is reserved
    assert url_key("s3://b/%30.png") != url_key("s3://b/0.png")  # s3 keys are literal
    target = tmp_path / "a b.png"
    target.write_bytes(b"x")
    files = [f"file://{target}", f"file://localhost{target}", target.as_uri()]
    assert len({url_key(u) for u in files}) == 1


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    save_mask(tmp_path / "0.png", [[0, 1], [1, 1]])
    return tmp_path


def _files(result) -> int:
    assert result.exit_code == 0, result.stderr
    return int(json.loads(result.stdout)["files"])


def test_one_object_reached_by_every_spelling_is_counted_once(folder: Path) -> None:
    with serve_folder(folder) as url:
        port = url.rsplit(":", 1)[1]
        spellings = [f"{url}/0.png", f"{url}/%30.png", f"{url}/0.png?", f"{url}/0.png#x",
                     f"HTTP://127.0.0.1:{port}/0.png", f"{url}//0.png", f"{url}/./0.png",
                     f"http://u:pw@127.0.0.1:{port}/0.png"]  # fmt: skip
        assert _files(run("scan", *spellings)) == 1


@pytest.mark.parametrize(
    "tail", ["?token=SECRET*1", "?token=SECRET[1]", "?token={SECRET,b}", "#SECRET*"]
)
def test_a_query_holding_pattern_characters_names_one_object(folder: Path, tail: str) -> None:
    with serve_folder(folder) as url:
        result = run("scan", f"{url}/0.png{tail}")
        password = run("scan", url.replace("://", "://user:SECRET*{a,b}@") + "/0.png")
    assert _files(result) == 1 and _files(password) == 1
    assert "SECRET" not in result.output + password.output


def test_a_password_no_url_can_hold_is_named_without_it(folder: Path) -> None:
    with serve_folder(folder) as url:
        result = run("scan", url.replace("://", "://user:[SECRETpw]@") + "/0.png")
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and "not a valid URL" in result.stderr
    assert "SECRET" not in result.output and "internal error" not in result.output


@pytest.mark.parametrize(
    ("location", "said"),
    [
        ("http://localhost:9/0.png", "redirected to another server (http://localhost)"),
        ("file:///etc/passwd", "redirected to another server (file:///etc/passwd)"),
        ("SELF", "too many redirects"),
    ],
)
def test_a_redirect_off_the_server_or_in_a_loop_is_refused(location: str, said: str) -> None:
    with Misbehaving(f"redirect:{location}") as server:
        result = run("scan", f"{server.url}/0.png")
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and said in result.stderr, result.stderr


def test_a_redirect_on_the_same_host_is_followed(folder: Path) -> None:
    with serve_folder(folder) as url, Misbehaving(f"redirect:{url}/0.png") as server:
        result = run("histogram", f"{server.url}/a.png", "-f", "json")
    assert result.exit_code == 0, result.stderr
    assert [c["pixels"] for c in json.loads(result.stdout)["classes"]] == [1, 3]


def test_a_list_entry_cannot_leave_the_list_server_through_a_redirect(folder: Path) -> None:
    with serve_folder(folder) as elsewhere:
        target = elsewhere.replace("127.0.0.1", "localhost")
        files = {"/list.txt": b"a.png\n"}
        with Misbehaving(f"redirect:{target}/0.png", files=files) as server:
            result = run("scan", "--list", f"{server.url}/list.txt")
    assert result.exit_code == 1 and result.stderr.count("\n") == 1, result.stderr
    assert "list.txt:1: a.png: cannot be read (redirected to another server" in result.stderr


def test_a_compressed_reply_is_never_inflated() -> None:
    from mfb_cli.read.sources.remote import one_object, read_body

    with Misbehaving("gzip") as server:
        body = read_body(one_object(f"{server.url}/0.png"), 1 << 30)
        result = run("scan", f"{server.url}/0.png")
    assert body[:2] == b"\x1f\x8b" and len(body) < 1 << 20  # the gzip as sent
    assert result.exit_code == 1 and "not an image file" in result.stderr


def test_a_local_file_reached_through_a_file_url_list_is_counted_once(folder: Path) -> None:
    (folder / "list.txt").write_text("0.png\n")
    routes = [
        ("--list", folder / "list.txt", "--root", folder.as_uri(), folder / "0.png"),
        ("--list", (folder / "list.txt").as_uri(), folder / "0.png"),
        ("--list", (folder / "list.txt").as_uri(), f"file://localhost{folder}/0.png"),
    ]
    for route in routes:
        assert _files(run("scan", *route)) == 1, route
