"""Label files in object storage and other fsspec URLs (s3://, gs://, az://, hf://, ...).

fsspec and its backends are an optional extra (``pip install 'mfb-cli[remote]'``), imported
only when a URL is given. Credentials come from each backend's own configuration
(environment, profiles); a URL is shown and recorded without any user:password or query
string (safe_url), so a secret typed into a URL never reaches an output or a message.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ...errors import BadMaskError, MfbError
from ..base.urls import safe_url

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    from ..base.budget import ByteBudget, MemberBytes

#: The package each backend needs, for the one-line message when it is missing.
BACKENDS = {
    "s3": "s3fs",
    "s3a": "s3fs",
    "gs": "gcsfs",
    "gcs": "gcsfs",
    "az": "adlfs",
    "abfs": "adlfs",
    "abfss": "adlfs",
    "hf": "huggingface_hub",
    "http": "aiohttp",
    "https": "aiohttp",
}

#: Remote reads in flight at once: reading is I/O bound, so more than the decoding threads.
READ_THREADS = 16


def filesystem(url: str) -> tuple[Any, str]:
    """The fsspec file system of a URL and the path within it; a missing backend named."""
    try:
        import fsspec  # type: ignore[import-untyped]
    except ImportError as error:
        raise MfbError(
            f"{safe_url(url)}: reading URLs needs fsspec; pip install 'mfb-cli[remote]'"
        ) from error
    try:
        fs, path = fsspec.core.url_to_fs(url)
    except ImportError as error:
        schemes = re.findall(r"([a-z0-9+.-]+)(?:::|://)", url.lower())
        needed = sorted({BACKENDS[s] for s in schemes if s in BACKENDS}) or [
            getattr(error, "name", None) or "the backend"
        ]
        raise MfbError(
            f"{safe_url(url)}: reading this URL needs {', '.join(needed)}; "
            f"pip install 'mfb-cli[remote]' (or pip install {' '.join(needed)})"
        ) from error
    except Exception as error:  # an unknown protocol, a chained archive that is missing
        raise MfbError(f"{safe_url(url)}: cannot be opened ({_reason(error)})") from error
    return fs, str(path)


def _reason(error: BaseException) -> str:
    if isinstance(error, FileNotFoundError):
        return "no such object"
    text = " ".join(str(error).split()) or type(error).__name__
    # A backend's message may repeat a URL it was given: keep no secret from it.
    return re.sub(r"[a-z][a-z0-9+.-]*://\S+", lambda m: safe_url(m.group(0)), text)


@dataclass(frozen=True)
class RemoteFile:
    """A label file at a URL: ``base`` as given, ``path`` inside its file system."""

    base: str
    path: str
    size: int

    def __str__(self) -> str:
        fs, root = filesystem(self.base)
        if self.path == root:
            return safe_url(self.base)
        if "::" not in self.base:  # the object's own URL, as the backend spells it
            return safe_url(str(fs.unstrip_protocol(self.path)))
        # A member of a chained archive (tar::s3://b/x.tar): named archive:member.
        relative = self.path[len(root) :].lstrip("/") if self.path.startswith(root) else self.path
        return f"{safe_url(self.base).rstrip('/')}:{relative}"

    def read(self) -> bytes:
        """The file's bytes, in one request (the backend retries transient errors)."""
        fs, _ = filesystem(self.base)
        try:
            return bytes(fs.cat_file(self.path))
        except Exception as error:  # each backend raises its own types
            raise BadMaskError(str(self), f"cannot be read ({_reason(error)})") from error


