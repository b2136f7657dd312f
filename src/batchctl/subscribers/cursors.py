"""Deliveries as data: each subscriber's cursor over the event log, and the states of one delivery.

Two steps take an event to a subscriber, each one guarded statement:

1. **Materialise**: a subscriber's ``cursor`` is the last event id whose delivery rows exist. Events
   after it are read in id order, the matching ones become ``batch_delivery`` rows (``UNIQUE(subscriber,
   event_id)``, ``ON CONFLICT DO NOTHING``: racing materialisers write each row once) and the cursor
   moves on with a conditional ``UPDATE … WHERE cursor < :new`` (it never goes back).
2. **Deliver**: a delivery moves through the table below, one conditional UPDATE per move, guarded by
   the claimer's token. A delivery can be claimed only when nothing earlier of its job is undelivered
   for that subscriber and nothing of its job is in flight: in order per job, one at a time.

Why the event table is locked while materialising on PostgreSQL: ids come from a sequence, taken when
a row is inserted but visible only at commit, so a transaction that took id 41 may commit after one
that took 42. Moving a cursor to 42 then would skip 41 for good. ``LOCK TABLE … IN SHARE MODE`` waits
for every transaction that is inserting events to end (and holds new ones for the few milliseconds the
materialisation takes), so every id up to the highest visible one is final. It gives up after
``LOCK_TIMEOUT`` and tries again on the next round. SQLite has one writer at a time: ids commit in order.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from batchctl.db import Row, Tx
from batchctl.store import decode_row
from batchctl.subscribers.api import Filter

MATERIALISE_BATCH = 1000
LOCK_TIMEOUT = "200ms"
# Only one materialiser at a time on PostgreSQL (the others would wait on the same lock for nothing).
MATERIALISE_LOCK_KEY = 0x62617463  # "batc"


class DeliveryStatus(StrEnum):
    """Where one delivery of one event to one subscriber stands."""

    PENDING = "pending"  # to deliver (now, or at next_try_at after a failure)
    DELIVERING = "delivering"  # claimed by a worker until lease_until
    DONE = "done"
    PARKED = "parked"  # failed max_attempts times: kept for `subscribers replay`, later events flow on


@dataclass(frozen=True)
class Move:
    """One move of a delivery: where it may start and where it lands."""

    name: str
    target: DeliveryStatus
    sources: frozenset[DeliveryStatus]
    guarded: bool = True  # only the worker holding the claim (its token) may make it


_FLIGHT = frozenset({DeliveryStatus.DELIVERING})
SUCCEED = Move("succeed", DeliveryStatus.DONE, _FLIGHT)
RETRY = Move("retry", DeliveryStatus.PENDING, _FLIGHT)
PARK = Move("park", DeliveryStatus.PARKED, _FLIGHT)
REPLAY = Move("replay", DeliveryStatus.PENDING, frozenset({DeliveryStatus.DONE, DeliveryStatus.PARKED}), False)
# The claim (pending, or delivering with an expired lease → delivering) is `claim` below: its guard is
# the per-job order, which a plain status check cannot say.


def _decode_subscriber(row: Row) -> Row:
    """A subscriber row with its JSON lists decoded (SQLite stores them as text)."""
    for column in ("events", "types"):
        if isinstance(row.get(column), str):
            row[column] = json.loads(row[column])
    return row


def subscriber_filter(row: Mapping[str, Any]) -> Filter:
    """The filter stored on a (decoded) subscriber row."""
    return Filter(tuple(row["events"] or ()), tuple(row["types"] or ()))


def latest_event_id(tx: Tx) -> int:
    """The highest event id recorded so far (0 for none)."""
    return int(tx.execute("SELECT COALESCE(MAX(id), 0) FROM batch_job_event").scalar() or 0)


def upsert_subscriber(tx: Tx, row: Mapping[str, Any], now: datetime) -> None:
    """Record a subscriber (its cursor starting at the latest event), or refresh what it says about itself."""
    columns = {**row, "created_at": now, "seen_at": now}
    names = ", ".join(columns)
    values = ", ".join(f":{name}" for name in columns)
    updates = ", ".join(
        f"{name} = excluded.{name}" for name in columns if name not in ("name", "kind", "created_at", "secret")
    )
    tx.execute(
        f"INSERT INTO batch_subscriber ({names}, cursor) "
        # WHERE true: SQLite needs it to tell the upsert's ON CONFLICT from a join's ON.
        f"SELECT {values}, COALESCE(MAX(id), 0) FROM batch_job_event WHERE true "
        f"ON CONFLICT (name) DO UPDATE SET {updates}",
        columns,
    )


def all_subscribers(tx: Tx) -> list[Row]:
    """Every recorded subscriber, by name."""
    return [_decode_subscriber(row) for row in tx.execute("SELECT * FROM batch_subscriber ORDER BY name").all()]


def _lock_event_log(tx: Tx) -> bool:
    """PostgreSQL: make every event id up to the highest visible one final (see the module docstring)."""
    if tx.dialect != "postgresql":
        return True
    if not tx.execute("SELECT pg_try_advisory_xact_lock(:key)", {"key": MATERIALISE_LOCK_KEY}).scalar():
        return False
    tx.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
    tx.execute("SAVEPOINT batchctl_lock_events")
    try:
        tx.execute("LOCK TABLE batch_job_event IN SHARE MODE")
    except Exception as error:
        if type(error).__name__ != "LockNotAvailable":
            raise
        tx.execute("ROLLBACK TO SAVEPOINT batchctl_lock_events")
        return False
    return True


def materialise(tx: Tx, now: datetime, limit: int = MATERIALISE_BATCH) -> int:
    """Write the delivery rows for the events after each subscriber's cursor; how many events were read."""
    rows = tx.execute("SELECT name, cursor, events, types FROM batch_subscriber").all()
    subscribers = [_decode_subscriber(row) for row in rows]
    if not subscribers:
        return 0
    low = min(int(row["cursor"]) for row in subscribers)
    if latest_event_id(tx) <= low or not _lock_event_log(tx):
        return 0
    events = tx.execute(
        "SELECT e.id, e.job_id, e.name, j.type FROM batch_job_event e JOIN batch_job j ON j.id = e.job_id "
        "WHERE e.id > :low ORDER BY e.id LIMIT :n",
        {"low": low, "n": limit},
    ).all()
    if not events:
        return 0
    top = int(events[-1]["id"])
    deliveries: list[dict[str, Any]] = []
    for row in subscribers:
        cursor, wanted = int(row["cursor"]), subscriber_filter(row)
        deliveries.extend(
            {"subscriber": row["name"], "event_id": event["id"], "job_id": event["job_id"], "now": now}
            for event in events
            if event["id"] > cursor and wanted.matches(event["name"], event["type"])
        )
    if deliveries:
        tx.executemany(
            "INSERT INTO batch_delivery (subscriber, event_id, job_id, status, attempts, next_try_at, "
            "created_at, updated_at) VALUES (:subscriber, :event_id, :job_id, 'pending', 0, :now, :now, :now) "
            "ON CONFLICT (subscriber, event_id) DO NOTHING",
            deliveries,
        )
    tx.execute("UPDATE batch_subscriber SET cursor = :top WHERE cursor < :top", {"top": top})
    return len(events)


