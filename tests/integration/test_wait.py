"""`wait --for STATUS`: success iff the job reached STATUS (its timestamp is set), exit 1 iff it ended without.

A property test drives real job rows through random lifecycle moves (the transition table's own
``lifecycle.apply`` and the service's confirm/cancel/retry), keeps a model of the timestamps the moves
set and clear, and checks ``wait_for`` against it; directed CLI cases check the one line and exit code.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import batchctl
from batchctl import lifecycle, service
from batchctl.db import utcnow
from batchctl.errors import BadInput, InvalidTransition, StatusUnreachable, WaitTimeout
from batchctl.lifecycle import JobStatus
from batchctl.runtime import Runtime
from tests.conftest import Backend
from tests.integration.test_state_machine import NoOp, Refused, apply_move, expected_outcome, new_job

MOVES = ("pre_process", "confirm_as_owner", "start_processing", "complete", "fail", "cancel_as_owner", "retry_as_owner")
WORKER_MOVES = {
    "pre_process": lifecycle.PRE_PROCESS,
    "start_processing": lifecycle.START_PROCESSING,
    "complete": lifecycle.COMPLETE,
    "fail": lifecycle.FAIL,
}
USER_MOVES = {"confirm_as_owner": service.confirm_job, "cancel_as_owner": service.cancel_job}
# What a retry clears, by where it lands (docs/lifecycle.md, Statuses and transitions).
RETRY_CLEARS = {
    JobStatus.CONFIRMED: {JobStatus.FAILED, JobStatus.PROCESSING},
    JobStatus.CREATED: {JobStatus.FAILED, JobStatus.PRE_PROCESSED, JobStatus.CONFIRMED, JobStatus.PROCESSING},
}


@pytest.fixture
def runtime(backend: Backend) -> Iterator[Runtime]:
    rt = Runtime(backend.settings)
    yield rt
    rt.db.discard_connection()


def perform(rt: Runtime, job_id: str, move: str) -> None:
    if move in WORKER_MOVES:
        apply_move(rt.db, job_id, WORKER_MOVES[move])
    elif move == "retry_as_owner":
        service.retry_job(rt, job_id)
    else:
        USER_MOVES[move](rt, job_id)


@settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(target=st.sampled_from(list(JobStatus)), moves=st.lists(st.sampled_from(MOVES), max_size=8))
def test_wait_succeeds_iff_the_status_was_reached_and_fails_iff_it_ended_without(
    runtime: Runtime, target: JobStatus, moves: list[str]
) -> None:
    job_id = new_job(runtime)
    status, reached, confirmed_at_set = JobStatus.CREATED, {JobStatus.CREATED}, False
    for move in moves:  # the model: which timestamps the accepted moves set and clear
        outcome = expected_outcome(move, status, confirmed_at_set)
        if isinstance(outcome, Refused):
            with pytest.raises(InvalidTransition):
                perform(runtime, job_id, move)
            continue
        if isinstance(outcome, NoOp):  # cancel of a canceled job
            perform(runtime, job_id, move)
            continue
        perform(runtime, job_id, move)
        if move == "retry_as_owner":
            reached -= RETRY_CLEARS[outcome.target]
        status = outcome.target
        reached.add(status)
        confirmed_at_set = JobStatus.CONFIRMED in reached

    if target in reached:
        row = service.wait_for(runtime, job_id, {target}, timeout=0)
        assert row[target.timestamp_column] is not None or row["status"] == target.value
    elif status.is_terminal:
        with pytest.raises(StatusUnreachable) as ended:
            service.wait_for(runtime, job_id, {target}, timeout=0)
        assert str(ended.value) == f"{job_id} ended {status.value}; it can no longer reach {target.value}"
        assert ended.value.exit_code == 1 and ended.value.ended == status.value
        assert ended.value.job[target.timestamp_column] is None
    else:  # still on its way: the wait goes on (and here runs out at once)
        with pytest.raises(WaitTimeout):
            service.wait_for(runtime, job_id, {target}, timeout=0)


# -- the command line: directed cases from docs/lifecycle.md ------------------------------------------------

PATHS = {
    "completed": [lifecycle.PRE_PROCESS, lifecycle.CONFIRM, lifecycle.START_PROCESSING, lifecycle.COMPLETE],
    "canceled before confirmation": [lifecycle.PRE_PROCESS, lifecycle.CANCEL],
    "failed while processing": [lifecycle.PRE_PROCESS, lifecycle.CONFIRM, lifecycle.START_PROCESSING, lifecycle.FAIL],
}


@pytest.mark.parametrize(
    ("path", "target", "code"),
    [
        ("completed", "failed", 1),
        ("completed", "canceled", 1),
        ("completed", "pre_processed", 0),  # it went through pre_processed: reached
        ("completed", "processing", 0),
        ("completed", "completed", 0),
        ("canceled before confirmation", "confirmed", 1),
        ("canceled before confirmation", "pre_processed", 0),
        ("canceled before confirmation", "canceled", 0),
        ("failed while processing", "completed", 1),
        ("failed while processing", "processing", 0),
        ("failed while processing", "failed", 0),
    ],
)
def test_wait_for_exits_0_when_reached_and_1_when_it_never_can_be(
    backend: Backend, runtime: Runtime, path: str, target: str, code: int
) -> None:
    job_id = new_job(runtime)
    for transition in PATHS[path]:
        with runtime.db.transaction() as tx:
            lifecycle.apply(tx, job_id, transition, now=utcnow())
    ended = service.get_job(runtime, job_id)["status"]

    waited = backend.cli("wait", job_id, "--for", target, "--timeout", "30", "--json")

    assert waited.code == code, waited.stderr
    assert waited.json()["status"] == ended  # the job is printed either way
    if code == 0:
        assert waited.stderr == ""
    else:
        assert waited.stderr == f"error: {job_id} ended {ended}; it can no longer reach {target}\n"


def test_the_python_api_raises_status_unreachable_with_the_job(backend: Backend, runtime: Runtime) -> None:
    job_id = new_job(runtime)
    service.cancel_job(runtime, job_id)
    jobs = batchctl.connect(database_url=backend.env["BATCHCTL_DATABASE_URL"], user="tester")
    with pytest.raises(
        batchctl.StatusUnreachable, match="ended canceled; it can no longer reach confirmed or completed"
    ):
        jobs.wait(job_id, for_status=["completed", "confirmed"], timeout=5)
    try:
        jobs.wait(job_id, for_status="completed", timeout=5)
    except batchctl.StatusUnreachable as ended:
        assert isinstance(ended.job, batchctl.BatchJob) and ended.job.status == "canceled"
    # Without a status it waits for the end, which came: the job, to tell how it ended.
    assert jobs.wait(job_id, timeout=5).status == "canceled"


@pytest.mark.parametrize("timeout", ["1e400", "-1", "inf", "-inf", "nan", "NaN", "-0.5"])
def test_a_timeout_that_is_not_a_finite_number_of_seconds_is_one_line_exit_2(backend: Backend, timeout: str) -> None:
    job_id = backend.cli("create", "--type", "noop", "--dry-run", "-q").stdout.strip()
    waited = backend.cli("wait", job_id, f"--timeout={timeout}")
    assert waited.code == 2, (waited.stdout, waited.stderr)
    lines = waited.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --timeout must be a finite number of seconds >= 0"), lines
    assert waited.stdout == ""


@pytest.mark.parametrize("timeout", [float("nan"), float("inf"), -1.0])
def test_the_python_api_refuses_the_same_timeouts(backend: Backend, runtime: Runtime, timeout: float) -> None:
    job_id = new_job(runtime)
    with pytest.raises(BadInput, match="timeout must be a finite number of seconds >= 0"):
        service.wait_for(runtime, job_id, set(), timeout=timeout)
