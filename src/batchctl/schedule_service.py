"""The schedule use cases the CLI calls: add, list, pause, resume, remove, run now; and their JSON shape."""

from __future__ import annotations

from typing import Any

from batchctl import creation, schedules, store
from batchctl.db import Row
from batchctl.runtime import Runtime
from batchctl.schedules import PAUSE, RESUME, ScheduleSpec
from batchctl.timetable import format_seconds, timetable_of_row


class Schedules:
    """The schedules of one database, acting as ``user`` (who owns the jobs a schedule they add creates)."""

    def __init__(self, runtime: Runtime, *, user: str) -> None:
        self.runtime = runtime
        self.user = user

    def add(self, spec: ScheduleSpec) -> Row:
        """Check the context with the strategy's ``prepare`` (nothing is written if it refuses), then add it."""
        schedules.check_name(spec.name)
        creation.prepare_context(self.runtime.registry(), spec.batch_type, spec.context)
        with self.runtime.db.transaction() as tx:
            return schedules.add(tx, spec, user=self.user, now=schedules.db_now(tx))

    def list(self) -> list[Row]:
        """Every schedule with its next run, last run, last job and missed ticks."""
        with self.runtime.db.transaction(write=False) as tx:
            return schedules.list_all(tx)

    def get(self, name: str) -> Row:
        """One schedule as ``list`` shows it; NotFound for an unknown name."""
        found = [row for row in self.list() if row["name"] == name]
        if not found:
            with self.runtime.db.transaction(write=False) as tx:
                schedules.get(tx, name)  # raises NotFound
        return found[0]

    def pause(self, name: str) -> Row:
        """Stop creating the schedule's jobs until ``resume`` (a no-op on a paused schedule)."""
        with self.runtime.db.transaction() as tx:
            return schedules.move(tx, name, PAUSE, now=schedules.db_now(tx))

    def resume(self, name: str) -> Row:
        """Create jobs again from the next tick on; the ticks that fell while paused are not caught up."""
        with self.runtime.db.transaction() as tx:
            return schedules.move(tx, name, RESUME, now=schedules.db_now(tx))

    def remove(self, name: str) -> None:
        """Delete the schedule and its tick history; the jobs it created stay."""
        with self.runtime.db.transaction() as tx:
            schedules.remove(tx, name)

    def run(self, name: str) -> Row:
        """Create one job of the schedule now, as its ticks do."""
        from batchctl.files import FileStore

        store = FileStore(self.runtime.settings.files_dir)
        return schedules.run_now(self.runtime.db, self.runtime.registry(), name, store)


def public_schedule(row: Row) -> dict[str, Any]:
    """A schedule as JSON (stable field names); ``last_run`` is its last tick, ``last_job`` its newest job."""
    tick = row.get("last_tick")
    job = row.get("last_job")
    missed = row.get("missed")
    return {
        "name": row["name"],
        "type": row["type"],
        "status": row["status"],
        "cron": row["cron"],
        "every": format_seconds(row["every_seconds"]) if row["every_seconds"] else None,
        "tz": row["tz"],
        "timetable": timetable_of_row(row).describe(),
        "context": row["context"],
        "dry_run": bool(row["dry_run"]),
        "catch_up": row["catch_up"],
        "no_overlap": bool(row["no_overlap"]),
        "created_by": row["created_by"],
        "created_at": store.iso(row["created_at"]),
        "next_run_at": store.iso(row["next_tick_at"]) if row["status"] == schedules.ScheduleStatus.ACTIVE else None,
        "last_run": None
        if tick is None
        else {
            "tick_at": store.iso(tick["tick_at"]),
            "outcome": tick["outcome"],
            "ticks": tick["ticks"],
            "job_id": tick["job_id"],
            "detail": tick["detail"],
        },
        "last_job": None
        if job is None
        else {"id": job["id"], "status": job["status"], "scheduled_for": store.iso(job["scheduled_for"])},
        "missed_ticks": int(missed["ticks"]) if missed else 0,
        "last_missed_at": store.iso(missed["last_at"]) if missed else None,
    }
