"""The one Runtime a CLI process uses, built from the environment on first use."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from batchctl.runtime import Runtime


@cache
def runtime() -> Runtime:
    """The process's Runtime (settings read once from the environment)."""
    from batchctl.config import Settings
    from batchctl.runtime import Runtime

    return Runtime(Settings.from_env())


def close_runtime() -> None:
    """Close the process's database connection, if the command opened one."""
    if runtime.cache_info().currsize and "db" in vars(runtime()):
        runtime().db.close()
