"""The one client a CLI process uses: ``batchctl.connect()``, made from the environment on first use.

Commands that only read (``list``, ``show``, ``wait``, …) or need an existing job (``confirm``, …) use
``client()``, which never makes a database: on a path where none exists they fail with exit 5 naming
the path, so a mistyped ``BATCHCTL_DATABASE_URL`` does not look like an empty job list. The commands
that put the first thing in (``create``, ``worker``, ``serve``, ``products seed``, ``schedule add``, …)
use ``creating_client()``.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from batchctl.client import Jobs


@cache
def client() -> Jobs:
    """The process's client (settings read once from the environment); it refuses a missing database."""
    from batchctl.client import connect

    return connect(create_database=False)


def creating_client() -> Jobs:
    """The process's client, allowed to make the database (and its folder) when there is none yet."""
    jobs = client()
    jobs.runtime.create_database = True  # read when the database is first used, which is after this
    return jobs


def close_client() -> None:
    """Close the process's database connection, if the command opened one."""
    if client.cache_info().currsize:
        client().close()
