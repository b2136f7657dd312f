"""Schedules: timetables on which workers create jobs, exactly one job per tick however many workers run.

Like ``lifecycle``, a schedule's states are a table (``ScheduleStatus``, ``Move`` rows) and every move is
one conditional write. A tick is handled in ONE transaction: the due ticks are read on the database's
clock (PostgreSQL's ``clock_timestamp()``, so worker clocks do not matter), each job is written together
with a ``batch_schedule_tick`` row whose UNIQUE (schedule, tick_at) makes a second job for the same tick
impossible, and the schedule's ``next_tick_at`` moves on with ``UPDATE … WHERE next_tick_at = <what was
read>``. A worker that lost the race finds the tick row taken or ``next_tick_at`` moved, and rolls back.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from batchctl import creation, files, store
from batchctl.db import Database, Row, Tx, to_datetime, utcnow
from batchctl.errors import BadContext, BadInput, BatchctlError, NotFound
from batchctl.lifecycle import ACTIVE
from batchctl.timetable import CatchUp, Run, Timetable, plan, timetable_of_row

if TYPE_CHECKING:
    from batchctl.registry import Registry

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}\Z")  # \Z, not $: "$" lets a trailing newline in


class ScheduleStatus(StrEnum):
    """Whether workers create the schedule's jobs."""

    ACTIVE = "active"
    PAUSED = "paused"


class Outcome(StrEnum):
    """What became of a tick (``batch_schedule_tick.outcome``)."""

    CREATED = "created"  # its job was created on time
    CATCH_UP = "catch_up"  # a job created late, for one or more ticks nobody handled in time
    MISSED = "missed"  # nobody handled it in time and --catch-up none: no job
    SKIPPED = "skipped"  # --no-overlap and the schedule's previous job was still running
    REFUSED = "refused"  # the strategy's prepare refused the context at this tick
    MANUAL = "manual"  # `batchctl schedule run`


@dataclass(frozen=True)
class Move:
    """One move of a schedule: where it may start and where it lands."""

    action: str
    target: ScheduleStatus
    sources: frozenset[ScheduleStatus]


PAUSE = Move("pause", ScheduleStatus.PAUSED, frozenset({ScheduleStatus.ACTIVE}))
# Ticks that fell while paused are not missed: resuming waits for the next tick after now.
RESUME = Move("resume", ScheduleStatus.ACTIVE, frozenset({ScheduleStatus.PAUSED}))


@dataclass(frozen=True)
class ScheduleSpec:
    """What ``schedule add`` asks for (the context as given: prepare runs again at each tick)."""

    name: str
    batch_type: str
    timetable: Timetable
    context: dict[str, Any]
    dry_run: bool = False
    catch_up: CatchUp = CatchUp.ONE
    no_overlap: bool = False


class _TickTaken(Exception):
    """Another worker handled this schedule's tick first: roll this transaction back."""


def check_name(name: str) -> str:
    """Refuse names that would be awkward in a shell or a file name."""
    if not NAME.match(name):
        raise BadInput(
            f"schedule name {name!r} is not valid; expected letters, digits, '.', '_' or '-' "
            "(up to 100, starting with a letter or digit), like nightly-export"
        )
    return name


def db_now(tx: Tx) -> datetime:
    """The database's clock (PostgreSQL's), or this machine's for the embedded SQLite."""
    if tx.dialect == "postgresql":
        moment = to_datetime(tx.execute("SELECT clock_timestamp() AS now").scalar())
        assert moment is not None
        return moment
    return utcnow()


def decode(row: Row) -> Row:
    """A schedule row with JSON, booleans and times as Python values."""
    store.decode_row(row)
    row["no_overlap"] = bool(row["no_overlap"])
    for column in ("next_tick_at", "created_at", "updated_at"):
        row[column] = to_datetime(row[column])
    return row


def _not_found(name: str) -> NotFound:
    return NotFound(f"Schedule {name} was not found (see `batchctl schedule list`)")


def get(tx: Tx, name: str) -> Row:
    """One schedule row, or NotFound."""
    row = tx.execute("SELECT * FROM batch_schedule WHERE name = :name", {"name": name}).one_or_none()
    if row is None:
        raise _not_found(name)
    return decode(row)


def add(tx: Tx, spec: ScheduleSpec, *, user: str, now: datetime) -> Row:
    """Write a new schedule whose first tick is the first one after ``now``; BadInput for a taken name."""
    row: Row = {
        "name": spec.name,
        "type": spec.batch_type,
        "context": spec.context,
        "dry_run": spec.dry_run,
        "cron": spec.timetable.cron,
        "every_seconds": spec.timetable.every_seconds,
        "tz": spec.timetable.tz,
        "catch_up": spec.catch_up.value,
        "no_overlap": spec.no_overlap,
        "status": ScheduleStatus.ACTIVE.value,
        "created_by": user,
        "next_tick_at": spec.timetable.next_after(now),
        "created_at": now,
        "updated_at": now,
    }
    columns = ", ".join(row)
    values = ", ".join(f":{column}" for column in row)
    written = tx.execute(
        f"INSERT INTO batch_schedule ({columns}) VALUES ({values}) ON CONFLICT (name) DO NOTHING RETURNING *", row
    ).one_or_none()
    if written is None:
        raise BadInput(
            f"a schedule named {spec.name} already exists; choose another name "
            f"or remove it first with `batchctl schedule remove {spec.name}`"
        )
    return decode(written)


