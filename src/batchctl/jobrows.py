"""Every write to a ``batch_job`` row: the one module that INSERTs, UPDATEs and DELETEs that table.

Other modules decide what to write and under which conditions: ``lifecycle`` the transitions,
``leases`` the claims and wake-ups, ``strategy.Job`` a strategy's progress, the runner a failed
attempt's result, ``prune`` what is old enough to go. Each of them writes through one function here,
so that the statements a job row sees can be read in one place (tests/unit/test_layers.py keeps it
so). This module imports nothing of batchctl but ``db`` and ``storable``, so that all of them can use
it; the statuses it filters on come from its callers (the sets are lifecycle's). It also undoes what the
drivers do to the rows they give back (``decode_row``).

Every value written is checked here first (``check_columns``): a result or context the databases cannot
store raises ``Unstorable`` before the statement runs, on both backends alike, so the caller can fail
the job with that message instead of retrying a write that fails the same way each time.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from batchctl.db import Row, Tx
from batchctl.storable import check_int_column, check_json

Events = Sequence[tuple[str, Mapping[str, Any]]]  # (name, data) of each event a write announces


JSON_COLUMNS = ("context", "result", "data")
INT_COLUMNS = ("count", "advancement_count", "attempts")


def check_columns(columns: Mapping[str, Any]) -> None:
    """Raise ``Unstorable`` if a JSON or integer column's value cannot be stored (SQL expressions pass)."""
    for column, value in columns.items():
        if isinstance(value, SqlExpr):
            continue
        if column in JSON_COLUMNS:
            check_json(value, column)
        elif column in INT_COLUMNS:
            check_int_column(value, column)


def decode_row(row: Row) -> Row:
    """Undo SQLite's storage of JSON as text and booleans as integers."""
    for column in JSON_COLUMNS:
        value = row.get(column)
        if isinstance(value, str):
            row[column] = json.loads(value)
    if "dry_run" in row:
        row["dry_run"] = bool(row["dry_run"])
    return row


def in_statuses(statuses: Collection[str]) -> str:
    """The SQL list ``'a', 'b'`` of a set of statuses (constants, never user input).

    Literals rather than parameters: the planner then sees which statuses, as it does the status index's
    statistics (few jobs are active among many finished ones).
    """
    for status in statuses:
        if not re.fullmatch(r"[a-z_]+", status):
            raise ValueError(f"not a status: {status!r}")
    return ", ".join(f"'{status}'" for status in sorted(statuses))


class SqlExpr(str):
    """A value for a column that is SQL over the row's own columns (``attempts + 1``)."""


def record_event(tx: Tx, job_id: str, name: str, now: datetime, data: Mapping[str, Any] | None = None) -> None:
    """Append one event to a job's history."""
    check_json(dict(data or {}), f"the {name} event's data")
    _insert_event(tx, job_id, name, now, data)


def _insert_event(tx: Tx, job_id: str, name: str, now: datetime, data: Mapping[str, Any] | None) -> None:
    """The INSERT of ``record_event``, for a caller that has checked ``data`` already."""
    tx.execute(
        "INSERT INTO batch_job_event (job_id, name, created_at, data) VALUES (:job_id, :name, :now, :data)",
        {"job_id": job_id, "name": name, "now": now, "data": dict(data or {})},
    )


def insert_job(tx: Tx, row: Row, events: Events, now: datetime) -> Row:
    """INSERT a new job row (its columns named by ``row``'s keys) and its first events; the row as written."""
    statement = f"INSERT INTO batch_job ({', '.join(row)}) VALUES ({', '.join(f':{column}' for column in row)})"
    written = write_with_events(tx, statement, row, events, now)
    assert written is not None  # an INSERT without conditions writes its row or raises
    return written


