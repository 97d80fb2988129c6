"""Where each option sits in ``--help``: panels in the order a user needs them.

Every option of every command is placed by its parameter name (``param.name``, the name
the command function receives): ``OPTION_PANELS`` holds one entry per name, shared by
all commands, and ``COMMAND_PANELS`` the few that sit elsewhere in one command. A new
option gets a line here; ``tests/cli/test_help.py`` names any option that has none.
The panels are drawn by ``help_render`` (with rich), imported only when help is shown.
"""

from __future__ import annotations

from typing import Any

import click

#: The panels, top to bottom: what the classes are, what comes out, how it is computed,
#: then how files are read, how the work is spread, and what is reported about the run.
PANEL_ORDER = (
    "Classes",
    "Output",
    "Weights",
    "Sampling",
    "Split",
    "Report",
    "Geometry",
    "Patches",
    "Colour maps and remaps",
    "Volumes and rasters",
    "Reading",
    "Parallelism and cluster",
    "Diagnostics",
)

#: Parameter name -> panel, for every command.
OPTION_PANELS: dict[str, str] = {
    # Classes: which ids are classes, and the tables that define them.
    "void": "Classes",
    "ignore": "Classes",
    "num_classes": "Classes",
    "names": "Classes",
    "dataset": "Classes",
    "colormap": "Classes",
    "remap": "Classes",
    # Output: what is written, where, how.
    "output_format": "Output",
    "output": "Output",
    "decimals": "Output",
    "sort": "Output",
    "plot": "Output",
    "log": "Output",
    "per_image": "Output",
    "daformer": "Output",
    "out_dir": "Output",
    "out_root": "Output",
    "out_suffix": "Output",
    # How the numbers are computed.
    "scheme": "Weights",
    "normalize": "Weights",
    "clip": "Weights",
    "void_in_median": "Weights",
    "enet_c": "Weights",
    "beta": "Weights",
    "threshold": "Sampling",
    "rounding": "Sampling",
    "temperature": "Sampling",
    "min_pixels": "Sampling",
    "folds": "Split",
    "ratios": "Split",
    "seed": "Split",
    "group_pattern": "Split",
    "groups_file": "Split",
    "run_check": "Report",
    "geometry": "Geometry",
    "connectivity": "Geometry",
    "patch": "Patches",
    # How values become ids.
    "palette_index": "Colour maps and remaps",
    "unknown_color": "Colour maps and remaps",
    "transparent": "Colour maps and remaps",
    "unmapped": "Colour maps and remaps",
    # 3D label volumes and large rasters.
    "volume": "Volumes and rasters",
    "count": "Volumes and rasters",
    "max_total_pixels": "Volumes and rasters",
    "count_nodata": "Volumes and rasters",
    # Where the masks come from and what is refused.
    "from_path": "Reading",
    "from_paths": "Reading",
    "glob": "Reading",
    "lists": "Reading",
    "column": "Reading",
    "root": "Reading",
    "suffix": "Reading",
    "parquet_column": "Reading",
    "max_pixels": "Reading",
    "skip_bad": "Reading",
    "decoder": "Reading",
    # Parallelism and cluster.
    "jobs": "Parallelism and cluster",
    "pool": "Parallelism and cluster",
    "dask": "Parallelism and cluster",
    # About the run itself.
    "quiet": "Diagnostics",
    "debug": "Diagnostics",
    "version": "Diagnostics",
    "help": "Diagnostics",
}

#: (command, parameter name) -> panel, where one command places an option apart.
COMMAND_PANELS: dict[tuple[str, str], str] = {
    ("sampling", "scheme"): "Sampling",
    ("report", "normalize"): "Report",
}


def panel_of(command: str, param: click.Parameter) -> str | None:
    """The panel ``param`` sits in within ``command``'s help (None: it has none yet)."""
    name = param.name or ""
    return COMMAND_PANELS.get((command, name), OPTION_PANELS.get(name))


class MfbCommand(click.Command):
    """A command whose ``--help`` is drawn in panels (``help_render``), nothing else changed.

    Only the help text differs from Click's: parsing, errors and usage lines stay Click's
    own, and rich is imported only when a help text is asked for.
    """

    #: Text shown after the panels: definitions and details (``help_render`` keeps the
    #: line breaks of paragraphs that start with ``\\b``, as Click does).
    details: str = ""

    def __init__(self, *args: Any, details: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.details = details

    def get_help(self, ctx: click.Context) -> str:
        from .help_render import render_help

        return render_help(self, ctx)
