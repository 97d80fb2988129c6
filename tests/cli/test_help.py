"""--help leads with what matters: purpose, examples, then options in panels, each short."""

from __future__ import annotations

import re

import click
import pytest
from click.shell_completion import ShellComplete
from click.testing import CliRunner

from mfb_cli.cli import cli
from mfb_cli.cli.main import COMMANDS
from mfb_cli.cli.panels import COMMAND_PANELS, OPTION_PANELS, PANEL_ORDER, panel_of


def commands() -> dict[str, click.Command]:
    ctx = click.Context(cli, info_name="mfb")
    found = {name: cli.get_command(ctx, name) for name in cli.list_commands(ctx)}
    assert set(COMMANDS) <= set(found)
    return {name: command for name, command in found.items() if command is not None}


def help_of(*args: str, width: int = 100) -> str:
    result = CliRunner().invoke(cli, [*args, "--help"], prog_name="mfb", terminal_width=width)
    assert result.exit_code == 0, result.output
    return result.stdout


ALL = ["", *COMMANDS]  # "" is the mfb group itself


def test_every_option_of_every_command_sits_in_a_panel():
    missing = []
    for name, command in {"": cli, **commands()}.items():
        for param in command.params:
            if isinstance(param, click.Option) and not param.hidden:
                panel = panel_of(name, param)
                if panel not in PANEL_ORDER:
                    missing.append(f"mfb {name} {max(param.opts, key=len)} ({param.name})")
    assert not missing, (
        "options without a --help panel; add them to OPTION_PANELS in mfb_cli/cli/panels.py: "
        + ", ".join(missing)
    )
    assert set(OPTION_PANELS.values()) | set(COMMAND_PANELS.values()) <= set(PANEL_ORDER)


@pytest.mark.parametrize("name", ALL)
def test_help_opens_with_the_purpose_and_examples_then_the_panels(name):
    text = help_of(*filter(None, [name]))
    lines = text.splitlines()
    assert lines[0].startswith(" Usage: mfb")
    assert lines[1] == ""
    assert lines[2].strip() and not lines[2].startswith(" Examples")  # the purpose
    first_panel = next(i for i, line in enumerate(lines) if line.startswith("╭─"))
    assert " Examples:" in lines[3:first_panel] or name == ""
    titles = [re.match(r"╭─ (.+?) ─", line).group(1) for line in lines if line.startswith("╭─")]
    options = [t for t in titles if t != "Commands"]
    assert options == sorted(options, key=PANEL_ORDER.index), titles
    assert "Options" not in titles  # the panel of options nobody placed


def option_rows(text: str) -> dict[str, int]:
    """Option flags -> the number of lines their row takes in the panels."""
    rows: dict[str, int] = {}
    current = None
    for line in text.splitlines():
        match = re.match(r"│ (\S.*?)\s{2,}\S", line)
        if line.startswith("│ -"):
            current = match.group(1) if match else line[2:].split()[0]
            rows[current] = 1
        elif line.startswith("│  ") and current is not None:
            rows[current] += 1
        else:
            current = None
    return rows


@pytest.mark.parametrize("name", ALL)
def test_each_option_help_takes_at_most_two_lines(name):
    rows = option_rows(help_of(*filter(None, [name])))
    assert rows, "no option rows found"
    assert {flag: n for flag, n in rows.items() if n > 2} == {}


@pytest.mark.parametrize("width", [80, 100])
@pytest.mark.parametrize("name", [n for n in COMMANDS if n != "merge"])
def test_ranges_are_never_wrapped_inside_a_number(name, width):
    text = help_of(name, width=width)
    command = commands()[name]
    ranges = [
        p.type._describe_range()
        for p in command.params
        if isinstance(p.type, click.types._NumberRangeBase)
    ]
    if name != "scan":  # scan takes no class options
        assert "-2^63<=x<2^63" in ranges  # --void and --ignore: no 19-digit numbers
    for described in ranges:
        assert any(described in line for line in text.splitlines()), described


def test_weights_help_shows_the_options_everyone_needs_in_its_first_40_lines():
    first = "\n".join(help_of("weights", width=100).splitlines()[:40])
    for flag in ("--void ", "--ignore ", "-f, --format ", "-o, --output "):
        assert flag in first, flag


def test_merge_help_says_examples_above_its_examples():
    text = help_of("merge")
    assert " Examples:\n   mfb scan train/" in text
    assert "Example:" not in text


def test_help_is_plain_text_without_trailing_blanks_off_a_terminal():
    for name in ALL:
        text = help_of(*filter(None, [name]), width=80)
        assert "\x1b[" not in text
        assert all(line == line.rstrip() for line in text.splitlines())
        assert max(map(len, text.splitlines())) <= 80


def test_help_never_exceeds_100_columns_on_a_wide_terminal():
    assert max(map(len, help_of("weights", width=200).splitlines())) == 100


# --- completion --------------------------------------------------------------------------


def completions(args: list[str], incomplete: str) -> list[tuple[str, str]]:
    complete = ShellComplete(cli, {}, "mfb", "_MFB_COMPLETE")
    return [(item.type, item.value) for item in complete.get_completions(args, incomplete)]


def test_colormap_completes_the_builtin_colour_maps_and_files():
    assert completions(["weights", "--colormap"], "c") == [
        ("file", "c"),
        ("plain", "cityscapes"),
        ("plain", "camvid32"),
        ("plain", "camvid11"),
    ]
    assert completions(["histogram", "--colormap"], "v") == [("file", "v"), ("plain", "voc")]


def test_map_completes_the_builtin_remaps_and_files():
    assert completions(["weights", "--map"], "") == [
        ("file", ""),
        ("plain", "cityscapes-trainid"),
        ("plain", "reduce-zero-label"),
    ]


@pytest.mark.parametrize(
    ("option", "incomplete", "expected"),
    [
        ("--unknown-color", "e", [("plain", "error")]),
        ("--transparent", "", [("plain", "error")]),
        ("--unmapped", "er", [("plain", "error")]),
        ("--dask", "lo", [("plain", "local"), ("plain", "local:")]),
        ("--names", "x", [("file", "x")]),
        ("--from", "", [("file", "")]),
        ("--list", "", [("file", "")]),
        ("--root", "", [("dir", "")]),
        ("-o", "w", [("file", "w")]),
    ],
)
def test_options_taking_names_or_files_complete_them(option, incomplete, expected):
    assert completions(["weights", option], incomplete) == expected


def test_completion_through_the_shell_protocol(monkeypatch, capsys):
    monkeypatch.setenv("_MFB_COMPLETE", "zsh_complete")
    monkeypatch.setenv("COMP_WORDS", "mfb weights --colormap ca")
    monkeypatch.setenv("COMP_CWORD", "3")
    with pytest.raises(SystemExit):
        cli.main(prog_name="mfb")
    out = capsys.readouterr().out.splitlines()
    # zsh shows each built-in with its description, and files beside them.
    assert out[:3] == ["file", "ca", "_"]
    assert out[3:5] == ["plain", "camvid32"]
    assert "CamVid" in out[5]
