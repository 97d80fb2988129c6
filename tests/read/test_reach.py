"""What a failed remote read says (connection refused is not "no such object"), and how far
an untrusted list reaches: the entries of a list read from a URL stay on its own file
system, so a list cannot make mfb read local files or tell which exist."""

from __future__ import annotations

from pathlib import Path

import pytest

from ..conftest import run
from .servers import Misbehaving, closed_port, serve_folder

pytest.importorskip("fsspec", reason="remote paths need fsspec (the remote extra)")
pytest.importorskip("aiohttp", reason="http(s):// needs aiohttp (the remote extra)")


def _one_line_error(result: object, text: str) -> None:
    assert getattr(result, "exit_code", None) == 1
    stderr = getattr(result, "stderr", "")
    assert stderr.count("\n") == 1 and stderr.startswith("Error: "), stderr
    assert text in stderr, stderr


def test_a_refused_connection_is_named_as_such() -> None:
    url = f"http://user:pw@127.0.0.1:{closed_port()}/masks/a.png?token=T0kenSecret"
    result = run("scan", url)
    _one_line_error(result, "cannot be listed (connection refused)")
    assert "no such object" not in result.stderr
    assert "T0kenSecret" not in result.stderr and "user:pw" not in result.stderr


@pytest.mark.parametrize(("status", "said"), [(500, "HTTP status 500"), (403, "HTTP status 403"),
                                              (404, "no such object")])  # fmt: skip
def test_an_http_status_is_named(status: int, said: str) -> None:
    with Misbehaving(f"status:{status}") as server:
        result = run("scan", f"{server.url}/a.png")
    _one_line_error(result, f"{server.url}/a.png: cannot be listed ({said}")


def test_a_server_that_never_answers_meets_the_read_deadline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mfb_cli.read.base import cancel

    # The deadlines are part of the file system's options: 0.5 s makes another instance.
    monkeypatch.setattr(cancel, "READ_SECONDS", 0.5)
    with Misbehaving("silent") as server:
        result = run("scan", f"{server.url}/a.png")
    _one_line_error(result, "(timed out: no answer within 0.5 s)")


# Lists read from a URL -------------------------------------------------------------


@pytest.fixture
def site(tmp_path: Path) -> tuple[str, Path]:
    """(URL of a served folder holding a.png, the folder); a local secret beside it."""
    served = tmp_path / "served"
    served.mkdir()
    from PIL import Image

    Image.new("L", (2, 1)).save(served / "a.png")
    Image.new("L", (3, 1)).save(tmp_path / "local-secret.png")
    return "", served


@pytest.mark.parametrize(
    "entry",
    ["file://{local}", "{local}", "local://{local}", "memory://bucket/a.png",
     "http://127.0.0.2:{port}/a.png", "https://127.0.0.1:{port}/a.png",
     "simplecache::file://{local}", "C:\\windows\\a.png"],
)  # fmt: skip
def test_a_remote_list_names_nothing_off_its_own_file_system(
    site: tuple[str, Path], tmp_path: Path, entry: str
) -> None:
    _, served = site
    local = tmp_path / "local-secret.png"
    missing = tmp_path / "no-such-file.png"
    outcomes = []
    for target in (local, missing):  # an existing and a missing local file: one answer
        with serve_folder(served) as url:
            port = url.rsplit(":", 1)[1]
            text = entry.format(local=target, port=port)
            (served / "list.txt").write_text(f"a.png\n{text}\n")
            result = run("scan", "--list", f"{url}/list.txt")
            outcomes.append(result.stderr.replace(str(target), "TARGET").replace(port, "PORT"))
            _one_line_error(result, f"{url}/list.txt:2: ")
    assert outcomes[0] == outcomes[1]
    assert "no such" not in outcomes[0]


def test_a_remote_list_reads_its_own_entries(site: tuple[str, Path]) -> None:
    _, served = site
    (served / "list.txt").write_text("a.png\n./a.png\n")
    with serve_folder(served) as url:
        (served / "list2.txt").write_text(f"{url}/a.png\n")
        by_list = run("scan", "--list", f"{url}/list.txt", "--list", f"{url}/list2.txt")
        missing = run("scan", "--list", f"{url}/list.txt", "--list", f"{url}/list3.txt")
        (served / "list4.txt").write_text("b.png\n")
        no_entry = run("scan", "--list", f"{url}/list4.txt")
    assert by_list.exit_code == 0, by_list.stderr
    assert '"files": 1' in by_list.stdout  # the same object three times over: once
    _one_line_error(missing, f"{url}/list3.txt: cannot read the list file (no such object)")
    _one_line_error(no_entry, f"{url}/list4.txt:1: b.png: no such object in {url}")


def test_a_remote_list_takes_no_local_root(site: tuple[str, Path], tmp_path: Path) -> None:
    _, served = site
    (served / "list.txt").write_text("local-secret.png\n")
    with serve_folder(served) as url:
        result = run("scan", "--list", f"{url}/list.txt", "--root", tmp_path)
    assert result.exit_code == 2  # decided from the options alone: a usage error
    assert "--root must be a URL there too, not a local folder" in result.stderr


@pytest.mark.parametrize("token", ["T0ken::", "a::b", "x::zip::", "z::y://w"])
def test_a_double_colon_in_a_query_or_password_is_no_chain(
    site: tuple[str, Path], token: str
) -> None:
    # fsspec splits URLs at '::' (chained file systems): one inside a query value or a
    # password is part of it, and must neither break the read nor show.
    _, served = site
    with serve_folder(served) as url:
        secret = url.replace("://", "://user:pw::Secret@")
        result = run("scan", f"{secret}/a.png?token={token}Secret2", "-q")
    assert result.exit_code == 0, result.stderr
    assert '"files": 1' in result.stdout
    assert "Secret" not in result.output and "pw::" not in result.output
    assert f'"{url}/a.png"' in result.stdout
