"""``Event``: one lifecycle event of a job, as ``Jobs.events`` returns it and as subscribers receive it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any

from batchctl.db import Row, to_datetime

# Every event batchctl records (DESIGN 1.3); subscribers may only ask for these.
EVENT_NAMES = (
    "batch.created",
    "batch.updated",
    "batch.pre_processed",
    "batch.confirmed",
    "batch.processing",
    "batch.completed",
    "batch.canceled",
    "batch.failed",
)


def freeze(value: Any) -> Any:
    """A read-only deep copy of JSON data: mappings become read-only views, lists become tuples."""
    if isinstance(value, Mapping):
        return MappingProxyType({key: freeze(item) for key, item in value.items()})
    if isinstance(value, list | tuple):
        return tuple(freeze(item) for item in value)
    return value


def thaw(value: Any) -> Any:
    """The JSON-ready copy of frozen data (the inverse of ``freeze``)."""
    if isinstance(value, Mapping):
        return {key: thaw(item) for key, item in value.items()}
    if isinstance(value, tuple):
        return [thaw(item) for item in value]
    return value


@dataclass(frozen=True)
class Event:
    """One event in a job's history (``batch.created``, ``batch.confirmed``, …).

    ``job`` is set for subscribers: the job's JSON (as ``show --json`` prints it) when the event is delivered.
    """

    id: int
    job_id: str
    name: str
    at: datetime
    data: Mapping[str, Any]
    job: Mapping[str, Any] | None = None

    @classmethod
    def from_row(cls, row: Row, job: Mapping[str, Any] | None = None) -> Event:
        """An Event from a decoded ``batch_job_event`` row (and, for a subscriber, the job's JSON)."""
        at = to_datetime(row["created_at"])
        assert at is not None
        return cls(
            id=int(row["id"]),
            job_id=row["job_id"],
            name=row["name"],
            at=at,
            data=freeze(row["data"] or {}),
            job=None if job is None else freeze(job),
        )

    def to_json(self) -> dict[str, Any]:
        """The event as ``batchctl events --json`` prints it (with ``job`` when it has one)."""
        from batchctl.store import iso

        shown: dict[str, Any] = {
            "id": self.id,
            "job_id": self.job_id,
            "name": self.name,
            "created_at": iso(self.at),
            "data": thaw(self.data),
        }
        if self.job is not None:
            shown["job"] = thaw(self.job)
        return shown
