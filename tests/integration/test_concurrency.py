"""Correctness under concurrency: many worker processes, racing CLI processes, a racing first use.

Every worker and CLI call here is a real process, so the races are between processes (and, on the
postgres param, between connections to a real server), as in production. The tests print figures;
they never assert on time.
"""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from batchctl import lifecycle
from batchctl.runtime import Runtime
from batchctl.service import create_job
from tests.conftest import Backend, wait_until
from tests.strategies.concurrency_strategies import create_record_table

JOBS = 200
HAPPY_EVENTS = ["batch.created", "batch.pre_processed", "batch.confirmed", "batch.processing", "batch.completed"]
CONFIRM_REFUSED = "error: Cannot confirm processing for a batch job that is not pre processed\n"
CANCEL_REFUSED = "error: Cannot cancel completed batch job\n"


def finish(process: subprocess.Popen[str], timeout: float = 120) -> tuple[int, str, str]:
    """Wait for a process: exit code, stdout, stderr."""
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        pytest.fail(f"{process.args!r} did not finish within {timeout}s; stderr: {err}")
    return process.returncode, out, err


def create_record_jobs(backend: Backend, count: int) -> list[str]:
    """Create ``count`` test-record jobs in-process (faster than ``count`` CLI processes)."""
    rt = Runtime(backend.settings)
    # Created here, before any worker starts, so the workers never race on CREATE TABLE.
    with rt.db.transaction() as tx:
        create_record_table(tx)
    ids = [create_job(rt, "test-record", {"sleep": 0.005}, dry_run=False)["id"] for _ in range(count)]
    rt.db.discard_connection()
    return ids


def events_by_job(backend: Backend) -> dict[str, list[str]]:
    """Every job's event names, in the order they were recorded."""
    found: dict[str, list[str]] = defaultdict(list)
    with backend.database().transaction(write=False) as tx:
        for row in tx.execute("SELECT job_id, name FROM batch_job_event ORDER BY id").all():
            found[row["job_id"]].append(row["name"])
    return found


def assert_each_job_ran_once(backend: Backend, ids: list[str]) -> tuple[int, int]:
    """Every job completed, was executed exactly once and went through each step once; (duplicates, pids)."""
    with backend.database().transaction(write=False) as tx:
        statuses = {row["id"]: row["status"] for row in tx.execute("SELECT id, status FROM batch_job").all()}
        records = tx.execute("SELECT job_id, pid FROM test_record").all()
    assert statuses == dict.fromkeys(ids, "completed")
    executions = Counter(row["job_id"] for row in records)
    duplicates = {job_id: n for job_id, n in executions.items() if n != 1}
    assert duplicates == {}, f"jobs executed more than once: {duplicates}"
    assert set(executions) == set(ids)
    events = events_by_job(backend)
    wrong = {job_id: events[job_id] for job_id in ids if events[job_id] != HAPPY_EVENTS}
    assert wrong == {}, f"jobs whose history is not one pass through the lifecycle: {wrong}"
    return sum(executions.values()) - len(ids), len({row["pid"] for row in records})


def run_burst_workers(backend: Backend, worker_args: list[list[str]]) -> float:
    """Start burst workers together, wait for all; return the seconds they took."""
    started = time.monotonic()
    workers = [backend.popen("worker", "--burst", *args) for args in worker_args]
    for worker in workers:
        code, _, err = finish(worker, timeout=150)
        assert code == 0, err
    return time.monotonic() - started


def test_four_burst_workers_execute_each_job_exactly_once(backend: Backend) -> None:
    ids = create_record_jobs(backend, JOBS)
    seconds = run_burst_workers(backend, [[], [], [], []])
    duplicates, pids = assert_each_job_ran_once(backend, ids)
    print(
        f"\n[{backend.name}] jobs={JOBS} workers=4 processes x 1 thread seconds={seconds:.1f} "
        f"duplicates={duplicates} worker_pids_that_ran_jobs={pids}"
    )


def test_a_threaded_worker_and_another_process_execute_each_job_exactly_once(backend: Backend) -> None:
    ids = create_record_jobs(backend, JOBS)
    # Threads of one process and a second process compete for the same jobs.
    seconds = run_burst_workers(backend, [["--concurrency", "4"], []])
    duplicates, pids = assert_each_job_ran_once(backend, ids)
    print(
        f"\n[{backend.name}] jobs={JOBS} workers=1 process x 4 threads + 1 process seconds={seconds:.1f} "
        f"duplicates={duplicates} worker_pids_that_ran_jobs={pids}"
    )


def test_ten_concurrent_confirms_exactly_one_wins(backend: Backend) -> None:
    job_id = backend.cli("create", "--type", "noop", "--dry-run", "-q").stdout.strip()
    assert backend.burst().code == 0
    assert backend.cli("show", job_id, "--json").json()["status"] == "pre_processed"

    confirms = [backend.popen("confirm", job_id, "-q") for _ in range(10)]
    results = [finish(process, timeout=60) for process in confirms]

    winners = [r for r in results if r[0] == 0]
    losers = [r for r in results if r[0] != 0]
    assert len(winners) == 1, results
    assert winners[0][1].strip() == job_id and winners[0][2] == ""
    assert [(code, out, err) for code, out, err in losers] == [(4, "", CONFIRM_REFUSED)] * 9
    # The database agrees: one confirmation happened, once.
    assert backend.cli("show", job_id, "--json").json()["status"] == "confirmed"
    assert events_by_job(backend)[job_id].count("batch.confirmed") == 1


