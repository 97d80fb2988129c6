"""The optional fast decoder (imagecodecs), imported once and only if asked."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import logging


@functools.cache
def fast_modules() -> Any | None:
    """imagecodecs when the 'fast' extra is installed, imported once and only if asked."""
    try:
        import imagecodecs
    except ImportError:
        return None
    if not getattr(imagecodecs, "PNG", None) or not imagecodecs.PNG.available:
        return None
    import logging  # only with the fast decoder (start-up)

    logging.getLogger("imagecodecs").addFilter(LIBPNG_WARNINGS)
    return imagecodecs


class _LibpngWarnings:
    """Notes the libpng warnings imagecodecs logs while read_png_fast runs in a thread.

    libpng warns and goes on where Pillow refuses (a truncated pHYs chunk, for one): a
    warned file is handed to Pillow, which decides, and the warning is not printed.
    Records from threads outside read_png_fast pass through untouched.
    """

    # A logging filter is any object with filter(record): no logging.Filter base class,
    # so logging is imported only with the fast decoder.
    def __init__(self) -> None:
        self.warned: dict[int, bool] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.thread in self.warned:
            self.warned[record.thread] = True
            return False
        return True


LIBPNG_WARNINGS = _LibpngWarnings()
