"""Start-up stays light: heavy optional modules are imported only by what uses them."""

from __future__ import annotations

import io
import subprocess
import sys
from types import SimpleNamespace

from mfb_cli.cli.scanning import NoProgress, progress_bar

from .conftest import save_mask

HEAVY = ("tqdm", "rich", "yaml", "matplotlib", "cv2", "imagecodecs")
#: --help draws its panels with rich, and needs nothing else heavy.
HELP_ONLY = ("rich",)
#: What a weights run on a few PNGs in a folder has no use for: the other commands, the
#: URL, parquet and pool machinery, and the readers of other image formats.
UNUSED_BY_A_SMALL_SCAN = (
    *HEAVY,
    "fsspec",
    "pyarrow",
    "concurrent.futures",
    "mfb_cli.read.sources.remote",
    "mfb_cli.read.sources.parquet",
    "mfb_cli.cli.check",
    "mfb_cli.cli.report",
    "mfb_cli.cli.sampling",
    "PIL.JpegImagePlugin",
    "PIL.GifImagePlugin",
    "PIL.BmpImagePlugin",
    "PIL.TiffImagePlugin",
)

PROBE = """
import sys
from mfb_cli.cli import main
sys.argv = ["mfb", *sys.argv[1:]]
try:
    main()
except SystemExit:
    pass
print(sorted(m for m in {heavy!r} if m in sys.modules), file=sys.stderr)
"""


def imported_heavy_modules(*args: str, unwanted: tuple[str, ...] = HEAVY) -> str:
    probe = PROBE.format(heavy=unwanted)
    result = subprocess.run(
        [sys.executable, "-c", probe, *args], capture_output=True, text=True, check=True
    )
    return result.stderr.strip().splitlines()[-1]


def test_help_and_a_small_scan_import_nothing_heavy(tmp_path):
    heavy_but_help = tuple(m for m in HEAVY if m not in HELP_ONLY)
    assert imported_heavy_modules("--help", unwanted=heavy_but_help) == "[]"
    assert imported_heavy_modules("weights", "--help", unwanted=heavy_but_help) == "[]"
    for index in range(3):
        save_mask(tmp_path / f"{index}.png", [[0, 1], [1, index]])
    # stderr is a pipe (no progress bar) and 3 files use Pillow even with the fast extra.
    assert imported_heavy_modules("weights", str(tmp_path)) == "[]"
    assert imported_heavy_modules("weights", str(tmp_path), unwanted=UNUSED_BY_A_SMALL_SCAN) == "[]"


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_only_on_a_terminal_without_quiet(monkeypatch):
    quiet, verbose = SimpleNamespace(quiet=True), SimpleNamespace(quiet=False)
    pipe = io.StringIO()
    monkeypatch.setattr(sys, "stderr", pipe)
    with progress_bar(verbose, 3) as bar:
        assert isinstance(bar, NoProgress)
        bar.update()
        bar.write("skipped: a.png: empty file")  # --skip-bad messages still reach stderr
    assert pipe.getvalue() == "skipped: a.png: empty file\n"
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert isinstance(progress_bar(quiet, 3), NoProgress)
    with progress_bar(verbose, 3) as bar:
        bar.update()
        bar.set_postfix_str("12 MPix/s", refresh=False)
        assert type(bar).__module__.startswith("tqdm")
    assert "0/3 [" in terminal.getvalue()  # the bar was drawn on the terminal
