"""Leases: a killed worker's job is resumed from its checkpoint, SIGINT/SIGTERM/SIGHUP hand a job back, replayed
wake-ups do nothing. Real worker processes, both backends."""

from __future__ import annotations

import signal
import subprocess

import pytest

from batchctl.worker import Worker
from tests.conftest import Backend, wait_until
from tests.integration.jobs import advanced, committed_chunks, show

SHORT_LEASE = {"BATCHCTL_LEASE_SECONDS": "1"}


def test_a_killed_worker_s_job_resumes_from_its_checkpoint(backend: Backend) -> None:
    job_id = backend.cli("create", "--type", "test-chunks", "-c", "count=40", "-c", "sleep=0.05", "-q").stdout.strip()
    first = backend.start_worker(env=SHORT_LEASE)
    wait_until(lambda: advanced(backend, job_id) >= 5)
    first.send_signal(signal.SIGKILL)
    first.wait()
    checkpoint = advanced(backend, job_id)
    assert show(backend, job_id)["status"] == "processing"

    backend.start_worker(env=SHORT_LEASE)
    assert backend.cli("wait", job_id, "--timeout", "60").code == 0
    final = show(backend, job_id)
    assert final["result"]["advancement_count"] == final["result"]["count"] == 40
    assert final["attempts"] == 2
    # Each chunk committed exactly once (the table's primary key would have failed the job otherwise).
    assert committed_chunks(backend, job_id) == list(range(40))
    resumes = [e["data"] for e in backend.cli("events", job_id, "--json").json() if e["data"].get("action") == "resume"]
    assert len(resumes) == 1
    assert resumes[0]["checkpoint"] >= checkpoint and resumes[0]["attempt"] == 2


# A lease far longer than the waits below: a job that completes within them was handed back, not left to expire.
LONG_LEASE = {"BATCHCTL_LEASE_SECONDS": "120"}


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=lambda s: s.name)
def test_a_stop_signal_finishes_the_chunk_hands_the_job_back_and_exits_0(
    backend: Backend, signum: signal.Signals
) -> None:
    # SIGINT is Ctrl-C; SIGHUP used to re-execute the worker (Huey's restart), leaving a ghost in `workers`.
    job_id = backend.cli("create", "--type", "test-chunks", "-c", "count=60", "-c", "sleep=0.05", "-q").stdout.strip()
    worker = backend.start_worker(env=LONG_LEASE)
    wait_until(lambda: advanced(backend, job_id) >= 3)
    worker.send_signal(signum)
    try:
        assert worker.wait(timeout=30) == 0, backend.worker_log
    except subprocess.TimeoutExpired:
        worker.kill()
        raise
    handed_back = show(backend, job_id)
    assert handed_back["status"] == "processing"
    assert handed_back["worker"] is None
    with backend.database().transaction(write=False) as tx:
        lease = tx.execute("SELECT lease_until FROM batch_job WHERE id = :id", {"id": job_id}).scalar()
    assert lease is None
    stopped_at = handed_back["result"]["advancement_count"]
    assert 3 <= stopped_at < 60
    assert committed_chunks(backend, job_id) == list(range(stopped_at))
    # No ghost: the stopped worker is not listed as alive, and is listed as stopped with --all.
    assert backend.cli("workers", "--json", env=LONG_LEASE).json()["workers"] == []
    everyone = backend.cli("workers", "--all", "--json", env=LONG_LEASE).json()["workers"]
    assert len(everyone) == 1 and everyone[0]["stopped_at"] is not None

    # The lease was released, not left to run out: a new worker takes over long before 120 s.
    backend.start_worker(env=LONG_LEASE)
    assert backend.cli("wait", job_id, "--timeout", "60").code == 0
    assert committed_chunks(backend, job_id) == list(range(60))
    assert show(backend, job_id)["attempts"] == 2


def test_replayed_and_duplicated_wake_ups_do_nothing(backend: Backend) -> None:
    dry = backend.cli("create", "--type", "test-chunks", "-c", "count=5", "--dry-run", "-q").stdout.strip()
    done = backend.cli("create", "--type", "test-chunks", "-c", "count=5", "-q").stdout.strip()
    assert backend.burst().code == 0
    assert show(backend, done)["status"] == "completed"
    assert show(backend, dry)["status"] == "pre_processed"
    assert backend.cli("confirm", dry, "-q").code == 0

    # Replay every kind of wake-up, several times, for both jobs, straight into the queue.
    sender = Worker(backend.settings)
    for _ in range(3):
        for job_id in (dry, done):
            for event in ("batch.created", "batch.confirmed", "batch.processing"):
                sender.wake(event, job_id)
    assert backend.burst().code == 0
    for job_id in (dry, done):
        final = show(backend, job_id)
        assert final["status"] == "completed"
        assert final["attempts"] == 1
        assert committed_chunks(backend, job_id) == list(range(5))
        names = [e["name"] for e in backend.cli("events", job_id, "--json").json()]
        assert names.count("batch.processing") == 1 and names.count("batch.completed") == 1
        assert names.count("batch.pre_processed") == 1