def move(tx: Tx, name: str, step: Move, *, now: datetime) -> Row:
    """Apply ``step`` as one conditional UPDATE; a schedule already where ``step`` lands is left as it is."""
    current = get(tx, name)
    if current["status"] == step.target:
        return current
    sets = {"status": step.target.value, "updated_at": now}
    if step is RESUME:
        sets["next_tick_at"] = timetable_of_row(current).next_after(now)
    sources, params = tx.in_list("src", sorted(step.sources))
    assignments = ", ".join(f"{column} = :set_{column}" for column in sets)
    row = tx.execute(
        f"UPDATE batch_schedule SET {assignments} WHERE name = :name AND status IN ({sources}) RETURNING *",
        {**params, **{f"set_{column}": value for column, value in sets.items()}, "name": name},
    ).one_or_none()
    if row is None:  # it moved between the read and the write: say where it is now
        return get(tx, name)
    return decode(row)


def remove(tx: Tx, name: str) -> None:
    """Delete a schedule and its tick history (its jobs stay)."""
    if tx.execute("DELETE FROM batch_schedule WHERE name = :name", {"name": name}).rowcount == 0:
        raise _not_found(name)


def list_all(tx: Tx) -> list[Row]:
    """Every schedule with its last tick, its last job (and that job's status) and its missed ticks."""
    schedules = [decode(row) for row in tx.execute("SELECT * FROM batch_schedule ORDER BY name").all()]
    last_ticks = {
        row["schedule"]: row
        for row in tx.execute(
            "SELECT * FROM batch_schedule_tick WHERE id IN (SELECT MAX(id) FROM batch_schedule_tick GROUP BY schedule)"
        ).all()
    }
    missed = {
        row["schedule"]: row
        for row in tx.execute(
            "SELECT schedule, SUM(ticks) AS ticks, MAX(tick_at) AS last_at FROM batch_schedule_tick "
            "WHERE outcome IN (:missed, :catch_up) GROUP BY schedule",
            {"missed": Outcome.MISSED.value, "catch_up": Outcome.CATCH_UP.value},
        ).all()
    }
    for schedule in schedules:
        schedule["last_tick"] = last_ticks.get(schedule["name"])
        schedule["missed"] = missed.get(schedule["name"])
        schedule["last_job"] = tx.execute(
            "SELECT id, status, scheduled_for, created_at FROM batch_job WHERE schedule = :name "
            "ORDER BY created_at DESC, id DESC LIMIT 1",
            {"name": schedule["name"]},
        ).one_or_none()
    return schedules


def _record_tick(
    tx: Tx, name: str, run: Run, outcome: Outcome, now: datetime, *, job_id: str | None = None, detail: str = ""
) -> None:
    """Claim the tick for this transaction; _TickTaken when another worker's row is already there."""
    claimed = tx.execute(
        "INSERT INTO batch_schedule_tick (schedule, tick_at, outcome, job_id, ticks, first_tick_at, detail, created_at)"
        " VALUES (:schedule, :tick_at, :outcome, :job_id, :ticks, :first, :detail, :now)"
        " ON CONFLICT (schedule, tick_at) DO NOTHING RETURNING id",
        {
            "schedule": name,
            "tick_at": run.tick,
            "outcome": outcome.value,
            "job_id": job_id,
            "ticks": run.ticks,
            "first": run.first or run.tick,
            "detail": detail or None,
            "now": now,
        },
    ).one_or_none()
    if claimed is None:
        raise _TickTaken()


def _running_job(tx: Tx, name: str) -> str | None:
    """The id of a job of this schedule that has not ended, if any (for --no-overlap)."""
    statuses, params = tx.in_list("st", sorted(ACTIVE))
    return tx.execute(  # type: ignore[no-any-return]
        f"SELECT id FROM batch_job WHERE schedule = :name AND status IN ({statuses}) LIMIT 1",
        {**params, "name": name},
    ).scalar()


