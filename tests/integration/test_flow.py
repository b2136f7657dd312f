"""The whole lifecycle end to end: CLI calls against a real worker process, on both backends."""

from __future__ import annotations

import time

from tests.conftest import Backend, wait_until


def job(backend: Backend, job_id: str) -> dict:
    shown = backend.cli("show", job_id, "--json")
    assert shown.code == 0, shown.stderr
    return shown.json()


def test_dry_run_is_previewed_then_confirmed_then_completed(backend: Backend) -> None:
    assert backend.cli("products", "seed", "--count", "1234", "--variants", "1").code == 0
    created = backend.cli("create", "--type", "publish-products", "--dry-run", "-c", "chunk_size=100", "-q")
    assert created.code == 0, created.stderr
    job_id = created.stdout.strip()
    assert job_id.startswith("batch_")
    backend.start_worker()

    reached = backend.cli("wait", job_id, "--for", "pre_processed", "--timeout", "60", "--json")
    assert reached.code == 0, reached.stderr
    preview = reached.json()
    assert preview["status"] == "pre_processed"
    assert preview["result"]["count"] == 1234
    assert preview["result"]["advancement_count"] == 0
    [stat] = preview["result"]["stat_descriptors"]
    assert stat["key"] == "products-to-publish" and "1234" in stat["message"]
    assert backend.cli("products", "count", "--status", "draft").stdout.strip() == "1234"

    assert backend.cli("confirm", job_id, "-q").code == 0
    done = backend.cli("wait", job_id, "--timeout", "60", "--json")
    assert done.code == 0, done.stderr
    final = done.json()
    assert final["status"] == "completed"
    assert final["result"]["advancement_count"] == final["result"]["count"] == 1234
    assert final["result"]["progress"] == 1
    for column in ("created_at", "pre_processed_at", "confirmed_at", "processing_at", "completed_at"):
        assert final[column] is not None, column
    assert final["failed_at"] is None and final["canceled_at"] is None
    assert backend.cli("products", "count", "--status", "draft").stdout.strip() == "0"
    assert backend.cli("products", "count", "--status", "published").stdout.strip() == "1234"

    names = [event["name"] for event in backend.cli("events", job_id, "--json").json()]
    assert names == [
        "batch.created",
        "batch.pre_processed",
        "batch.confirmed",
        "batch.processing",
        "batch.completed",
    ]


def test_without_dry_run_the_job_completes_with_no_confirm(backend: Backend) -> None:
    backend.cli("products", "seed", "--count", "50")
    job_id = backend.cli("create", "--type", "publish-products", "-q").stdout.strip()
    burst = backend.burst()
    assert burst.code == 0, burst.stderr
    final = job(backend, job_id)
    assert final["status"] == "completed"
    assert final["result"]["count"] == 50 and final["result"]["advancement_count"] == 50
    confirmed = [e for e in backend.cli("events", job_id, "--json").json() if e["name"] == "batch.confirmed"]
    assert confirmed and confirmed[0]["data"]["auto"] is True


def test_a_failing_strategy_fails_the_job_and_wait_exits_1(backend: Backend) -> None:
    job_id = backend.cli("create", "--type", "test-fail", "-q").stdout.strip()
    backend.start_worker()
    waited = backend.cli("wait", job_id, "--timeout", "60")
    assert waited.code == 1
    assert f"batch job {job_id} ended failed" in waited.stderr
    final = job(backend, job_id)
    assert final["status"] == "failed" and final["failed_at"] is not None
    assert final["completed_at"] is None
    messages = [error["message"] for error in final["result"]["errors"]]
    assert messages == ["boom: the strategy failed on purpose"]
    assert final["result"]["advancement_count"] == 1


def test_cancel_stops_a_running_job_within_one_chunk(backend: Backend) -> None:
    job_id = backend.cli("create", "--type", "test-chunks", "-c", "count=400", "-c", "sleep=0.05", "-q").stdout.strip()
    backend.start_worker()
    wait_until(lambda: (job(backend, job_id)["result"] or {}).get("advancement_count", 0) >= 3)
    canceled = backend.cli("cancel", job_id, "--json")
    assert canceled.code == 0, canceled.stderr
    at_cancel = canceled.json()["result"]["advancement_count"]

    waited = backend.cli("wait", job_id, "--timeout", "30")
    assert waited.code == 1 and "ended canceled" in waited.stderr
    # Give the worker time to run into the cancel; the job must stay canceled and stop within one chunk.
    time.sleep(0.5)
    final = job(backend, job_id)
    assert final["status"] == "canceled"
    assert final["completed_at"] is None
    assert at_cancel <= final["result"]["advancement_count"] <= at_cancel + 1
    with backend.database().transaction(write=False) as tx:
        chunks = tx.execute("SELECT COUNT(*) FROM test_chunk WHERE job_id = :id", {"id": job_id}).scalar()
    # Nothing the strategy did after the cancel was committed: every committed chunk was counted.
    assert chunks == final["result"]["advancement_count"]

    refused = backend.cli("confirm", job_id)
    assert refused.code == 4
    assert refused.stderr == "error: Cannot confirm processing for a batch job that is not pre processed\n"
    again = backend.cli("cancel", job_id, "-q")
    assert again.code == 0 and again.stdout.strip() == job_id
