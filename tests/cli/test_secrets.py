"""No output of any command shows the secrets a URL carries (user:password@, ?token=).

Every command reads masks, statistics, per-image files, names and lists from an HTTP
server on 127.0.0.1 through URLs holding a password and a token drawn by hypothesis, and
writes every output it has (stdout in each format, -o, --per-image, --daformer, --plot,
the report page) and its messages and warnings (stderr, successful runs and failures
alike). Neither secret may appear in any of them: every source becomes text through
``read.base.urls.shown_path``.
"""

from __future__ import annotations

import itertools
import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ..conftest import run, save_mask
from ..read.servers import serve_folder

pytest.importorskip("aiohttp", reason="http(s):// needs aiohttp (the remote extra)")

#: Marks both secrets: no output holds this text unless a secret leaked into it.
MARK = "SECRET"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Two masks, a damaged one, statistics, per-image counts, names and a list, over HTTP
    (the server ignores the query string and the Authorization header)."""
    root = tmp_path_factory.mktemp("served")
    save_mask(root / "a.png", [[0, 0, 1], [2, 2, 2]])
    save_mask(root / "b.png", [[1, 1, 0], [0, 3, 3]])
    (root / "bad.png").write_bytes(b"\x89PNG damaged")
    for name, mask in (("stats", "a.png"), ("stats2", "b.png")):
        result = run(
            "scan", root / mask, "-o", root / f"{name}.json", "--per-image", root / f"{name}.jsonl"
        )
        assert result.exit_code == 0, result.stderr
    (root / "names.txt").write_text("zero\none\ntwo\nthree\n")
    (root / "list.txt").write_text("a.png\nb.png\n")
    with serve_folder(root) as url:
        yield url.removeprefix("http://")


WEIGHTS = ("json", "yaml", "csv", "list", "torch", "mmseg", "keras", "caffe")
HISTOGRAM = ("table", "json", "yaml", "csv")
SAMPLING = ("json", "csv", "table", "torch", "mmengine")
SPLIT = ("json", "csv", "table", "nnunet")

#: Each run: its exit status and arguments, {a}, {b}, {bad}... standing for the URL of that
#: file and {out} for a fresh output folder. Every command, format and output; errors too.
RUNS: list[tuple[int | None, tuple[str, ...]]] = [
    *((0, ("weights", "{a}", "{b}", "-f", f, "-o", "{out}/w")) for f in WEIGHTS),
    (0, ("weights", "{a}", "--names", "{names}", "-f", "csv")),
    (0, ("weights", "--from", "{stats}", "-f", "yaml")),
    (None, ("weights", "--list", "{list}")),  # entries relative to the list's URL
    (1, ("weights", "{a}", "{bad}")),
    (0, ("weights", "{a}", "{bad}", "--skip-bad", "-o", "{out}/w.json")),
    (1, ("weights", "{missing}")),
    (1, ("weights", "{a}", "--num-classes", "2")),
    *((0, ("histogram", "{a}", "{b}", "-f", f)) for f in HISTOGRAM),
    (0, ("histogram", "--from", "{stats}", "-o", "{out}/h.json", "--plot", "{out}/h.svg")),
    (1, ("check", "{a}", "{bad}", "{b}")),
    (1, ("check", "{a}", "{bad}", "-f", "json", "-o", "{out}/c.json")),
    (1, ("check", "{a}", "{bad}", "-f", "yaml")),
    (0, ("scan", "{a}", "{b}", "-o", "{out}/s.json", "--per-image", "{out}/s.jsonl")),
    (0, ("scan", "{a}", "{bad}", "--skip-bad")),
    (0, ("merge", "{stats}", "{stats2}", "-o", "{out}/m.json")),
    (0, ("merge", "{stats}", "{stats}")),
    (0, ("merge", "{stats_images}", "{stats2_images}")),
    (1, ("merge", "{missing_json}")),
    *((0, ("sampling", "{a}", "{b}", "-f", f)) for f in SAMPLING),
    (
        0,
        (
            "sampling",
            "{a}",
            "{b}",
            "--scheme",
            "rare-class",
            "--min-pixels",
            "0",
            "--daformer",
            "{out}/daformer",
            "--plot",
            "{out}/e.svg",
            "-o",
            "{out}/s.json",
        ),
    ),
    (0, ("sampling", "--from", "{stats_images}", "--from", "{stats2_images}", "-f", "csv")),
    (0, ("priors", "{a}", "-f", "torch")),
    (0, ("priors", "--from", "{stats_images}")),
    (0, ("priors", "--from", "{stats}")),
    (0, ("report", "{a}", "{b}", "-o", "{out}/r.html")),
    (0, ("report", "{a}", "{bad}", "--check", "--skip-bad")),
    (0, ("report", "--from", "{stats}", "--from", "{stats2}")),
    (0, ("report", "--from={stats_images}")),
    (1, ("report", "{missing}")),
    *((0, ("split", "{a}", "{b}", "--ratios", "1,1", "-f", f)) for f in SPLIT),
    (0, ("split", "{a}", "{b}", "--ratios", "1,1", "--out-dir", "{out}/lists", "-o", "{out}/s")),
    (0, ("split", "--from", "{stats_images}", "--from", "{stats2_images}", "--folds", "2")),
]

FILES = {
    "a": "a.png",
    "b": "b.png",
    "bad": "bad.png",
    "missing": "nothing.png",
    "missing_json": "nothing.json",
    "stats": "stats.json",
    "stats2": "stats2.json",
    "stats_images": "stats.jsonl",
    "stats2_images": "stats2.jsonl",
    "names": "names.txt",
    "list": "list.txt",
}

# A password as a URL's userinfo holds it, a token what a query value holds; '*', '?',
# '[', ']' and braces among them: a pattern stands in a URL's path only, never in its
# password or query. (A password's '[' is no valid URL: test_urls.py has it.)
password = st.text(string.ascii_letters + string.digits + "-._~!$&'()+,;=*{}", max_size=12)
token = st.text(string.ascii_letters + string.digits + "-._~!$&'()+,;=:@/%*?[]{}", max_size=12)
_counter = itertools.count()


def outputs(result: Any, folder: Path) -> dict[str, str]:
    """Everything the run showed or wrote: stdout, stderr and every file in ``folder``."""
    found = {"stdout": result.stdout, "stderr": result.stderr}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            found[str(path.relative_to(folder))] = path.read_bytes().decode("utf-8", "replace")
    return found


@pytest.mark.parametrize(("status", "args"), RUNS, ids=[" ".join(args) for _, args in RUNS])
@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(secret=password, query=token)
def test_no_output_shows_a_urls_secrets(
    served: str,
    tmp_path_factory: pytest.TempPathFactory,
    status: int | None,
    args: tuple[str, ...],
    secret: str,
    query: str,
) -> None:
    folder = tmp_path_factory.mktemp(f"out{next(_counter)}")
    base = f"http://user:{MARK}{secret}@{served}"
    urls = {key: f"{base}/{name}?token={MARK}{query}" for key, name in FILES.items()}
    argv = [a.format(out=folder, **urls) for a in args]
    result = run(*argv)
    assert result.exit_code == status if status is not None else result.exit_code in (0, 1), (
        argv,
        result.output,
    )
    assert "Traceback" not in result.output
    found = outputs(result, folder)
    for where, text in found.items():
        assert MARK not in text, (argv, where, text[:2000])
    named = args[0] in ("report", "scan") or (args[0] == "split" and args[-1] in ("json", "csv"))
    if result.exit_code == 0 and named:
        # The inputs are named, without the secrets: the test looks where names are.
        assert any(f"http://{served}/" in text for text in found.values()), argv


def test_the_report_page_names_a_url_without_its_secrets(served: str, tmp_path: Path) -> None:
    url = f"http://user:pw@{served}/a.png?token=T"
    page = tmp_path / "r.html"
    result = run("report", url, f"--names={url.replace('a.png', 'names.txt')}", "-o", page)
    assert result.exit_code == 0, result.stderr
    text = page.read_text(encoding="utf-8")
    shown = f"http://{served}/a.png"
    assert f"<title>mfb report: {shown}</title>" in text
    assert f"<h1>Class balance: {shown}</h1>" in text
    command = f"mfb report {shown} --names=http://{served}/names.txt -o {page}"
    assert f'<code id="command">{command}</code>' in text
    assert "user:pw" not in text and "token=" not in text


def test_the_last_guard_blanks_the_command_lines_secrets_in_any_message() -> None:
    # A library's message quoting a password the reading code did not foresee: the one
    # place every shown error passes through blanks it.
    from mfb_cli.cli.main import _without_secrets

    argv = ["scan", "http://user:SECRETpw@h/x.png?sig=SECRETsig", "--root=s3://k:SECRETk@b/"]
    message = "failed: 'SECRETpw' refused, sig SECRETsig, key SECRETk at http://h/x.png"
    shown = _without_secrets(message, argv)
    assert "SECRET" not in shown and "http://h/x.png" in shown


@pytest.mark.parametrize(
    "args",
    [("weights", "{missing}"), ("histogram", "{a}", "{bad}"), ("merge", "{missing_json}")],
    ids=["missing", "bad-mask", "missing-stats"],
)
def test_debug_tracebacks_blank_the_secrets(served: str, args: tuple[str, ...]) -> None:
    """--debug shows the whole traceback, every line of it without the URLs' secrets."""
    base = f"http://user:{MARK}pw@{served}"
    urls = {key: f"{base}/{name}?token={MARK}tok" for key, name in FILES.items()}
    result = run("--debug", *(a.format(**urls) for a in args))
    assert result.exit_code == 1
    assert result.stderr.startswith("Traceback (most recent call last):\n")
    assert MARK not in result.stdout + result.stderr


def test_debug_traceback_of_an_internal_error_blanks_the_secrets(
    served: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mfb_cli.cli.scanning

    url = f"http://user:{MARK}pw@{served}/a.png?token={MARK}tok"

    def broken(*args: Any, **kwargs: Any) -> None:
        raise ValueError(f"cannot fetch {url}: refused for {MARK}pw")

    monkeypatch.setattr(mfb_cli.cli.scanning, "scan_masks", broken)
    result = run("--debug", "weights", url)
    assert result.exit_code == 1
    assert "Traceback (most recent call last):" in result.stderr
    last = result.stderr.splitlines()[-1]
    assert last.startswith(f"ValueError: cannot fetch http://{served}/a.png") and "***" in last
    assert MARK not in result.stderr