def _claimable(alias: str) -> str:
    """Pending and due, or in flight with an expired lease (its worker died): the claim's own guard."""
    return (
        f"({alias}status = 'pending' OR ({alias}status = 'delivering' AND {alias}lease_until < :now)) "
        f"AND {alias}next_try_at <= :now"
    )


# The deliveries a claim may take: the subscriber's, due, each its job's next one, nothing of its job in flight.
_PICK = (
    "SELECT d.id FROM batch_delivery d WHERE d.subscriber = :subscriber"
    " AND d.status IN ('pending', 'delivering') AND {claimable}"
    " AND NOT EXISTS (SELECT 1 FROM batch_delivery p WHERE p.subscriber = d.subscriber"
    "  AND p.job_id = d.job_id AND p.id <> d.id AND ("
    "   (p.event_id < d.event_id AND p.status IN ('pending', 'delivering'))"
    "   OR (p.status = 'delivering' AND p.lease_until >= :now)))"
    " ORDER BY d.event_id LIMIT :limit"
)
_TAKE = "SET status = 'delivering', worker = :token, lease_until = :lease, attempts = attempts + 1, updated_at = :now"


def claim(tx: Tx, subscriber: str, token: str, now: datetime, lease: timedelta, limit: int) -> list[Row]:
    """Claim up to ``limit`` deliveries of one subscriber, at most one per job, each the job's next one."""
    params = {"token": token, "lease": now + lease, "now": now, "subscriber": subscriber, "limit": limit}
    pick = _PICK.format(claimable=_claimable("d."))
    if tx.dialect == "postgresql":
        # A CTE, so the pick runs once (an ``IN (… FOR UPDATE)`` subquery may be run again for every row);
        # SKIP LOCKED: two workers claiming at once take different deliveries instead of waiting.
        statement = (
            f"WITH picked AS ({pick} FOR UPDATE OF d SKIP LOCKED) "
            f"UPDATE batch_delivery AS t {_TAKE} FROM picked WHERE t.id = picked.id AND {_claimable('t.')} "
            "RETURNING t.*"
        )
    else:  # one writer at a time: the pick and the update see the same rows
        statement = f"UPDATE batch_delivery {_TAKE} WHERE id IN ({pick}) AND {_claimable('')} RETURNING *"
    rows = tx.execute(statement, params).all()
    return sorted(rows, key=lambda row: int(row["event_id"]))


