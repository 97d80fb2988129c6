"""Per-image geometry: every component, size, bounding box and boundary pixel counted by
hand on a 6x6 mask and a 4x4x3 volume for each connectivity, then against a naive
reference (scipy.ndimage.label once per class, tests only) on random masks."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import mfb_cli.count.geometry as geometry_module
import mfb_cli.count.plane_runs as plane_runs
from mfb_cli.count.connectivity import Connectivity
from mfb_cli.count.geometry import (
    extent_bin,
    extent_edges,
    geometry_of,
    partition_geometry,
    size_bin,
)
from mfb_cli.errors import MfbError
from mfb_cli.read.labels.pixels import partition_of

# The 6x6 mask (rows top to bottom). Class 1: a 2x2 block, a pixel touching its corner at
# (2, 2), and a lone pixel at (5, 3); class 2: an L of three at the top right with (1, 3)
# touching it by a corner, and an L of three at the bottom left; class 3: a 2x2 block.
MASK = np.array(
    [
        [1, 1, 0, 0, 2, 2],
        [1, 1, 0, 2, 0, 2],
        [0, 0, 1, 0, 0, 0],
        [0, 0, 0, 0, 3, 3],
        [2, 0, 0, 0, 3, 3],
        [2, 2, 0, 1, 0, 0],
    ],
    dtype=np.uint8,
)

#: class -> sorted (pixels, height, width) of its components, worked out by hand.
MASK_COMPONENTS = {
    4: {
        # 0: {(0,2),(0,3),(1,2)}; the 14 from (1,4) round to (5,2); {(5,4),(5,5)}.
        0: [(2, 1, 2), (3, 2, 2), (14, 5, 6)],
        1: [(1, 1, 1), (1, 1, 1), (4, 2, 2)],
        2: [(1, 1, 1), (3, 2, 2), (3, 2, 2)],
        3: [(4, 2, 2)],
    },
    8: {
        0: [(19, 6, 6)],  # the corners join the three into one
        1: [(1, 1, 1), (5, 3, 3)],  # (2, 2) joins the block by its corner
        2: [(3, 2, 2), (4, 2, 3)],  # (1, 3) joins the top L by its corner
        3: [(4, 2, 2)],
    },
}
#: Pixels with a 4-neighbour of another value, by hand (the same for every connectivity):
#: class 0 all but (3, 1) and (4, 2); class 1 all but (0, 0); class 2 all but (0, 5) and
#: (5, 0); every pixel of class 3.
MASK_BOUNDARY = {0: 17, 1: 5, 2: 5, 3: 4}

# The 4x4x3 volume (axis 2 is the slice). Class 1: a chain of voxels, each touching the
# next by an edge ((0,0,0)-(1,1,0)) or a corner ((1,1,0)-(2,2,1)-(3,3,2)); class 2: a bar of
# two on slice 2 and a voxel touching it by an edge; class 3: a 1x2x3 block; 0 elsewhere.
VOLUME = np.zeros((4, 4, 3), dtype=np.uint8)
for _voxel in [(0, 0, 0), (1, 1, 0), (2, 2, 1), (3, 3, 2)]:
    VOLUME[_voxel] = 1
for _voxel in [(0, 2, 2), (0, 3, 2), (1, 2, 1)]:
    VOLUME[_voxel] = 2
VOLUME[3, 0:2, :] = 3

#: class -> sorted (voxels, extent along axis 0, 1, 2), by hand.
VOLUME_COMPONENTS = {
    6: {
        0: [(35, 4, 4, 3)],
        1: [(1, 1, 1, 1)] * 4,
        2: [(1, 1, 1, 1), (2, 1, 2, 1)],
        3: [(6, 1, 2, 3)],
    },
    18: {
        0: [(35, 4, 4, 3)],
        1: [(1, 1, 1, 1), (1, 1, 1, 1), (2, 2, 2, 1)],
        2: [(3, 2, 2, 2)],
        3: [(6, 1, 2, 3)],
    },
    26: {
        0: [(35, 4, 4, 3)],
        1: [(4, 4, 4, 3)],
        2: [(3, 2, 2, 2)],
        3: [(6, 1, 2, 3)],
    },
}
#: Voxels with a 6-neighbour of another value: the 25 zeros beside a labelled voxel, and
#: every labelled voxel (none has all six neighbours of its own class).
VOLUME_BOUNDARY = {0: 25, 1: 4, 2: 3, 3: 6}


def _expected_bins(components: list[tuple[int, ...]], ndim: int) -> dict[str, object]:
    """Size bins, their pixels and extent bins of a list of (size, extents...), by the
    bin definitions (sizes: floor(log2); extents: exact below 16)."""
    sizes = Counter(s.bit_length() - 1 for s, *_ in components)
    pixels = Counter()
    for size, *_ in components:
        pixels[size.bit_length() - 1] += size
    extents = [Counter(c[1 + axis] for c in components) for axis in range(ndim)]
    return {"sizes": sizes, "pixels": pixels, "extents": extents}


def _found(shape: object, row: int) -> dict[str, object]:
    g = shape  # an ImageGeometry
    return {
        "sizes": Counter({k: int(n) for k, n in enumerate(g.size_bins[row]) if n}),
        "pixels": Counter({k: int(n) for k, n in enumerate(g.size_pixels[row]) if n}),
        "extents": [
            Counter({b: int(n) for b, n in enumerate(g.extent_bins[axis, row]) if n})
            for axis in range(g.ndim)
        ],
    }


@pytest.mark.parametrize("pixels_per_run", [1, 10**12], ids=["runs", "cc3d"])
@pytest.mark.parametrize("connectivity", [4, 8])
def test_six_by_six_mask_by_hand(connectivity, pixels_per_run, monkeypatch):
    # The same numbers from the runs of the mask and from connected-components-3d.
    monkeypatch.setattr(plane_runs, "PIXELS_PER_RUN", pixels_per_run)
    shape = geometry_of(MASK, connectivity)
    hand = MASK_COMPONENTS[connectivity]
    assert shape.ids.tolist() == [0, 1, 2, 3]
    assert shape.ndim == 2
    assert shape.pixels.tolist() == [19, 6, 7, 4]
    assert shape.components.tolist() == [len(hand[c]) for c in range(4)]
    assert shape.boundary.tolist() == [MASK_BOUNDARY[c] for c in range(4)]
    for row, label in enumerate(shape.ids.tolist()):
        assert _found(shape, row) == _expected_bins(hand[label], 2), label


@pytest.mark.parametrize("pixels_per_run", [1, 10**12], ids=["runs", "cc3d"])
def test_six_by_six_totals_by_hand(pixels_per_run, monkeypatch):
    monkeypatch.setattr(plane_runs, "PIXELS_PER_RUN", pixels_per_run)
    # 4-connected: 3 + 3 + 3 + 1 components; 8-connected: 1 + 2 + 2 + 1.
    assert geometry_of(MASK, 4).components.sum() == 10
    assert geometry_of(MASK, 8).components.sum() == 6
    # Connectivity given as a 3D number means the same in 2D (6 -> 4, 26 and 18 -> 8).
    assert geometry_of(MASK, 6) == geometry_of(MASK, 4)
    assert geometry_of(MASK, 26) == geometry_of(MASK, 18) == geometry_of(MASK, 8)


@pytest.mark.parametrize("connectivity", [6, 18, 26])
def test_four_by_four_by_three_volume_by_hand(connectivity, tmp_path):
    np.save(tmp_path / "volume.npy", VOLUME)
    volume = np.load(tmp_path / "volume.npy")
    shape = geometry_of(volume, connectivity)
    hand = VOLUME_COMPONENTS[connectivity]
    assert shape.ndim == 3
    assert shape.ids.tolist() == [0, 1, 2, 3]
    assert shape.pixels.tolist() == [35, 4, 3, 6]
    assert shape.components.tolist() == [len(hand[c]) for c in range(4)]
    assert shape.boundary.tolist() == [VOLUME_BOUNDARY[c] for c in range(4)]
    for row, label in enumerate(shape.ids.tolist()):
        assert _found(shape, row) == _expected_bins(hand[label], 3), label


def test_a_2d_number_means_the_same_neighbours_in_3d():
    assert geometry_of(VOLUME, 4) == geometry_of(VOLUME, 6)
    assert geometry_of(VOLUME, 8) == geometry_of(VOLUME, 26)
    assert Connectivity.of(18) == Connectivity(8, 18)
    with pytest.raises(MfbError, match="connectivity 5 is not one of 4, 6, 8, 18, 26"):
        Connectivity.of(5)


def test_bins_edges():
    assert size_bin(np.array([1, 2, 3, 4, 7, 8, 2**40, 2**40 + 1])).tolist() == [
        0,
        1,
        1,
        2,
        2,
        3,
        40,
        40,
    ]
    # Extents: exact below 16, then 8 bins a power of two.
    extents = np.arange(1, 2000)
    bins = extent_bin(extents)
    for extent, index in zip(extents.tolist(), bins.tolist(), strict=True):
        low, high = extent_edges(index)
        assert low <= extent <= high
        assert high - low + 1 <= max(1, low // 8)
    assert [extent_edges(i) for i in (15, 16, 17, 24)] == [(15, 15), (16, 17), (18, 19), (32, 35)]
    assert np.all(np.diff(bins) >= 0) and set(range(1, bins.max() + 1)) <= set(bins.tolist())


def test_partition_joins_values_a_remap_merges():
    # Values 1 and 2 both mean class 7: the two touching regions are one component.
    labels = np.array([[1, 1, 2, 2], [0, 0, 0, 0]], dtype=np.uint8)
    part = partition_of(labels, np.array([0, 1, 2]), np.array([5, 7, 7]))
    assert part.class_ids().tolist() == [[7, 7, 7, 7], [5, 5, 5, 5]]
    shape = partition_geometry(part, 4)
    assert shape.ids.tolist() == [5, 7]
    assert shape.components.tolist() == [1, 1]
    assert shape.pixels.tolist() == [4, 4]
    assert shape.boundary.tolist() == [4, 4]


@pytest.mark.parametrize(
    "dtype", [np.uint8, np.int8, np.uint16, np.int16, np.int32, np.uint32, np.int64]
)
def test_partition_class_ids_are_exact_for_every_type(dtype):
    rng = np.random.default_rng(7)
    info = np.iinfo(dtype)
    values = np.array(sorted({int(info.min), int(info.max), 0, 1, -1 if info.min < 0 else 2}))
    labels = rng.choice(values, size=(5, 7)).astype(dtype)
    present = np.unique(labels).astype(np.int64)
    classes = present * 3 + 1  # one class per value
    part = partition_of(labels, present, classes)
    assert part.values.dtype.kind == "u" and part.values.min() > 0
    assert np.array_equal(part.class_ids(), labels.astype(np.int64) * 3 + 1)
    merged = present % 2  # two classes: many values each (the slot route)
    part = partition_of(labels, present, merged)
    assert np.array_equal(part.class_ids(), labels.astype(np.int64) % 2)


def test_a_read_only_image_without_zero_is_labelled():
    # Pillow hands over read-only buffers; with 0 absent the values need no XOR.
    labels = np.frombuffer(bytes([4, 4, 5, 5, 5, 4]), dtype=np.uint8).reshape(2, 3)
    assert not labels.flags.writeable  # and cannot be made so: it does not own its bytes
    shape = geometry_of(labels, 4)
    assert shape.components.tolist() == [2, 2]


def test_a_uint8_image_of_all_256_values_still_partitions():
    labels = np.arange(256, dtype=np.uint8).reshape(16, 16)
    shape = geometry_of(labels, 4)
    assert shape.ids.tolist() == list(range(256))
    assert shape.components.tolist() == [1] * 256
    # Inner pixels have 4 other neighbours; all 256 touch another value.
    assert shape.boundary.tolist() == [1] * 256


def test_bool_and_single_valued_images():
    shape = geometry_of(np.zeros((3, 4), dtype=bool))
    assert shape.ids.tolist() == [0] and shape.components.tolist() == [1]
    assert shape.boundary.tolist() == [0]  # the border is no boundary
    assert shape.extent_bins[0, 0, 3] == 1 and shape.extent_bins[1, 0, 4] == 1


def test_refuses_what_is_not_a_2d_or_3d_integer_image():
    with pytest.raises(MfbError, match="2D or 3D"):
        geometry_of(np.zeros((2, 2, 2, 2), dtype=np.uint8))
    with pytest.raises(MfbError, match="integer class ids"):
        geometry_of(np.zeros((2, 2), dtype=np.float32))


# --- the naive reference --------------------------------------------------------------


def naive_geometry(labels: np.ndarray, connectivity: int) -> dict[int, tuple]:
    """Per class: sorted (size, extents...) of its components, its pixels and boundary
    pixels, with scipy.ndimage.label run once per class and the boundary from np.roll."""
    from scipy import ndimage

    ndim = labels.ndim
    plane, volume = Connectivity.of(connectivity).plane, Connectivity.of(connectivity).volume
    rank = {4: 1, 8: 2} if ndim == 2 else {6: 1, 18: 2, 26: 3}
    structure = ndimage.generate_binary_structure(ndim, rank[plane if ndim == 2 else volume])
    found = {}
    for value in np.unique(labels).tolist():
        mine = labels == value
        numbered, count = ndimage.label(mine, structure=structure)
        components = []
        for index, box in enumerate(ndimage.find_objects(numbered), start=1):
            size = int((numbered[box] == index).sum())
            components.append((size, *(s.stop - s.start for s in box)))
        boundary = np.zeros_like(mine)
        for axis in range(ndim):
            for step in (1, -1):
                neighbour = np.roll(labels, step, axis=axis)
                inside = np.ones_like(mine)
                edge = [slice(None)] * ndim
                edge[axis] = 0 if step == 1 else -1
                inside[tuple(edge)] = False  # rolled in from the far side: no neighbour
                boundary |= mine & inside & (neighbour != labels)
        found[value] = (sorted(components), int(mine.sum()), int(boundary.sum()), count)
    return found


def assert_matches_the_reference(shape, labels: np.ndarray, connectivity: int) -> None:
    """Every class's pixels, boundary, components and bins as the naive reference has them
    (extents binned by extent_bin: exact below 16)."""
    reference = naive_geometry(labels, connectivity)
    assert shape.ids.tolist() == sorted(reference)
    for row, label in enumerate(shape.ids.tolist()):
        components, pixels, boundary, count = reference[label]
        assert int(shape.pixels[row]) == pixels
        assert int(shape.boundary[row]) == boundary
        assert int(shape.components[row]) == count
        binned = [(size, *extent_bin(np.array(box)).tolist()) for size, *box in components]
        assert _found(shape, row) == _expected_bins(binned, labels.ndim)


planes = st.tuples(st.integers(1, 9), st.integers(1, 9))
volumes = st.tuples(st.integers(1, 5), st.integers(1, 5), st.integers(1, 5))
masks = st.one_of(
    arrays(st.sampled_from([np.uint8, np.uint16]), planes, elements=st.integers(0, 3)),
    arrays(st.sampled_from([np.int16, np.int32, np.int64]), planes, elements=st.integers(-2, 3)),
    arrays(st.sampled_from([np.uint8, np.int16]), volumes, elements=st.integers(0, 3)),
)


@settings(max_examples=300, deadline=None)
@given(
    masks,
    st.sampled_from([4, 8, 18]),
    st.sampled_from([None, 1, 5, 40]),
    st.sampled_from([1, 10**12]),
)
def test_every_class_matches_the_naive_reference(labels, connectivity, band, pixels_per_run):
    """Sizes, boxes, pixels and boundaries of every class, with bands of any height and
    components binned a few at a time, for 2D masks both from their runs (plane_runs.py)
    and by connected-components-3d."""
    saved = geometry_module.BAND_PIXELS, geometry_module.COMPONENTS_AT_ONCE
    saved_runs = plane_runs.PIXELS_PER_RUN
    try:
        if band is not None:
            geometry_module.BAND_PIXELS = band
            geometry_module.COMPONENTS_AT_ONCE = band
        plane_runs.PIXELS_PER_RUN = pixels_per_run
        shape = geometry_of(labels, connectivity)
    finally:
        geometry_module.BAND_PIXELS, geometry_module.COMPONENTS_AT_ONCE = saved
        plane_runs.PIXELS_PER_RUN = saved_runs
    assert_matches_the_reference(shape, labels, connectivity)


def test_a_street_like_mask_goes_by_its_runs_and_matches_the_reference():
    # Blocks of 8x20 pixels: few runs (about one per 20 pixels), so plane_runs labels it.
    rng = np.random.default_rng(3)
    labels = np.kron(rng.integers(0, 4, size=(12, 10)), np.ones((8, 20), dtype=np.int64))
    labels = labels.astype(np.uint8)
    labels[40, 3] = 9  # a speck
    assert plane_runs.runs_of(labels) is not None
    for connectivity in (4, 8):
        assert_matches_the_reference(geometry_of(labels, connectivity), labels, connectivity)
