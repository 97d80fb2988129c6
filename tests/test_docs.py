"""README.md and docs/: every example runs and shows its real output; the site builds.

Each page's ``bash`` and ``python`` fences run in order in a scratch copy of the
repository with the example datasets beside it (``tests/docs_data.py``); the conventions
are in ``tests/docs_examples.py`` and docs/contributing.md. A page added to docs/ is
collected without any change here.
"""

from __future__ import annotations

import html
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from .docs_data import make_example_data
from .docs_examples import Example, examples, matches

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = ["README.md", *sorted(str(p.relative_to(ROOT)) for p in DOCS.rglob("*.md"))]
#: Words about the project's past or its work tracker, which no page may hold.
HISTORY = re.compile(
    r"\bissue\s+\d|\bsessions?\b|\bnot built yet\b|\bold opposite\b|\bwork tracker\b"
    r"|\bno longer\b|\bsince then\b|\bused to be\b|\bis now a\b",
    re.IGNORECASE,
)
#: Environment variables that would change what a command prints.
UNSET = ("COLUMNS", "LINES", "TERMINAL_WIDTH", "FORCE_COLOR", "NO_COLOR", "RICH_CLICK_THEME")
BUCKET = "bucket"


def tracked_files() -> list[Path]:
    """The repository's files as a fresh clone of this tree has them (untracked files
    that are not ignored included: they are about to be committed)."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
            timeout=60,
        ).stdout.decode()
        files = [ROOT / name for name in listed.split("\0") if name]
    except (OSError, subprocess.SubprocessError):
        skip = {".git", ".venv", "build", "dist", ".mypy_cache", ".ruff_cache", "__pycache__"}
        files = [p for p in ROOT.rglob("*") if p.is_file() and not skip & set(p.parts)]
    return [f for f in files if f.is_file()]


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example datasets, written once; each page runs in a copy."""
    root = tmp_path_factory.mktemp("docs-world")
    make_example_data(root / "data-only")
    return root / "data-only"


def _tool(path: Path, *command: str) -> None:
    path.write_text("#!/bin/sh\nexec " + " ".join(f'"{c}"' for c in command) + ' "$@"\n')
    path.chmod(0o755)


def scratch_folder(base: Path, world: Path) -> Path:
    """A copy of the repository (tracked files) with the example datasets beside them, and a
    ``.venv/bin`` whose tools are those of the interpreter running the tests."""
    folder = base / "repo"
    for source in tracked_files():
        target = folder / source.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    for entry in world.iterdir():
        if not (folder / entry.name).exists():
            (shutil.copytree if entry.is_dir() else shutil.copy2)(entry, folder / entry.name)
    bin_dir = folder / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    for name in ("python", "python3"):  # not a symlink: Python would lose its venv
        _tool(bin_dir / name, sys.executable)
    _tool(bin_dir / "mfb", sys.executable, "-m", "mfb_cli")
    for module in ("ruff", "mypy", "pytest"):
        _tool(bin_dir / module, sys.executable, "-m", module)
    return folder


def environment(folder: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in UNSET}
    env["PATH"] = f"{folder / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


