"""batchctl: long, tracked, confirmable background jobs from the shell, from Python and over HTTP.

The public API: ``connect()`` for applications (see ``batchctl.client``), ``BatchJobStrategy`` and ``Job``
for strategy authors, and the error classes. Names are loaded lazily so that importing ``batchctl`` stays
cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "BackendUnavailable",
    "BadContext",
    "BadInput",
    "BatchJob",
    "BatchJobStrategy",
    "BatchctlError",
    "Event",
    "InvalidTransition",
    "Job",
    "JobCanceled",
    "JobPage",
    "JobStatus",
    "Jobs",
    "NotFound",
    "NotOwner",
    "StatusUnreachable",
    "WaitTimeout",
    "__version__",
    "boolean",
    "check_keys",
    "connect",
    "moment",
    "number",
    "positive_int",
    "string_list",
    "subscriber",
]

if TYPE_CHECKING:
    from batchctl.client import BatchJob, JobPage, Jobs, connect
    from batchctl.contexts import boolean, check_keys, moment, number, positive_int, string_list
    from batchctl.errors import (
        BackendUnavailable,
        BadContext,
        BadInput,
        BatchctlError,
        InvalidTransition,
        JobCanceled,
        NotFound,
        NotOwner,
        StatusUnreachable,
        WaitTimeout,
    )
    from batchctl.events import Event
    from batchctl.lifecycle import JobStatus
    from batchctl.strategy import BatchJobStrategy, Job
    from batchctl.subscribers.api import subscriber

_LAZY = {
    "BatchJobStrategy": "batchctl.strategy",
    "Job": "batchctl.strategy",
    "JobCanceled": "batchctl.errors",
    "BatchctlError": "batchctl.errors",
    "BadInput": "batchctl.errors",
    "BadContext": "batchctl.errors",
    "check_keys": "batchctl.contexts",
    "positive_int": "batchctl.contexts",
    "number": "batchctl.contexts",
    "boolean": "batchctl.contexts",
    "string_list": "batchctl.contexts",
    "moment": "batchctl.contexts",
    "JobStatus": "batchctl.lifecycle",
    "NotFound": "batchctl.errors",
    "InvalidTransition": "batchctl.errors",
    "NotOwner": "batchctl.errors",
    "BackendUnavailable": "batchctl.errors",
    "WaitTimeout": "batchctl.errors",
    "StatusUnreachable": "batchctl.errors",
    "connect": "batchctl.client",
    "Jobs": "batchctl.client",
    "BatchJob": "batchctl.client",
    "JobPage": "batchctl.client",
    "Event": "batchctl.events",
    "subscriber": "batchctl.subscribers.api",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'batchctl' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
