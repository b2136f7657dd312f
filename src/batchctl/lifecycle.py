"""THE state machine: statuses, the transition table, and the one function that applies a transition.

Every transition is one conditional ``UPDATE … WHERE id = ? AND status IN (…)`` plus an event row, in
the caller's transaction (the statement is ``jobrows.transition``). When two clients race, exactly one
UPDATE matches; the loser reads the status it lost to and gets the refusal message of docs/lifecycle.md
(Statuses and transitions). Nothing else in batchctl decides ``status`` or the status timestamps.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from itertools import pairwise
from typing import Any

from batchctl import jobrows
from batchctl.db import Row, Tx
from batchctl.errors import InvalidTransition, NotFound, NotOwner


class JobStatus(StrEnum):
    """The statuses of a batch job, in lifecycle order."""

    CREATED = "created"
    PRE_PROCESSED = "pre_processed"
    CONFIRMED = "confirmed"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELED = "canceled"

    @property
    def timestamp_column(self) -> str:
        """The column holding the time this status was reached."""
        return f"{self.value}_at"

    @property
    def is_terminal(self) -> bool:
        """Whether a job in this status is finished for good (``retry`` aside)."""
        return self in TERMINAL


TERMINAL = frozenset({JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELED})
ACTIVE = frozenset(JobStatus) - TERMINAL
# A job in these needs a worker: to pre-process it, to process it, or to resume it (a lease ran out).
NEEDS_WORKER = frozenset({JobStatus.CREATED, JobStatus.CONFIRMED, JobStatus.PROCESSING})

# Medusa derives the status from the timestamps: the first one set, in this order, wins.
PRECEDENCE = (
    JobStatus.FAILED,
    JobStatus.CANCELED,
    JobStatus.COMPLETED,
    JobStatus.PROCESSING,
    JobStatus.CONFIRMED,
    JobStatus.PRE_PROCESSED,
    JobStatus.CREATED,
)
TIMESTAMP_COLUMNS = tuple(status.timestamp_column for status in JobStatus)


def derive_status(row: Mapping[str, Any]) -> JobStatus:
    """The status Medusa would derive from a row's timestamps."""
    for status in PRECEDENCE:
        if row.get(status.timestamp_column) is not None:
            return status
    return JobStatus.CREATED


@dataclass(frozen=True)
class Transition:
    """One move of the state machine: where it may start, where it lands, what it announces."""

    action: str
    target: JobStatus
    sources: frozenset[JobStatus]
    event: str
    refusal_template: str
    # Timestamps cleared by the move, so that the status derived from them stays the target.
    clears: tuple[JobStatus, ...] = ()
    owner_only: bool = False
    # The job needs a worker again after this move: forget the last wake-up so the dispatcher sends one.
    needs_worker: bool = False
    # Whether the move stamps the target's timestamp; a retry back to `created` keeps the creation time.
    stamps_target: bool = True
    refusals_by_status: Mapping[JobStatus, str] = field(default_factory=dict)

    def refusal(self, current: JobStatus) -> str:
        """The exact message for refusing this move from ``current``."""
        template = self.refusals_by_status.get(current, self.refusal_template)
        return template.format(status=current.value)


def _statuses(*names: JobStatus) -> frozenset[JobStatus]:
    return frozenset(names)


