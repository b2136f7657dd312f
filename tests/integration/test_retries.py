"""Retries: should_retry, exponential backoff visible in the events, the maximum, and `retry` by hand."""

from __future__ import annotations

from datetime import datetime

from tests.conftest import Backend

FAST_BACKOFF = {"BATCHCTL_RETRY_BASE_SECONDS": "0.3"}


def test_fails_twice_then_succeeds_on_the_third_attempt_with_backoff(backend: Backend) -> None:
    job_id = backend.cli("create", "--type", "test-flaky", "-c", "failures=2", "-q").stdout.strip()
    assert backend.burst(env=FAST_BACKOFF).code == 0
    final = backend.cli("show", job_id, "--json").json()
    assert final["status"] == "completed"
    assert final["attempts"] == 3
    assert [e["attempt"] for e in final["result"]["errors"]] == [1, 2]
    assert all(e["message"].startswith("flaky failure") for e in final["result"]["errors"])

    events = backend.cli("events", job_id, "--json").json()
    retries = [e for e in events if e["data"].get("action") == "retry"]
    assert [r["data"]["attempt"] for r in retries] == [1, 2]
    resumes = [e for e in events if e["data"].get("action") == "resume"]
    assert [r["data"]["attempt"] for r in resumes] == [2, 3]
    # Each resume comes no earlier than the backoff its retry event announced.
    for retry, resume in zip(retries, resumes, strict=True):
        waited = _at(resume["created_at"]) - _at(retry["created_at"])
        assert waited.total_seconds() >= retry["data"]["delay"]


def test_after_the_last_attempt_the_job_fails_with_every_attempt_s_error(backend: Backend) -> None:
    job_id = backend.cli("create", "--type", "test-flaky", "-c", "failures=5", "-q").stdout.strip()
    assert backend.burst(env=FAST_BACKOFF).code == 0
    final = backend.cli("show", job_id, "--json").json()
    assert final["status"] == "failed"
    assert final["attempts"] == 3
    messages = [e["message"] for e in final["result"]["errors"]]
    assert messages == [f"flaky failure on attempt {n}" for n in (1, 2, 3)]

    # `retry` by hand puts it back to work; BATCHCTL_MAX_ATTEMPTS overrides the strategy's maximum.
    assert backend.cli("retry", job_id, "-q").code == 0
    assert backend.burst(env={**FAST_BACKOFF, "BATCHCTL_MAX_ATTEMPTS": "10"}).code == 0
    again = backend.cli("show", job_id, "--json").json()
    assert again["status"] == "completed"
    assert again["failed_at"] is None


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
