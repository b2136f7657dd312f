"""``apply_chain`` (one UPDATE for consecutive moves) leaves a job exactly as the moves one by one would."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from batchctl import leases, lifecycle, service, store
from batchctl.db import Database, utcnow
from batchctl.errors import InvalidTransition
from batchctl.lifecycle import JobStatus
from batchctl.runtime import Runtime
from tests.conftest import Backend

STEPS: list[lifecycle.Step] = [
    (lifecycle.PRE_PROCESS, None),
    (lifecycle.AUTO_CONFIRM, {"auto": True}),
    (lifecycle.START_PROCESSING, None),
]
COMPARED = ("status", "worker", "count", "result", *lifecycle.TIMESTAMP_COLUMNS)


def _claimed_job(runtime: Runtime, token: str) -> str:
    job_id: str = service.create_job(runtime, "noop", {"count": 2}, dry_run=False)["id"]
    with runtime.db.transaction() as tx:
        assert leases.claim_for_pre_process(tx, job_id, token, utcnow(), timedelta(seconds=30)) is not None
    return job_id


def _state(db: Database, job_id: str) -> tuple[dict[str, Any], list[tuple[str, Any]]]:
    with db.transaction(write=False) as tx:
        row = tx.execute("SELECT * FROM batch_job WHERE id = :id", {"id": job_id}).one_or_none()
        events = tx.execute(
            "SELECT name, data FROM batch_job_event WHERE job_id = :id ORDER BY id", {"id": job_id}
        ).all()
    assert row is not None
    decoded = store.decode_row(row)
    # Times differ between the two jobs; whether each is set must not.
    state = {key: (decoded[key] is not None) if key.endswith("_at") else decoded[key] for key in COMPARED}
    return state, [(event["name"], store.decode_row(event)["data"]) for event in events]


def test_a_chain_equals_its_steps_one_by_one(backend: Backend) -> None:
    runtime = Runtime(backend.settings)
    columns = {"count": 2, "result": {"stat_descriptors": []}}
    one_by_one, chained = _claimed_job(runtime, "token-a"), _claimed_job(runtime, "token-b")
    now = utcnow()
    with runtime.db.transaction() as tx:
        # The worker's guard and the pending columns go with the first move, as in a worker.
        lifecycle.apply(tx, one_by_one, lifecycle.PRE_PROCESS, now=now, worker="token-a", set_columns=columns)
        for transition, data in STEPS[1:]:
            lifecycle.apply(tx, one_by_one, transition, now=now, event_data=data)
        lifecycle.apply_chain(tx, chained, STEPS, now=now, worker="token-b", set_columns=columns)
    (first, first_events), (second, second_events) = _state(runtime.db, one_by_one), _state(runtime.db, chained)
    assert first["worker"] == "token-a" and second["worker"] == "token-b"
    assert {**first, "worker": None} == {**second, "worker": None}
    assert second["status"] == JobStatus.PROCESSING
    assert first_events == second_events
    assert [name for name, _ in second_events] == [
        "batch.created",
        "batch.pre_processed",
        "batch.confirmed",
        "batch.processing",
    ]
    runtime.db.discard_connection()


def test_a_refused_chain_writes_nothing(backend: Backend) -> None:
    runtime = Runtime(backend.settings)
    job_id = _claimed_job(runtime, "token-a")
    before = _state(runtime.db, job_id)
    with pytest.raises(InvalidTransition), runtime.db.transaction() as tx:
        lifecycle.apply_chain(tx, job_id, STEPS[1:], now=utcnow(), worker="token-a")  # confirm needs pre_processed
    assert _state(runtime.db, job_id) == before
    with pytest.raises(ValueError, match="cannot follow"), runtime.db.transaction() as tx:
        lifecycle.apply_chain(tx, job_id, [STEPS[0], STEPS[2]], now=utcnow())
    runtime.db.discard_connection()
