"""Patch windows with their sampling weights: a list for a geo sampler, and a torchgeo snippet.

A per-image file of patches (``mfb scan --patch``) makes every patch an image to sample;
these outputs give each one back as a window: the file, its pixel window, and, when the
raster's geotransform is known, its bounds in the raster's CRS, which is what a torchgeo
GeoSampler yields.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from .._version import __version__
from ..errors import MfbError, Param

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .records import Record

#: The torchgeo release the snippet was written for and tested with (its GeoSampler yields
#: a GeoSlice: (slice(xmin, xmax), slice(ymin, ymax)[, slice(tmin, tmax)]); 0.7 and older
#: yielded a BoundingBox instead).
TORCHGEO_VERSION = "0.8.1"

BOUNDS_DEFINITION = (
    "the SIZE x SIZE window from (row, col) in the raster's CRS, through its geotransform "
    "(the box around its corners): what a geo sampler reads; past the raster's edge the "
    "dataset fills in (torchgeo: nodata), where mfb counted nothing"
)


def crs_bounds(geotransform: Sequence[float], row: int, col: int, size: int) -> dict[str, float]:
    """The CRS box around the SIZE x SIZE window at pixel (row, col), by GDAL's
    geotransform: x = x0 + col * a + row * b, y = y0 + col * d + row * e."""
    x0, a, b, y0, d, e = (float(v) for v in geotransform)
    corners = [(col + dc, row + dr) for dc in (0, size) for dr in (0, size)]
    xs = [x0 + c * a + r * b for c, r in corners]
    ys = [y0 + c * d + r * e for c, r in corners]
    return {"minx": min(xs), "maxx": max(xs), "miny": min(ys), "maxy": max(ys)}


def window_rows(record: Record) -> list[dict[str, Any]]:
    """One entry per patch: file, window, weight, probability (and CRS bounds if known)."""
    patch = record.get("patch")
    rows = record["images"]
    if not patch or any("window" not in row for row in rows):
        raise MfbError(
            "the windows and torchgeo formats list patches: read a per-image file of "
            "patches (a scan with ",
            Param("patch", metavar="SIZE"),
            " and ",
            Param("per_image", metavar="FILE.jsonl"),
            "), or scan with ",
            Param("patch", metavar="SIZE"),
        )
    size = int(patch["size"])
    entries = []
    for row in rows:
        entry: dict[str, Any] = {"file": row["image"], **row["window"]}
        entry["weight"], entry["probability"] = row["weight"], row["probability"]
        geo = row.get("geo") or {}
        if "geotransform" in geo:
            window = row["window"]
            entry["bounds"] = crs_bounds(geo["geotransform"], window["row"], window["col"], size)
        if "crs" in geo:
            entry["crs"] = geo["crs"]
        entries.append(entry)
    return entries


def windows_record(record: Record) -> Record:
    """``-f windows``: the patch windows with their weights, for a geo sampler."""
    entries = window_rows(record)
    return {
        "scheme": record["scheme"],
        "patch": record["patch"],
        "num_windows": len(entries),
        "draws_per_epoch": record["effect"]["draws_per_epoch"],
        "windows": entries,
        "warnings": record["warnings"],
        "definitions": {
            "window": "row, col: the patch's top-left pixel (slice: its index along a "
            "volume's third axis); height, width: its pixels inside the image",
            "weight": record["definitions"]["weight"],
            "probability": record["definitions"]["probability"],
            "bounds": BOUNDS_DEFINITION,
        },
        "mfb_version": __version__,
    }


def to_windows(record: Record) -> str:
    """``-f windows`` as JSON."""
    from .serialize import to_json

    return to_json(windows_record(record))


def torchgeo_snippet(record: Record) -> str:
    """A sampler drawing the patch windows with mfb's weights: a torchgeo GeoSampler
    yielding CRS slices when every window has bounds, else a torch Sampler yielding pixel
    windows (for a NonGeoDataset that crops them)."""
    entries = window_rows(record)
    size = int(record["patch"]["size"])
    scheme = record["scheme"]
    draws = max(1, round(record["effect"]["draws_per_epoch"]))
    geo = all("bounds" in e for e in entries)
    repeat = scheme == "repeat-factor"
    weights = [e["weight"] if repeat else e["probability"] for e in entries]
    if repeat and record.get("rounding") != "stochastic":
        weights = [int(w) for w in weights]
    head = [
        f"# mfb sampling --scheme {scheme} -f torchgeo: mfb's patches with its weights",
        f"# (written for torchgeo {TORCHGEO_VERSION} and PyTorch 2).",
    ]
    if repeat:
        head += [
            "# An epoch shows window i floor(REPEATS[i]) times, plus once more with probability",
            "# REPEATS[i] - floor(REPEATS[i]), in a new random order each epoch.",
        ]
    else:
        head += [
            f"# An epoch is {draws} independent draws with these probabilities (with replacement)."
        ]
    if geo:
        head += [
            "# A GeoSampler yields (slice(xmin, xmax), slice(ymin, ymax)) in the dataset's CRS",
            "# (torchgeo >= 0.8; 0.7 and older yielded a BoundingBox): each is the SIZE x SIZE",
            "# patch mfb counted, at BOUNDS[i]; past the raster's edge the dataset fills nodata.",
            "import math",
            "",
            "import torch",
            "from torchgeo.samplers import GeoSampler",
            "",
            f"SIZE = {size}",
            f"BOUNDS = {json.dumps([_box(e['bounds']) for e in entries])}",
        ]
        base, call = "GeoSampler", "super().__init__(dataset)"
        item = [
            "            xmin, xmax, ymin, ymax = self.windows[i]",
            "            yield slice(xmin, xmax), slice(ymin, ymax)",
        ]
        windows, argument = "BOUNDS", "dataset, "
    else:
        volume = any("slice" in e for e in entries)
        files = list(dict.fromkeys(e["file"] for e in entries))
        index = {name: i for i, name in enumerate(files)}
        pixel = [
            [index[e["file"]], *([e["slice"]] if volume else []), e["row"], e["col"]]
            for e in entries
        ]
        head += [
            "# No geotransform: pixel windows, for a dataset whose __getitem__ takes",
            "# (file, " + ("slice index, " if volume else "") + "row slice, column slice) "
            "and crops (the part past the edge is yours to pad).",
            "import math",
            "",
            "import torch",
            "from torch.utils.data import Sampler",
            "",
            f"SIZE = {size}",
            f"FILES = {json.dumps(files)}",
            "# [file index, " + ("slice, " if volume else "") + "row, col] of each patch's "
            "top-left pixel",
            f"WINDOWS = {json.dumps(pixel)}",
        ]
        base, call, argument = "Sampler", "super().__init__()", ""
        windows = "WINDOWS"
        unpack = "f, k, row, col" if volume else "f, row, col"
        out = "FILES[f], k, " if volume else "FILES[f], "
        item = [
            f"            {unpack} = self.windows[i]",
            f"            yield {out}slice(row, row + SIZE), slice(col, col + SIZE)",
        ]
    name = "REPEATS" if repeat else "WEIGHTS"
    if repeat:
        draw = [
            "        chance = torch.rand(len(self.weights), generator=self.generator).tolist()",
            "        picks = [",
            "            i",
            "            for i, r in enumerate(self.weights)",
            "            for _ in range(math.floor(r) + (chance[i] < r - math.floor(r)))",
            "        ]",
            "        order = torch.randperm(len(picks), generator=self.generator).tolist()",
            "        for i in [picks[k] for k in order]:",
        ]
        length = "round(sum(self.weights))  # the expected length with stochastic rounding"
        signature = f"{argument}windows, weights, seed=0"
        extra = ""
    else:
        draw = [
            "        weights = torch.tensor(self.weights, dtype=torch.double)",
            "        drawn = torch.multinomial(",
            "            weights, self.num_samples, replacement=True, generator=self.generator",
            "        )",
            "        for i in drawn.tolist():",
        ]
        length = "self.num_samples"
        signature = f"{argument}windows, weights, num_samples, seed=0"
        extra = "        self.num_samples = num_samples\n"
    usage = f"{argument}{windows}, {name}" + ("" if repeat else f", num_samples={draws}")
    body = [
        f"{name} = {json.dumps(weights)}",
        "",
        "",
        f"class WeightedPatchSampler({base}):",
        '    """mfb\'s patch windows, drawn with its weights; seeded, reproducible."""',
        "",
        f"    def __init__(self, {signature}):",
        f"        {call}",
        "        self.windows, self.weights = list(windows), list(weights)",
        *([extra.rstrip("\n")] if extra else []),
        "        self.generator = torch.Generator().manual_seed(seed)",
        "",
        "    def __iter__(self):",
        *draw,
        *item,
        "",
        "    def __len__(self):",
        f"        return {length}",
        "",
        "",
        f"# sampler = WeightedPatchSampler({usage})",
        "# loader = torch.utils.data.DataLoader(dataset, batch_size=8, sampler=sampler"
        + (",\n#     collate_fn=torchgeo.datasets.stack_samples)" if geo else ")"),
        "",
    ]
    return "\n".join([*head, *body])


def _box(bounds: dict[str, float]) -> list[float]:
    return [bounds["minx"], bounds["maxx"], bounds["miny"], bounds["maxy"]]