def write_with_events(tx: Tx, statement: str, params: Mapping[str, Any], events: Events, now: datetime) -> Row | None:
    """Run an INSERT or UPDATE of one batch_job row and, if it wrote the row, append ``events`` for it.

    Returns the row as written, or None when the statement matched nothing (and no event is written).
    On PostgreSQL this is one statement, so one round trip however many events there are.
    """
    check_columns(params)
    for name, data in events:
        check_json(dict(data), f"the {name} event's data")
    if tx.dialect == "sqlite":
        row = tx.execute(f"{statement} RETURNING *", params).one_or_none()
        if row is not None:
            for name, data in events:
                _insert_event(tx, row["id"], name, now, data)  # checked above, with the row's columns
        return row
    event_params: dict[str, Any] = {"event_now": now}
    values = []
    for index, (name, data) in enumerate(events):
        values.append(f"({index}, :event{index}_name, :event{index}_data)")
        event_params.update({f"event{index}_name": name, f"event{index}_data": dict(data)})
    return tx.execute(
        f"WITH written AS ({statement} RETURNING *), logged AS ("
        "INSERT INTO batch_job_event (job_id, name, created_at, data) "
        "SELECT written.id, e.name, :event_now, e.data "
        f"FROM written, (VALUES {', '.join(values)}) AS e(n, name, data) ORDER BY e.n"
        ") SELECT * FROM written",
        {**params, **event_params},
    ).one_or_none()


def transition(
    tx: Tx,
    job_id: str,
    *,
    target: str,
    sources: Collection[str],
    sets: Mapping[str, Any],
    owner: str | None,
    worker: str | None,
    events: Events,
    now: datetime,
) -> Row | None:
    """Move one job to ``target`` if it is in one of ``sources`` (and held by ``owner``/``worker`` when given).

    ``sets`` are the other columns written (``SqlExpr`` values are SQL). Returns the row as written, or
    None when the guard matched nothing.
    """
    check_columns(sets)
    params: dict[str, Any] = {
        f"set_{column}": value for column, value in sets.items() if not isinstance(value, SqlExpr)
    }
    assignments = ", ".join(
        f"{column} = {value}" if isinstance(value, SqlExpr) else f"{column} = :set_{column}"
        for column, value in sets.items()
    )
    placeholders, source_params = tx.in_list("src", sorted(sources))
    params.update(source_params, id=job_id, target=target)
    guard = ""
    if owner is not None:
        guard += " AND created_by = :user"
        params["user"] = owner
    if worker is not None:
        guard += " AND worker = :worker"
        params["worker"] = worker
    return write_with_events(
        tx,
        f"UPDATE batch_job SET status = :target, {assignments} WHERE id = :id AND status IN ({placeholders}){guard}",
        params,
        events,
        now,
    )


# -- leases -------------------------------------------------------------------------------------------------------


def take_free_lease(
    tx: Tx, job_id: str, status: str, *, token: str, lease_until: datetime, now: datetime
) -> Row | None:
    """Lease a job that stays in ``status`` when nobody holds it and no backoff is pending; the row, or None."""
    return tx.execute(
        "UPDATE batch_job SET worker = :token, lease_until = :lease, heartbeat_at = :now, "
        "attempts = attempts + 1, updated_at = :now "
        "WHERE id = :id AND status = :status AND (lease_until IS NULL OR lease_until < :now) "
        "AND (not_before IS NULL OR not_before <= :now) RETURNING *",
        {"token": token, "lease": lease_until, "now": now, "id": job_id, "status": status},
    ).one_or_none()


def release(tx: Tx, job_id: str, token: str, now: datetime, *, not_before: datetime | None) -> bool:
    """Clear the lease ``token`` holds (and the last wake-up), keeping the status; False when it holds none."""
    return (
        tx.execute(
            "UPDATE batch_job SET worker = NULL, lease_until = NULL, woken_at = NULL, "
            "not_before = :not_before, updated_at = :now WHERE id = :id AND worker = :token",
            {"not_before": not_before, "now": now, "id": job_id, "token": token},
        ).rowcount
        == 1
    )


def renew(tx: Tx, leases: Sequence[tuple[str, str]], now: datetime, lease_until: datetime) -> None:
    """Extend each (job id, token) lease that is still held to ``lease_until``."""
    for job_id, token in leases:
        tx.execute(
            "UPDATE batch_job SET lease_until = :lease, heartbeat_at = :now WHERE id = :id AND worker = :token",
            {"lease": lease_until, "now": now, "id": job_id, "token": token},
        )


