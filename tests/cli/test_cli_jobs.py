"""The job commands as a user and a script see them: create, list, events, wait, ownership, retry, and friends."""

from __future__ import annotations

import json
import os
import re
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from batchctl.db import to_datetime
from tests.conftest import BATCHCTL, REPO, STRATEGIES, TEST_STRATEGIES, Backend

JOB_ID = re.compile(r"^batch_[0-9A-Z]{26}$")
ISO_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
# docs/lifecycle.md (The job): batchctl may add fields, it never renames these.
DESIGN_FIELDS = (
    "id",
    "type",
    "status",
    "created_by",
    "context",
    "dry_run",
    "result",
    "created_at",
    "updated_at",
    "pre_processed_at",
    "confirmed_at",
    "processing_at",
    "completed_at",
    "failed_at",
    "canceled_at",
)
NOT_OWNER = "error: Cannot access a batch job that does not belong to the logged in user\n"


def create(backend: Backend, *args: str) -> str:
    """Create a job and return its id."""
    made = backend.cli("create", *args, "-q")
    assert made.code == 0, made.stderr
    return made.stdout.strip()


def show(backend: Backend, job_id: str) -> dict[str, Any]:
    shown = backend.cli("show", job_id, "--json")
    assert shown.code == 0, shown.stderr
    job: dict[str, Any] = shown.json()
    return job


def events(backend: Backend, job_id: str) -> list[dict[str, Any]]:
    listed = backend.cli("events", job_id, "--json")
    assert listed.code == 0, listed.stderr
    found: list[dict[str, Any]] = listed.json()
    return found


def burst(backend: Backend) -> None:
    done = backend.burst()
    assert done.code == 0, done.stderr


def listed_ids(backend: Backend, *args: str) -> list[str]:
    listed = backend.cli("list", "--limit", "100", "--json", *args)
    assert listed.code == 0, listed.stderr
    return [job["id"] for job in listed.json()["batch_jobs"]]


# -- create ----------------------------------------------------------------------------------------------------


def test_create_json_has_every_design_field_with_the_documented_shapes(backend: Backend) -> None:
    made = backend.cli(
        "create", "--type", "noop", "--context", '{"count": 3}', "--json", env={"BATCHCTL_USER": "alice"}
    )
    assert made.code == 0, made.stderr
    job = made.json()
    missing = [name for name in DESIGN_FIELDS if name not in job]
    assert missing == []
    assert JOB_ID.match(job["id"]), job["id"]
    assert job["type"] == "noop"
    assert job["status"] == "created"
    assert job["created_by"] == "alice"  # from BATCHCTL_USER, not the OS login
    # The context is what the strategy's prepare() made of it (defaults filled in).
    assert job["context"] == {"count": 3, "sleep": 0.0, "chunk_size": 100}
    assert job["dry_run"] is False
    assert job["result"] is None
    assert ISO_Z.match(job["created_at"]) and ISO_Z.match(job["updated_at"]), job
    for column in DESIGN_FIELDS[9:]:
        assert job[column] is None, column
    # What create printed is what the database holds.
    assert {k: v for k, v in show(backend, job["id"]).items() if k in DESIGN_FIELDS} == {
        k: v for k, v in job.items() if k in DESIGN_FIELDS
    }


def test_create_dry_run_is_recorded(backend: Backend) -> None:
    job = backend.cli("create", "--type", "noop", "--dry-run", "--json").json()
    assert job["dry_run"] is True
    assert show(backend, job["id"])["dry_run"] is True


def test_create_reads_the_context_from_a_file(backend: Backend, tmp_path: Path) -> None:
    path = tmp_path / "context.json"
    path.write_text(json.dumps({"name": "  Ada  "}), encoding="utf-8")
    job_id = create(backend, "--type", "test-picky", "--context-file", str(path))
    # test-picky's prepare() strips the name: the file went through the strategy.
    assert show(backend, job_id)["context"] == {"name": "Ada"}


