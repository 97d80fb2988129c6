"""The shared options: each defined once, named as the library names what it fills."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import fields

import click
import pytest

from mfb_cli.cli import cli
from mfb_cli.cli.options import MASK_OPTIONS, ScanRequest, mask_options
from mfb_cli.read.options import ReadOptions


def command_named(name: str) -> click.Command:
    """A command of the group, its module imported on the way (the group loads lazily)."""
    command = cli.get_command(click.Context(cli), name)
    assert command is not None
    return command


def test_every_command_is_found_and_listed_sorted():
    context = click.Context(cli)
    names = cli.list_commands(context)
    assert names == sorted(names) and len(set(names)) == 9 and "weights" in names
    assert all(command_named(name).name == name for name in names)
    assert cli.get_command(context, "nonsense") is None


def test_every_reading_option_fills_the_library_field_of_its_name():
    wanted = {f.name for f in fields(ReadOptions)} | {f.name for f in fields(ScanRequest)}
    wanted.discard("read")
    wanted.discard("thumbnail")  # set by mfb report itself, never an option
    for name in ("weights", "histogram", "scan", "check"):
        command = command_named(name)
        exposed = {p.name for p in command.params if p.expose_value}
        # --geometry is on the commands that show components (scan, histogram, check, report)
        here = wanted - {"geometry"} if name == "weights" else wanted
        assert here <= exposed, (name, here - exposed)


def test_the_reading_options_are_the_same_on_every_command():
    def shape(command: click.Command) -> list[tuple[str | None, tuple[str, ...], str | None]]:
        return [
            (p.name, tuple(p.opts), getattr(p, "help", None))
            for p in command.params
            if p.name in {"paths", "glob", "jobs", "decoder", "lists", "colormap", "remap"}
        ]

    shapes = [shape(command_named(name)) for name in ("weights", "histogram", "scan", "check")]
    assert all(s == shapes[0] for s in shapes) and len(shapes[0]) == 7


def test_a_new_command_gets_one_request_object():
    seen = []

    @click.command()
    @mask_options
    def probe(request: ScanRequest) -> None:
        seen.append(request)

    assert len(probe.params) == len(MASK_OPTIONS)
    probe.main(
        ["a", "b", "--glob", "*.tif", "--map", "cityscapes-trainid", "-j", "2"],
        standalone_mode=False,
    )
    (request,) = seen
    assert (request.paths[0].name, request.glob, request.jobs) == ("a", "*.tif", 2)
    assert request.read.remap is not None and request.read.remap.name == "cityscapes-trainid"


def mfb(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mfb_cli", *args], capture_output=True, text=True, check=False
    )


@pytest.mark.skipif(
    not hasattr(click.exceptions, "NoSuchCommand"), reason="Click < 8.4 suggests nothing"
)
def test_a_mistyped_command_is_answered_with_the_command_meant():
    for typed, meant in (("weight", "weights"), ("prior", "priors"), ("chek", "check")):
        result = mfb(typed)
        assert result.returncode == 2
        assert result.stderr.splitlines()[-1] == (
            f"Error: No such command '{typed}'. Did you mean '{meant}'?"
        )
    assert mfb("nonsense").stderr.splitlines()[-1] == "Error: No such command 'nonsense'."


def test_mfb_alone_shows_the_help_on_its_lines():
    result = mfb()
    shown = result.stdout + result.stderr
    assert "\\n" not in shown and "\n╭─ Commands ─" in shown
    assert all(f"\n│ {name} " in shown for name in ("weights", "check", "report"))
