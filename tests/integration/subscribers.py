"""Helpers for the subscriber tests: pointing a backend at test subscribers, reading what they recorded."""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import Backend, _patched_env, wait_until

SUBSCRIBERS = Path(__file__).resolve().parents[1] / "subscribers"


def use_subscribers(backend: Backend, *folders: str, **env: str) -> None:
    """Load the test subscribers in ``folders`` (under tests/subscribers) in every process of this backend."""
    backend.env["BATCHCTL_SUBSCRIBERS"] = os.pathsep.join(str(SUBSCRIBERS / folder) for folder in folders)
    backend.env.update(env)
    # Recorded now, so that they count every event from here on (a worker would record them at its start).
    listed = backend.cli("subscribers", "--json")
    assert listed.code == 0, listed.stderr


@dataclass(frozen=True)
class Delivery:
    """One line the recorder wrote."""

    phase: str  # start | end
    pid: int
    at: int  # monotonic ns, one clock for every process on the machine
    job_id: str
    event_id: int
    event: str


def recorded(path: Path) -> list[Delivery]:
    """Every line of the recorder's file, in the order written."""
    if not path.exists():
        return []
    lines = [line.split() for line in path.read_text().splitlines() if line]
    return [Delivery(p[0], int(p[1]), int(p[2]), p[3], int(p[4]), p[5]) for p in lines]


def events_by_job(backend: Backend) -> dict[str, list[int]]:
    """Every event id in the database, per job, in order."""
    with backend.database().transaction(write=False) as tx:
        rows = tx.execute("SELECT id, job_id FROM batch_job_event ORDER BY id").all()
    found: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        found[row["job_id"]].append(int(row["id"]))
    return dict(found)


def delivery_counts(backend: Backend, subscriber: str) -> dict[str, int]:
    """The subscriber's deliveries per status."""
    with backend.database().transaction(write=False) as tx:
        rows = tx.execute(
            "SELECT status, COUNT(*) AS n FROM batch_delivery WHERE subscriber = :s GROUP BY status", {"s": subscriber}
        ).all()
    return {row["status"]: int(row["n"]) for row in rows}


def all_jobs_finished(backend: Backend) -> bool:
    """Whether no job is left unfinished."""
    with backend.database().transaction(write=False) as tx:
        return not tx.execute(
            "SELECT COUNT(*) FROM batch_job WHERE status NOT IN ('completed', 'failed', 'canceled')"
        ).scalar()


def wait_all_delivered(backend: Backend, subscriber: str, timeout: float = 120) -> None:
    """Wait until every job ended and every event of them reached ``subscriber`` (status done)."""

    def caught_up() -> bool:
        if not all_jobs_finished(backend):
            return False
        total = sum(len(ids) for ids in events_by_job(backend).values())
        return delivery_counts(backend, subscriber).get("done", 0) == total

    try:
        wait_until(caught_up, timeout=timeout, interval=0.2)
    except BaseException:
        print(diagnose(backend, subscriber))
        raise


def diagnose(backend: Backend, subscriber: str) -> str:
    """What the delivery state looks like, for a failed wait."""
    with backend.database().transaction(write=False) as tx:
        jobs = tx.execute("SELECT status, COUNT(*) AS n FROM batch_job GROUP BY status").all()
        subscribers = tx.execute("SELECT name, cursor FROM batch_subscriber").all()
        top = tx.execute("SELECT MAX(id) FROM batch_job_event").scalar()
        events = tx.execute("SELECT COUNT(*) FROM batch_job_event").scalar()
        stuck = tx.execute(
            "SELECT id, job_id, event_id, status, attempts, next_try_at, lease_until, last_error FROM batch_delivery "
            "WHERE subscriber = :s AND status <> 'done' ORDER BY id LIMIT 10",
            {"s": subscriber},
        ).all()
    return (
        f"jobs {jobs}; subscribers {subscribers}; max event {top}, {events} events; "
        f"deliveries {delivery_counts(backend, subscriber)}; not done {stuck}\n{backend.worker_log[-3000:]}"
    )


def create_jobs(backend: Backend, count: int, job_type: str = "noop") -> list[str]:
    """Create ``count`` jobs through the public API (one connection, fast)."""
    import batchctl

    with _patched_env(backend.env), batchctl.connect() as jobs:
        return [jobs.create(job_type).id for _ in range(count)]
