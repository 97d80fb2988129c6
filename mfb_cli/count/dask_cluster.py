"""Which Dask cluster a scan runs on (--dask ADDRESS), and opening and closing it.

Neither NumPy nor Dask is imported here until a client is asked for: --help reads the
address rules from this module.
"""

from __future__ import annotations

import os
import signal
import threading
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ..errors import MfbError, OptionError

if TYPE_CHECKING:
    from collections.abc import Iterator

DASK_EXTRA_HINT = "pip install 'mfb-cli[dask]' (dask[distributed])"

#: How --dask names the cluster, for --help.
ADDRESS_HELP = (
    "'local' or 'local:N' starts a cluster of N worker processes on this machine for the "
    "run [default N: all cores]; 'tcp://HOST:8786' (any scheduler address) uses a running "
    "scheduler, whose workers must read the files under the same paths"
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
            f"Dask address {address!r}: N in local:N must be a number of workers, 1-1024"
        )
    if "://" in text and text.split("://", 1)[1]:
        return text, None
    raise OptionError(
        f"Dask address {address!r}: give 'local', 'local:N' or a scheduler address "
        "'tcp://HOST:PORT'"
    )


def distributed_module() -> Any:
    try:
        import distributed
    except ImportError as error:
        raise DaskMissingError(
            f"the Dask engine needs the 'dask' extra: {DASK_EXTRA_HINT}"
        ) from error
    return distributed


@contextmanager
def dask_client(address: str, timeout: float = 20) -> Iterator[Any]:
    """A ``distributed.Client`` for ``address``; a local cluster it started is closed after.

    A scheduler that does not answer within ``timeout`` seconds is an error naming it.

    Distributed's own log lines (workers starting, tasks cancelled, a worker lost and its
    tasks rerun) are kept to errors, here and in the workers started: the run's messages
    are mfb's.
    """
    scheduler, workers = parse_address(address)
    distributed = distributed_module()
    with _quiet_distributed():
        if scheduler is not None:
            try:
                client = distributed.Client(scheduler, timeout=timeout)
            except OSError as error:
                raise MfbError(f"Dask scheduler {scheduler}: cannot reach it ({error})") from error
            with client:
                yield client
            return
        cluster = None
        try:
            with _ctrl_c_ignored():
                cluster = distributed.LocalCluster(
                    n_workers=workers or default_workers(),
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=":0",  # any free port: runs side by side
                )
            with distributed.Client(cluster) as client:
                yield client
        finally:
            if cluster is not None:
                cluster.close()


@contextmanager
def _quiet_distributed() -> Iterator[None]:
    """Distributed logs errors only, in this process and the worker processes it starts.

    Workers set up their logging when they import distributed, from the environment.
    """
    import logging

    logger = logging.getLogger("distributed")
    level, environ = logger.level, os.environ.get(_LOG_VARIABLE)
    logger.setLevel(logging.ERROR)
    os.environ[_LOG_VARIABLE] = "error"
    try:
        yield
    finally:
        logger.setLevel(level)
        if environ is None:
            os.environ.pop(_LOG_VARIABLE, None)
        else:
            os.environ[_LOG_VARIABLE] = environ


_LOG_VARIABLE = "DASK_LOGGING__DISTRIBUTED"


@contextmanager
def _ctrl_c_ignored() -> Iterator[None]:
    """Ctrl-C is ignored while the cluster starts (seconds), by mfb and the workers it starts.

    Ctrl-C in a terminal reaches the whole process group: the worker processes, which
    inherit the ignored SIGINT, leave stopping to mfb, which cancels the tasks and closes
    them (instead of each printing a traceback). And a cluster interrupted halfway through
    its start cannot be closed cleanly.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


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
