"""Who works on a job: claims with a lease, renewals, releases, and finding jobs that need a worker.

A lease is ``worker`` (a token unique to one claim) plus ``lease_until``. Every write a worker makes is
guarded by its token, so a worker that lost its lease (it stalled past the lease, another took over)
can no longer change the job. Claims are conditional UPDATEs: two workers racing for a job, or a
duplicated queue message, end with exactly one owner.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from batchctl import jobrows, lifecycle, store
from batchctl.db import Row, Tx
from batchctl.errors import InvalidTransition, NotFound
from batchctl.jobrows import SqlExpr
from batchctl.lifecycle import JobStatus

HOST = socket.gethostname()

# What a job in each status that needs a worker (lifecycle.NEEDS_WORKER) needs, as the wake-up event a
# worker handles.
WAKE_EVENTS = {
    JobStatus.CREATED: "batch.created",
    JobStatus.CONFIRMED: "batch.confirmed",
    JobStatus.PROCESSING: "batch.processing",  # a lease expired or was released: resume
}


def new_token() -> str:
    """A worker token for one claim: host and pid for people, a random part for uniqueness."""
    return f"{HOST}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def lease_columns(token: str, now: datetime, lease: timedelta) -> dict[str, object]:
    """The columns a claim writes."""
    return {"worker": token, "lease_until": now + lease, "heartbeat_at": now, "attempts": SqlExpr("attempts + 1")}


def _take_free_lease(tx: Tx, job_id: str, status: JobStatus, token: str, now: datetime, lease: timedelta) -> Row | None:
    """Lease a job that stays in ``status`` when nobody holds it and no backoff is pending."""
    row = jobrows.take_free_lease(tx, job_id, status.value, token=token, lease_until=now + lease, now=now)
    return None if row is None else store.decode_row(row)


def claim_for_pre_process(tx: Tx, job_id: str, token: str, now: datetime, lease: timedelta) -> Row | None:
    """Take a ``created`` job whose lease is free; None when someone else has it or it moved on."""
    return _take_free_lease(tx, job_id, JobStatus.CREATED, token, now, lease)


def claim_for_process(tx: Tx, job_id: str, token: str, now: datetime, lease: timedelta) -> Row | None:
    """Start a ``confirmed`` job, or resume a ``processing`` one whose lease is free; None otherwise."""
    try:
        started = lifecycle.apply(
            tx, job_id, lifecycle.START_PROCESSING, now=now, set_columns=lease_columns(token, now, lease)
        )
        return store.decode_row(started)
    except InvalidTransition:
        pass
    except NotFound:
        return None
    resumed = _take_free_lease(tx, job_id, JobStatus.PROCESSING, token, now, lease)
    if resumed is None:
        return None
    jobrows.record_event(
        tx,
        job_id,
        "batch.updated",
        now,
        {"action": "resume", "attempt": resumed["attempts"], "checkpoint": resumed["advancement_count"]},
    )
    return resumed


def release(tx: Tx, job_id: str, token: str, now: datetime, *, not_before: datetime | None = None) -> bool:
    """Give a job back without changing its status (graceful stop, retry after backoff)."""
    return jobrows.release(tx, job_id, token, now, not_before=not_before)


def renew(tx: Tx, leases: Sequence[tuple[str, str]], now: datetime, lease: timedelta) -> None:
    """Extend the leases this process holds (the heartbeat)."""
    jobrows.renew(tx, leases, now, now + lease)


def wake_due(tx: Tx, now: datetime, stale_after: timedelta, limit: int = 200) -> list[tuple[str, str]]:
    """Mark and return (event, job id) for jobs that need a worker and have none.

    That is: created/confirmed jobs not woken yet (or woken long ago: the wake-up was lost), and
    processing jobs whose lease expired or was released. Retry backoff (``not_before``) is respected.
    """
    rows = jobrows.mark_woken(tx, lifecycle.NEEDS_WORKER, now, now - stale_after, limit)
    return [(WAKE_EVENTS[JobStatus(row["status"])], row["id"]) for row in rows]


def pending_work(tx: Tx, now: datetime) -> int:
    """How many jobs still need a worker, now or after a backoff (for ``worker --burst``)."""
    return int(
        tx.execute(
            f"SELECT COUNT(*) FROM batch_job WHERE status IN ({jobrows.in_statuses(lifecycle.NEEDS_WORKER)}) "
            "AND (lease_until IS NULL OR lease_until < :now)",
            {"now": now},
        ).scalar()
    )