def mark_woken(tx: Tx, statuses: Collection[str], now: datetime, stale_before: datetime, limit: int) -> list[Row]:
    """Stamp ``woken_at`` on up to ``limit`` jobs in ``statuses`` that have no worker; their id and status.

    That is: jobs not woken yet (or woken before ``stale_before``: the wake-up was lost), or whose lease
    expired or was released. Retry backoff (``not_before``) is respected.
    """
    skip_locked = " FOR UPDATE SKIP LOCKED" if tx.dialect == "postgresql" else ""
    return tx.execute(
        "UPDATE batch_job SET woken_at = :now WHERE id IN ("
        " SELECT id FROM batch_job"
        f" WHERE status IN ({in_statuses(statuses)})"
        " AND (lease_until IS NULL OR lease_until < :now)"
        " AND (not_before IS NULL OR not_before <= :now)"
        # Not woken yet, or woken so long ago that the wake-up was lost, or woken before its lease ran out.
        " AND (woken_at IS NULL OR woken_at < :stale OR (lease_until IS NOT NULL AND woken_at < lease_until))"
        f" ORDER BY created_at LIMIT :limit{skip_locked}"
        ") RETURNING id, status",
        {"now": now, "stale": stale_before, "limit": limit},
    ).all()


# -- what a worker writes while it holds a job --------------------------------------------------------------------


def write_progress(
    tx: Tx,
    job_id: str,
    *,
    status: str,
    worker: str,
    advanced: int,
    lease_until: datetime,
    columns: Mapping[str, Any],
    now: datetime,
) -> bool:
    """Count ``advanced`` more units, renew the lease and write ``columns``; False unless ``worker`` holds
    the job in ``status``."""
    check_columns(columns)
    check_int_column(advanced, "advance(n)")
    extra = "".join(f", {column} = :{column}" for column in columns)
    updated = tx.execute(
        "UPDATE batch_job SET advancement_count = advancement_count + :n, heartbeat_at = :now, "
        f"lease_until = :lease, updated_at = :now{extra} "
        "WHERE id = :id AND status = :status AND worker = :worker",
        {"n": advanced, "now": now, "lease": lease_until, "id": job_id, "status": status, "worker": worker, **columns},
    ).rowcount
    return updated == 1


def write_held(
    tx: Tx, job_id: str, *, worker: str, columns: Mapping[str, Any], now: datetime, status: str | None = None
) -> None:
    """Write ``columns`` of a job ``worker`` holds (and that is in ``status``, when given)."""
    check_columns(columns)
    assignments = ", ".join(f"{column} = :{column}" for column in columns)
    params: dict[str, Any] = {**columns, "now": now, "id": job_id, "worker": worker}
    in_status = ""
    if status is not None:
        in_status = " AND status = :status"
        params["status"] = status
    tx.execute(
        f"UPDATE batch_job SET {assignments}, updated_at = :now WHERE id = :id AND worker = :worker{in_status}", params
    )


# -- prune --------------------------------------------------------------------------------------------------------


def delete_finished(
    tx: Tx, job_ids: Sequence[str], *, statuses: Collection[str], finished_before: datetime
) -> list[str]:
    """Delete those of these jobs that are still in ``statuses`` and unchanged since ``finished_before``, with
    their events; the ids deleted.

    The condition is part of the DELETE itself: a job that ``retry`` put back to work after the caller
    chose it is no longer in ``statuses`` and stays (on PostgreSQL the DELETE re-checks a row that a
    concurrent UPDATE changed; on SQLite writers take turns).
    """
    if not job_ids:
        return []
    placeholders, params = tx.in_list("id", job_ids)
    deleted = [
        row["id"]
        for row in tx.execute(
            f"DELETE FROM batch_job WHERE id IN ({placeholders}) AND status IN ({in_statuses(statuses)}) "
            "AND updated_at < :before RETURNING id",
            {**params, "before": finished_before},
        ).all()
    ]
    if deleted:  # ON DELETE CASCADE does this too; said here so that it does not depend on it
        gone, gone_params = tx.in_list("id", deleted)
        tx.execute(f"DELETE FROM batch_job_event WHERE job_id IN ({gone})", gone_params)
    return deleted


def write_stopped_result(
    tx: Tx, job_id: str, *, status: str, result: Mapping[str, Any], now: datetime, quiet_since: datetime
) -> bool:
    """Write the result of a job that stopped in ``status`` and that no worker has touched since ``quiet_since``.

    For the file sweep (prune.sweep_stopped), which forgets the files it removed; ``updated_at`` stays, as
    a clean-up is not a change of the job.
    """
    return (
        tx.execute(
            "UPDATE batch_job SET result = :result WHERE id = :id AND status = :status "
            "AND (lease_until IS NULL OR lease_until < :now) AND (heartbeat_at IS NULL OR heartbeat_at < :quiet)",
            {"result": dict(result), "id": job_id, "status": status, "now": now, "quiet": quiet_since},
        ).rowcount
        == 1
    )
