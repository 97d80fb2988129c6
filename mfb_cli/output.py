"""Write command output to stdout, or to a file replaced atomically (never half a file)."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path


def write_text(text: str, output: Path | None) -> None:
    """Write ``text`` to stdout, or atomically to ``output`` (same bytes either way)."""
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    write_bytes(text.encode("utf-8"), output)


def write_bytes(data: bytes, output: Path) -> None:
    """Replace ``output`` with ``data`` atomically: a reader sees the old or the new file."""
    folder = output.parent
    handle, name = tempfile.mkstemp(dir=folder, prefix=f".{output.name}.", suffix=".tmp")
    temporary = Path(name)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        temporary.chmod(_mode_for(output))
        temporary.replace(output)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _mode_for(output: Path) -> int:
    # mkstemp creates files as 0600; keep an existing file's mode, else honour the umask.
    try:
        return output.stat().st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
