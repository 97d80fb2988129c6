"""A command's scan on the Dask cluster of --dask, with the dashboard's address on stderr."""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from .._types import Int64Array
    from ..count.counts import ClassCounts
    from ..errors import BadMaskError
    from ..read.base.chunks import LabelHeader
    from ..read.sources.archives import LabelSource
    from .options import ScanRequest


def count_on_dask(
    scan: ScanRequest,
    files: Sequence[LabelSource],
    check: Callable[[LabelSource, Int64Array], None] | None,
    on_task: Callable[[int, int], None],
    on_skip: Callable[[LabelSource, BadMaskError], None],
    on_image: Callable[[LabelSource, Int64Array, Int64Array], None] | None = None,
    on_components: Callable[[LabelSource, Int64Array], None] | None = None,
    on_header: Callable[[LabelSource, LabelHeader], None] | None = None,
) -> ClassCounts:
    """Count ``files`` on the cluster --dask names; a cluster started here is closed after."""
    from ..count.dask_cluster import dask_client
    from ..count.dask_engine import count_masks_dask

    assert scan.dask is not None
    with dask_client(scan.dask) as client:
        _tell_dashboard(client, scan)
        return count_masks_dask(
            files,
            client,
            read=scan.read,
            check=check,
            on_task=on_task,
            skip_bad=scan.skip_bad,
            on_skip=on_skip,
            on_image=on_image,
            geometry=scan.geometry,
            on_components=on_components,
            on_header=on_header,
        )


@contextmanager
def check_inspector(scan: ScanRequest) -> Iterator[Any]:
    """``mfb check``'s inspector on the cluster --dask names, or None for a local check."""
    if scan.dask is None:
        yield None
        return
    from ..count.dask_cluster import dask_client
    from ..count.dask_engine import dask_inspector

    with dask_client(scan.dask) as client:
        _tell_dashboard(client, scan)
        yield dask_inspector(client)


def _tell_dashboard(client: Any, scan: ScanRequest) -> None:
    from ..count.dask_cluster import dashboard_link

    link = dashboard_link(client)
    if link is not None and not scan.quiet:
        click.echo(f"dask: dashboard at {link}", err=True)
