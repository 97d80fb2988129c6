"""How a PATH argument is told to be a URL, and the one way any source becomes text.

Text rules only, apart from the fsspec reading in read/sources/remote.py: every command
asks whether a path is a URL and prints paths, and must not import the remote readers
for it. ``shown_path`` is how every output, message, repr and page names a source: a URL
without the credentials and query string it may hold.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

#: A URL as fsspec reads it: 'scheme://...', or chained 'zip::s3://...'.
_URL = re.compile(r"^[a-z][a-z0-9+.-]*(::[a-z][a-z0-9+.-]*)*://", re.IGNORECASE)


def is_url(text: object) -> bool:
    """Whether a PATH argument is a URL read through fsspec (a local path never is)."""
    return isinstance(text, str) and _URL.match(text) is not None


#: Where a chained URL ('zip::s3://...', 'zip://inner::s3://...') may join two URLs: '::'
#: followed by a protocol's name. It does when fsspec knows that protocol and the last
#: piece is a URL; a '::' anywhere else (in a query value, a password) joins nothing.
_CHAIN = re.compile(r"::(?=([a-z][a-z0-9+.-]*)(?:::|://))", re.IGNORECASE)


def chain(url: str) -> list[str]:
    """The URLs a chained URL joins, outermost first (one for a plain URL)."""
    pieces: list[str] = []
    start = 0
    for match in _CHAIN.finditer(url):
        if _is_protocol(match.group(1).lower()):
            pieces.append(url[start : match.start()])
            start = match.end()
    pieces.append(url[start:])
    return pieces if len(pieces) == 1 or "://" in pieces[-1] else [url]


def _is_protocol(name: str) -> bool:
    """Whether fsspec reads ``name`` as a protocol (any name, without fsspec)."""
    try:
        from fsspec.registry import known_implementations, registry  # type: ignore[import-untyped]
    except ImportError:
        return True
    return name in known_implementations or name in registry


class UrlParts(NamedTuple):
    """One piece of a URL, split without ever failing: ``host`` keeps its port."""

    scheme: str
    userinfo: str
    host: str
    path: str
    query: str
    fragment: str
    #: '?query#fragment' exactly as written ('' without either).
    tail: str


def split_url(piece: str) -> UrlParts:
    """'scheme://user:pw@host:port/path?query#fragment' in parts, for any text.

    urllib's urlsplit raises on a password holding '[' or ']' (and its message quotes the
    password). Here the authority runs to the first '/', '?' or '#'; an authority that
    cannot be a host (a ':' not followed by a port) runs on to the next '@', so a password
    with an unencoded '/' or '?' still counts as the password, never as the path.
    """
    scheme, found, rest = piece.partition("://")
    if not found:
        return UrlParts("", "", "", piece, "", "", "")
    end = _first_of(rest, "/?#", 0)
    authority = rest[:end]
    while _not_a_host(authority):
        at = rest.find("@", end)
        if at < 0:
            break
        end = _first_of(rest, "/?#", at)
        authority = rest[:end]
    userinfo, _, host = authority.rpartition("@")
    after = rest[end:]
    path_end = _first_of(after, "?#", 0)
    path, tail = after[:path_end], after[path_end:]
    query, fragment = "", ""
    if tail.startswith("?"):
        query, _, fragment = tail[1:].partition("#")
    elif tail.startswith("#"):
        fragment = tail[1:]
    return UrlParts(scheme, userinfo, host, path, query, fragment, tail)


def _first_of(text: str, characters: str, start: int) -> int:
    found = [i for i in (text.find(c, start) for c in characters) if i >= 0]
    return min(found) if found else len(text)


def _not_a_host(authority: str) -> bool:
    """Whether an authority ends in no host: 'user:pass' (a ':' followed by no port
    number), or 'user:pa@' (a password holding '#', '/' or '?' cut it short)."""
    _, at, host = authority.rpartition("@")
    if at and not host:
        return True
    if host.startswith("["):
        return False
    _, colon, port = host.rpartition(":")
    return bool(colon) and not port.isdigit()


def safe_url(url: str) -> str:
    """The URL without user:password@ or query string and fragment (where signed URLs keep
    secrets), in every piece of a chained URL ('zip::s3://...').

    A password holds '/', '?' and '#' percent-encoded, as in any URL (fsspec reads it so
    too); '@' and ':' may stand in it. A path may hold '@' (hf://datasets/x@revision/...).
    A query runs to the end of its piece of a chained URL (see chain).
    """
    return "::".join(_safe_piece(piece) for piece in chain(url))


def _safe_piece(piece: str) -> str:
    parts = split_url(piece)
    if not parts.scheme:
        return piece
    return f"{parts.scheme}://{parts.host}{parts.path}"


def pattern_text(url: str) -> str:
    """The part of a URL where a glob ('*', '[...]') may stand: its paths, never a
    password, query or fragment (a token holding '*' is no pattern)."""
    return "::".join(split_url(piece).path for piece in chain(url))


def expand_outside_secrets(url: str, expand: Callable[[str], Iterable[str]]) -> Iterator[str]:
    """``expand`` (brace ranges) applied to a URL's hosts and paths only: each password,
    query and fragment stays exactly as written, whatever braces it holds."""
    kept: list[str] = []

    def hide(piece: str) -> str:
        parts = split_url(piece)
        if not parts.scheme:
            return piece
        user = ""
        if parts.userinfo:
            kept.append(parts.userinfo)
            user = f"\0{len(kept) - 1}\0@"
        tail = ""
        if parts.tail:
            kept.append(parts.tail)
            tail = f"\0{len(kept) - 1}\0"
        return f"{parts.scheme}://{user}{parts.host}{parts.path}{tail}"

    hidden = "::".join(hide(piece) for piece in chain(url))
    for one in expand(hidden):
        yield re.sub("\0(\\d+)\0", lambda m: kept[int(m.group(1))], one)


def shown_path(path: object) -> str:
    """Any source as shown and recorded: a PATH argument, an output, a label source.

    The one way a source becomes text: a URL loses its secrets; a label source (an
    archive member, an object at a URL, a parquet row) prints its own safe name; a
    path prints as a path.
    """
    return safe_url(path) if isinstance(path, str) and is_url(path) else str(path)


#: A URL inside free text (a backend's error message): to the next blank or quote.
_URL_IN_TEXT = re.compile(r"[a-z][a-z0-9+.-]*(?:::[a-z][a-z0-9+.-]*)*://[^\s'\"<>]+", re.I)


def safe_text(text: str, *secret_of: str) -> str:
    """Free text (a backend's message) on one line, every URL in it without its secrets,
    and the credentials and query of each URL in ``secret_of`` blanked wherever else they
    stand (a backend may quote a password or a token on its own)."""
    text = " ".join(text.split())
    # Each secret on one line as the text is (a password's run of blanks is one blank).
    secrets = {" ".join(s.split()) for url in secret_of for s in _secrets(url)}
    for secret in sorted((s for s in secrets if len(s) >= 4), key=len, reverse=True):
        text = text.replace(secret, "***")
    return _URL_IN_TEXT.sub(lambda m: safe_url(m.group(0)), text)


def _secrets(url: str) -> set[str]:
    """The pieces of a URL that are secret: user, password, query and its values."""
    found: set[str] = set()
    for piece in chain(url):
        parts = split_url(piece)
        if not parts.scheme:
            continue
        userinfo = parts.userinfo
        found.update(s for s in (userinfo, *userinfo.split(":", 1)) if s)
        for extra in (parts.query, parts.fragment):
            if extra:
                found.add(extra)
                found.update(v for _, _, v in (p.partition("=") for p in extra.split("&")) if v)
    # Short pieces ('1', 'a') would blank ordinary words: a secret is 4 characters or more.
    return {s for s in found if len(s) >= 4}


class RemoteName(str):
    """A URL as named in messages (no secrets), with a Path's ``suffix``."""

    @property
    def suffix(self) -> str:
        return PurePosixPath(split_url(chain(self)[0]).path).suffix


def named(path: Path | str) -> Path | RemoteName:
    """How a file given as a Path or URL is named in messages (a URL without secrets)."""
    return RemoteName(safe_url(path)) if isinstance(path, str) and is_url(path) else Path(path)