def move(
    tx: Tx,
    delivery_id: int,
    step: Move,
    *,
    now: datetime,
    token: str | None = None,
    columns: Mapping[str, Any] | None = None,
) -> bool:
    """Apply one move to one delivery as a conditional UPDATE; False when it was refused (lease lost)."""
    sets: dict[str, Any] = {"updated_at": now, **(columns or {})}
    if step.target is not DeliveryStatus.DELIVERING:
        sets.update(worker=None, lease_until=None)
    if step.target is DeliveryStatus.DONE:
        sets["done_at"] = now
    assignments = ", ".join(f"{column} = :set_{column}" for column in sets)
    sources, params = tx.in_list("src", sorted(step.sources))
    params.update({f"set_{column}": value for column, value in sets.items()}, id=delivery_id, target=step.target.value)
    guard = ""
    if step.guarded:
        guard = " AND worker = :token"
        params["token"] = token
    written = tx.execute(
        f"UPDATE batch_delivery SET status = :target, {assignments} WHERE id = :id AND status IN ({sources}){guard}",
        params,
    )
    return written.rowcount == 1


def renew(tx: Tx, tokens: Iterable[str], now: datetime, lease: timedelta) -> None:
    """Extend the leases of the deliveries this process holds (the heartbeat)."""
    for token in tokens:
        tx.execute(
            "UPDATE batch_delivery SET lease_until = :lease WHERE worker = :token AND status = 'delivering'",
            {"lease": now + lease, "token": token},
        )


def log_attempt(tx: Tx, delivery_id: int, attempt: Mapping[str, Any]) -> None:
    """Append one attempt to the delivery log."""
    tx.execute(
        "INSERT INTO batch_delivery_attempt (delivery_id, attempt, started_at, status_code, latency_ms, error, "
        "outcome, next_try_at) VALUES (:delivery_id, :attempt, :started_at, :status_code, :latency_ms, :error, "
        ":outcome, :next_try_at)",
        {"delivery_id": delivery_id, **attempt},
    )


def events_and_jobs(tx: Tx, deliveries: Sequence[Row]) -> tuple[dict[int, Row], dict[str, Row]]:
    """The events and the jobs of a claimed batch, by id."""
    if not deliveries:
        return {}, {}
    event_marks, event_params = tx.in_list("e", [int(row["event_id"]) for row in deliveries])
    events = {
        int(row["id"]): decode_row(row)
        for row in tx.execute(f"SELECT * FROM batch_job_event WHERE id IN ({event_marks})", event_params).all()
    }
    job_marks, job_params = tx.in_list("j", sorted({row["job_id"] for row in deliveries}))
    jobs = {
        row["id"]: decode_row(row)
        for row in tx.execute(f"SELECT * FROM batch_job WHERE id IN ({job_marks})", job_params).all()
    }
    return events, jobs


def backlog(tx: Tx, subscribers: Sequence[str]) -> int:
    """Deliveries of these subscribers still to make (pending or in flight), plus events not yet materialised."""
    if not subscribers:
        return 0
    marks, params = tx.in_list("s", list(subscribers))
    open_deliveries = int(
        tx.execute(
            f"SELECT COUNT(*) FROM batch_delivery WHERE subscriber IN ({marks}) "
            "AND status IN ('pending', 'delivering')",
            params,
        ).scalar()
    )
    low = tx.execute("SELECT MIN(cursor) FROM batch_subscriber").scalar()
    unread = latest_event_id(tx) - int(low) if low is not None else 0
    return open_deliveries + max(unread, 0)


def replay(tx: Tx, subscriber: Row, *, since: datetime, parked_only: bool, now: datetime) -> int:
    """Deliver again this subscriber's events since ``since`` (only the parked ones, with ``parked_only``)."""
    reset = {"status": "pending", "attempts": 0, "next_try_at": now, "last_error": None}
    params = {**reset, "name": subscriber["name"], "since": since, "now": now}
    if parked_only:
        return tx.execute(
            "UPDATE batch_delivery SET status = :status, attempts = :attempts, next_try_at = :next_try_at, "
            "last_error = :last_error, updated_at = :now WHERE subscriber = :name AND status = 'parked' "
            "AND event_id IN (SELECT id FROM batch_job_event WHERE created_at >= :since)",
            params,
        ).rowcount
    wanted = subscriber_filter(subscriber)
    events = tx.execute(
        "SELECT e.id, e.job_id, e.name, j.type FROM batch_job_event e JOIN batch_job j ON j.id = e.job_id "
        "WHERE e.created_at >= :since AND e.id <= :cursor ORDER BY e.id",
        {"since": since, "cursor": subscriber["cursor"]},
    ).all()
    rows = [
        {"subscriber": subscriber["name"], "event_id": event["id"], "job_id": event["job_id"], **params}
        for event in events
        if wanted.matches(event["name"], event["type"])
    ]
    if rows:
        # A delivery still pending or in flight is left alone: it is going to happen anyway.
        tx.executemany(
            "INSERT INTO batch_delivery (subscriber, event_id, job_id, status, attempts, next_try_at, "
            "created_at, updated_at) VALUES (:subscriber, :event_id, :job_id, :status, :attempts, :next_try_at, "
            ":now, :now) ON CONFLICT (subscriber, event_id) DO UPDATE SET status = excluded.status, "
            "attempts = 0, next_try_at = excluded.next_try_at, last_error = NULL, updated_at = excluded.updated_at "
            f"WHERE batch_delivery.status IN ({', '.join(repr(str(status)) for status in sorted(REPLAY.sources))})",
            rows,
        )
    return len(rows)
