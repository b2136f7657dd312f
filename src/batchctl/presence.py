"""Which workers are alive, and whether they can reach the queue: so the CLI can say when work will wait.

Each worker keeps a row in ``batch_worker`` fresh from its heartbeat thread. The CLI never touches the
queue itself; this table is how ``create`` and ``confirm`` know that no worker runs, or that every live
worker has lost the queue, and warn that the job will start later.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from batchctl.db import Row, Tx


def register(tx: Tx, worker_id: str, *, host: str, pid: int, concurrency: int, queue: str, now: datetime) -> None:
    """Record a worker that just started."""
    tx.execute(
        "INSERT INTO batch_worker (id, host, pid, concurrency, queue, started_at, seen_at) "
        "VALUES (:id, :host, :pid, :concurrency, :queue, :now, :now)",
        {"id": worker_id, "host": host, "pid": pid, "concurrency": concurrency, "queue": queue, "now": now},
    )


def beat(tx: Tx, worker_id: str, *, now: datetime, queue_error: str | None) -> None:
    """Say the worker is alive, and whether it reaches the queue."""
    tx.execute(
        "UPDATE batch_worker SET seen_at = :now, queue_error = :error WHERE id = :id",
        {"now": now, "error": queue_error, "id": worker_id},
    )


def stop(tx: Tx, worker_id: str, *, now: datetime) -> None:
    """Record a worker's clean exit."""
    tx.execute(
        "UPDATE batch_worker SET stopped_at = :now, seen_at = :now WHERE id = :id", {"now": now, "id": worker_id}
    )


def live_workers(tx: Tx, *, now: datetime, stale_after: timedelta, include_stopped: bool = False) -> list[Row]:
    """Workers seen within ``stale_after`` that have not stopped (or all of them, with ``include_stopped``)."""
    stopped = "" if include_stopped else " AND stopped_at IS NULL"
    return tx.execute(
        f"SELECT * FROM batch_worker WHERE seen_at > :since{stopped} ORDER BY started_at",
        {"since": now - stale_after},
    ).all()


def start_warning(workers: list[dict[str, Any]]) -> str | None:
    """Why a job just created or confirmed will not start right away, or None when a worker can take it."""
    if not workers:
        return "no worker is running; the job starts when `batchctl worker` runs"
    errors = [w["queue_error"] for w in workers if w.get("queue_error")]
    if len(errors) == len(workers):
        return f"the queue is unavailable to every worker ({errors[0]}); the job starts when it is back"
    return None
