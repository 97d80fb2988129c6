"""Published label tables of common datasets, the single source for built-in maps.

Each table is transcribed from the dataset's own release (source in the comment above it);
colormaps.py and remap.py build their built-in maps from these rows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import numpy.typing as npt

RGB = tuple[int, int, int]

# Cityscapes: cityscapesScripts/cityscapesscripts/helpers/labels.py (mcordts/cityscapesScripts),
# the 34 labelIds of the released dataset plus the licence plate (labelId -1, trainId -1).
# Rows: (name, labelId, trainId, colour). trainId 255 and -1 are not trained on.
CITYSCAPES: tuple[tuple[str, int, int, RGB], ...] = (
    ("unlabeled", 0, 255, (0, 0, 0)),
    ("ego vehicle", 1, 255, (0, 0, 0)),
    ("rectification border", 2, 255, (0, 0, 0)),
    ("out of roi", 3, 255, (0, 0, 0)),
    ("static", 4, 255, (0, 0, 0)),
    ("dynamic", 5, 255, (111, 74, 0)),
    ("ground", 6, 255, (81, 0, 81)),
    ("road", 7, 0, (128, 64, 128)),
    ("sidewalk", 8, 1, (244, 35, 232)),
    ("parking", 9, 255, (250, 170, 160)),
    ("rail track", 10, 255, (230, 150, 140)),
    ("building", 11, 2, (70, 70, 70)),
    ("wall", 12, 3, (102, 102, 156)),
    ("fence", 13, 4, (190, 153, 153)),
    ("guard rail", 14, 255, (180, 165, 180)),
    ("bridge", 15, 255, (150, 100, 100)),
    ("tunnel", 16, 255, (150, 120, 90)),
    ("pole", 17, 5, (153, 153, 153)),
    ("polegroup", 18, 255, (153, 153, 153)),
    ("traffic light", 19, 6, (250, 170, 30)),
    ("traffic sign", 20, 7, (220, 220, 0)),
    ("vegetation", 21, 8, (107, 142, 35)),
    ("terrain", 22, 9, (152, 251, 152)),
    ("sky", 23, 10, (70, 130, 180)),
    ("person", 24, 11, (220, 20, 60)),
    ("rider", 25, 12, (255, 0, 0)),
    ("car", 26, 13, (0, 0, 142)),
    ("truck", 27, 14, (0, 0, 70)),
    ("bus", 28, 15, (0, 60, 100)),
    ("caravan", 29, 255, (0, 0, 90)),
    ("trailer", 30, 255, (0, 0, 110)),
    ("train", 31, 16, (0, 80, 100)),
    ("motorcycle", 32, 17, (0, 0, 230)),
    ("bicycle", 33, 18, (119, 11, 32)),
    ("license plate", -1, -1, (0, 0, 142)),
)

#: The value Cityscapes' trainIds use for every label that is not trained on.
CITYSCAPES_IGNORE = 255

# CamVid, 32 classes: label_colors.txt of the original release (Brostow et al., Cambridge),
# lines "R G B Name"; the class id is the line number from 0, so Void is 30.
CAMVID32: tuple[tuple[str, RGB], ...] = (
    ("Animal", (64, 128, 64)),
    ("Archway", (192, 0, 128)),
    ("Bicyclist", (0, 128, 192)),
    ("Bridge", (0, 128, 64)),
    ("Building", (128, 0, 0)),
    ("Car", (64, 0, 128)),
    ("CartLuggagePram", (64, 0, 192)),
    ("Child", (192, 128, 64)),
    ("Column_Pole", (192, 192, 128)),
    ("Fence", (64, 64, 128)),
    ("LaneMkgsDriv", (128, 0, 192)),
    ("LaneMkgsNonDriv", (192, 0, 64)),
    ("Misc_Text", (128, 128, 64)),
    ("MotorcycleScooter", (192, 0, 192)),
    ("OtherMoving", (128, 64, 64)),
    ("ParkingBlock", (64, 192, 128)),
    ("Pedestrian", (64, 64, 0)),
    ("Road", (128, 64, 128)),
    ("RoadShoulder", (128, 128, 192)),
    ("Sidewalk", (0, 0, 192)),
    ("SignSymbol", (192, 128, 128)),
    ("Sky", (128, 128, 128)),
    ("SUVPickupTruck", (64, 128, 192)),
    ("TrafficCone", (0, 0, 64)),
    ("TrafficLight", (0, 64, 64)),
    ("Train", (192, 64, 128)),
    ("Tree", (128, 128, 0)),
    ("Truck_Bus", (192, 128, 192)),
    ("Tunnel", (64, 0, 64)),
    ("VegetationMisc", (192, 192, 0)),
    ("Void", (0, 0, 0)),
    ("Wall", (64, 192, 0)),
)

# CamVid, SegNet's 11 classes + Unlabelled (id 11): label_colours in
# alexgkendall/SegNet-Tutorial Scripts/test_segmentation_camvid.py (note Pavement is
# 60,40,222 there, not the original Sidewalk colour; Road_marking is defined but unused).
CAMVID11: tuple[tuple[str, RGB], ...] = (
    ("Sky", (128, 128, 128)),
    ("Building", (128, 0, 0)),
    ("Pole", (192, 192, 128)),
    ("Road", (128, 64, 128)),
    ("Pavement", (60, 40, 222)),
    ("Tree", (128, 128, 0)),
    ("SignSymbol", (192, 128, 128)),
    ("Fence", (64, 64, 128)),
    ("Car", (64, 0, 128)),
    ("Pedestrian", (64, 64, 0)),
    ("Bicyclist", (0, 128, 192)),
    ("Unlabelled", (0, 0, 0)),
)


# Pascal VOC 2012's 21 classes in index order (VOCdevkit devkit_doc.pdf; 255 = boundary).
VOC_NAMES: tuple[str, ...] = (
    "background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat",
    "chair", "cow", "diningtable", "dog", "horse", "motorbike", "person", "pottedplant",
    "sheep", "sofa", "train", "tvmonitor",
)  # fmt: skip


def voc_palette(size: int = 256) -> npt.NDArray[np.uint8]:
    """Pascal VOC's colour map (VOCdevkit's labelcolormap.m): the bits of each index are
    dealt out in turn to R, G and B, from the most significant bit down.

    Index 255 (the boundary/ignore value) comes out as (224, 224, 192).
    """
    index = np.arange(size, dtype=np.int64)
    colours = np.zeros((size, 3), dtype=np.int64)
    for bit in range(8):  # 8 bit planes, each vectorised over every index
        for channel in range(3):
            colours[:, channel] |= ((index >> (3 * bit + channel)) & 1) << (7 - bit)
    return colours.astype(np.uint8)
