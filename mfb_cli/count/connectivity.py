"""Which neighbours join a connected component: the --connectivity choices (no NumPy here,
so the command line can offer them without importing the arrays)."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import MfbError

#: --connectivity: the number given -> (the 2D, the 3D connectivity) it means.
CONNECTIVITIES: dict[int, tuple[int, int]] = {
    4: (4, 6),
    6: (4, 6),
    8: (8, 26),
    18: (8, 18),
    26: (8, 26),
}
#: Corners count: a one-pixel diagonal line (a pole, a vessel drawn in steps) is one object,
#: as cc3d's and scikit-image's defaults have it.
DEFAULT_CONNECTIVITY = 8
CONNECTIVITY_HELP = (
    "4 or 6: pixels touch by a face (4 in 2D, 6 in 3D); 18: faces and edges (8 in 2D, 18 "
    "in 3D); 8 or 26: faces, edges and corners (8 in 2D, 26 in 3D)"
)
GEOMETRY_EXTRA_HINT = "pip install 'mfb-cli[geometry]' (connected-components-3d)"


@dataclass(frozen=True)
class Connectivity:
    """Which neighbours join a component: ``plane`` for 2D images, ``volume`` for 3D ones."""

    plane: int = 8
    volume: int = 26

    @classmethod
    def of(cls, given: int | Connectivity) -> Connectivity:
        """The connectivity a number means (CONNECTIVITIES), or ``given`` itself."""
        if isinstance(given, Connectivity):
            return given
        if given not in CONNECTIVITIES:
            raise MfbError(
                f"connectivity {given} is not one of {', '.join(map(str, CONNECTIVITIES))}"
            )
        return cls(*CONNECTIVITIES[given])

    def for_ndim(self, ndim: int) -> int:
        return self.plane if ndim == 2 else self.volume

    def record(self) -> dict[str, int]:
        return {"2d": self.plane, "3d": self.volume}
