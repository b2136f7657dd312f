"""The one client a CLI process uses: ``batchctl.connect()``, made from the environment on first use."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from batchctl.client import Jobs


@cache
def client() -> Jobs:
    """The process's client (settings read once from the environment)."""
    from batchctl.client import connect

    return connect()


def close_client() -> None:
    """Close the process's database connection, if the command opened one."""
    if client.cache_info().currsize:
        client().close()
