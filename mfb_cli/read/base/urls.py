"""How a PATH argument is told to be a URL, and shown without the secrets it may hold.

Text rules only, apart from the fsspec reading in read/remote.py: every command asks
whether a path is a URL and prints paths, and must not import the remote readers for it.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

#: A URL as fsspec reads it: 'scheme://...', or chained 'zip::s3://...'.
_URL = re.compile(r"^[a-z][a-z0-9+.-]*(::[a-z][a-z0-9+.-]*)*://", re.IGNORECASE)


def is_url(text: object) -> bool:
    """Whether a PATH argument is a URL read through fsspec (a local path never is)."""
    return isinstance(text, str) and _URL.match(text) is not None


def safe_url(url: str) -> str:
    """The URL without user:password@ or query string and fragment (where signed URLs keep
    secrets), in every piece of a chained URL ('zip::s3://...').

    A password holds '/', '?' and '#' percent-encoded, as in any URL (fsspec reads it so
    too); '@' and ':' may stand in it. A path may hold '@' (hf://datasets/x@revision/...).
    A query runs to the end, or to a next chained URL ('::proto://').
    """
    url = _USERINFO.sub("://", url)
    return _QUERY.sub("", url)


_USERINFO = re.compile(r"://[^/?#]*@")
_QUERY = re.compile(r"[?#].*?(?=::[a-z][a-z0-9+.-]*://|$)", re.IGNORECASE | re.DOTALL)


def shown_path(path: object) -> str:
    """A PATH argument or output as shown and recorded: a URL without its secrets."""
    return safe_url(path) if isinstance(path, str) and is_url(path) else str(path)


class RemoteName(str):
    """A URL as named in messages (no secrets), with a Path's ``suffix``."""

    @property
    def suffix(self) -> str:
        return PurePosixPath(urlsplit(self.split("::")[0]).path).suffix


def named(path: Path | str) -> Path | RemoteName:
    """How a file given as a Path or URL is named in messages (a URL without secrets)."""
    return RemoteName(safe_url(path)) if isinstance(path, str) and is_url(path) else Path(path)
