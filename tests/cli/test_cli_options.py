"""The shared options: each defined once, named as the library names what it fills."""

from __future__ import annotations

from dataclasses import fields

import click

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
    assert names == sorted(names) and len(set(names)) == 8 and "weights" in names
    assert all(command_named(name).name == name for name in names)
    assert cli.get_command(context, "nonsense") is None


def test_every_reading_option_fills_the_library_field_of_its_name():
    wanted = {f.name for f in fields(ReadOptions)} | {f.name for f in fields(ScanRequest)}
    wanted.discard("read")
    for name in ("weights", "histogram", "scan", "check"):
        command = command_named(name)
        exposed = {p.name for p in command.params if p.expose_value}
        assert wanted <= exposed, (name, wanted - exposed)


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
