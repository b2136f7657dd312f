"""The one Runtime a CLI process uses, built from the environment on first use."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from batchctl.service import Runtime


@cache
def runtime() -> Runtime:
    """The process's Runtime (settings read once from the environment)."""
    from batchctl.config import Settings
    from batchctl.service import Runtime

    return Runtime(Settings.from_env())
