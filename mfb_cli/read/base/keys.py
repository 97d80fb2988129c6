"""One identity per input, whatever route reached it: the key runs are de-duplicated on.

A key names the file or object (a local path resolved through its links; a URL in one
spelling, without user:password@), then, inside it, an archive member or a parquet row.
Two inputs with equal keys are one input: it is counted once. The query string of a URL
takes part in the identity (``?id=1`` and ``?id=2`` may be two objects) but never in the
shown name, where signed URLs keep their secrets; credentials take part in neither.
Text only (and ``os.path.realpath``): every source kind makes its key here.
"""

from __future__ import annotations

import os
import posixpath
import re
from dataclasses import dataclass, field
from urllib.parse import unquote

from .urls import chain, is_url, safe_url, split_url

#: Protocols that name the same store under two spellings (fsspec accepts both).
_SAME_PROTOCOL = {"s3a": "s3", "gcs": "gs", "abfs": "az", "abfss": "az", "local": "file"}
#: The port a URL means when it names none.
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class SourceKey:
    """The identity of one input: ``place`` (a resolved path or a canonical URL without
    credentials or query), the URL's query (compared, never shown), and ``inner``: the
    member path inside an archive, or (column, row) inside a parquet shard."""

    place: str
    query: str = field(default="", repr=False)
    inner: tuple[str, ...] = ()

    def member(self, name: str) -> SourceKey:
        """The key of an archive member (its path, './' and empty parts removed)."""
        clean = "/".join(p for p in name.split("/") if p not in ("", "."))
        return SourceKey(self.place, self.query, (*self.inner, clean))

    def row(self, column: str, row: int) -> SourceKey:
        """The key of one row of a parquet shard's image column."""
        return SourceKey(self.place, self.query, (*self.inner, column, str(row)))

    def __str__(self) -> str:
        return ":".join((self.place, *self.inner))

    def __repr__(self) -> str:  # the query may hold a signature: never printed
        return f"SourceKey({str(self)!r})"


def local_key(path: str | os.PathLike[str]) -> SourceKey:
    """A file on disk: its real path (every link followed, '..' resolved)."""
    return SourceKey(os.path.realpath(path))


def url_key(url: str) -> SourceKey:
    """A URL in one spelling: protocol and host in lower case, the default port and
    credentials dropped, '.' and '..' resolved and percent-escapes in one form in an
    http(s) path; ``file://`` URLs (``file://localhost/`` too) as the local file they name,
    percent-escapes decoded (RFC 8089). Chained URLs ('simplecache::s3://...') keep their
    chain."""
    if not is_url(url):
        return local_key(url)
    *outer, last = chain(url)
    parts = split_url(last)
    scheme = _SAME_PROTOCOL.get(parts.scheme.lower(), parts.scheme.lower())
    if scheme == "file" and not outer:
        return local_key(file_url_path(last))
    host, port = _host_port(parts.host.lower())
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        host = f"{host}:{port}"
    path, query = parts.path, parts.query
    if scheme in _DEFAULT_PORTS:
        path = _resolve_dots(_one_escape(path) or "/")
        query = _one_escape(query)
    place = "::".join([*(safe_url(c).lower() for c in outer), f"{scheme}://{host}{path}"])
    return SourceKey(place, query)


def file_url_path(url: str) -> str:
    """The local path a 'file://' URL names: 'file:///p', 'file://localhost/p' and
    'file:/p' alike, percent-escapes decoded (a path with a space is 'file:///a%20b')."""
    parts = split_url(url)
    path = parts.path
    if parts.host and parts.host.lower() != "localhost":
        path = f"{parts.host}{path}"  # 'file://tmp/x' as fsspec reads it: a path
    return "/" + unquote(path).lstrip("/")


def _host_port(authority: str) -> tuple[str, int | None]:
    """'host:port' (an IPv6 address in brackets) as host and port; a port that is not a
    number is kept in the host as written (the backend names the problem)."""
    if authority.startswith("["):
        host, _, rest = authority.partition("]")
        host += "]"
        port_text = rest[1:] if rest.startswith(":") else ""
    else:
        host, colon, port_text = authority.rpartition(":")
        if not colon:
            return authority, None
    if port_text.isdigit():
        return host, int(port_text)
    return authority, None


#: A percent-escape: '%' and two hexadecimal digits.
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
#: Characters a URL never needs to escape (RFC 3986 'unreserved'): '%41' is 'A'.
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def _one_escape(text: str) -> str:
    """Percent-escapes in one form (RFC 3986 6.2.2): an escaped unreserved character as
    the character, every other escape in upper case ('%2f' and '%2F' alike)."""

    def one(match: re.Match[str]) -> str:
        character = chr(int(match.group(1), 16))
        return character if character in _UNRESERVED else f"%{match.group(1).upper()}"

    return _ESCAPE.sub(one, text)


def _resolve_dots(path: str) -> str:
    """'/a/./b/../c' -> '/a/c', as a browser resolves an http path (a trailing '/' kept)."""
    resolved = posixpath.normpath(path)
    resolved = "/" + resolved.lstrip("/") if resolved != "." else "/"
    return resolved + "/" if path.endswith("/") and resolved != "/" else resolved


class Seen:
    """The keys met so far: ``first(key)`` is true once per key (de-duplication in the
    order the inputs came)."""

    def __init__(self) -> None:
        self._keys: set[SourceKey] = set()

    def first(self, key: SourceKey) -> bool:
        if key in self._keys:
            return False
        self._keys.add(key)
        return True