@pytest.fixture(scope="module")
def s3_server() -> Iterator[dict[str, str]]:
    """A moto S3 server on 127.0.0.1 (started only for pages with ``example: s3``)."""
    pytest.importorskip("s3fs", reason="s3:// needs s3fs (the remote extra)")
    server_module = pytest.importorskip("moto.server", reason="the S3 server is moto[server]")
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield {
            "AWS_ENDPOINT_URL": f"http://{host}:{port}",
            "AWS_ACCESS_KEY_ID": "docs-example-key",
            "AWS_SECRET_ACCESS_KEY": "docs-example-secret",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
    finally:
        server.stop()


def fill_bucket(folder: Path, credentials: dict[str, str]) -> None:
    """The bucket holds the scratch folder's example datasets (not the repository's code)."""
    import s3fs

    fs = s3fs.S3FileSystem(
        key=credentials["AWS_ACCESS_KEY_ID"],
        secret=credentials["AWS_SECRET_ACCESS_KEY"],
        client_kwargs={"endpoint_url": credentials["AWS_ENDPOINT_URL"]},
        skip_instance_cache=True,
    )
    if not fs.exists(BUCKET):
        fs.mkdir(BUCKET)
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if path.is_file() and relative.parts[0] not in {".venv", ".git", "mfb_cli", "tests"}:
            fs.put_file(str(path), f"{BUCKET}/{relative.as_posix()}")


def run_example(example: Example, folder: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    fence = example.fence
    if example.kind == "shell":
        command = ["bash", "-e", "-o", "pipefail", "-c", fence.text]
    else:
        script = folder.parent / f"example-{fence.line}.py"
        script.write_text(fence.text)
        command = [sys.executable, str(script)]
    return subprocess.run(  # type: ignore[return-value]
        command, cwd=folder, env=env, capture_output=True, text=True, timeout=900
    )


def missing_tools(example: Example) -> str | None:
    """Why the example cannot run here (a tool it names is not installed), or None."""
    for module in example.needs:
        if importlib.util.find_spec(module) is None:
            return f"needs {module}"
    text = example.fence.text
    if re.search(r"(^|[|;&(]\s*)jq\b", text, re.MULTILINE) and shutil.which("jq") is None:
        return "jq is not installed"
    return None


def refused(example: Example) -> str | None:
    """Commands the tests must never run unmarked: they install or reach the network."""
    if re.search(r"\bpip install\b|\bpython3? -m venv\b|\bapt-get\b", example.fence.text):
        return "installs packages: mark it <!-- example: skip REASON -->"
    return None


@pytest.mark.parametrize("page", PAGES)
def test_the_examples_of_each_page_run_and_show_their_output(
    page: str, world: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    found = examples((ROOT / page).read_text(encoding="utf-8"), page)
    runnable = [e for e in found if e.skip is None]
    if not runnable:
        pytest.skip(f"{page} has no runnable example")
    folder = scratch_folder(tmp_path, world)
    env = environment(folder)
    failures = []
    for example in runnable:
        where = example.fence.where
        problem = refused(example)
        if problem:
            failures.append(f"{where}: {problem}")
            continue
        if missing_tools(example):
            continue
        run_env = env
        if example.s3:
            credentials = request.getfixturevalue("s3_server")
            fill_bucket(folder, credentials)
            run_env = {**env, **credentials}
        result = run_example(example, folder, run_env)
        if result.returncode != example.exit_code:
            failures.append(
                f"{where}: exit {result.returncode}, expected {example.exit_code}\n"
                f"--- stderr\n{result.stderr[-3000:]}--- stdout\n{result.stdout[-2000:]}"
            )
            continue
        for shown, actual in ((example.stdout, result.stdout), (example.stderr, result.stderr)):
            if shown is not None and not matches(shown.text, actual):
                failures.append(
                    f"{shown.where}: the output shown is not the output\n"
                    f"--- shown\n{shown.text}--- actual\n{actual}"
                )
    assert not failures, "\n\n".join(failures)


def test_every_skip_says_why_and_pages_follow_the_conventions() -> None:
    for page in PAGES:
        for example in examples((ROOT / page).read_text(encoding="utf-8"), page):
            assert example.skip is None or len(example.skip) > 8, example.fence.where


# --- the site ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site, built by ``mkdocs build --strict`` with no network reachable."""
    for module in ("mkdocs", "material", "mkdocstrings"):
        if importlib.util.find_spec(module) is None:
            pytest.fail(f"the docs need {module}: pip install '.[test]' (the docs extra)")
    out = tmp_path_factory.mktemp("site")
    env = {k: v for k, v in os.environ.items() if k not in UNSET}
    # Any HTTP request goes to a closed port: a plugin that fetches fails the build.
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
        env[name] = "http://127.0.0.1:9"
    env["NO_PROXY"] = env["no_proxy"] = ""
    env["NO_MKDOCS_2_WARNING"] = "1"  # Material's banner about MkDocs 2
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    return out


def _text(page: Path) -> str:
    body = page.read_text(encoding="utf-8")
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.DOTALL)
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


def built_page(site: Path, name: str) -> Path:
    """The HTML of docs/NAME.md (the offline plugin makes NAME.html, to open from disk)."""
    return site / f"{name}.html"


def test_the_site_builds_strictly_offline_with_every_page(site: Path) -> None:
    for page in PAGES[1:]:
        name = Path(page).relative_to("docs").with_suffix("").as_posix()
        assert built_page(site, name).is_file(), page
    # What a browser would fetch (scripts, images, frames, style sheets); a plain link is fine.
    fetched = re.compile(r"""src=["']https?://|<link\b[^>]*href=["']https?://""")
    for page in site.rglob("*.html"):
        assert not fetched.search(page.read_text(encoding="utf-8")), page


def test_no_page_speaks_of_the_projects_history(site: Path) -> None:
    for page in sorted(site.rglob("*.html")):
        match = HISTORY.search(_text(page))
        assert match is None, f"{page.relative_to(site)}: {match.group(0) if match else ''}"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert HISTORY.search(readme) is None


def test_the_cli_reference_is_each_commands_own_help(site: Path) -> None:
    from click.testing import CliRunner

    from mfb_cli.cli import cli
    from mfb_cli.cli.main import COMMANDS

    text = _text(built_page(site, "cli"))
    for args in ([], *([name] for name in COMMANDS)):
        shown = CliRunner().invoke(cli, [*args, "--help"], prog_name="mfb", terminal_width=100)
        assert shown.exit_code == 0, shown.output
        assert shown.stdout.strip() in text, args


def test_the_api_reference_documents_every_public_name(site: Path) -> None:
    import mfb_cli

    text = built_page(site, "api").read_text(encoding="utf-8")
    missing = [n for n in mfb_cli.__all__ if n != "__version__" and f'id="mfb_cli.{n}"' not in text]
    assert not missing, f"add '::: mfb_cli.NAME' to docs/api.md for each of {missing}"


# --- the README ---------------------------------------------------------------------------


def test_the_readme_is_short_and_its_links_lead_somewhere() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 200
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", readme):
        if not re.match(r"[a-z]+://", target):
            assert (ROOT / target).exists(), target


def test_ci_runs_the_two_setup_commands_the_readme_opens_with() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = readme.split("```bash\n", 1)[1].split("```\n", 1)[0].strip().splitlines()
    assert len(commands) == 2
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    for command in commands:
        assert command in ci
