"""The public Python API, ``batchctl.connect()``, on both backends with real worker processes."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

import pytest

import batchctl
from batchctl.client import BatchJob, Jobs
from tests.conftest import Backend

PatchedEnv = Callable[[dict[str, str]], AbstractContextManager[None]]


@pytest.fixture
def jobs(backend: Backend, patched_env: PatchedEnv) -> Iterator[Jobs]:
    """A client made by ``connect()`` from the backend's environment alone."""
    with patched_env(backend.env):
        client = batchctl.connect()
    yield client
    client.close()


def test_the_seeds_flow_through_connect_alone(backend: Backend, jobs: Jobs) -> None:
    seeded = jobs.as_user("tester")
    backend.cli("products", "seed", "--count", "30")
    backend.start_worker()
    job = seeded.create("publish-products", context={}, dry_run=True)
    assert (job.status, job.dry_run, job.created_by, job.result) == ("created", True, "tester", None)

    job = jobs.wait(job.id, for_status="pre_processed", timeout=60)
    assert job.status == "pre_processed"
    assert job.result is not None and job.result["count"] == 30
    assert [stat["key"] for stat in job.result["stat_descriptors"]] == ["products-to-publish"]
    assert "30" in job.result["stat_descriptors"][0]["message"]

    confirmed = jobs.confirm(job.id)
    assert confirmed.confirmed_at is not None
    done = jobs.wait(job.id, timeout=60)
    assert done.status == "completed"
    assert done.result is not None and (done.result["advancement_count"], done.progress) == (30, 1.0)
    assert backend.cli("products", "count", "--status", "published").stdout.strip() == "30"
    names = [event.name for event in jobs.events(job.id)]
    assert names == [
        "batch.created",
        "batch.pre_processed",
        "batch.confirmed",
        "batch.processing",
        "batch.completed",
    ]


def test_to_json_is_exactly_what_show_json_prints(backend: Backend, jobs: Jobs) -> None:
    job = jobs.create("test-fail", context={"count": 3, "nested": {"list": [1, "two"]}}, dry_run=True)
    assert job.to_json() == backend.cli("show", job.id, "--json").json()
    page = jobs.list(limit=5)
    assert page.to_json() == backend.cli("list", "--limit", "5", "--json").json()
    assert [event.to_json() for event in jobs.events(job.id)] == backend.cli("events", job.id, "--json").json()


def test_jobs_are_immutable_and_to_json_is_a_fresh_copy(jobs: Jobs) -> None:
    job = jobs.create("test-fail", context={"count": 1, "tags": ["a"]}, dry_run=True)
    with pytest.raises(dataclasses.FrozenInstanceError):
        job.status = batchctl.JobStatus.COMPLETED  # type: ignore[misc]
    with pytest.raises(TypeError):
        job.context["count"] = 5  # type: ignore[index]
    assert job.context["tags"] == ("a",)
    copy = job.to_json()
    copy["context"]["count"] = 99
    assert job.to_json()["context"]["count"] == 1
    assert BatchJob.from_json(job.to_json()) == job


def test_errors_are_the_batchctl_family(jobs: Jobs) -> None:
    with pytest.raises(batchctl.NotFound, match="was not found"):
        jobs.get("batch_01ARZ3NDEKTSV4RRFFQ69G5FAV")
    with pytest.raises(batchctl.BadInput, match="invalid batch job id"):
        jobs.get("nope")
    with pytest.raises(batchctl.BadInput, match="Unable to find a BatchJob strategy with the type missing"):
        jobs.create("missing")
    job = jobs.create("noop", dry_run=True)
    with pytest.raises(batchctl.InvalidTransition, match="not pre processed"):
        jobs.confirm(job.id)
    with pytest.raises(batchctl.NotOwner, match="does not belong to the logged in user"):
        jobs.as_user("mallory").cancel(job.id)
    with pytest.raises(batchctl.WaitTimeout):
        jobs.wait(job.id, timeout=0)
    assert jobs.cancel(job.id).status == "canceled"
    assert jobs.cancel(job.id).status == "canceled"  # a no-op on a canceled job


def test_list_filters_by_type_status_owner_and_pages(jobs: Jobs) -> None:
    mine = [jobs.create("noop", dry_run=True) for _ in range(3)]
    theirs = jobs.as_user("bob").create("noop", dry_run=True)
    jobs.cancel(mine[0].id)
    assert [job.id for job in jobs.list(status="canceled")] == [mine[0].id]
    assert {job.id for job in jobs.list(created_by="bob")} == {theirs.id}
    page = jobs.list(type=["noop"], order="created_at", limit=2, offset=1)
    assert (page.count, [job.id for job in page]) == (4, [mine[1].id, mine[2].id])
    assert jobs.list(type="no-such-type").count == 0


def test_wait_sees_a_status_the_job_passed_between_polls(backend: Backend, jobs: Jobs) -> None:
    job = jobs.create("noop", context={"count": 2})
    backend.burst()
    reached = jobs.wait(job.id, for_status="pre_processed", timeout=5)
    assert reached.status == "completed" and reached.has_reached("pre_processed")


def test_events_follow_ends_with_the_job(backend: Backend, jobs: Jobs) -> None:
    job = jobs.create("noop", context={"count": 3})
    backend.start_worker()
    followed = [event.name for event in jobs.events(job.id, follow=True, poll=0.05)]
    assert followed[0] == "batch.created" and followed[-1] == "batch.completed"


def test_one_client_shared_by_threads(jobs: Jobs) -> None:
    created: list[str] = []
    errors: list[BaseException] = []

    def make() -> None:
        try:
            for _ in range(5):
                created.append(jobs.create("noop", dry_run=True).id)
                jobs.list(limit=1)
        except BaseException as error:  # surfaced below
            errors.append(error)

    threads = [threading.Thread(target=make) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(set(created)) == 20
    assert jobs.list(limit=0).count == 20


def test_connect_takes_explicit_settings(backend: Backend, patched_env: PatchedEnv) -> None:
    with patched_env({**backend.env, "BATCHCTL_USER": "from-env"}):
        jobs = batchctl.connect(user="alice", lease_seconds=12.0)
    assert (jobs.user, jobs.settings.lease_seconds) == ("alice", 12.0)
    assert jobs.create("noop", dry_run=True).created_by == "alice"
    with pytest.raises(batchctl.BadInput, match="unknown setting 'leese_seconds'"):
        batchctl.connect(leese_seconds=1)
    with pytest.raises(batchctl.BadInput, match="is not supported"):
        batchctl.connect(database_url="mysql://nowhere/db")
