"""Why a remote read failed, in a few words, and whose fault it was.

A failure is the object's (missing, denied, damaged: a bad file, which --skip-bad may
skip) or the network's and the server's (no connection, a timeout, a transfer under the
minimum rate, a 5xx or 429 status, no range requests: the run stops, since skipping
would change the counts with the data not at fault). Each backend raises its own types;
they are told apart by name, so that none of them is imported to ask.
"""

from __future__ import annotations

import errno

from ...errors import BadMaskError, MfbError
from ..base import cancel
from ..base.throughput import too_slow
from ..base.urls import safe_text

#: Type names of deadline and connection failures, across aiohttp, botocore and fsspec.
_TIMEOUTS = {"TimeoutError", "FSTimeoutError", "ServerTimeoutError", "ConnectTimeoutError",
             "ReadTimeoutError", "ConnectTimeout", "ReadTimeout"}  # fmt: skip
_NO_CONNECTION = {"ClientConnectorError", "EndpointConnectionError", "ConnectionError",
                  "ServerDisconnectedError", "ClientOSError", "ClientPayloadError",
                  "ConnectionResetError", "ConnectionRefusedError"}  # fmt: skip


def _chain(error: BaseException) -> list[BaseException]:
    """The error and every error it was raised from or while handling, outermost first."""
    found: list[BaseException] = []
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop(0)
        if current is None or any(current is seen for seen in found):
            continue
        found.append(current)
        pending += [current.__cause__, current.__context__]
    return found


def _named(error: BaseException, names: set[str]) -> bool:
    return any(kind.__name__ in names for kind in type(error).__mro__)


def reason(error: BaseException, url: str = "") -> str:
    """Why a remote call failed, in a few words: connection refused, timed out, an HTTP
    status, no such object, access denied; else the backend's own message, made safe."""
    chain = _chain(error)
    for current in chain:
        slow = too_slow(current)
        if slow is not None:
            return slow
    for current in chain:
        if _named(current, {"RedirectRefused"}):
            return str(current)
        if _named(current, {"TooManyRedirects"}):
            return "too many redirects (a redirect loop?)"
        if _named(current, {"NonHttpUrlRedirectClientError", "InvalidUrlRedirectClientError"}):
            return "redirected to a URL that is not http(s); not followed"
        if _named(current, {"ContentLengthError"}):
            return "the reply ended before the length its server announced"
        if isinstance(current, ValueError) and "URL" in str(current):
            return f"not a valid URL ({safe_text(str(current), url)})"
    for current in chain:
        if _named(current, _TIMEOUTS):
            return f"timed out: no answer within {cancel.READ_SECONDS:g} s"
    for current in chain:
        os_error = getattr(current, "os_error", current)  # aiohttp keeps the OSError aside
        if isinstance(os_error, ConnectionRefusedError) or (
            isinstance(os_error, OSError) and os_error.errno == errno.ECONNREFUSED
        ):
            return "connection refused"
        if _named(current, _NO_CONNECTION):
            return f"cannot connect ({safe_text(str(current), url) or type(current).__name__})"
    for current in chain:
        status = getattr(current, "status", None)
        if isinstance(status, int) and status >= 400 and status != 404:
            message = getattr(current, "message", "") or ""
            return f"HTTP status {status}{f' {message}' if message else ''}"
        response = getattr(current, "response", None)  # botocore's ClientError
        if isinstance(response, dict) and "Error" in response:
            code = response["Error"].get("Code", "")
            status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code not in ("404", "NoSuchKey", "NoSuchBucket"):
                return f"{code} (HTTP status {status})" if status else str(code)
    if isinstance(error, FileNotFoundError) or any(isinstance(e, FileNotFoundError) for e in chain):
        return "no such object"
    if isinstance(error, PermissionError):
        return "access denied"
    return safe_text(str(error), url) or type(error).__name__


def is_network_failure(error: BaseException) -> bool:
    """Whether a failed read is the network's or the server's doing (no connection, a
    timeout, a transfer under the minimum rate, a server error 5xx or 429, no range
    requests), not the object's: then no object is skipped as bad for it."""
    for current in _chain(error):
        if (
            _named(current, _TIMEOUTS | _NO_CONNECTION | {"RangesRefused"})
            or isinstance(current, ConnectionError)
            or too_slow(current) is not None
        ):
            return True
        status = getattr(current, "status", None)
        response = getattr(current, "response", None)
        if isinstance(response, dict):
            status = response.get("ResponseMetadata", {}).get("HTTPStatusCode", status)
        if isinstance(status, int) and (status >= 500 or status == 429):
            return True
    return False


def read_failure(name: str, error: BaseException, url: str) -> MfbError:
    """The error for a read that failed: a BadMaskError when the object is at fault,
    an MfbError (never skipped) when the network is."""
    if isinstance(error, MfbError):
        return error
    if isinstance(error, MemoryError):
        return MfbError(f"{name}: out of memory while reading it")
    text = f"cannot be read ({reason(error, url)})"
    if is_network_failure(error):
        return MfbError(f"{name}: {text}")
    return BadMaskError(name, text)
