"""What the database cannot store is never written, and never retried forever (real workers, both backends).

Strategies in tests/strategies/unstorable_strategies.py hand back each kind of unstorable value (a count of
2**70, NaN, a set, a NUL in text, JSON nested 100 deep, …) at each point where a worker writes it; every
such job ends ``failed`` after one attempt with an error naming what could not be stored, and
``worker --burst`` exits. Contexts and ``prepare`` results that cannot be stored are refused at create.
Filters too big for one statement (70,000 handles) run, and a statement the server refuses is the job's
failure, not an outage.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest

import batchctl
from batchctl.errors import BadContext
from tests.conftest import Backend, wait_until
from tests.strategies.unstorable_strategies import PREPARED, VALUES, WHERE

PatchedEnv = Callable[[dict[str, str]], AbstractContextManager[None]]

# Every (kind, phase) in which the strategy writes an unstorable value: the advance kind only advances.
CASES = [(kind, phase) for kind in VALUES for phase in ("pre", "advance", "end") if kind != "huge-advance"]
CASES.append(("huge-advance", "advance"))


def show(backend: Backend, job_id: str) -> dict[str, Any]:
    shown = backend.cli("show", job_id, "--json")
    assert shown.code == 0, shown.stderr
    return shown.json()


def create(backend: Backend, *args: str) -> str:
    created = backend.cli("create", *args, "-q")
    assert created.code == 0, created.stderr
    return created.stdout.strip()


def job_count(backend: Backend) -> int:
    listed = backend.cli("list", "--json")
    assert listed.code == 0, listed.stderr
    return int(listed.json()["count"])


def test_every_unstorable_result_fails_its_job_once_naming_what_could_not_be_stored(backend: Backend) -> None:
    jobs = {
        create(backend, "--type", "test-unstorable", "-c", f"kind={kind}", "-c", f"phase={phase}"): (kind, phase)
        for kind, phase in CASES
    }
    burst = backend.burst()
    assert burst.code == 0, burst.stderr
    # One warning line per job, not a traceback per lease.
    assert "Traceback" not in burst.stderr
    for job_id, (kind, phase) in jobs.items():
        # `show --json` is valid JSON (nothing unstorable reached the row), and the job ended.
        job = show(backend, job_id)
        assert job["status"] == "failed", (kind, phase, job)
        assert job["attempts"] == 1, (kind, phase)
        messages = [error["message"] for error in job["result"]["errors"]]
        assert any(f"cannot store {WHERE[kind]}" in message for message in messages), (kind, phase, messages)
        assert {error["code"] for error in job["result"]["errors"]} == {"Unstorable"}
        events = backend.cli("events", job_id, "--json").json()
        assert not [event for event in events if event["data"].get("action") in ("retry", "resume")], (kind, phase)
        assert [event["name"] for event in events][-1] == "batch.failed"
        # What the strategy had written before stays; the unstorable value is not in the row.
        assert job["result"]["count"] == (None if phase == "pre" else 3)
        if phase == "end":
            assert job["result"]["advancement_count"] == 1
    assert f"cannot store {WHERE['nul']}" in burst.stderr


def test_an_error_message_and_a_handle_error_that_cannot_be_stored_still_fail_the_job(backend: Backend) -> None:
    job_id = create(backend, "--type", "test-bad-error")
    burst = backend.burst()
    assert burst.code == 0, burst.stderr
    job = show(backend, job_id)
    assert job["status"] == "failed"
    errors = job["result"]["errors"]
    assert errors[0] == {"message": "broken\\x00message", "code": "ValueError"}
    assert "cannot store result.failure.when" in errors[1]["message"]
    assert "failure" not in job["result"]


@pytest.mark.parametrize("returns", sorted(PREPARED))
def test_a_prepare_that_returns_what_cannot_be_stored_is_refused_at_create(backend: Backend, returns: str) -> None:
    created = backend.run("create", "--type", "test-bad-prepare", "-c", f"returns={returns}")
    assert created.code == 2, created.stderr
    lines = created.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), created.stderr
    assert "BadPrepare.prepare()" in lines[0] and "test-bad-prepare" in lines[0]
    expected = {"none": "NoneType", "list": "a list", "nan": "context.x", "set": "context.x", "huge-int": "context.x"}
    assert expected[returns] in lines[0]
    assert job_count(backend) == 0


DEEP = '{"a": ' + "[" * 100 + "]" * 100 + "}"
BAD_CONTEXTS = {
    '{"a": 100000000000000000000000}': "context.a",
    '{"a": "x\\u0000y"}': "context.a",
    '{"a": {"b": ["ok", "\\ud800"]}}': "context.a.b[1]",
    # 1e999 never gets this far: the CLI's JSON reader refuses it (tests/cli/test_cli_bad_input.py).
    DEEP: "nested deeper than 64 levels",
}


@pytest.mark.parametrize("context", sorted(BAD_CONTEXTS))
def test_a_context_that_cannot_be_stored_is_refused_at_create(backend: Backend, context: str) -> None:
    created = backend.run("create", "--type", "noop", "--context", context)
    assert created.code == 2, created.stderr
    lines = created.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: invalid context for noop: cannot store"), created.stderr
    assert BAD_CONTEXTS[context] in lines[0]
    assert job_count(backend) == 0


def test_python_values_that_are_not_json_are_refused_by_connect_create(
    backend: Backend, patched_env: PatchedEnv
) -> None:
    with patched_env(backend.env):
        jobs = batchctl.connect()
    try:
        for context, where in (
            ({"a": {1, 2}}, "context.a: a set"),
            ({"a": {1: "x"}}, "context.a: key 1 is an int"),
            ({"a": b"x"}, "context.a: a bytes"),
        ):
            with pytest.raises(BadContext, match=where):
                jobs.create("noop", context=context)
    finally:
        jobs.close()
    assert job_count(backend) == 0


def test_a_statement_the_server_refuses_fails_the_job_once_and_is_no_outage(backend: Backend) -> None:
    job_id = create(backend, "--type", "test-refused-statement")
    burst = backend.burst()
    assert burst.code == 0, burst.stderr
    job = show(backend, job_id)
    assert job["status"] == "failed"
    assert job["attempts"] == 1
    assert "unavailable" not in job["result"]["errors"][0]["message"]
    assert job["result"]["errors"][0]["code"] == "OperationalError"
    assert "unavailable" not in burst.stderr


def test_an_export_of_70000_handles_runs_and_leaves_the_database_free(backend: Backend) -> None:
    assert backend.cli("products", "seed", "--count", "200").code == 0
    with backend.database().transaction(write=False) as tx:
        real = [row["handle"] for row in tx.execute("SELECT handle FROM product ORDER BY handle LIMIT 150").all()]
    handles = real + [f"no-such-product-{n:05d}" for n in range(70_000 - len(real))]
    context_file = Path(backend.tmp) / "handles.json"
    context_file.write_text(json.dumps({"handles": handles}))
    job_id = create(backend, "--type", "product-export", "--context-file", str(context_file))

    worker = backend.start_worker()
    # While the worker has the export, other clients create jobs: the write lock is not held for minutes.
    wait_until(lambda: show(backend, job_id)["status"] != "created" or show(backend, job_id)["attempts"] > 0)
    other = backend.run("create", "--type", "noop", "-q")
    assert other.code == 0, other.stderr
    waited = backend.run("wait", job_id, "--timeout", "300", timeout=320)
    assert waited.code == 0, (waited.stderr, backend.worker_log)
    job = show(backend, job_id)
    assert job["result"]["count"] == job["result"]["advancement_count"] == 150
    assert Path(job["result"]["file_key"]).exists()
    assert worker.poll() is None  # still running: nothing took the worker down
    assert "unavailable" not in backend.worker_log


def test_a_write_of_the_worker_s_own_that_the_database_refuses_fails_the_job_once(backend: Backend) -> None:
    job_id = create(backend, "--type", "test-refused-completion")
    burst = backend.burst()
    assert burst.code == 0, burst.stderr
    job = show(backend, job_id)
    assert job["status"] == "failed", job
    assert job["attempts"] == 1
    assert "completion refused by a trigger" in job["result"]["errors"][-1]["message"]
    assert "Traceback" not in burst.stderr
    assert burst.stderr.count("the database refused a write") == 1
