"""Schedules on both backends, in one process: the CLI's moves, and what a worker's scheduler does with due ticks.

The scheduler's ``create_due`` is called here directly (it is what each worker's scheduler thread calls); a
worker outage is a ``next_tick_at`` put in the past. The real-worker tests are in test_schedules_workers.py.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta

from batchctl import schedules
from batchctl.runtime import Runtime
from batchctl.timetable import Timetable
from tests.conftest import Backend
from tests.integration.schedule_rows import add_schedule as _add
from tests.integration.schedule_rows import schedule_jobs as _jobs
from tests.integration.schedule_rows import tick_rows as _ticks


def _set_next_tick(backend: Backend, name: str, moment: datetime) -> None:
    with backend.database().transaction() as tx:
        tx.execute("UPDATE batch_schedule SET next_tick_at = :at WHERE name = :name", {"at": moment, "name": name})


def _create_due(backend: Backend) -> int:
    rt = Runtime(backend.settings)
    try:
        return schedules.create_due(rt.db, rt.registry())
    finally:
        rt.close()


def test_add_list_pause_resume_run_remove(backend: Backend) -> None:
    added = _add(backend, "nightly", "--type", "noop", "--cron", "30 2 * * *", "--tz", "Europe/Paris", "-c", "count=2")
    assert added["status"] == "active" and added["catch_up"] == "one" and added["context"] == {"count": 2}
    expected = Timetable("30 2 * * *", None, "Europe/Paris").next_after(datetime.now(UTC))
    assert added["next_run_at"] == expected.isoformat(timespec="microseconds").replace("+00:00", "Z")

    paused = backend.cli("schedule", "pause", "nightly", "--json")
    assert paused.code == 0 and paused.json()["status"] == "paused" and paused.json()["next_run_at"] is None
    assert backend.cli("schedule", "pause", "nightly").code == 0  # already paused: nothing to do
    assert backend.cli("schedule", "resume", "nightly", "--json").json()["status"] == "active"

    ran = backend.cli("schedule", "run", "nightly", "--json")
    assert ran.code == 0, ran.stderr
    job = ran.json()
    assert job["schedule"] == "nightly" and job["scheduled_for"] is not None and job["context"]["count"] == 2
    assert [j["id"] for j in _jobs(backend, "nightly")] == [job["id"]]
    listed = backend.cli("schedule", "list", "--json").json()["schedules"]
    assert [(s["name"], s["last_run"]["outcome"], s["last_job"]["id"]) for s in listed] == [
        ("nightly", "manual", job["id"])
    ]

    assert backend.cli("schedule", "remove", "nightly").code == 0
    assert backend.cli("schedule", "list", "--json").json() == {"schedules": [], "count": 0}
    again = backend.cli("schedule", "remove", "nightly")
    assert again.code == 3 and "Schedule nightly was not found" in again.stderr
    assert backend.cli("show", job["id"], "--json").json()["schedule"] == "nightly"  # its jobs stay


def test_a_job_created_by_hand_has_no_schedule(backend: Backend) -> None:
    job = backend.cli("create", "--type", "noop", "--json").json()
    assert job["schedule"] is None and job["scheduled_for"] is None


def test_a_due_tick_makes_one_job_however_many_schedulers_race(backend: Backend) -> None:
    _add(backend, "hourly", "--type", "noop", "--every", "1h")
    timetable = Timetable(None, 3600)
    due = timetable.next_after(datetime.now(UTC) - timedelta(hours=1))  # the last tick that fell
    for _ in range(3):  # three rounds of six schedulers at once
        _set_next_tick(backend, "hourly", due)
        threads = [threading.Thread(target=_create_due, args=(backend,)) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    jobs = _jobs(backend, "hourly")
    assert len(jobs) == 1 and jobs[0]["scheduled_for"] == due.isoformat(timespec="microseconds").replace("+00:00", "Z")
    assert [tick["job_id"] for tick in _ticks(backend, "hourly")] == [jobs[0]["id"]]


def test_a_tick_another_worker_took_is_never_made_twice(backend: Backend) -> None:
    # A scheduler that read next_tick_at before another worker's commit: the tick row is already there,
    # and the UNIQUE (schedule, tick_at) rolls back this scheduler's whole transaction.
    _add(backend, "hourly", "--type", "noop", "--every", "1h")
    due = Timetable(None, 3600).next_after(datetime.now(UTC) - timedelta(hours=1))
    _set_next_tick(backend, "hourly", due)
    with backend.database().transaction() as tx:
        tx.execute(
            "INSERT INTO batch_schedule_tick (schedule, tick_at, outcome, ticks, first_tick_at, created_at) "
            "VALUES ('hourly', :at, 'created', 1, :at, :at)",
            {"at": due},
        )
    assert _create_due(backend) == 0
    assert _jobs(backend, "hourly") == []
    assert len(_ticks(backend, "hourly")) == 1


def test_ticks_missed_while_no_worker_ran_make_one_catch_up_job(backend: Backend) -> None:
    _add(backend, "often", "--type", "noop", "--every", "1h", "--catch-up", "one")
    _add(backend, "never", "--type", "noop", "--every", "1h", "--catch-up", "none")
    outage_began = Timetable(None, 3600).next_after(datetime.now(UTC) - timedelta(hours=6))
    for name in ("often", "never"):
        _set_next_tick(backend, name, outage_began)
    _create_due(backend)

    catch_ups = [t for t in _ticks(backend, "often") if t["outcome"] == "catch_up"]
    assert len(catch_ups) == 1 and catch_ups[0]["ticks"] >= 5
    job_ids = {job["id"] for job in _jobs(backend, "often")}
    assert catch_ups[0]["job_id"] in job_ids
    created = backend.cli("events", catch_ups[0]["job_id"], "--json").json()[0]
    assert created["data"]["catch_up"] is True and created["data"]["ticks"] == catch_ups[0]["ticks"]
    # Every tick of the outage is accounted for once: the catch-up, plus the current one if it was on time.
    assert sum(t["ticks"] for t in _ticks(backend, "often")) == 6
    assert len(job_ids) == len(_ticks(backend, "often"))

    missed = [t for t in _ticks(backend, "never") if t["outcome"] == "missed"]
    assert len(missed) == 1 and missed[0]["job_id"] is None
    assert len(_jobs(backend, "never")) == 6 - missed[0]["ticks"]  # the current tick, if it was on time
    listed = {s["name"]: s for s in backend.cli("schedule", "list", "--json").json()["schedules"]}
    assert listed["never"]["missed_ticks"] == missed[0]["ticks"]
    assert listed["often"]["missed_ticks"] == catch_ups[0]["ticks"]


def test_no_overlap_skips_a_tick_while_the_previous_job_runs(backend: Backend) -> None:
    _add(backend, "serial", "--type", "noop", "--every", "1h", "--no-overlap")
    running = backend.cli("schedule", "run", "serial", "-q").stdout.strip()  # no worker: it stays unfinished
    due = Timetable(None, 3600).next_after(datetime.now(UTC) - timedelta(hours=1))
    _set_next_tick(backend, "serial", due)
    assert _create_due(backend) == 0
    skipped = [t for t in _ticks(backend, "serial") if t["outcome"] == "skipped"]
    assert len(skipped) == 1 and running in skipped[0]["detail"]
    assert [job["id"] for job in _jobs(backend, "serial")] == [running]


def test_a_context_the_strategy_refuses_at_a_tick_is_recorded_not_created(backend: Backend) -> None:
    _add(backend, "picky", "--type", "test-picky", "--every", "1h", "-c", "name=ok")
    with backend.database().transaction() as tx:  # what was valid when added is not any more
        tx.execute("UPDATE batch_schedule SET context = :context WHERE name = 'picky'", {"context": {"name": 3}})
    _set_next_tick(backend, "picky", Timetable(None, 3600).next_after(datetime.now(UTC) - timedelta(hours=1)))
    assert _create_due(backend) == 0
    assert _jobs(backend, "picky") == []
    last = backend.cli("schedule", "list", "--json").json()["schedules"][0]["last_run"]
    assert last["outcome"] == "refused" and "'name' is required" in last["detail"]


def test_the_python_api_has_the_same_schedules(
    backend: Backend, patched_env: Callable[[dict[str, str]], AbstractContextManager[None]]
) -> None:
    import batchctl
    from batchctl.schedules import ScheduleSpec

    with patched_env(backend.env):
        jobs = batchctl.connect(user="alice")
    try:
        jobs.schedules().add(ScheduleSpec("api", "noop", Timetable(None, 900), {"count": 1}))
        assert [row["name"] for row in jobs.schedules().list()] == ["api"]
        made = jobs.schedules().run("api")
        assert made["created_by"] == "alice" and made["schedule"] == "api"
        [job] = jobs.list(schedule="api")
        assert job.id == made["id"] and job.schedule == "api" and job.scheduled_for is not None
        assert jobs.schedules().pause("api")["status"] == "paused"
    finally:
        jobs.close()
