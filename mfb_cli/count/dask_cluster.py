"""Which Dask cluster a scan runs on (--dask ADDRESS), and opening and closing it.

Neither NumPy nor Dask is imported here until a client is asked for: --help reads the
address rules from this module.
"""

from __future__ import annotations

import contextlib
import os
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ..errors import MfbError, OptionError, Param
from ..read.base import cancel

if TYPE_CHECKING:
    from collections.abc import Iterator

DASK_EXTRA_HINT = "pip install 'mfb-cli[dask]' (dask[distributed])"

#: How --dask names the cluster, for --help.
ADDRESS_HELP = (
    "'local' or 'local:N' starts a cluster of N worker processes on this machine for the "
    "run [default N: all cores]; 'tcp://HOST:8786' (or tls://, ws://, wss://) uses a "
    "running scheduler, whose workers must read the files under the same paths"
)


class DaskMissingError(OptionError):
    """The Dask engine asked for without the 'dask' extra installed."""


def parse_address(address: str) -> tuple[str | None, int | None]:
    """(scheduler address, None) or (None, local workers; None for all cores)."""
    text = address.strip()
    if text == "local":
        return None, None
    if text.startswith("local:"):
        count = text.removeprefix("local:")
        if count.isdigit() and 0 < int(count) <= 1024:
            return None, int(count)
        raise OptionError(
            Param("dask", address), ": N in local:N must be a number of workers, 1-1024"
        )
    if "://" in text and text.split("://", 1)[1]:
        return text, None
    raise OptionError(
        Param("dask", address),
        ": give 'local', 'local:N' or a scheduler address 'tcp://HOST:PORT'",
    )


def distributed_module() -> Any:
    try:
        import distributed
    except ImportError as error:
        raise DaskMissingError(
            f"the Dask engine needs the 'dask' extra: {DASK_EXTRA_HINT}"
        ) from error
    return distributed


#: How mfb reaches a scheduler: Dask's network transports. ``inproc://`` lives inside one
#: Python process; ``ucx://`` needs a separate UCX backend.
SCHEMES = ("tcp", "tls", "ws", "wss")


def check_scheduler(address: str) -> None:
    """Refuse, before any connection, a scheduler address mfb cannot reach (OptionError).

    Dask's own parser accepts more (``inproc://``, ``ucx://``, ``tls://`` without TLS
    settings), and fails later, deep in the connection, with an unrelated message.
    """
    scheduler, _ = parse_address(address)
    if scheduler is None:
        return
    from distributed.comm.addressing import parse_address as dask_parse
    from distributed.comm.addressing import parse_host_port

    try:
        scheme, location = dask_parse(scheduler)
        if scheme not in SCHEMES:
            raise OptionError(
                Param("dask", address),
                f": mfb reaches a scheduler over {', '.join(s + '://' for s in SCHEMES)} "
                f"only ({scheme}:// "
                + ("exists inside one Python process" if scheme == "inproc" else "is not one")
                + ")",
            )
        parse_host_port(location)
    except ValueError as error:
        raise OptionError(
            Param("dask", address), f": not a Dask scheduler address ({error})"
        ) from error
    if scheme in ("tls", "wss"):
        security = distributed_module().Security()
        if security.get_connection_args("client").get("ssl_context") is None:
            raise OptionError(
                Param("dask", address),
                f": {scheme}:// needs Dask's TLS settings (distributed.comm.tls.ca-file, "
                "client.cert and client.key in the Dask configuration or its DASK_ "
                "environment variables); none are set",
            )


@contextmanager
def dask_client(address: str, timeout: float = cancel.HANDSHAKE_SECONDS) -> Iterator[Any]:
    """A ``distributed.Client`` for ``address``; a local cluster it started is closed after.

    A scheduler that refuses the connection, or does not answer within ``timeout``
    seconds, is an error naming it; a local cluster runs in a process group of its own
    (``dask_local``), killed at once by Ctrl-C or SIGTERM.

    Distributed's own log lines (tasks cancelled, a worker lost and its tasks rerun, a
    lost scheduler) are silenced here, and kept to errors in the workers a local cluster
    starts (whose logs go to its own file): the run's messages are mfb's.
    """
    scheduler, workers = parse_address(address)
    check_scheduler(address)
    distributed = distributed_module()
    with _quiet_distributed():
        if scheduler is not None:
            with _connected(distributed, scheduler, address, timeout) as client:
                yield client
            return
        from .dask_local import local_cluster

        with (
            local_cluster(workers or default_workers()) as started,
            _connected(distributed, started, address, timeout) as client,
        ):
            yield client