PRE_PROCESS = Transition(
    "pre_process",
    JobStatus.PRE_PROCESSED,
    _statuses(JobStatus.CREATED),
    "batch.pre_processed",
    "Cannot mark a batch job as pre processed if it is not in created status",
)
CONFIRM = Transition(
    "confirm",
    JobStatus.CONFIRMED,
    _statuses(JobStatus.PRE_PROCESSED),
    "batch.confirmed",
    "Cannot confirm processing for a batch job that is not pre processed",
    owner_only=True,
    needs_worker=True,
)
AUTO_CONFIRM = Transition(
    "auto_confirm",
    JobStatus.CONFIRMED,
    _statuses(JobStatus.PRE_PROCESSED),
    "batch.confirmed",
    CONFIRM.refusal_template,
)
START_PROCESSING = Transition(
    "start_processing",
    JobStatus.PROCESSING,
    _statuses(JobStatus.CONFIRMED),
    "batch.processing",
    "Cannot mark a batch job as processing if the status is different that confirmed",
)
COMPLETE = Transition(
    "complete",
    JobStatus.COMPLETED,
    _statuses(JobStatus.PROCESSING),
    "batch.completed",
    'Cannot complete a batch job with status "{status}". The batch job must be processing',
)
CANCEL = Transition(
    "cancel",
    JobStatus.CANCELED,
    frozenset(ACTIVE),
    "batch.canceled",
    "Cannot cancel {status} batch job",
    owner_only=True,
)
FAIL = Transition(
    "fail",
    JobStatus.FAILED,
    frozenset(ACTIVE),
    "batch.failed",
    "Cannot fail a batch job with status {status}",
)
# A retry puts work back: a job that failed after confirmation resumes processing from its checkpoint,
# one that failed earlier is pre-processed again.
RETRY_PROCESSING = Transition(
    "retry",
    JobStatus.CONFIRMED,
    _statuses(JobStatus.FAILED),
    "batch.updated",
    "Cannot retry a batch job with status {status}; only failed batch jobs can be retried",
    clears=(JobStatus.FAILED, JobStatus.PROCESSING),
    owner_only=True,
    needs_worker=True,
)
RETRY_PRE_PROCESSING = Transition(
    "retry",
    JobStatus.CREATED,
    _statuses(JobStatus.FAILED),
    "batch.updated",
    RETRY_PROCESSING.refusal_template,
    clears=(JobStatus.FAILED, JobStatus.PRE_PROCESSED, JobStatus.CONFIRMED, JobStatus.PROCESSING),
    owner_only=True,
    needs_worker=True,
    stamps_target=False,
)


def apply(
    tx: Tx,
    job_id: str,
    transition: Transition,
    *,
    now: datetime,
    user: str | None = None,
    worker: str | None = None,
    set_columns: Mapping[str, Any] | None = None,
    event_data: Mapping[str, Any] | None = None,
) -> Row:
    """Apply ``transition`` to one job as a single conditional UPDATE; return the updated row.

    ``user`` restricts the move to the job's owner; ``worker`` to the worker holding its lease.
    Refused moves change nothing and raise InvalidTransition (or NotFound / NotOwner).
    """
    return apply_chain(
        tx, job_id, [(transition, event_data)], now=now, user=user, worker=worker, set_columns=set_columns
    )


Step = tuple[Transition, Mapping[str, Any] | None]  # a transition and extra data for its event


def apply_chain(
    tx: Tx,
    job_id: str,
    steps: Sequence[Step],
    *,
    now: datetime,
    user: str | None = None,
    worker: str | None = None,
    set_columns: Mapping[str, Any] | None = None,
) -> Row:
    """Apply consecutive transitions (each landing where the next may start) as one conditional UPDATE.

    The job ends in the last one's status with every step's timestamps and events, exactly as if the
    steps had been applied one by one in this transaction; it is refused as the first step would be.
    """
    first = steps[0][0]
    for (before, _), (after, _) in pairwise(steps):
        if before.target not in after.sources:
            raise ValueError(f"{after.action} cannot follow {before.action}")
    sets: dict[str, Any] = {"updated_at": now}
    for transition, _ in steps:
        if transition.stamps_target:
            sets[transition.target.timestamp_column] = now
        sets.update({status.timestamp_column: None for status in transition.clears})
        if transition.needs_worker:
            sets["woken_at"] = None
    sets.update(set_columns or {})
    row = jobrows.transition(
        tx,
        job_id,
        target=steps[-1][0].target.value,
        sources=[status.value for status in first.sources],
        sets=sets,
        owner=user if first.owner_only else None,
        worker=worker,
        events=[(transition.event, {"status": transition.target.value, **(data or {})}) for transition, data in steps],
        now=now,
    )
    if row is None:
        raise _refusal(tx, job_id, first, user)
    return row


def _refusal(tx: Tx, job_id: str, transition: Transition, user: str | None) -> InvalidTransition:
    """The refusal of a move that matched nothing, carrying the job as it found it (or NotFound)."""
    row = tx.execute("SELECT * FROM batch_job WHERE id = :id", {"id": job_id}).one_or_none()
    if row is None:
        raise NotFound(f"Batch job with id {job_id} was not found")
    job = jobrows.decode_row(row)
    current, owner = JobStatus(job["status"]), job["created_by"]
    if user is not None and transition.owner_only and owner != user:
        return NotOwner(current=current, owner=owner, job=job)
    return InvalidTransition(transition.refusal(current), current=current, owner=owner, job=job)
