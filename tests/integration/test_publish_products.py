"""publish-products (strategies/publish_products.py): it publishes exactly the drafts it counted, in chunks
of ids that each commit with their progress, so a job stopped between chunks (handed back, or canceled)
resumes or ends with every committed chunk counted once. The worker's Runner runs in-process here, so
the stops land between known chunks; test_flow.py runs the job through real worker processes."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

import pytest

from batchctl.runner import Runner
from batchctl.runtime import Runtime
from batchctl.service import cancel_job, confirm_job, create_job, get_job
from tests.conftest import Backend


@pytest.fixture
def runtime(backend: Backend) -> Iterator[Runtime]:
    rt = Runtime(backend.settings)
    yield rt
    rt.db.discard_connection()


def runner(rt: Runtime, should_stop: Callable[[], bool] = lambda: False) -> Runner:
    """What a worker runs for each wake-up; ``should_stop`` is asked after every committed chunk."""
    return Runner(rt.settings, rt.db, rt.registry(), should_stop=should_stop)


def seed(backend: Backend, count: int) -> None:
    assert backend.cli("products", "seed", "--count", str(count), "--variants", "0").code == 0


def pre_processed(rt: Runtime, context: dict[str, object]) -> str:
    """A dry-run publish-products job, counted and previewed, waiting for confirm."""
    job_id: str = create_job(rt, "publish-products", context, dry_run=True)["id"]
    runner(rt).handle("batch.created", job_id)
    assert get_job(rt, job_id)["status"] == "pre_processed"
    return job_id


def process(rt: Runtime, job_id: str, should_stop: Callable[[], bool] = lambda: False) -> None:
    confirm_job(rt, job_id)
    runner(rt, should_stop).handle("batch.confirmed", job_id)


def statuses(rt: Runtime) -> dict[str, int]:
    with rt.db.transaction(write=False) as tx:
        rows = tx.execute("SELECT status, COUNT(*) AS n FROM product GROUP BY status").all()
    return {row["status"]: row["n"] for row in rows}


def handles(rt: Runtime, status: str) -> list[str]:
    """The handles of the products in ``status``, in id order (the order the job publishes in)."""
    with rt.db.transaction(write=False) as tx:
        rows = tx.execute("SELECT handle FROM product WHERE status = :s ORDER BY id", {"s": status}).all()
    return [row["handle"] for row in rows]


def test_a_job_handed_back_between_chunks_resumes_and_publishes_each_draft_once(
    backend: Backend, runtime: Runtime
) -> None:
    seed(backend, 250)
    in_id_order = handles(runtime, "draft")
    job_id = pre_processed(runtime, {"chunk_size": 20})
    commits = itertools.count(1)
    process(runtime, job_id, should_stop=lambda: next(commits) >= 3)  # a stopping worker: 3 chunks, then hand back

    handed_back = get_job(runtime, job_id)
    assert handed_back["status"] == "processing" and handed_back["worker"] is None
    assert handed_back["advancement_count"] == 60
    assert handles(runtime, "published") == in_id_order[:60]

    runner(runtime).handle("batch.processing", job_id)  # the next worker resumes it
    final = get_job(runtime, job_id)
    assert final["status"] == "completed"
    # Nothing counted twice (a re-published chunk would count again) and nothing skipped.
    assert final["count"] == final["advancement_count"] == 250
    assert statuses(runtime) == {"published": 250}
    resumes = [e["data"] for e in backend.cli("events", job_id, "--json").json() if e["data"].get("action") == "resume"]
    assert [(r["attempt"], r["checkpoint"]) for r in resumes] == [(2, 60)]


def test_a_cancel_ends_the_job_at_its_next_chunk_with_only_the_counted_chunks_applied(
    backend: Backend, runtime: Runtime
) -> None:
    seed(backend, 100)
    job_id = pre_processed(runtime, {"chunk_size": 10})
    commits = itertools.count(1)

    def cancel_after_two_chunks() -> bool:
        if next(commits) == 2:
            cancel_job(runtime, job_id)
        return False

    process(runtime, job_id, should_stop=cancel_after_two_chunks)
    final = get_job(runtime, job_id)
    assert final["status"] == "canceled" and final["completed_at"] is None
    assert final["advancement_count"] == 20
    # The third chunk was written, then rolled back with its progress when advance() met the cancel.
    assert statuses(runtime) == {"published": 20, "draft": 80}


def test_drafts_made_after_pre_processing_are_not_published(backend: Backend, runtime: Runtime) -> None:
    seed(backend, 30)
    counted = handles(runtime, "draft")
    job_id = pre_processed(runtime, {"chunk_size": 4})
    seed(backend, 7)
    later = sorted(set(handles(runtime, "draft")) - set(counted))
    process(runtime, job_id)
    final = get_job(runtime, job_id)
    assert final["status"] == "completed"
    assert final["count"] == final["advancement_count"] == 30
    assert sorted(handles(runtime, "published")) == sorted(counted)
    assert sorted(handles(runtime, "draft")) == later


def test_handles_publish_only_those_drafts(backend: Backend, runtime: Runtime) -> None:
    seed(backend, 12)
    all_drafts = handles(runtime, "draft")
    chosen = all_drafts[1::3]  # four, spread over the ids
    with runtime.db.transaction() as tx:
        tx.execute("UPDATE product SET status = 'proposed' WHERE handle = :h", {"h": chosen[0]})
    job_id = pre_processed(runtime, {"chunk_size": 1, "handles": [*chosen, "no-such-product"]})
    process(runtime, job_id)
    final = get_job(runtime, job_id)
    assert final["status"] == "completed"
    assert final["count"] == final["advancement_count"] == 3
    assert handles(runtime, "published") == chosen[1:]
    assert handles(runtime, "proposed") == chosen[:1]
    assert statuses(runtime) == {"draft": 8, "proposed": 1, "published": 3}
