"""``mfb merge``: add up the statistics files of disjoint shards."""

from __future__ import annotations

from pathlib import Path

import click

from ..read.base.urls import named, shown_path
from .messages import warn, wrote
from .options import PathOrUrl
from .panels import MfbCommand
from .scan import stats_output

MERGE_DETAILS = """\
Counts, images and files add up; the sources' paths (and skipped files) are listed
in the order given, other source values kept when all agree, else listed.
Files whose ids mean different things (different colour map or remap) are refused.
Two files with the same file-list digest are probably one shard given twice: mfb
warns on stderr but still adds them (shards on different machines may share the same
relative paths). Per-image files (every input *.jsonl, from 'mfb scan --per-image')
are concatenated instead, one header kept, every line checked.
"""


@click.command(cls=MfbCommand, details=MERGE_DETAILS)
@click.argument(
    "stats_files",
    metavar="STATS.json...",
    nargs=-1,
    required=True,
    type=PathOrUrl(path_type=Path, dir_okay=False),
)
@stats_output
@click.option("-q", "--quiet", is_flag=True, help="No 'wrote FILE' line on stderr.")
def merge(stats_files: tuple[Path, ...], output: Path | None, quiet: bool) -> None:
    """Add up the statistics of disjoint shards (written by 'mfb scan') into one file.

    \b
    Examples:
      mfb scan train/ -o train.json && mfb scan val/ -o val.json
      mfb merge train.json val.json -o all.json
      mfb merge train.jsonl val.jsonl -o all.jsonl
    """
    from ..count.stats import load_stats, merge_stats, repeated_shards, stats_record
    from ..show.output import write_text
    from ..show.serialize import to_json
    from .options import refuse_output_as_input

    for path in stats_files:
        refuse_output_as_input(path)
    if any(named(path).suffix == ".jsonl" for path in stats_files):
        from .sampling import merge_per_image

        merge_per_image(stats_files, output, quiet)
        return
    parts = [(shown_path(path), load_stats(path)) for path in stats_files]
    for first, second in repeated_shards(parts):
        warn(f"{first} and {second} list the same files (same digest): one shard given twice?")
    write_text(to_json(stats_record(merge_stats(parts))), output)
    wrote(output, f"statistics of {len(parts)} shards", quiet)
