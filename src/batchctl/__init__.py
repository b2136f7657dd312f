"""batchctl: long, tracked, confirmable background jobs from the shell.

The public API for strategy authors. Names are loaded lazily so that importing ``batchctl`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "BadInput",
    "BatchJobStrategy",
    "BatchctlError",
    "Job",
    "JobCanceled",
    "JobStatus",
    "__version__",
]

if TYPE_CHECKING:
    from batchctl.errors import BadInput, BatchctlError, JobCanceled
    from batchctl.lifecycle import JobStatus
    from batchctl.strategy import BatchJobStrategy, Job

_LAZY = {
    "BatchJobStrategy": "batchctl.strategy",
    "Job": "batchctl.strategy",
    "JobCanceled": "batchctl.errors",
    "BatchctlError": "batchctl.errors",
    "BadInput": "batchctl.errors",
    "JobStatus": "batchctl.lifecycle",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'batchctl' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