def test_set_values_are_json_typed(backend: Backend) -> None:
    # publish-products refuses a string chunk_size, so this passes only if "3" became the int 3.
    job_id = create(backend, "--type", "publish-products", "-c", "chunk_size=3", "-c", 'handles=["b","a"]')
    context = show(backend, job_id)["context"]
    assert context == {"chunk_size": 3, "handles": ["a", "b"]}
    assert isinstance(context["chunk_size"], int)


def test_set_values_that_are_not_json_stay_strings(backend: Backend) -> None:
    job_id = create(backend, "--type", "test-picky", "-c", "name=Ada Lovelace")
    assert show(backend, job_id)["context"] == {"name": "Ada Lovelace"}


def test_set_value_that_is_a_json_number_is_not_a_string(backend: Backend) -> None:
    # name=42 is the number 42, which test-picky refuses; '"42"' is the string.
    refused = backend.cli("create", "--type", "test-picky", "-c", "name=42")
    assert refused.code == 2
    assert "'name' is required and must be a string" in refused.stderr
    job_id = create(backend, "--type", "test-picky", "-c", 'name="42"')
    assert show(backend, job_id)["context"] == {"name": "42"}


def test_set_entries_override_the_context_json(backend: Backend) -> None:
    job_id = create(backend, "--type", "publish-products", "--context", '{"chunk_size": 5}', "-c", "chunk_size=7")
    assert show(backend, job_id)["context"]["chunk_size"] == 7


def test_quiet_create_prints_only_the_id(backend: Backend) -> None:
    made = backend.cli("create", "--type", "noop", "-q")
    assert made.code == 0, made.stderr
    assert JOB_ID.match(made.stdout.rstrip("\n")), made.stdout
    assert made.stdout.count("\n") == 1
    assert show(backend, made.stdout.strip())["type"] == "noop"


# -- list ------------------------------------------------------------------------------------------------------


def test_list_filters_by_type_and_status_repeatably(backend: Backend) -> None:
    noop_a = create(backend, "--type", "noop")
    noop_b = create(backend, "--type", "noop")
    picky = create(backend, "--type", "test-picky", "-c", "name=x")
    chunks = create(backend, "--type", "test-chunks")
    assert backend.cli("cancel", noop_b, "-q").code == 0

    assert set(listed_ids(backend, "--type", "noop")) == {noop_a, noop_b}
    assert set(listed_ids(backend, "--type", "noop", "--type", "test-picky")) == {noop_a, noop_b, picky}
    assert set(listed_ids(backend, "--status", "created")) == {noop_a, picky, chunks}
    assert set(listed_ids(backend, "--status", "canceled")) == {noop_b}
    assert set(listed_ids(backend, "--status", "canceled", "--status", "created")) == {noop_a, noop_b, picky, chunks}
    # Filters combine with AND.
    assert listed_ids(backend, "--type", "noop", "--status", "created") == [noop_a]
    assert listed_ids(backend, "--type", "publish-products") == []
    filtered = backend.cli("list", "--type", "noop", "--json").json()
    assert filtered["count"] == 2


def test_list_json_pages_with_limit_and_offset(backend: Backend) -> None:
    made = [create(backend, "--type", "noop") for _ in range(5)]
    newest_first = list(reversed(made))
    pages = []
    for offset in (0, 2, 4):
        page = backend.cli("list", "--limit", "2", "--offset", str(offset), "--json")
        assert page.code == 0, page.stderr
        body = page.json()
        # Medusa's list shape, exactly.
        assert set(body) == {"batch_jobs", "count", "limit", "offset"}
        assert (body["count"], body["limit"], body["offset"]) == (5, 2, offset)
        pages.append([job["id"] for job in body["batch_jobs"]])
    assert pages == [newest_first[0:2], newest_first[2:4], newest_first[4:5]]
    past_the_end = backend.cli("list", "--limit", "2", "--offset", "10", "--json").json()
    assert past_the_end == {"batch_jobs": [], "count": 5, "limit": 2, "offset": 10}