def create_for_tick(
    tx: Tx,
    registry: Registry,
    schedule: Row,
    run: Run,
    outcome: Outcome,
    now: datetime,
    file_store: files.FileStore | None = None,
    copies: list[str] | None = None,
) -> Row | None:
    """Handle one tick: a job made as ``batchctl create`` makes it, or a skipped/refused tick; None without a job.

    A job's input files are copied into ``file_store`` here, by the process handling the tick, and recorded
    in the tick's own transaction; their keys go to ``copies``, for the caller to remove if that transaction
    does not commit.
    """
    name = schedule["name"]
    if schedule["no_overlap"] and outcome is not Outcome.MANUAL:
        running = _running_job(tx, name)
        if running is not None:
            _record_tick(tx, name, run, Outcome.SKIPPED, now, detail=f"{running} was still running")
            return None
    try:
        prepared = creation.prepare_context(registry, schedule["type"], schedule["context"])
        row = creation.new_job_row(
            schedule["type"],
            prepared,
            dry_run=bool(schedule["dry_run"]),
            user=schedule["created_by"],
            now=now,
            schedule=name,
            scheduled_for=run.tick,
        )
        if registry.get(schedule["type"]).strategy_class.input_files:
            if file_store is None:
                raise BadContext("this process has no file store to copy the job's input files into")
            job_id = row["id"]
            staged = creation.stage_inputs(
                registry,
                file_store,
                row,
                record=lambda key, role: files.record(tx, job_id, key, role, now),
                forget=lambda key: files.forget(tx, job_id, [key]),
            )
            if copies is not None:
                copies.extend(staged.copied)
    except Exception as refusal:  # a refused context, an unknown type here, a strategy's own bug
        if outcome is Outcome.MANUAL or (isinstance(refusal, BatchctlError) and not isinstance(refusal, BadInput)):
            raise
        _record_tick(tx, name, run, Outcome.REFUSED, now, detail=str(refusal) or type(refusal).__name__)
        return None
    _record_tick(tx, name, run, outcome, now, job_id=row["id"])
    event = {"schedule": name, "scheduled_for": store.iso(run.tick), "catch_up": run.catch_up, "ticks": run.ticks}
    return creation.insert_job(tx, row, now, event)


@contextmanager
def _copies_removed_on_failure(file_store: files.FileStore | None) -> Iterator[list[str]]:
    """A list for the keys of the input copies a transaction's jobs get; removed if it does not commit."""
    copies: list[str] = []
    try:
        yield copies
    except BaseException:  # rolled back: the input copies made for its jobs go too
        if file_store is not None:
            for key in copies:
                file_store.remove(key)
        raise


def _handle(db: Database, registry: Registry, name: str, file_store: files.FileStore | None) -> int:
    """Handle every due tick of one schedule in one transaction; how many jobs it created."""
    with _copies_removed_on_failure(file_store) as copies:
        return _handle_ticks(db, registry, name, file_store, copies)


def _handle_ticks(
    db: Database, registry: Registry, name: str, file_store: files.FileStore | None, copies: list[str]
) -> int:
    with db.transaction() as tx:
        skip_locked = " FOR UPDATE SKIP LOCKED" if tx.dialect == "postgresql" else ""
        now = db_now(tx)
        found = tx.execute(
            "SELECT * FROM batch_schedule WHERE name = :name AND status = :active "
            f"AND next_tick_at <= :now{skip_locked}",
            {"name": name, "active": ScheduleStatus.ACTIVE.value, "now": now},
        ).one_or_none()
        if found is None:  # another worker holds it, or has just handled it
            return 0
        schedule = decode(found)
        todo = plan(timetable_of_row(schedule), schedule["next_tick_at"], now, CatchUp(schedule["catch_up"]))
        created = 0
        if todo.missed is not None:
            first, last, count = todo.missed
            _record_tick(tx, name, Run(last, catch_up=False, ticks=count, first=first), Outcome.MISSED, now)
        for run in todo.runs:
            outcome = Outcome.CATCH_UP if run.catch_up else Outcome.CREATED
            created += create_for_tick(tx, registry, schedule, run, outcome, now, file_store, copies) is not None
        moved = tx.execute(
            "UPDATE batch_schedule SET next_tick_at = :next, updated_at = :now "
            "WHERE name = :name AND status = :active AND next_tick_at = :seen",
            {
                "next": todo.next_tick,
                "now": now,
                "name": name,
                "active": ScheduleStatus.ACTIVE.value,
                "seen": found["next_tick_at"],
            },
        ).rowcount
        if moved != 1:
            raise _TickTaken()
        return created


def create_due(db: Database, registry: Registry, *, limit: int = 50, file_store: files.FileStore | None = None) -> int:
    """Create the jobs of every due tick (the worker's scheduler calls this about once a second)."""
    with db.transaction(write=False) as tx:
        now = db_now(tx)
        names = [
            row["name"]
            for row in tx.execute(
                "SELECT name FROM batch_schedule WHERE status = :active AND next_tick_at <= :now "
                "ORDER BY next_tick_at LIMIT :limit",
                {"active": ScheduleStatus.ACTIVE.value, "now": now, "limit": limit},
            ).all()
        ]
    created = 0
    for name in names:
        try:
            created += _handle(db, registry, name, file_store)
        except _TickTaken:  # rolled back: the other worker's jobs stand
            continue
    return created


def run_now(db: Database, registry: Registry, name: str, file_store: files.FileStore | None = None) -> Row:
    """``schedule run``: create one job of the schedule now, outside its timetable."""
    with _copies_removed_on_failure(file_store) as copies, db.transaction() as tx:
        schedule = get(tx, name)
        now = db_now(tx)
        job = create_for_tick(tx, registry, schedule, Run(now, catch_up=False), Outcome.MANUAL, now, file_store, copies)
    assert job is not None  # a manual run is never skipped; a refused context raised
    return job
