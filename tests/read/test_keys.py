"""One identity per input (read/base/keys.py): every spelling of a file or object gives the
same key, distinct inputs give distinct keys, and no key ever prints a secret."""

from __future__ import annotations

import os
import string
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from mfb_cli.read.base.keys import Seen, SourceKey, local_key, url_key
from mfb_cli.read.base.urls import safe_text, shown_path


def test_spellings_of_one_url_share_a_key() -> None:
    same = [
        "http://example.org/masks/a.png",
        "HTTP://Example.ORG/masks/a.png",
        "http://example.org:80/masks/a.png",
        "http://user:pw@example.org/masks/a.png",
        "http://example.org/masks/./b/../a.png",
        "http://example.org/masks/a.png#fragment",
    ]
    assert {url_key(url) for url in same} == {url_key(same[0])}
    assert url_key("https://example.org:443/a") == url_key("https://example.org/a")
    assert url_key("s3a://bucket/a.png") == url_key("s3://bucket/a.png")
    assert url_key("gcs://bucket/a.png") == url_key("gs://bucket/a.png")


def test_distinct_objects_have_distinct_keys() -> None:
    distinct = [
        "http://example.org/a.png",
        "http://example.org:8080/a.png",
        "https://example.org/a.png",
        "http://example.org/a.png?id=2",  # a query may address another object
        "http://example.org/A.png",
        "s3://example.org/a.png",
        "memory://example.org/a.png",
    ]
    assert len({url_key(url) for url in distinct}) == len(distinct)


def test_a_file_url_is_the_local_file(tmp_path: Path) -> None:
    target = tmp_path / "a.png"
    target.write_bytes(b"x")
    link = tmp_path / "link.png"
    link.symlink_to(target)
    keys = {local_key(target), local_key(link), url_key(f"file://{target}"),
            local_key(f"{tmp_path}/sub/../a.png"), url_key(f"local://{link}")}  # fmt: skip
    assert keys == {SourceKey(os.path.realpath(target))}


def test_members_and_rows_extend_their_container() -> None:
    shard = url_key("s3://b/x.tar")
    assert shard.member("./a/b.png") == shard.member("a//b.png")
    assert shard.member("a.png") != shard.member("b.png")
    assert shard.row("image", 3) != shard.row("label", 3) != shard.row("image", 4)
    assert str(shard.row("image", 3)) == "s3://b/x.tar:image:3"
    seen = Seen()
    assert [seen.first(k) for k in (shard, shard.member("a"), shard)] == [True, True, False]


@given(
    secret=st.text(alphabet=string.ascii_letters + string.digits + "-._~!$&'()*+,;=%", min_size=4),
    scheme=st.sampled_from(["http", "https", "s3", "gs", "hf", "memory"]),
)
def test_no_key_and_no_shown_name_holds_a_secret(secret: str, scheme: str) -> None:
    secret = f"SECRET{secret}"
    for url in (f"{scheme}://user:{secret}@host/a.png", f"{scheme}://host/a.png?sig={secret}"):
        key = url_key(url)
        assert secret not in str(key) and secret not in repr(key) and secret not in key.place
        assert secret not in shown_path(url)
        message = f"failed for {url} (auth {secret} rejected)"
        assert secret not in safe_text(message, url)