def test_list_defaults_to_ten_newest_first(backend: Backend) -> None:
    made = [create(backend, "--type", "noop") for _ in range(12)]
    body = backend.cli("list", "--json").json()
    assert (body["count"], body["limit"], body["offset"]) == (12, 10, 0)
    assert [job["id"] for job in body["batch_jobs"]] == list(reversed(made))[:10]


def test_list_order(backend: Backend) -> None:
    made = [create(backend, "--type", "noop") for _ in range(4)]
    assert listed_ids(backend) == list(reversed(made))
    assert listed_ids(backend, "--order", "-created_at") == list(reversed(made))
    assert listed_ids(backend, "--order", "created_at") == made


def backdate(backend: Backend, job_id: str, by: timedelta) -> None:
    """Move a job's creation into the past (the only way to test ages without sleeping)."""
    database = backend.database()
    try:
        with database.transaction() as tx:
            moment = tx.execute("SELECT created_at FROM batch_job WHERE id = :id", {"id": job_id}).scalar()
            earlier = to_datetime(moment)
            assert earlier is not None
            tx.execute("UPDATE batch_job SET created_at = :at WHERE id = :id", {"at": earlier - by, "id": job_id})
    finally:
        database.discard_connection()


def test_list_created_after_and_before_take_ages(backend: Backend) -> None:
    old = create(backend, "--type", "noop")
    recent = create(backend, "--type", "noop")
    backdate(backend, old, timedelta(hours=2))
    assert listed_ids(backend, "--created-after", "1h") == [recent]
    assert listed_ids(backend, "--created-before", "1h") == [old]
    assert listed_ids(backend, "--created-after", "3h") == [recent, old]
    assert listed_ids(backend, "--created-before", "90m", "--created-after", "150m") == [old]


def test_list_created_after_and_before_take_iso_times(backend: Backend) -> None:
    first, second, third = (show(backend, create(backend, "--type", "noop")) for _ in range(3))
    # Both bounds are strict: a job created at exactly the bound is left out.
    assert listed_ids(backend, "--created-after", second["created_at"]) == [third["id"]]
    assert listed_ids(backend, "--created-before", second["created_at"]) == [first["id"]]
    between = listed_ids(backend, "--created-after", first["created_at"], "--created-before", third["created_at"])
    assert between == [second["id"]]
    # An ISO time with an explicit offset means the same instant.
    moment = datetime.fromisoformat(second["created_at"].replace("Z", "+00:00"))
    shifted = moment.astimezone(timezone(timedelta(hours=2))).isoformat()
    assert listed_ids(backend, "--created-after", shifted) == [third["id"]]


def test_list_quiet_prints_ids_newest_first(backend: Backend) -> None:
    made = [create(backend, "--type", "noop") for _ in range(3)]
    listed = backend.cli("list", "-q")
    assert listed.code == 0, listed.stderr
    assert listed.stdout.splitlines() == list(reversed(made))


# -- events ----------------------------------------------------------------------------------------------------


def test_events_of_a_job_confirmed_then_canceled(backend: Backend) -> None:
    job_id = create(backend, "--type", "noop", "--dry-run")
    burst(backend)  # pre-processes it, then stops: a dry run waits for confirm
    assert backend.cli("confirm", job_id, "-q").code == 0
    assert backend.cli("cancel", job_id, "-q").code == 0
    found = events(backend, job_id)
    assert [event["name"] for event in found] == [
        "batch.created",
        "batch.pre_processed",
        "batch.confirmed",
        "batch.canceled",
    ]
    assert [event["data"]["status"] for event in found] == ["created", "pre_processed", "confirmed", "canceled"]
    assert all(event["job_id"] == job_id for event in found)
    assert [event["id"] for event in found] == sorted(event["id"] for event in found)
    assert all(ISO_Z.match(event["created_at"]) for event in found)
    # The human listing shows the same history, one line per event, in the same order.
    human = backend.cli("events", job_id)
    assert human.code == 0, human.stderr
    assert [line.split()[1] for line in human.stdout.splitlines()] == [event["name"] for event in found]


