"""Names and descriptions of the built-in colour maps and remaps (no NumPy: --help shows them)."""

from __future__ import annotations

COLORMAPS: dict[str, str] = {
    "cityscapes": "Cityscapes *_color.png -> trainIds 0-18, other colours 255 (labels.py)",
    "camvid32": "CamVid's 32 classes in label_colors.txt order (Void = 30)",
    "camvid11": "SegNet's CamVid 11 classes + Unlabelled = 11",
    "voc": "Pascal VOC palette: colour of index i -> i (0-255, 255 = boundary)",
}

REMAPS: dict[str, str] = {
    "cityscapes-trainid": "Cityscapes labelIds (-1..33) -> trainIds 0-18, 255 for labels not "
    "trained on",
    "reduce-zero-label": "ADE20K: 0 -> 255, k -> k-1 for 1..254, 255 -> 255",
}
