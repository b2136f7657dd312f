"""Medusa's own integration tests for the batch-job routes (integration-tests/api/__tests__/batch-jobs/api.js),
their assertions run against a real ``batchctl serve`` on both backends.

Seeded as Medusa seeds them: ``admin_user`` with its jobs 1-3 (product-export, here dry runs a worker has
pre-processed, so not completed) and job 5 (completed), and a second user with job 4.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Backend
from tests.http.conftest import Server, job_of, wait_for_status

NOT_YOURS = {"type": "not_allowed", "message": "Cannot access a batch job that does not belong to the logged in user"}


def seed(backend: Backend, server: Server) -> dict[str, Any]:
    admin = server.client(server.add_user("admin_user", email="admin@medusa-test.com"))
    other = server.client(server.add_user("other_user"))

    def created(client: httpx.Client, dry_run: bool) -> dict[str, Any]:
        body = {"type": "product-export", "context": {}, "dry_run": dry_run}
        return job_of(client.post("/admin/batch-jobs", json=body), 201)

    jobs = {n: created(admin, True)["id"] for n in (1, 2, 3)}
    jobs[4] = created(other, True)["id"]
    jobs[5] = created(admin, False)["id"]
    assert backend.burst().code == 0
    for n in (1, 2, 3, 4):
        wait_for_status(admin if n != 4 else other, jobs[n], "pre_processed")
    wait_for_status(admin, jobs[5], "completed")
    return {"admin": admin, "other": other, "jobs": jobs}


def case_1_list_shows_the_admins_four_jobs_newest_first(seeded: dict[str, Any]) -> None:
    response = seeded["admin"].get("/admin/batch-jobs")
    assert response.status_code == 200
    body = response.json()
    jobs = seeded["jobs"]
    assert [job["id"] for job in body["batch_jobs"]] == [jobs[5], jobs[3], jobs[2], jobs[1]]
    assert body["count"] == 4
    for job in body["batch_jobs"]:
        assert isinstance(job["id"], str) and isinstance(job["created_at"], str)
        assert isinstance(job["updated_at"], str)
        assert job["created_by"] == "admin_user"


def case_2_list_completed_at_null_gives_three(seeded: dict[str, Any]) -> None:
    response = seeded["admin"].get("/admin/batch-jobs", params={"completed_at": "null"})
    assert response.status_code == 200
    jobs = seeded["jobs"]
    assert {job["id"] for job in response.json()["batch_jobs"]} == {jobs[1], jobs[2], jobs[3]}


def case_3_retrieve_an_own_job(seeded: dict[str, Any]) -> None:
    job = job_of(seeded["admin"].get(f"/admin/batch-jobs/{seeded['jobs'][1]}"))
    assert job["id"] == seeded["jobs"][1]
    assert isinstance(job["created_at"], str) and isinstance(job["updated_at"], str)
    assert job["created_by"] == "admin_user"


def case_4_retrieve_someone_elses_job_is_not_allowed(seeded: dict[str, Any]) -> None:
    response = seeded["admin"].get(f"/admin/batch-jobs/{seeded['jobs'][4]}")
    assert (response.status_code, response.json()) == (400, NOT_YOURS)


def case_5_create_a_product_export(seeded: dict[str, Any]) -> None:
    response = seeded["admin"].post("/admin/batch-jobs", json={"type": "product-export", "context": {}})
    job = job_of(response, 201)
    assert job["created_by"] == "admin_user"
    assert job["status"] == "created"
    assert job["id"].startswith("batch_")


def case_6_confirm_someone_elses_job_is_not_allowed(seeded: dict[str, Any]) -> None:
    response = seeded["admin"].post(f"/admin/batch-jobs/{seeded['jobs'][4]}/confirm")
    assert (response.status_code, response.json()) == (400, NOT_YOURS)


def case_7_cancel(seeded: dict[str, Any]) -> None:
    admin: httpx.Client = seeded["admin"]
    jobs = seeded["jobs"]
    response = admin.post(f"/admin/batch-jobs/{jobs[4]}/cancel")
    assert (response.status_code, response.json()) == (400, NOT_YOURS)
    response = admin.post(f"/admin/batch-jobs/{jobs[5]}/cancel")
    assert (response.status_code, response.json()) == (
        400,
        {"type": "not_allowed", "message": "Cannot cancel completed batch job"},
    )
    job = job_of(admin.post(f"/admin/batch-jobs/{jobs[1]}/cancel"))
    assert job["canceled_at"] is not None and job["status"] == "canceled"
    # Cancelling a canceled job answers 200 again.
    assert job_of(admin.post(f"/admin/batch-jobs/{jobs[1]}/cancel"))["status"] == "canceled"


def test_medusas_seven_cases(backend: Backend, server: Server) -> None:
    # One seeding for all seven (a worker run and two users): the cases read, and only the last one writes.
    seeded = seed(backend, server)
    for case in (
        case_1_list_shows_the_admins_four_jobs_newest_first,
        case_2_list_completed_at_null_gives_three,
        case_3_retrieve_an_own_job,
        case_4_retrieve_someone_elses_job_is_not_allowed,
        case_6_confirm_someone_elses_job_is_not_allowed,
        case_7_cancel,
        case_5_create_a_product_export,
    ):
        case(seeded)
