"""`batchctl prune`: finished jobs older than the age go, with their events and files; nothing else does."""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import timedelta
from pathlib import Path
from typing import Any

from tests.conftest import Backend


def count(backend: Backend, table: str) -> int:
    with backend.database().transaction(write=False) as tx:
        return int(tx.execute(f"SELECT COUNT(*) FROM {table}").scalar())


def test_prune_deletes_only_finished_jobs_past_the_age(backend: Backend) -> None:
    finished = backend.cli("create", "--type", "test-file", "-q").stdout.strip()
    waiting = backend.cli("create", "--type", "noop", "--dry-run", "-q").stdout.strip()
    assert backend.burst().code == 0
    shown = backend.cli("show", finished, "--json").json()
    assert shown["status"] == "completed"
    file = Path(shown["result"]["file_key"])
    assert file.exists()
    outside = backend.tmp / "not-ours.txt"
    outside.write_text("keep me")

    young = backend.cli("prune", "--older-than", "1h", "--json")
    assert young.code == 0 and young.json()["jobs"] == []

    preview = backend.cli("prune", "--older-than", "0s", "--dry-run", "--json").json()
    assert preview == {"dry_run": True, "jobs": [finished], "files": [str(file)]}
    assert file.exists() and count(backend, "batch_job") == 2

    events_before = count(backend, "batch_job_event")
    finished_events = len(backend.cli("events", finished, "--json").json())
    done = backend.cli("prune", "--older-than", "0s")
    assert done.code == 0 and done.stdout.strip() == "deleted 1 job and 1 file"
    assert not file.exists() and outside.exists()
    assert backend.cli("show", finished).code == 3
    assert backend.cli("show", waiting, "--json").json()["status"] == "pre_processed"
    assert count(backend, "batch_job_event") == events_before - finished_events


def test_prune_refuses_an_age_it_cannot_read(backend: Backend) -> None:
    refused = backend.cli("prune", "--older-than", "a month")
    assert refused.code == 2
    assert "use a number and a unit, like 90s, 15m, 12h or 30d" in refused.stderr


RETRY_THREADS = 4
RACE_JOBS = 240


def test_prune_never_deletes_a_job_that_retry_put_back_to_work(
    backend: Backend, patched_env: Callable[[dict[str, str]], AbstractContextManager[None]], monkeypatch: Any
) -> None:
    import batchctl
    from batchctl import prune as prune_module

    with patched_env(backend.env):
        jobs = batchctl.connect()
    ids = [jobs.create("test-fail").id for _ in range(RACE_JOBS)]
    assert backend.burst("--concurrency", "2", timeout=120).code == 0
    assert jobs.list(status="failed", limit=1).count == RACE_JOBS
    # Small batches: many SELECT-then-DELETE rounds, so that retries land between the two of one round.
    monkeypatch.setattr(prune_module, "BATCH", 10)

    retried: set[str] = set()
    pruned_first: set[str] = set()
    lock = threading.Lock()
    done = threading.Event()

    def retry(share: list[str]) -> None:
        for job_id in share:
            try:
                jobs.retry(job_id)
            except batchctl.NotFound:  # prune took it while it was still failed: that is allowed
                with lock:
                    pruned_first.add(job_id)
            else:
                with lock:
                    retried.add(job_id)
        jobs.close()

    def prune_loop() -> None:
        while not done.is_set():
            jobs.prune(timedelta(0))
        jobs.close()

    pruner = threading.Thread(target=prune_loop)
    workers = [threading.Thread(target=retry, args=(ids[i::RETRY_THREADS],)) for i in range(RETRY_THREADS)]
    pruner.start()
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    done.set()
    pruner.join()
    jobs.prune(timedelta(0))

    assert retried | pruned_first == set(ids) and not retried & pruned_first
    remaining = {job.id: job.status for job in jobs.list(limit=RACE_JOBS + 1)}
    lost = sorted(retried - set(remaining))
    assert lost == [], f"{len(lost)} of {len(retried)} retried jobs were deleted by prune"
    assert set(remaining) == retried
    assert {status.value for status in remaining.values()} <= {"confirmed", "created"}
