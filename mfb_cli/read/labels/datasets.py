"""Medical segmentation datasets described by a dataset.json: nnU-Net v2 and MSD.

nnU-Net v2 (``DatasetXXX/dataset.json``) maps names to ids, ``"labels": {"background": 0,
"liver": 1, "ignore": 3}``: a list of ids is a region (region-based training, BraTS'
``"whole tumor": [1, 2, 3]``), and the name ``ignore`` marks voxels without a label,
which nnU-Net requires to be the largest id. The Medical Segmentation Decathlon (the
nnU-Net v1 layout) maps ids to names, ``"labels": {"0": "background", "1": "edema"}``. Both
keep the labels in ``labelsTr/`` beside ``dataset.json``, with ``file_ending`` (v2;
``.nii.gz`` for MSD). What the file says fixes the class set (the vector's length, whether
every class occurs or not), the class names and the ignored value; statistics files
record it (``label_mapping.dataset``), so ``--from`` and ``merge`` keep it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...class_set import ClassSet
from ...errors import MfbError
from ..base.urls import named
from ..sources.textfiles import INT64_MAX, check_name, parse_structured, read_text, short

DATASET_JSON = "dataset.json"
LABELS_FOLDER = "labelsTr"
IMAGES_FOLDER = "imagesTr"


@dataclass(frozen=True)
class Region:
    """A named set of label ids trained as one output (nnU-Net region-based training)."""

    name: str
    ids: tuple[int, ...]


@dataclass(frozen=True)
class DatasetLabels:
    """What a dataset.json says the label ids are."""

    #: Where it was read, for messages.
    source: str
    #: "nnU-Net v2" or "MSD".
    layout: str
    #: Every label id the files hold, ignore excluded (nnU-Net's all_labels).
    ids: tuple[int, ...]
    names: tuple[tuple[int, str], ...]
    ignore: int | None = None
    regions: tuple[Region, ...] = ()
    #: The label files' suffix ('.nii.gz'); None where the file does not say.
    file_ending: str | None = None

    @property
    def class_set(self) -> ClassSet:
        """The class ids (the vector has one entry per id up to the largest)."""
        return ClassSet(
            self.ids,
            f"{self.source} ({self.layout})",
            () if self.ignore is None else (self.ignore,),
        )

    def overlapping(self) -> tuple[Region, Region] | None:
        """The first two regions sharing an id, else None."""
        for index, first in enumerate(self.regions):
            for second in self.regions[index + 1 :]:
                if set(first.ids) & set(second.ids):
                    return first, second
        return None

    def describe(self) -> dict[str, Any]:
        """What the ids mean, for statistics files (no path: content decides equality)."""
        described: dict[str, Any] = {
            "layout": self.layout,
            "ids": list(self.ids),
            "names": {str(i): n for i, n in self.names},
            "ignore": self.ignore,
        }
        if self.regions:
            described["regions"] = {r.name: list(r.ids) for r in self.regions}
        return described


def load_dataset_json(path: Path | str) -> DatasetLabels:
    """Read an nnU-Net v2 or MSD dataset.json, or raise MfbError naming it and the problem."""
    text = read_text(path, "dataset.json")
    shown = named(path)
    try:
        data = parse_structured(text, ".json")
        return _labels_of(data, str(shown))
    except ValueError as error:
        raise MfbError(f"{shown}: {error}") from None


def _labels_of(data: Any, source: str) -> DatasetLabels:
    if not isinstance(data, dict) or not isinstance(data.get("labels"), dict):
        raise ValueError("no 'labels' object: not an nnU-Net or MSD dataset.json")
    labels: dict[str, Any] = data["labels"]
    if not labels:
        raise ValueError("'labels' is empty")
    ending = data.get("file_ending")
    if ending is not None and not (isinstance(ending, str) and ending.startswith(".")):
        raise ValueError(f"'file_ending' {short(ending)} is not a suffix such as '.nii.gz'")
    if all(isinstance(k, str) and k.strip().isdigit() for k in labels):
        return _msd(labels, source, ending)
    if any(k.strip().isdigit() for k in labels) and all(
        isinstance(v, str) for v in labels.values()
    ):
        # MSD's form (ids to names) with a key that is no id: name it, not the first name.
        key = next(k for k in labels if not k.strip().isdigit())
        raise ValueError(f"'labels' maps ids to names (MSD) but key {short(key)} is no integer id")
    return _nnunet(labels, source, ending)


def _msd(labels: dict[str, Any], source: str, ending: str | None) -> DatasetLabels:
    names: dict[int, str] = {}
    for key, name in labels.items():
        label = int(key)
        if label > INT64_MAX:
            raise ValueError(f"label {key} does not fit a 64-bit id")
        if not isinstance(name, str):
            raise ValueError(f"label {key}: {short(name)} is not a name")
        if label in names:
            raise ValueError(f"label {label} is named twice")
        names[label] = check_name(name, f"label {label}")
    ids = tuple(sorted(names))
    return DatasetLabels(source, "MSD", ids, tuple(sorted(names.items())), file_ending=ending)


def _id(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{what}: {short(value)} is not an integer id")
    if not 0 <= value <= INT64_MAX:
        raise ValueError(f"{what}: {value} is not a label id (0 or more)")
    return value


def _nnunet(labels: dict[str, Any], source: str, ending: str | None) -> DatasetLabels:
    names: dict[int, str] = {}
    regions: list[Region] = []
    ignore: int | None = None
    every: set[int] = set()
    for name, value in labels.items():
        check_name(name, f"label {short(name)}")
        if name == "ignore":
            ignore = _id(value, "'ignore'")
            continue
        if isinstance(value, list):
            ids = tuple(_id(v, f"region {name!r}") for v in value)
            if not ids:
                raise ValueError(f"region {name!r} lists no id")
            every.update(ids)
            if len(set(ids)) > 1:
                regions.append(Region(name, tuple(sorted(set(ids)))))
                continue
            value = ids[0]
        label = _id(value, f"label {name!r}")
        every.add(label)
        if label in names:
            raise ValueError(f"id {label} is named twice ({names[label]!r} and {name!r})")
        names[label] = name
    if 0 not in every or names.get(0, "background") != "background":
        raise ValueError("nnU-Net needs 'background': 0 in 'labels'")
    if ignore is not None and ignore in every:
        raise ValueError(f"the ignore label {ignore} is also a class id")
    if ignore is not None and ignore <= max(every):
        # nnU-Net's LabelManager asserts it (label_handling.py): one place for the check.
        raise ValueError(
            f"the ignore label {ignore} must be the largest id, above every class "
            f"({max(every)}), as nnU-Net requires"
        )
    return DatasetLabels(
        source,
        "nnU-Net v2",
        tuple(sorted(every)),
        tuple(sorted(names.items())),
        ignore,
        tuple(regions),
        ending,
    )


def dataset_folder(path: Path) -> Path | None:
    """The dataset folder ``path`` is (dataset.json and labelsTr/ inside it), else None."""
    if path.is_dir() and (path / DATASET_JSON).is_file() and (path / LABELS_FOLDER).is_dir():
        return path
    return None


def labels_glob(dataset: DatasetLabels) -> str:
    """The --glob that finds a dataset's label files in labelsTr/."""
    return f"*{dataset.file_ending or '.nii.gz'}"


