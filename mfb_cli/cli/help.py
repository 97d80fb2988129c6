"""Help texts shared by the commands: definitions, mapping order, schemes."""

from __future__ import annotations

import inspect
from typing import Any

import click

from ..weigh.schemes import SCHEMES
from .panels import MfbCommand

# One line per term: the help wraps each with a hanging indent at the terminal's width.
CLASS_DEFINITIONS = """\b
Definitions:
  --void ID    a class channel of the model that must not be learned (CamVid's 11): it keeps its place in the vector, with weight 0.
  --ignore ID  a value that is not a class (PyTorch's ignore_index, e.g. 255): no entry in the vector, its pixels never count.
  labelled     pixels that are neither void nor ignored.
  absent       classes never seen keep their id (weights: weight 0, with a warning).
  length       --num-classes; else the class set of --colormap / --map (a table that lists the classes: cityscapes 19 with --ignore 255, camvid32 32, a file's ids; not reduce-zero-label); else 1 + the largest label not ignored.
"""  # noqa: E501
MAPPING_ORDER = """\
Reading order: decode -> --colormap (RGB/RGBA and palette images by colour;
'P' by index with --palette-index) -> --map -> counts. --void, --ignore,
--num-classes and --names refer to the ids after both mappings. Without
--colormap, RGB masks with r = g = b in every pixel are read as grey ids (with a
warning); other colour masks are refused.
"""


def _details(command: click.Command) -> MfbCommand:
    if not isinstance(command, MfbCommand):  # pragma: no cover - a wiring mistake
        raise TypeError(f"{command.name} is not an MfbCommand: it has no details")
    return command


def with_definitions(command: click.Command) -> click.Command:
    """Adds the class definitions and the reading order to the text after the panels."""
    found = _details(command)
    before = inspect.cleandoc(found.details) + "\n\n" if found.details else ""
    found.details = before + CLASS_DEFINITIONS + "\n" + MAPPING_ORDER
    return command


def scheme_help() -> str:
    """The --help list of schemes, from the first line of each scheme's docstring."""
    width = max(map(len, SCHEMES)) + 2
    lines = [
        f"  {name:<{width}}{(function.__doc__ or '').strip().splitlines()[0]}"
        for name, function in SCHEMES.items()
    ]
    return "\b\nSchemes (--scheme; void and absent classes get 0 in every one):\n" + "\n".join(
        lines
    )


def with_schemes(command: click.Command) -> click.Command:
    """Adds the list of weighting schemes to the text after the panels."""
    found = _details(command)
    found.details = found.details.rstrip("\n") + "\n\n" + scheme_help()
    return command


def scheme_option_default(scheme: str, name: str) -> Any:
    """A scheme option's default, taken from the scheme function (one source of truth)."""
    return inspect.signature(SCHEMES[scheme]).parameters[name].default


def scheme_options(ctx: click.Context, scheme: str, given: dict[str, Any]) -> dict[str, Any]:
    """The options the scheme takes; an option given for another scheme is a usage error."""
    accepted = inspect.signature(SCHEMES[scheme]).parameters
    for name in given:
        source = ctx.get_parameter_source(name)
        if name not in accepted and source is not click.core.ParameterSource.DEFAULT:
            owners = [s for s, f in SCHEMES.items() if name in inspect.signature(f).parameters]
            raise click.UsageError(
                f"--{name.replace('_', '-')} applies only to --scheme {' / '.join(owners)}, "
                f"not {scheme}",
                ctx,
            )
    return {name: value for name, value in given.items() if name in accepted}
