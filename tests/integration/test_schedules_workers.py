"""Schedules with real worker processes on both backends: one job per tick across the fleet, catch-up, no-overlap.

These take half a minute each, so they are their own tier: ``pytest -m slow`` runs them alone,
``pytest -m "not slow"`` leaves them out. They wait for the schedule to have handled enough ticks and
never assert on timing: what they check is the tick and job rows the workers wrote.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest

from batchctl.db import to_datetime
from tests.conftest import Backend, wait_until
from tests.integration.schedule_rows import add_schedule as _add
from tests.integration.schedule_rows import schedule_jobs as _jobs
from tests.integration.schedule_rows import tick_rows as _ticks

pytestmark = pytest.mark.slow

EVERY = timedelta(seconds=2)


def _moment(value: Any) -> datetime:
    moment = to_datetime(value)
    assert moment is not None
    return moment


def _covered(ticks: list[dict[str, Any]], outcomes: tuple[str, ...] = ("created", "catch_up")) -> int:
    return sum(t["ticks"] for t in ticks if t["outcome"] in outcomes)


def _assert_each_tick_handled_once(backend: Backend, name: str) -> list[dict[str, Any]]:
    """Every tick from the first to the last is in exactly one tick row, and no tick has two jobs."""
    ticks = _ticks(backend, name)
    jobs = _jobs(backend, name)
    per_tick = Counter(job["scheduled_for"] for job in jobs)
    assert per_tick and max(per_tick.values()) == 1, per_tick.most_common(3)
    assert {t["job_id"] for t in ticks if t["job_id"]} == {job["id"] for job in jobs}
    first, last = _moment(ticks[0]["first_tick_at"]), _moment(ticks[-1]["tick_at"])
    assert sum(t["ticks"] for t in ticks) == (last - first) // EVERY + 1  # no tick lost, none counted twice
    return ticks


def _start_workers(backend: Backend, count: int) -> None:
    """Start ``count`` workers and wait until they run (their scheduler looks for ticks once registered)."""
    for _ in range(count):
        backend.start_worker()
    wait_until(lambda: len(backend.cli("workers", "--json").json()["workers"]) >= count, timeout=60, interval=0.2)


def test_four_workers_make_exactly_one_job_per_tick(backend: Backend) -> None:
    _start_workers(backend, 4)
    _add(backend, "pulse", "--type", "noop", "--every", "2s")
    wait_until(lambda: _covered(_ticks(backend, "pulse")) >= 15, timeout=90, interval=0.5)  # ~30 s of ticks
    assert backend.cli("schedule", "pause", "pulse").code == 0
    backend.stop_workers()

    ticks = _assert_each_tick_handled_once(backend, "pulse")
    assert _covered(ticks) >= 15
    assert "Traceback" not in backend.worker_log, backend.worker_log[-2000:]


def test_workers_down_for_10s_then_back_make_one_catch_up_job(backend: Backend) -> None:
    _start_workers(backend, 2)
    _add(backend, "pulse", "--type", "noop", "--every", "2s", "--catch-up", "one")
    wait_until(lambda: _covered(_ticks(backend, "pulse"), ("created",)) >= 1, timeout=60, interval=0.2)
    backend.stop_workers()
    before = len(_ticks(backend, "pulse"))
    time.sleep(10)  # the outage: no worker runs, five ticks fall
    outage_ended = datetime.now(UTC)
    _start_workers(backend, 2)
    wait_until(lambda: len(_ticks(backend, "pulse")) >= before + 2, timeout=60, interval=0.2)
    assert backend.cli("schedule", "pause", "pulse").code == 0
    backend.stop_workers()

    ticks = _assert_each_tick_handled_once(backend, "pulse")
    # On a loaded machine a worker may also be late for a tick while running (a one-tick catch-up of its
    # own); what must hold is that the outage's ticks all went into one catch-up job.
    catch_ups = [
        t
        for t in ticks
        if t["outcome"] == "catch_up" and _moment(t["first_tick_at"]) < outage_ended < _moment(t["tick_at"]) + EVERY
    ]
    assert len(catch_ups) == 1, ticks
    assert catch_ups[0]["ticks"] >= 4  # at least four ticks fell in the 10 s outage, all in this one job
    created = backend.cli("events", catch_ups[0]["job_id"], "--json").json()[0]["data"]
    assert created["catch_up"] is True and created["ticks"] == catch_ups[0]["ticks"]
    listed = backend.cli("schedule", "list", "--json").json()["schedules"][0]
    assert listed["missed_ticks"] == _covered(ticks, ("catch_up",)) >= catch_ups[0]["ticks"]


def test_no_overlap_skips_ticks_while_a_slow_job_runs(backend: Backend) -> None:
    _start_workers(backend, 2)
    _add(backend, "slow", "--type", "test-chunks", "-c", "count=3", "-c", "sleep=1.5", "--every", "2s", "--no-overlap")

    def two_finished_and_a_skip() -> bool:
        done = [job for job in _jobs(backend, "slow") if job["status"] == "completed"]
        return len(done) >= 2 and any(t["outcome"] == "skipped" for t in _ticks(backend, "slow"))

    wait_until(two_finished_and_a_skip, timeout=90, interval=0.5)
    assert backend.cli("schedule", "pause", "slow").code == 0
    backend.stop_workers()

    ticks = _assert_each_tick_handled_once(backend, "slow")
    jobs = sorted(_jobs(backend, "slow"), key=lambda job: job["created_at"])
    for previous, following in pairwise(jobs):  # never two at once
        assert previous["completed_at"] is not None and following["created_at"] > previous["completed_at"]
    job_ids = {job["id"] for job in jobs}
    for skipped in (t for t in ticks if t["outcome"] == "skipped"):
        assert skipped["detail"].split()[0] in job_ids