def with_dataset_folders(
    paths: tuple[Path | str, ...], dataset: DatasetLabels | None
) -> tuple[tuple[Path | str, ...], DatasetLabels | None]:
    """PATH... with each dataset folder replaced by its labelsTr/, and the dataset.json of
    the first (unless one is given): pointing mfb at ``DatasetXXX/`` scans its labels."""
    found: list[Path | str] = []
    for path in paths:
        folder = dataset_folder(path) if isinstance(path, Path) else None
        if folder is None:
            found.append(path)
            continue
        if dataset is None:
            dataset = load_dataset_json(folder / DATASET_JSON)
        found.append(folder / LABELS_FOLDER)
    return tuple(found), dataset


def recorded_ignore(mapping: dict[str, Any]) -> int | None:
    """The ignored value a statistics file's label mapping records from a dataset.json."""
    found = mapping.get("dataset")
    value = found.get("ignore") if isinstance(found, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def recorded_regions(mapping: dict[str, Any]) -> tuple[tuple[str, tuple[int, ...]], ...]:
    """(name, ids) of the regions a statistics file's label mapping records."""
    found = mapping.get("dataset")
    regions = found.get("regions") if isinstance(found, dict) else None
    if not isinstance(regions, dict):
        return ()
    return tuple(
        (str(name), tuple(int(i) for i in ids))
        for name, ids in regions.items()
        if isinstance(ids, list) and all(isinstance(i, int) for i in ids)
    )
