"""The class prior pi and its log, for logit adjustment and Balanced Softmax.

pi_c = pixels of c / labelled pixels (void and ignored pixels left out), in class-id order
0..K-1; a void class has pi = 0. log(pi_c) of a class with no pixel (absent or void)
would be -inf, which turns adjusted logits into -inf and the loss into NaN; its log is
taken instead of a floor of half a pixel's share, 0.5 / labelled pixels, below every
present class, and those classes are named in the warnings.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import LabelRangeError
from ..id_list import id_list

if TYPE_CHECKING:
    from .classes import ClassStats

PRIOR_DEFINITION = (
    "prior[c] = pixels of c / labelled pixels (neither void nor ignored); void classes 0; "
    "log_prior[c] = log(max(prior[c], floor)), floor = 0.5 / labelled pixels (half a pixel's "
    "share, below every present class), so a class without pixels gets a finite log"
)


@dataclass(frozen=True)
class ClassPriors:
    """The prior per class id, its log (floored, never -inf) and which classes were floored."""

    prior: tuple[float, ...]
    log_prior: tuple[float, ...]
    floor: float
    floored: tuple[int, ...]
    warnings: tuple[str, ...] = ()


def scan_warnings_of(stats: ClassStats) -> tuple[str, ...]:
    """The stats' warnings minus the weight-specific line about absent classes."""
    return tuple(w for w in stats.warnings if not w.startswith("classes never seen, given weight"))


def class_priors(stats: ClassStats) -> ClassPriors:
    """pi_c over labelled pixels and log pi_c with absent and void classes floored."""
    labelled = stats.labelled_pixels
    if labelled <= 0:
        raise LabelRangeError("no labelled pixels: every pixel is void or ignored")
    void = set(stats.void)
    prior = tuple(
        0.0 if c in void else int(stats.pixels[c]) / labelled for c in range(stats.num_classes)
    )
    floor = 0.5 / labelled
    floored = tuple(c for c, p in enumerate(prior) if p == 0.0)
    log_prior = tuple(math.log(max(p, floor)) for p in prior)
    warnings = list(scan_warnings_of(stats))
    absent = [c for c in floored if c not in void]
    if absent:
        warnings.append(
            f"classes without pixels get log prior log({floor:.3g}) (half a pixel's share), "
            f"not -inf: {id_list(absent)}"
        )
    return ClassPriors(prior, log_prior, floor, floored, tuple(warnings))