@contextmanager
def _connected(distributed: Any, scheduler: str, address: str, timeout: float) -> Iterator[Any]:
    """A Client of ``scheduler``, connected within ``timeout`` s; closed after, bounded."""
    _reachable(scheduler, address, timeout)
    try:
        client = cancel.call(_client, distributed, scheduler, timeout, timeout=timeout)
    except TimeoutError:
        raise MfbError(
            Param("dask", address),
            f": no Dask scheduler answered within {timeout:g} s (is it a scheduler's address?)",
        ) from None
    except Exception as error:  # any failure to connect: the address's
        reason = str(error).strip() or type(error).__name__
        raise MfbError(
            Param("dask", address), f": cannot connect to a Dask scheduler ({reason})"
        ) from error
    try:
        yield client
    except distributed.client.FutureCancelledError as error:
        # mfb cancels its tasks only on the way out: the scheduler dropped them (it died,
        # or the connection to it was lost).
        raise MfbError(
            Param("dask", address), f": the scheduler dropped the run's tasks ({error.reason})"
        ) from None
    finally:
        with contextlib.suppress(Exception):  # closing: the run's own outcome comes first
            cancel.call(client.close, timeout=timeout)


def _client(distributed: Any, scheduler: str, timeout: float) -> Any:
    return distributed.Client(scheduler, timeout=timeout)


def _reachable(scheduler: str, address: str, timeout: float) -> None:
    """Open and close one TCP connection to the scheduler's host and port, so that a
    refused connection or an unknown host is said at once (Dask retries them until its
    timeout, then reports a timeout)."""
    import socket

    from distributed.comm.addressing import parse_address as dask_parse
    from distributed.comm.addressing import parse_host_port

    host, port = parse_host_port(dask_parse(scheduler)[1])
    try:
        connection = cancel.call(socket.create_connection, (host, port), timeout, timeout=timeout)
    except TimeoutError:
        raise MfbError(Param("dask", address), f": no connection within {timeout:g} s") from None
    except ConnectionRefusedError:
        raise MfbError(
            Param("dask", address), ": connection refused (no scheduler listens there)"
        ) from None
    except socket.gaierror as error:
        raise MfbError(
            Param("dask", address), f": unknown host {host!r} ({error.strerror})"
        ) from None
    except OSError as error:
        raise MfbError(
            Param("dask", address), f": cannot connect ({error.strerror or error})"
        ) from None
    connection.close()


@contextmanager
def _quiet_distributed() -> Iterator[None]:
    """Distributed logs nothing in this process, errors only in the workers it starts.

    Here not even errors: each one the run must know of reaches it as an exception, and a
    lost scheduler makes the client log its failed reconnection. Dask's logging
    configuration gives some loggers (``distributed.client``, tornado's) a level and a
    handler of their own, so each is silenced, not only their parent. Workers set up their
    logging when they import distributed, from the environment.
    """
    import logging

    names = [
        name
        for name in list(logging.root.manager.loggerDict)
        if name.split(".")[0] in ("distributed", "tornado")
    ]
    loggers = [logging.getLogger(name) for name in {"distributed", *names}]
    levels = [logger.level for logger in loggers]
    environ = os.environ.get(_LOG_VARIABLE)
    for logger in loggers:
        logger.setLevel(logging.CRITICAL + 1)
    os.environ[_LOG_VARIABLE] = "error"
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
        if environ is None:
            os.environ.pop(_LOG_VARIABLE, None)
        else:
            os.environ[_LOG_VARIABLE] = environ


_LOG_VARIABLE = "DASK_LOGGING__DISTRIBUTED"


def default_workers() -> int:
    """One worker process per core this process may run on."""
    from .pools import default_jobs

    return default_jobs()


def _has_dashboard() -> bool:
    import importlib.util

    return importlib.util.find_spec("bokeh") is not None


def dashboard_link(client: Any) -> str | None:
    """The Dask dashboard's address, when the scheduler serves one.

    The scheduler lists an HTTP service either way; the dashboard pages exist only where
    bokeh is installed on the scheduler's machine, so that is asked.
    """
    try:
        services = client.scheduler_info().get("services", {})
        served = "dashboard" in services and client.run_on_scheduler(_has_dashboard)
    except Exception:  # an informational line only
        return None
    return str(client.dashboard_link) if served else None