def list_remote(url: str, matches: Callable[[str], bool]) -> list[RemoteFile]:
    """The files at a URL: the object itself, or those below a prefix that ``matches`` keeps.

    A prefix is listed with one recursive listing (paged by the backend), never one
    request per object; hidden names are left out, as in folders. Sorted by path.
    """
    fs, root = filesystem(url)
    try:
        # A pattern ('*' or '[...]'; '?' starts an http query): one listing, all files kept.
        if "*" in root or "[" in root:
            globbed = fs.glob(root, detail=True)
            matched = [
                RemoteFile(url, path, int(info.get("size") or 0))
                for path, info in sorted(globbed.items())
                if info.get("type") != "directory"
            ]
            if not matched:
                raise MfbError(f"{safe_url(url)}: no object matches")
            return matched
        if fs.isfile(root):
            return [RemoteFile(url, root, int(fs.size(root) or 0))]
        found = fs.find(root, withdirs=False, detail=True)
    except Exception as error:
        raise MfbError(f"{safe_url(url)}: cannot be listed ({_reason(error)})") from error
    files = []
    for path, info in sorted(found.items()):
        relative = path[len(root) :].lstrip("/") if path.startswith(root) else path
        if any(part.startswith(".") for part in relative.split("/")) or not matches(relative):
            continue
        files.append(RemoteFile(url, path, int(info.get("size") or 0)))
    if not found and not fs.exists(root):
        raise MfbError(f"{safe_url(url)}: no such object or prefix")
    stored = getattr(fs, "tar", None)  # fsspec's tar:: file system: its members' order
    if stored is not None and hasattr(stored, "getnames"):
        order = {name.removeprefix("./"): i for i, name in enumerate(stored.getnames())}
        files.sort(key=lambda f: order.get(f.path.lstrip("/"), len(order)))
    return files


def read_url(url: str, what: str, limit: int) -> bytes:
    """At most ``limit`` bytes of a small file at a URL (a colour table, --from file...)."""
    fs, path = filesystem(url)
    try:
        with fs.open(path, "rb") as stream:
            return bytes(stream.read(limit))
    except Exception as error:
        raise MfbError(
            f"{safe_url(url)}: cannot read the {what} file ({_reason(error)})"
        ) from error


def write_url(url: str, data: bytes) -> None:
    """Write the complete output in one put: a failed run leaves no object behind."""
    fs, path = filesystem(url)
    try:
        fs.pipe_file(path, data)
    except Exception as error:
        raise MfbError(f"{safe_url(url)}: cannot be written ({_reason(error)})") from error


def fetch_remote(
    pairs: Iterable[tuple[object, MemberBytes | BadMaskError | None]],
    budget: ByteBudget,
    max_bytes: int | None,
    threads: int = READ_THREADS,
) -> Iterator[tuple[Any, MemberBytes | BadMaskError | None]]:
    """``pairs`` with the bytes of each RemoteFile read on ``threads`` threads, in order.

    Sizes come from the listing, so each file's bytes are taken from the run's budget
    before it is read; a file ahead is handed on before waiting for room, so the reads
    waiting here never hold the budget the decoders need.
    """
    from ..base.budget import MemberBytes

    def read(item: RemoteFile) -> MemberBytes | BadMaskError:
        try:
            data = item.read()
        except BadMaskError as error:
            budget.give(item.size)
            return error
        except BaseException:
            budget.give(item.size)
            raise
        # The listing's size is what was taken; the bytes read are what is held.
        if len(data) != item.size:
            budget.take(max(0, len(data) - item.size))
            budget.give(max(0, item.size - len(data)))
        return MemberBytes(data, budget, len(data))

    from concurrent.futures import Future, ThreadPoolExecutor  # only when reading URLs

    pending: deque[tuple[Any, Future[MemberBytes | BadMaskError] | Any]] = deque()
    with ThreadPoolExecutor(threads, thread_name_prefix="mfb-remote") as pool:

        def oldest() -> tuple[Any, MemberBytes | BadMaskError | None]:
            source, value = pending.popleft()
            return source, value.result() if isinstance(value, Future) else value

        for source, lent in pairs:
            if not isinstance(source, RemoteFile):
                pending.append((source, lent))
            elif max_bytes is not None and source.size > max_bytes:
                pending.append((source, too_large(str(source), source.size, max_bytes)))
            elif "::" in source.base:
                # A chained archive's members share one file handle: read here, in order.
                while pending:
                    yield oldest()
                budget.take(source.size)
                pending.append((source, read(source)))
            else:
                while pending and (
                    len(pending) >= threads or budget.used + source.size > budget.limit
                ):
                    yield oldest()
                budget.take(source.size)
                pending.append((source, pool.submit(read, source)))
            while pending and not isinstance(pending[0][1], Future):
                yield oldest()
        while pending:
            yield oldest()


def too_large(name: str, size: int, max_bytes: int) -> BadMaskError:
    """A file refused unread: larger than any mask within --max-pixels could be."""
    from ...errors import Param

    return BadMaskError(
        name,
        f"is {size} bytes, more than any mask within ",
        Param("max_pixels"),
        f" takes ({max_bytes}); raise ",
        Param("max_pixels"),
        " if the file is genuine",
    )
