"""The outputs of one run, claimed while the options are parsed: no two may be one file.

Every file a command writes (-o, --per-image, --plot, each of --daformer's three files)
is claimed when its option is parsed, before any input is read; so is stdout when the
data goes there (no -o). A second claim on the same file is a usage error (exit 2): the
same name, a symbolic or hard link to it, the same device or FIFO, or stdout named as
/dev/stdout while the data goes to stdout. Only the null device takes any number of
outputs (what is written there is dropped anyway). The regular files claimed are also
what every input is checked against (``options.refuse_output_as_input``).
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import click

#: Where the data goes when no -o is given.
STDOUT = "stdout, where the data goes without -o"


def claim_output(ctx: click.Context, value: Path, target: Path, label: str) -> str | None:
    """Claim ``value`` (``target`` once its links are followed) for the output ``label``
    ("-o 'out.json'"); what already claimed that file, if an output of this run did (the
    caller refuses the run then, naming its option)."""
    try:
        found = value.stat()
    except OSError:  # not there yet: it is the file the name will create
        key: object = os.path.realpath(target)
    else:
        if _is_null(found):
            return None
        key = (found.st_dev, found.st_ino)
        if stat.S_ISREG(found.st_mode):  # inputs are checked against the files
            ctx.meta.setdefault("mfb.outputs", {}).setdefault(key, label)
    claims: dict[object, str] = ctx.meta.setdefault("mfb.claims", {})
    if key in claims:
        return claims[key]
    claims[key] = label
    return None


def claim_stdout(ctx: click.Context) -> None:
    """Claim stdout for the data (-o not given); a usage error if an output named it."""
    try:
        found = os.fstat(sys.stdout.fileno())
    except (AttributeError, OSError, ValueError):  # a test's stream, or a closed stdout
        return
    if _is_null(found):
        return
    key = (found.st_dev, found.st_ino)
    claims: dict[object, str] = ctx.meta.setdefault("mfb.claims", {})
    if key in claims:
        raise click.UsageError(
            f"{claims[key]} is stdout, where the data goes without -o: give -o FILE", ctx
        )
    claims[key] = STDOUT


def _is_null(found: os.stat_result) -> bool:
    try:
        null = Path(os.devnull).stat()
    except OSError:
        return False
    return stat.S_ISCHR(found.st_mode) and found.st_rdev == null.st_rdev
