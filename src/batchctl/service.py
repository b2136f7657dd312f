"""The job use cases behind the public client: create, confirm, cancel, retry, get, list, events, wait.

Each takes the Runtime and, where ownership matters, the acting ``user`` (the settings' user when omitted).
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from datetime import datetime
from typing import Any

from batchctl import bounds, creation, files, lifecycle, store
from batchctl.db import Row, utcnow
from batchctl.errors import BadInput, InvalidTransition, StatusUnreachable, WaitTimeout
from batchctl.lifecycle import JobStatus
from batchctl.runtime import Runtime

JOB_ID = re.compile(r"^batch_[0-9A-HJKMNP-TV-Z]{26}\Z")  # \Z, not $: "$" lets a trailing newline in


def check_job_id(job_id: str) -> str:
    """Refuse ids that cannot be batch job ids before asking the database."""
    if not JOB_ID.fullmatch(job_id):
        raise BadInput(f"invalid batch job id {job_id!r}: expected 'batch_' followed by a 26-character ULID")
    return job_id


def create_job(
    rt: Runtime,
    batch_type: str,
    context: dict[str, Any],
    *,
    dry_run: bool,
    user: str | None = None,
    schedule: str | None = None,
    scheduled_for: datetime | None = None,
    idempotency_key: str | None = None,
) -> Row:
    """Validate the context with the strategy's ``prepare``, then write the job and ``batch.created``.

    With an ``idempotency_key``, a second create by the same user with the same key returns the first job:
    the key is recorded in the job's own transaction, so either both exist or neither does.
    """
    prepared = creation.prepare_context(rt.registry(), batch_type, context)
    now = utcnow()
    row = creation.new_job_row(
        batch_type,
        prepared,
        dry_run=dry_run,
        user=user or rt.settings.user,
        now=now,
        schedule=schedule,
        scheduled_for=scheduled_for,
    )
    file_store = files.FileStore(rt.settings.files_dir)

    # Each input's record commits before its copy starts (files.py), in its own transaction.
    def record(key: str, role: files.Role) -> None:
        with rt.db.transaction() as tx:
            files.record(tx, row["id"], key, role, now)

    def forget(key: str) -> None:
        with rt.db.transaction() as tx:
            files.forget(tx, row["id"], [key])

    staged = creation.stage_inputs(rt.registry(), file_store, row, record=record, forget=forget)
    try:
        with rt.db.transaction() as tx:
            earlier = None
            if idempotency_key is not None:
                earlier = store.find_idempotent_job(tx, row["created_by"], idempotency_key)
                if earlier is None and not store.claim_idempotency_key(
                    tx, row["created_by"], idempotency_key, row["id"], now
                ):
                    earlier = store.find_idempotent_job(tx, row["created_by"], idempotency_key)
            written = earlier if earlier is not None else creation.insert_job(tx, row, now)
    except BaseException:
        files.discard(file_store, staged, forget)
        raise
    if earlier is not None:  # the first job stands, with its own files: this one's copies go
        files.discard(file_store, staged, forget)
    return written


def confirm_job(rt: Runtime, job_id: str, *, user: str | None = None) -> Row:
    """pre_processed → confirmed, for the job's owner, unless pre-processing blocked it.

    A strategy blocks confirmation by setting ``result.confirm_blocked`` to the reason (product-import
    does, for a file with errors); the result no longer changes once the job is pre-processed.
    """
    check_job_id(job_id)
    actor = user or rt.settings.user
    with rt.db.transaction() as tx:
        row = store.decode_row(lifecycle.apply(tx, job_id, lifecycle.CONFIRM, now=utcnow(), user=actor))
        blocked = (row.get("result") or {}).get("confirm_blocked")
        if blocked:  # raised inside the transaction: the confirm just written rolls back
            raise InvalidTransition(str(blocked), current=JobStatus.PRE_PROCESSED, owner=row["created_by"])
        return row


def cancel_job(rt: Runtime, job_id: str, *, user: str | None = None) -> Row:
    """Cancel an unfinished job (a no-op on a canceled one); a running process stops at its next advance."""
    check_job_id(job_id)
    actor = user or rt.settings.user
    with rt.db.transaction() as tx:
        try:
            row = lifecycle.apply(
                tx,
                job_id,
                lifecycle.CANCEL,
                now=utcnow(),
                user=actor,
                set_columns={"lease_until": None, "not_before": None},
            )
        except InvalidTransition as refusal:
            if refusal.current is JobStatus.CANCELED and refusal.owner == actor and refusal.job:
                return refusal.job
            raise refusal from None
        return store.decode_row(row)


def retry_job(rt: Runtime, job_id: str, *, user: str | None = None) -> Row:
    """Put a failed job back to work with a fresh set of attempts; processing resumes from its checkpoint."""
    check_job_id(job_id)
    actor = user or rt.settings.user
    with rt.db.transaction() as tx:
        current = store.get_job(tx, job_id)
        transition = lifecycle.RETRY_PROCESSING if current.get("confirmed_at") else lifecycle.RETRY_PRE_PROCESSING
        row = lifecycle.apply(
            tx,
            job_id,
            transition,
            now=utcnow(),
            user=actor,
            set_columns={"worker": None, "lease_until": None, "not_before": None, "attempts": 0},
            event_data={"action": "retry", "by": actor},
        )
        return store.decode_row(row)


def start_warning(rt: Runtime) -> str | None:
    """Why work just created or confirmed will wait (no live worker, or none reaching the queue), or None."""
    from datetime import timedelta

    from batchctl import presence

    stale_after = timedelta(seconds=2 * rt.settings.lease_seconds)
    with rt.db.transaction(write=False) as tx:
        return presence.start_warning(presence.live_workers(tx, now=utcnow(), stale_after=stale_after))


def get_job(rt: Runtime, job_id: str) -> Row:
    """One job."""
    check_job_id(job_id)
    with rt.db.transaction(write=False) as tx:
        return store.get_job(tx, job_id)


def list_jobs(rt: Runtime, selection: store.JobFilter) -> tuple[list[Row], int]:
    """A page of jobs and how many match in all."""
    bounds.LIMIT.check("limit", selection.limit)
    bounds.OFFSET.check("offset", selection.offset)
    if selection.order.lstrip("-") not in store.ORDERABLE:
        raise BadInput(
            f"cannot order by {selection.order!r}; use one of: " + ", ".join(f"{c}, -{c}" for c in store.ORDERABLE)
        )
    unknown = [s for s in selection.statuses if s not in set(JobStatus)]
    if unknown:
        raise BadInput(f"unknown status {unknown[0]!r}; expected one of: {', '.join(JobStatus)}")
    with rt.db.transaction(write=False) as tx:
        return store.list_jobs(tx, selection)


def list_events(rt: Runtime, job_id: str, after_id: int = 0) -> list[Row]:
    """A job's events after ``after_id``; NotFound for an unknown job."""
    check_job_id(job_id)
    with rt.db.transaction(write=False) as tx:
        store.get_job(tx, job_id)
        return store.list_events(tx, job_id, after_id)


