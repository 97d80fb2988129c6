"""Turn results into plain records, then into text: data (JSON, YAML, CSV, a bare list) and
snippets to paste into a framework (PyTorch, mmsegmentation, Keras, Caffe/SegNet).

Every format is a function of the same record, so all of them carry the same numbers;
floats are written with ``repr`` (shortest text that reads back to the same float). The
Python snippets are laid out as ruff / black format them, so pasting them into a
formatted code base (or this README) leaves them unchanged.
"""

from __future__ import annotations

import csv
import io
import json
from typing import TYPE_CHECKING

from .medical_snippets import to_monai, to_nnunet
from .records import Record, display_names
from .serialize import RECORD_FORMATS
from .snippets import to_caffe, to_keras, to_mmseg, to_torch

if TYPE_CHECKING:
    from collections.abc import Callable


def to_csv(record: Record) -> str:
    """One row per class id: id, name, pixels, frequency, weight (empty name / frequency: null)."""
    stream = io.StringIO()
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(["id", "name", "pixels", "frequency", "weight"])
    names = display_names(record) if record.get("names") else [""] * record["num_classes"]
    for c, name in enumerate(names):
        frequency = record["frequencies"][c]
        writer.writerow(
            [
                c,
                name,
                record["pixel_counts"][c],
                "" if frequency is None else frequency,
                record["weights"][c],
            ]
        )
    return stream.getvalue()


def to_list(record: Record) -> str:
    """The bare weight list, one line: for config files and ``jq``."""
    return json.dumps(record["weights"], allow_nan=False) + "\n"


#: Formats of a weights record by their command-line name; the single source of the
#: ``weights -f`` choices. All but json / yaml need the keys ``weights_record`` writes.
WEIGHTS_FORMATS: dict[str, Callable[[Record], str]] = {
    **RECORD_FORMATS,
    "csv": to_csv,
    "list": to_list,
    "torch": to_torch,
    "mmseg": to_mmseg,
    "keras": to_keras,
    "caffe": to_caffe,
    "nnunet": to_nnunet,
    "monai": to_monai,
}