# -- wait ------------------------------------------------------------------------------------------------------


def test_wait_for_a_status_that_was_reached_exits_0(backend: Backend) -> None:
    job_id = create(backend, "--type", "noop", "--dry-run")
    burst(backend)
    waited = backend.cli("wait", job_id, "--for", "pre_processed", "--timeout", "30", "--json")
    assert waited.code == 0, waited.stderr
    assert waited.json()["status"] == "pre_processed"


def test_wait_on_a_canceled_job_exits_1(backend: Backend) -> None:
    job_id = create(backend, "--type", "noop")
    assert backend.cli("cancel", job_id, "-q").code == 0
    waited = backend.cli("wait", job_id, "--timeout", "30", "-q")
    assert waited.code == 1
    assert waited.stderr == f"error: batch job {job_id} ended canceled\n"


def test_wait_times_out_with_124_and_one_line(backend: Backend) -> None:
    job_id = create(backend, "--type", "noop")  # no worker: it stays created
    waited = backend.run("wait", job_id, "--timeout", "0.2")
    assert waited.code == 124
    assert waited.stdout == ""
    assert waited.stderr.count("\n") == 1 and waited.stderr.startswith("error: timed out"), waited.stderr
    assert job_id in waited.stderr


def test_wait_on_a_completed_job_exits_0(backend: Backend) -> None:
    job_id = create(backend, "--type", "noop", "-c", "count=2")
    burst(backend)
    waited = backend.run("wait", job_id, "--timeout", "30", "--json")
    assert waited.code == 0, waited.stderr
    assert waited.json()["status"] == "completed"


# -- ownership and retry ---------------------------------------------------------------------------------------


def _pre_processed_job(backend: Backend) -> str:
    job_id = create(backend, "--type", "noop", "--dry-run")
    burst(backend)
    return job_id


def _created_job(backend: Backend) -> str:
    return create(backend, "--type", "noop")


def _failed_job(backend: Backend) -> str:
    job_id = create(backend, "--type", "test-fail")
    burst(backend)
    assert show(backend, job_id)["status"] == "failed"
    return job_id


@pytest.mark.parametrize(
    ("action", "make_job", "after"),
    [
        ("confirm", _pre_processed_job, "confirmed"),
        ("cancel", _created_job, "canceled"),
        ("retry", _failed_job, "confirmed"),
    ],
    ids=["confirm", "cancel", "retry"],
)
def test_someone_elses_job_is_refused_and_left_unchanged(
    backend: Backend, action: str, make_job: Any, after: str
) -> None:
    job_id = make_job(backend)
    before, history = show(backend, job_id), events(backend, job_id)
    refused = backend.run(action, job_id, env={"BATCHCTL_USER": "mallory"})
    assert refused.code == 4
    assert refused.stderr == NOT_OWNER
    assert refused.stdout == ""
    assert show(backend, job_id) == before
    assert events(backend, job_id) == history
    # The same action by the owner goes through: ownership was the only reason for the refusal.
    allowed = backend.cli(action, job_id, "--json")
    assert allowed.code == 0, allowed.stderr
    assert allowed.json()["status"] == after