def follow_events(rt: Runtime, job_id: str, after_id: int, follow: bool, poll: float) -> Iterator[Row]:
    """A job's events after ``after_id``; with ``follow``, new ones as they come until the job has ended."""
    while True:
        rows = list_events(rt, job_id, after_id)
        yield from rows
        if rows:
            after_id = rows[-1]["id"]
        if not follow:
            return
        if not rows and JobStatus(get_job(rt, job_id)["status"]).is_terminal:
            # One more look: the job's last events may have been written just before its final status.
            yield from list_events(rt, job_id, after_id)
            return
        time.sleep(poll)


def parse_status(name: str, *, option: str) -> JobStatus:
    """A status name, or BadInput listing the statuses."""
    try:
        return JobStatus(name)
    except ValueError:
        raise BadInput(f"{option} {name!r} is not a status; use one of: {', '.join(JobStatus)}") from None


def has_reached(row: Mapping[str, Any], status: JobStatus) -> bool:
    """Whether the job is in ``status`` or went through it (its timestamp is set), even if it moved on since."""
    return row["status"] == status or row.get(status.timestamp_column) is not None


def check_timeout(timeout: float | None, *, option: str = "timeout") -> float | None:
    """A wait's timeout: None (no limit) or a finite number of seconds >= 0, else BadInput."""
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not math.isfinite(timeout) or timeout < 0:
        raise BadInput(
            f"{option} must be a finite number of seconds >= 0 (omit it to wait without limit), got {timeout!r}"
        )
    return float(timeout)


def _unreachable(row: Mapping[str, Any], statuses: Collection[JobStatus]) -> StatusUnreachable:
    """The error for a job that ended without reaching any of ``statuses``: it never will now.

    Only an ended job is past hope (``wait_for`` asks only then): every status may still come after an
    active one (a retry of a failed job aside, which is a new start that ``wait`` does not wait for).
    """
    ended = JobStatus(row["status"]).value
    awaited = tuple(target.value for target in JobStatus if target in statuses)
    return StatusUnreachable(
        f"{row['id']} ended {ended}; it can no longer reach {' or '.join(awaited)}",
        job=row,
        ended=ended,
        awaited=awaited,
    )


def wait_for(
    rt: Runtime,
    job_id: str,
    statuses: Collection[JobStatus],
    *,
    timeout: float | None,
    poll: float = 0.1,
    on_change: Callable[[Row], None] | None = None,
) -> Row:
    """Poll until the job has reached one of ``statuses`` (default: until it ends); return it then.

    A status the job passed between two polls counts as reached (its timestamp is set). A job that ends
    without reaching any of ``statuses`` raises StatusUnreachable (exit 1); WaitTimeout after ``timeout``.
    """
    check_job_id(job_id)
    timeout = check_timeout(timeout)
    if isinstance(poll, bool) or not isinstance(poll, int | float) or not math.isfinite(poll) or poll <= 0:
        raise BadInput(f"poll must be a finite number of seconds > 0, got {poll!r}")
    deadline = None if timeout is None else time.monotonic() + timeout
    last_seen: tuple[Any, ...] | None = None
    while True:
        row = get_job(rt, job_id)
        seen = (row["status"], row["advancement_count"])
        if on_change is not None and seen != last_seen:
            on_change(row)
        last_seen = seen
        status = JobStatus(row["status"])
        if any(has_reached(row, target) for target in statuses):
            return row
        if status.is_terminal:
            if statuses:
                raise _unreachable(row, statuses)
            return row
        if deadline is not None and time.monotonic() >= deadline:
            raise WaitTimeout(f"timed out after {timeout:g}s waiting for {job_id} (status {status.value})")
        time.sleep(poll if deadline is None else max(0.0, min(poll, deadline - time.monotonic())))
