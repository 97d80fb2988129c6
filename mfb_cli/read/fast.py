"""The optional fast decoder (imagecodecs), imported once and only if asked."""

from __future__ import annotations

import functools
import logging
from typing import Any


@functools.cache
def fast_modules() -> Any | None:
    """imagecodecs when the 'fast' extra is installed, imported once and only if asked."""
    try:
        import imagecodecs
    except ImportError:
        return None
    if not getattr(imagecodecs, "PNG", None) or not imagecodecs.PNG.available:
        return None
    logging.getLogger("imagecodecs").addFilter(LIBPNG_WARNINGS)
    return imagecodecs


class _LibpngWarnings(logging.Filter):
    """Notes the libpng warnings imagecodecs logs while read_png_fast runs in a thread.

    libpng warns and goes on where Pillow refuses (a truncated pHYs chunk, for one): a
    warned file is handed to Pillow, which decides, and the warning is not printed.
    Records from threads outside read_png_fast pass through untouched.
    """

    def __init__(self) -> None:
        super().__init__()
        self.warned: dict[int, bool] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.thread in self.warned:
            self.warned[record.thread] = True
            return False
        return True


LIBPNG_WARNINGS = _LibpngWarnings()