def test_cancel_racing_completion_leaves_every_job_consistent(backend: Backend) -> None:
    ids = [
        backend.cli("create", "--type", "test-chunks", "-c", "count=20", "-c", "sleep=0.02", "-q").stdout.strip()
        for _ in range(10)
    ]
    backend.start_worker("--concurrency", "2")

    def processing() -> bool:
        with backend.database().transaction(write=False) as tx:
            return bool(tx.execute("SELECT COUNT(*) FROM batch_job WHERE status = 'processing'").scalar())

    wait_until(processing, timeout=60)
    # Staggered cancels, newest job first: the worker takes the oldest first, so the early cancels land
    # before their job starts, the middle ones mid-run and the late ones around or after completion.
    cancels: dict[str, subprocess.Popen[str]] = {}
    for job_id in reversed(ids):
        cancels[job_id] = backend.popen("cancel", job_id, "-q")
        time.sleep(0.2)
    answers = {job_id: finish(process, timeout=60) for job_id, process in cancels.items()}

    def all_finished() -> list[dict[str, Any]] | None:
        with backend.database().transaction(write=False) as tx:
            rows = tx.execute("SELECT * FROM batch_job").all()
        return rows if all(row["status"] in ("completed", "canceled") for row in rows) else None

    rows = {row["id"]: row for row in wait_until(all_finished, timeout=60)}
    with backend.database().transaction(write=False) as tx:
        counted = tx.execute("SELECT job_id, COUNT(*) AS n FROM test_chunk GROUP BY job_id").all()
    chunks = {row["job_id"]: row["n"] for row in counted}
    events = events_by_job(backend)

    outcome: Counter[str] = Counter()
    for job_id in ids:
        row, (code, out, err) = rows[job_id], answers[job_id]
        assert not (row["canceled_at"] and row["completed_at"]), row
        assert lifecycle.derive_status(row).value == row["status"], row
        committed = chunks.get(job_id, 0)
        if row["status"] == "canceled":
            # The cancel won: it said so, and nothing done after it was committed.
            assert (code, out.strip(), err) == (0, job_id, ""), (row, err)
            assert committed == row["advancement_count"] <= 20
            assert events[job_id].count("batch.canceled") == 1 and "batch.completed" not in events[job_id]
        else:
            # The completion won: the cancel was refused with the exact message.
            assert (code, out, err) == (4, "", CANCEL_REFUSED), row
            assert committed == row["advancement_count"] == 20
            assert events[job_id].count("batch.completed") == 1 and "batch.canceled" not in events[job_id]
        outcome[row["status"]] += 1
        outcome["mid_run"] += row["status"] == "canceled" and 0 < committed < 20
    print(
        f"\n[{backend.name}] cancel races: jobs=10 canceled={outcome['canceled']} "
        f"(mid-run {outcome['mid_run']}) completed={outcome['completed']}"
    )


# -- the embedded default, racing its own first use ---------------------------------------------------------


@pytest.fixture
def embedded_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """The true default: a fresh BATCHCTL_HOME, no BATCHCTL_DATABASE_URL, no Redis, no database file yet."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("BATCHCTL_")}
    env.update(BATCHCTL_HOME=str(tmp_path / "home"), BATCHCTL_USER="tester", NO_COLOR="1")
    yield env


def test_fifty_parallel_creates_on_a_fresh_embedded_database(embedded_env: dict[str, str], tmp_path: Path) -> None:
    home = Path(embedded_env["BATCHCTL_HOME"])
    assert not home.exists()
    # All 50 start before any finishes, so they also race the first-use migration.
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "batchctl", "create", "--type", "noop", "-q"],
            env=embedded_env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(50)
    ]
    started = time.monotonic()
    results = [finish(process, timeout=150) for process in processes]
    seconds = time.monotonic() - started

    assert [code for code, _, _ in results] == [0] * 50, [err for _, _, err in results if err]
    assert not [err for _, _, err in results if "database is locked" in err]
    assert [err for _, _, err in results] == [""] * 50
    printed = [out.strip() for _, out, _ in results]
    assert all(re.fullmatch(r"batch_[0-9A-Z]{26}", job_id) for job_id in printed), printed
    assert len(set(printed)) == 50

    with sqlite3.connect(home / "batchctl.db") as raw:
        stored = [row[0] for row in raw.execute("SELECT id FROM batch_job")]
        created_events = raw.execute("SELECT COUNT(*) FROM batch_job_event WHERE name = 'batch.created'").fetchone()[0]
        revisions = raw.execute("SELECT version_num FROM alembic_version").fetchall()
    assert sorted(stored) == sorted(printed)
    assert created_events == 50
    assert len(revisions) == 1  # migrated once, not once per racer
    print(f"\n[sqlite-default] parallel creates=50 errors=0 distinct_ids={len(set(stored))} seconds={seconds:.1f}")