def test_retry_puts_a_failed_job_back_to_work(backend: Backend) -> None:
    job_id = _failed_job(backend)
    retried = backend.cli("retry", job_id, "--json")
    assert retried.code == 0, retried.stderr
    job = retried.json()
    assert job["status"] == "confirmed"
    assert job["failed_at"] is None
    assert job["processing_at"] is None
    assert events(backend, job_id)[-1]["name"] == "batch.updated"
    # A worker really runs it again (test-fail fails again): a second processing attempt is recorded.
    burst(backend)
    again = show(backend, job_id)
    assert again["status"] == "failed"
    # It resumed from its checkpoint (1) and advanced once more before failing again.
    assert again["result"]["advancement_count"] == 2
    names = [event["name"] for event in events(backend, job_id)]
    assert names.count("batch.processing") == 2
    assert names.count("batch.failed") == 2


def test_retry_of_a_job_that_did_not_fail_is_refused(backend: Backend) -> None:
    job_id = create(backend, "--type", "noop")
    before = show(backend, job_id)
    refused = backend.cli("retry", job_id)
    assert refused.code == 4
    assert refused.stderr.startswith("error: ") and refused.stderr.count("\n") == 1
    assert "retr" in refused.stderr  # the message says why: only failed jobs can be retried
    assert show(backend, job_id) == before


# -- template, strategies, products ----------------------------------------------------------------------------


def test_template_of_a_type_without_one_is_refused(backend: Backend) -> None:
    printed = backend.cli("template", "noop")
    assert printed.code == 2, printed.stderr
    assert printed.stdout == ""
    assert printed.stderr == "error: the noop strategy has no template; only types that read a file have one\n"


def test_template_written_to_a_file(backend: Backend, tmp_path: Path) -> None:
    target = tmp_path / "import-template.csv"
    written = backend.cli("template", "product-import", "-o", str(target))
    assert written.code == 0, written.stderr
    assert written.stdout == ""  # the template went to the file, not to stdout
    assert target.read_bytes().decode() == backend.cli("template", "product-import").stdout


def test_strategies_json_names_each_source(backend: Backend) -> None:
    # A real process: its working directory (the test's tmp dir) has no ./strategies of its own.
    listed = backend.run("strategies", "--json")
    assert listed.code == 0, listed.stderr
    body = listed.json()
    by_type = {entry["type"]: entry for entry in body["strategies"]}
    assert by_type["noop"]["source"] == "built-in"
    assert by_type["noop"]["identifier"] == "noop-strategy"
    assert by_type["publish-products"]["source"] == f"folder {STRATEGIES}"
    assert by_type["publish-products"]["identifier"] == "publish-products-strategy"
    assert Path(by_type["publish-products"]["origin"]) == STRATEGIES / "publish_products.py"
    assert by_type["test-picky"]["source"] == f"folder {TEST_STRATEGIES}"
    assert body["overridden"] == []


def test_the_same_strategy_folder_reached_twice_is_not_an_override(backend: Backend) -> None:
    # Run from the repo root: ./strategies and the BATCHCTL_STRATEGIES entry are the same folder, which is
    # what a user gets after `export BATCHCTL_STRATEGIES=$PWD/strategies`. One file is not overriding itself.
    done = subprocess.run(
        [*BATCHCTL, "strategies", "--json"],
        env={**os.environ, **backend.env},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert body["overridden"] == []
    human = subprocess.run(
        [*BATCHCTL, "strategies"], env={**os.environ, **backend.env}, cwd=REPO, capture_output=True, text=True
    )
    assert "overridden" not in human.stderr


def test_products_seed_and_count(backend: Backend) -> None:
    seeded = backend.cli("products", "seed", "--count", "7", "--variants", "1")
    assert seeded.code == 0, seeded.stderr
    assert seeded.stdout.strip() == "added 7 draft products"
    counted = backend.cli("products", "count", "--json")
    assert counted.code == 0, counted.stderr
    assert counted.json() == {"draft": 7, "proposed": 0, "published": 0, "rejected": 0}
    assert backend.cli("products", "count", "--status", "draft", "--json").json() == {"draft": 7}
    assert backend.cli("products", "count", "--status", "published").stdout.strip() == "0"
