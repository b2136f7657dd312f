"""Reading and writing job rows, and their public JSON shape (docs/lifecycle.md, The job)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from batchctl import jobrows
from batchctl.db import Row, Tx, to_datetime
from batchctl.errors import NotFound
from batchctl.lifecycle import TIMESTAMP_COLUMNS, JobStatus

PUBLIC_TIMESTAMPS = ("created_at", "updated_at", *(c for c in TIMESTAMP_COLUMNS if c != "created_at"))

ORDERABLE = ("created_at", "updated_at", "type", "status", "id")


# What the drivers give back, decoded (the one definition is jobrows', which lifecycle uses too).
decode_row = jobrows.decode_row


def iso(value: Any) -> str | None:
    """A stored timestamp as ISO-8601 UTC with a ``Z``."""
    moment = to_datetime(value)
    if moment is None:
        return None
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def public_result(row: Row) -> dict[str, Any] | None:
    """The ``result`` object: stored fields plus count, advancement_count and progress."""
    stored = row.get("result")
    if stored is None and row.get("count") is None:
        return None
    result: dict[str, Any] = {"errors": [], "stat_descriptors": []}
    result.update(stored or {})
    count = row.get("count")
    advanced = int(row.get("advancement_count") or 0)
    result["count"] = count
    result["advancement_count"] = advanced
    if row["status"] == JobStatus.COMPLETED:
        progress = 1.0
    elif count:
        progress = min(advanced / count, 1.0)
    else:
        progress = 0.0
    result["progress"] = round(progress, 6)
    return result


def public_job(row: Row) -> dict[str, Any]:
    """A job row as its public JSON object (docs/lifecycle.md, The job: stable field names)."""
    job: dict[str, Any] = {
        "id": row["id"],
        "type": row["type"],
        "status": row["status"],
        "created_by": row["created_by"],
        "context": row["context"],
        "dry_run": bool(row["dry_run"]),
        "result": public_result(row),
    }
    for column in PUBLIC_TIMESTAMPS:
        job[column] = iso(row.get(column))
    job["attempts"] = row.get("attempts", 0)
    job["worker"] = row.get("worker")
    job["heartbeat_at"] = iso(row.get("heartbeat_at"))
    job["schedule"] = row.get("schedule")
    job["scheduled_for"] = iso(row.get("scheduled_for"))
    return job


def public_event(row: Row) -> dict[str, Any]:
    """An event row as JSON."""
    return {
        "id": row["id"],
        "job_id": row["job_id"],
        "name": row["name"],
        "created_at": iso(row["created_at"]),
        "data": row["data"],
    }


def get_job(tx: Tx, job_id: str) -> Row:
    """One job row, decoded, or NotFound."""
    row = tx.execute("SELECT * FROM batch_job WHERE id = :id", {"id": job_id}).one_or_none()
    if row is None:
        raise NotFound(f"Batch job with id {job_id} was not found")
    return decode_row(row)


TIME_FILTER_COLUMNS = PUBLIC_TIMESTAMPS
_TIME_OPERATORS = {"lt": "<", "gt": ">", "lte": "<=", "gte": ">="}


@dataclass(frozen=True)
class TimeCondition:
    """One condition on a timestamp column: ``completed_at IS NULL``, ``created_at >= T``, …"""

    column: str
    op: Literal["lt", "gt", "lte", "gte", "is_null"]
    value: datetime | None = None


@dataclass(frozen=True)
class JobFilter:
    """What ``list`` selects and in what order."""

    types: Sequence[str] = ()
    statuses: Sequence[str] = ()
    schedules: Sequence[str] = ()
    created_after: datetime | None = None
    created_before: datetime | None = None
    created_by: str | None = None
    ids: Sequence[str] = ()
    times: Sequence[TimeCondition] = ()
    limit: int = 10
    offset: int = 0
    order: str = "-created_at"


def _where(tx: Tx, selection: JobFilter) -> tuple[str, dict[str, Any]]:
    clauses: list[str] = []
    params: dict[str, Any] = {}
    for column, wanted in (
        ("type", selection.types),
        ("status", selection.statuses),
        ("schedule", selection.schedules),
    ):
        if wanted:
            placeholders, values = tx.in_list(column, list(wanted))
            clauses.append(f"{column} IN ({placeholders})")
            params.update(values)
    if selection.created_after is not None:
        clauses.append("created_at > :created_after")
        params["created_after"] = selection.created_after
    if selection.created_before is not None:
        clauses.append("created_at < :created_before")
        params["created_before"] = selection.created_before
    if selection.created_by is not None:
        clauses.append("created_by = :created_by")
        params["created_by"] = selection.created_by
    if selection.ids:
        placeholders, values = tx.in_list("id", list(selection.ids))
        clauses.append(f"id IN ({placeholders})")
        params.update(values)
    for index, condition in enumerate(selection.times):
        # The column comes from a fixed list (checked here, never from the caller's text) and the value is bound.
        if condition.column not in TIME_FILTER_COLUMNS:
            raise ValueError(f"not a timestamp column: {condition.column!r}")
        if condition.op == "is_null":
            clauses.append(f"{condition.column} IS NULL")
        else:
            clauses.append(f"{condition.column} {_TIME_OPERATORS[condition.op]} :time{index}")
            params[f"time{index}"] = condition.value
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def order_clause(order: str) -> str:
    """SQL for an ``--order`` value such as ``-created_at`` (validated by the caller)."""
    column = order.lstrip("-")
    direction = "DESC" if order.startswith("-") else "ASC"
    # The id (a ULID) breaks ties in creation order.
    return f"{column} {direction}, id {direction}" if column != "id" else f"id {direction}"


def list_jobs(tx: Tx, selection: JobFilter) -> tuple[list[Row], int]:
    """One page of jobs and the total number matching."""
    where, params = _where(tx, selection)
    total = int(tx.execute(f"SELECT COUNT(*) AS n FROM batch_job{where}", params).scalar())
    rows = tx.execute(
        f"SELECT * FROM batch_job{where} ORDER BY {order_clause(selection.order)} LIMIT :limit OFFSET :offset",
        {**params, "limit": selection.limit, "offset": selection.offset},
    ).all()
    return [decode_row(row) for row in rows], total


def find_idempotent_job(tx: Tx, user: str, key: str) -> Row | None:
    """The job ``user`` created with ``Idempotency-Key: key``, if it still exists."""
    row = tx.execute(
        "SELECT j.* FROM batch_idempotency_key k JOIN batch_job j ON j.id = k.job_id "
        "WHERE k.user_id = :user AND k.key = :key",
        {"user": user, "key": key},
    ).one_or_none()
    return None if row is None else decode_row(row)


def claim_idempotency_key(tx: Tx, user: str, key: str, job_id: str, now: datetime) -> bool:
    """Record that ``key`` creates ``job_id``; False when the key is taken (by a create that committed first).

    A key whose job was pruned is taken over. On PostgreSQL a concurrent create with the same key waits here
    for the other transaction and then sees its row.
    """
    tx.execute(
        "DELETE FROM batch_idempotency_key WHERE user_id = :user AND key = :key "
        "AND NOT EXISTS (SELECT 1 FROM batch_job WHERE batch_job.id = batch_idempotency_key.job_id)",
        {"user": user, "key": key},
    )
    written = tx.execute(
        "INSERT INTO batch_idempotency_key (user_id, key, job_id, created_at) VALUES (:user, :key, :job_id, :now) "
        "ON CONFLICT (user_id, key) DO NOTHING",
        {"user": user, "key": key, "job_id": job_id, "now": now},
    )
    return written.rowcount == 1


def list_events(tx: Tx, job_id: str, after_id: int = 0) -> list[Row]:
    """A job's events in the order they happened, after event ``after_id``."""
    rows = tx.execute(
        "SELECT * FROM batch_job_event WHERE job_id = :job_id AND id > :after ORDER BY id",
        {"job_id": job_id, "after": after_id},
    ).all()
    return [decode_row(row) for row in rows]
