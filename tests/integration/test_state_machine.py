"""The lifecycle against a real database: random sequences of moves, and real races between connections.

The state machine drives one real job row per run through ``lifecycle.apply`` (the worker's moves) and
the service functions (the user's moves), keeps a model of the status it expects, and after every step
checks the row read back from the database against the model and against the transition table of
docs/lifecycle.md (Statuses and transitions).
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from batchctl import lifecycle, service
from batchctl.db import Database, Row, utcnow
from batchctl.errors import InvalidTransition, NotFound, NotOwner
from batchctl.lifecycle import ACTIVE, JobStatus, Transition
from batchctl.runtime import Runtime
from tests.conftest import Backend

NOT_OWNER = "Cannot access a batch job that does not belong to the logged in user"
REFUSALS = {
    "pre_process": "Cannot mark a batch job as pre processed if it is not in created status",
    "confirm": "Cannot confirm processing for a batch job that is not pre processed",
    "start_processing": "Cannot mark a batch job as processing if the status is different that confirmed",
}


def complete_refusal(status: JobStatus) -> str:
    return f'Cannot complete a batch job with status "{status.value}". The batch job must be processing'


def read_row(db: Database, job_id: str) -> Row:
    with db.transaction(write=False) as tx:
        row = tx.execute("SELECT * FROM batch_job WHERE id = :id", {"id": job_id}).one_or_none()
    assert row is not None
    return row


def read_events(db: Database, job_id: str) -> list[Row]:
    with db.transaction(write=False) as tx:
        return tx.execute("SELECT id, name FROM batch_job_event WHERE job_id = :id ORDER BY id", {"id": job_id}).all()


def apply_move(db: Database, job_id: str, transition: Transition) -> None:
    """A worker-side move, in its own transaction as the runner does it."""
    with db.transaction() as tx:
        lifecycle.apply(tx, job_id, transition, now=utcnow())


Users = tuple[Runtime, Runtime]  # (the job's owner, someone else)


@pytest.fixture
def runtimes(backend: Backend) -> Iterator[Users]:
    """The job owner's Runtime and another user's, sharing one Database (closed at teardown)."""
    owner = Runtime(backend.settings)
    intruder = Runtime(dataclasses.replace(backend.settings, user="intruder"))
    intruder.__dict__["db"] = owner.db  # cached_property: same connection, so both see every commit
    yield owner, intruder
    owner.db.discard_connection()


def new_job(rt: Runtime, *, dry_run: bool = True) -> str:
    return str(service.create_job(rt, "noop", {}, dry_run=dry_run)["id"])


def to_status(rt: Runtime, job_id: str, path: list[Transition]) -> None:
    for transition in path:
        apply_move(rt.db, job_id, transition)


TO_PROCESSING = [lifecycle.PRE_PROCESS, lifecycle.CONFIRM, lifecycle.START_PROCESSING]


# -- the state machine -----------------------------------------------------------------------------------------

ACTIONS = (
    "pre_process",
    "start_processing",
    "complete",
    "fail",
    "confirm_as_owner",
    "confirm_as_someone_else",
    "cancel_as_owner",
    "cancel_as_someone_else",
    "retry_as_owner",
    "retry_as_someone_else",
)


@dataclasses.dataclass(frozen=True)
class Accepted:
    target: JobStatus
    event: str


@dataclasses.dataclass(frozen=True)
class Refused:
    error: type[InvalidTransition]
    message: str


@dataclasses.dataclass(frozen=True)
class NoOp:
    """Accepted with nothing to do: cancel of a canceled job."""


Outcome = Accepted | Refused | NoOp


def expected_outcome(action: str, status: JobStatus, confirmed_at_set: bool) -> Outcome:
    """The model: what docs/lifecycle.md (Statuses and transitions) says ``action`` does to a job in ``status``."""
    if action.endswith("_as_someone_else"):
        return Refused(NotOwner, NOT_OWNER)
    if action == "pre_process":
        if status is JobStatus.CREATED:
            return Accepted(JobStatus.PRE_PROCESSED, "batch.pre_processed")
        return Refused(InvalidTransition, REFUSALS["pre_process"])
    if action == "confirm_as_owner":
        if status is JobStatus.PRE_PROCESSED:
            return Accepted(JobStatus.CONFIRMED, "batch.confirmed")
        return Refused(InvalidTransition, REFUSALS["confirm"])
    if action == "start_processing":
        if status is JobStatus.CONFIRMED:
            return Accepted(JobStatus.PROCESSING, "batch.processing")
        return Refused(InvalidTransition, REFUSALS["start_processing"])
    if action == "complete":
        if status is JobStatus.PROCESSING:
            return Accepted(JobStatus.COMPLETED, "batch.completed")
        return Refused(InvalidTransition, complete_refusal(status))
    if action == "fail":
        if status in ACTIVE:
            return Accepted(JobStatus.FAILED, "batch.failed")
        # Only the worker fails a job, so no script matches this refusal; what matters is that a finished job stays so.
        return Refused(InvalidTransition, lifecycle.FAIL.refusal(status))
    if action == "cancel_as_owner":
        if status in ACTIVE:
            return Accepted(JobStatus.CANCELED, "batch.canceled")
        if status is JobStatus.CANCELED:
            return NoOp()  # canceling a canceled job succeeds and does nothing (exit 0)
        return Refused(InvalidTransition, f"Cannot cancel {status.value} batch job")
    if action == "retry_as_owner":
        if status is not JobStatus.FAILED:
            return Refused(InvalidTransition, lifecycle.RETRY_PROCESSING.refusal(status))
        # Failed after confirmation: back to confirmed, so processing resumes from its checkpoint;
        # failed before anyone confirmed: pre-process again.
        return Accepted(JobStatus.CONFIRMED if confirmed_at_set else JobStatus.CREATED, "batch.updated")
    raise AssertionError(f"unknown action {action}")


def lifecycle_machine(owner: Runtime, intruder: Runtime) -> type[RuleBasedStateMachine]:
    """A state machine class bound to this test's backend (the backend fixture is per test, not global)."""
    db = owner.db

    def perform(action: str, job_id: str) -> Any:
        """The real code for ``action``: the worker's moves through lifecycle.apply, the user's through service."""
        worker_moves = {
            "pre_process": lifecycle.PRE_PROCESS,
            "start_processing": lifecycle.START_PROCESSING,
            "complete": lifecycle.COMPLETE,
            "fail": lifecycle.FAIL,
        }
        if action in worker_moves:
            return apply_move(db, job_id, worker_moves[action])
        verb, _, who = action.partition("_as_")
        rt = owner if who == "owner" else intruder
        use_case = {"confirm": service.confirm_job, "cancel": service.cancel_job, "retry": service.retry_job}[verb]
        return use_case(rt, job_id)

    class LifecycleMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.job_id = new_job(owner)
            self.expected = JobStatus.CREATED
            # service.retry_job picks its transition from confirmed_at, so the model tracks it too.
            self.confirmed_at_set = False
            self.moves: list[tuple[str, JobStatus, JobStatus]] = []  # (action, before, after) when accepted

        def outcome(self, action: str) -> Outcome:
            return expected_outcome(action, self.expected, self.confirmed_at_set)

        @initialize(depth=st.integers(0, 3), failed=st.booleans())
        def start_somewhere(self, depth: int, failed: bool) -> None:
            # Start runs at every point of the happy path, failed or not, so short runs still cover the
            # deep cases (a retry after processing); the moves that get there are checked like any other.
            for action in ("pre_process", "confirm_as_owner", "start_processing")[:depth]:
                self.check(action)
            if failed:
                self.check("fail")

        @rule(action=st.sampled_from(ACTIONS))
        def any_move(self, action: str) -> None:
            self.check(action)

        @rule(data=st.data())
        def allowed_move(self, data: st.DataObject) -> None:
            # Half the steps make progress, so that runs reach deep states (failed after processing, then
            # retried) instead of mostly bouncing off refusals near `created`.
            possible = [a for a in ACTIONS if not isinstance(self.outcome(a), Refused)]
            if possible:
                self.check(data.draw(st.sampled_from(possible), label="action"))

        def check(self, action: str) -> None:
            expected = self.outcome(action)
            before, events_before = read_row(db, self.job_id), read_events(db, self.job_id)
            if isinstance(expected, Refused):
                with pytest.raises(InvalidTransition) as refusal:
                    perform(action, self.job_id)
                assert type(refusal.value) is expected.error, action
                assert str(refusal.value) == expected.message
                # A refused move changes nothing at all: every column, and no event.
                assert read_row(db, self.job_id) == before
                assert read_events(db, self.job_id) == events_before
                return
            returned = perform(action, self.job_id)
            after, events_after = read_row(db, self.job_id), read_events(db, self.job_id)
            if isinstance(expected, NoOp):
                assert returned["status"] == self.expected.value
                assert after == before
                assert events_after == events_before
                return
            assert after["status"] == expected.target.value, (action, self.expected)
            assert after[expected.target.timestamp_column] is not None
            assert after["updated_at"] != before["updated_at"]
            # Exactly one new event, appended after the existing ones.
            assert events_after[: len(events_before)] == events_before
            assert [e["name"] for e in events_after[len(events_before) :]] == [expected.event], action
            self.moves.append((action, self.expected, expected.target))
            if action == "confirm_as_owner":
                self.confirmed_at_set = True
            if action == "retry_as_owner" and expected.target is JobStatus.CREATED:
                self.confirmed_at_set = False
            self.expected = expected.target

        # -- after every step ---------------------------------------------------------------------------

        @invariant()
        def status_column_matches_the_timestamps_and_the_model(self) -> None:
            row = read_row(db, self.job_id)
            assert row["status"] == self.expected.value
            assert lifecycle.derive_status(row) is self.expected
            assert row["created_at"] is not None
            assert (row["confirmed_at"] is not None) == self.confirmed_at_set
            # Medusa's precedence would hide a second terminal timestamp; none may ever be written.
            assert sum(row[s.timestamp_column] is not None for s in lifecycle.TERMINAL) <= 1

        @invariant()
        def finished_jobs_only_come_back_through_a_retry_of_failed(self) -> None:
            for action, before, after in self.moves:
                if before.is_terminal and after is not before:
                    assert (action, before) == ("retry_as_owner", JobStatus.FAILED)

    return LifecycleMachine


def test_random_move_sequences_keep_the_lifecycle_consistent(runtimes: Users) -> None:
    owner, intruder = runtimes
    run_state_machine_as_test(
        lifecycle_machine(owner, intruder),
        settings=settings(
            max_examples=30,
            stateful_step_count=15,
            deadline=None,
            database=None,  # every run starts from a fresh job anyway; replays would only cost time
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )


# -- single, directed checks the random runs might not hit often -----------------------------------------------


def test_retry_of_a_job_that_failed_in_pre_processing_keeps_its_creation_time(runtimes: Users) -> None:
    # created_at is when the job was created: `list --created-after` and `prune --older-than` rely on it,
    # and the id's ULID encodes it. A retry back to `created` must not move it.
    owner, _ = runtimes
    job_id = new_job(owner)
    created_at = read_row(owner.db, job_id)["created_at"]
    apply_move(owner.db, job_id, lifecycle.FAIL)
    retried = service.retry_job(owner, job_id)
    assert retried["status"] == "created"
    assert read_row(owner.db, job_id)["created_at"] == created_at


def test_retry_after_processing_clears_failed_and_processing_but_keeps_the_checkpoint(runtimes: Users) -> None:
    owner, _ = runtimes
    job_id = new_job(owner)
    to_status(owner, job_id, TO_PROCESSING)
    with owner.db.transaction() as tx:
        tx.execute("UPDATE batch_job SET advancement_count = 7 WHERE id = :id", {"id": job_id})
    apply_move(owner.db, job_id, lifecycle.FAIL)
    service.retry_job(owner, job_id)
    row = read_row(owner.db, job_id)
    assert row["status"] == "confirmed"
    assert row["failed_at"] is None and row["processing_at"] is None
    assert row["pre_processed_at"] is not None and row["confirmed_at"] is not None
    assert row["advancement_count"] == 7


def test_cancel_of_a_canceled_job_is_a_no_op_with_exit_0(backend: Backend, runtimes: Users) -> None:
    owner, intruder = runtimes
    job_id = new_job(owner)
    service.cancel_job(owner, job_id)
    before, events_before = read_row(owner.db, job_id), read_events(owner.db, job_id)

    again = backend.cli("cancel", job_id, "--json")

    assert again.code == 0, again.stderr
    assert again.json()["status"] == "canceled"
    assert read_row(owner.db, job_id) == before
    assert read_events(owner.db, job_id) == events_before
    # The no-op is for the owner only: someone else still gets the ownership refusal.
    with pytest.raises(NotOwner, match=f"^{NOT_OWNER}$"):
        service.cancel_job(intruder, job_id)


def test_a_refusal_carries_the_status_owner_and_row_it_lost_to(runtimes: Users) -> None:
    owner, intruder = runtimes
    job_id = new_job(owner)
    service.cancel_job(owner, job_id)
    with pytest.raises(InvalidTransition) as refused:
        service.confirm_job(owner, job_id)
    assert type(refused.value) is InvalidTransition
    assert refused.value.current is JobStatus.CANCELED
    assert refused.value.owner == owner.settings.user
    assert refused.value.job is not None
    assert refused.value.job["id"] == job_id and refused.value.job["status"] == "canceled"
    assert isinstance(refused.value.job["context"], dict)  # decoded, as store reads it
    with pytest.raises(NotOwner) as not_owner:
        service.retry_job(intruder, job_id)
    assert not_owner.value.current is JobStatus.CANCELED and not_owner.value.owner == owner.settings.user


def test_an_unknown_job_is_not_found_with_the_design_message(runtimes: Users) -> None:
    owner, _ = runtimes
    missing = "batch_01JD5Z8M3N4P5Q6R7S8T9V0W1X"
    for move in (service.confirm_job, service.cancel_job, service.retry_job):
        with pytest.raises(NotFound) as refused:
            move(owner, missing)
        assert str(refused.value) == f"Batch job with id {missing} was not found"


# -- races between real connections ----------------------------------------------------------------------------


def race(functions: list[Callable[[], Any]]) -> list[BaseException | Any]:
    """Run the functions in threads released together; each one's return value or exception."""
    barrier = threading.Barrier(len(functions))
    outcomes: list[BaseException | Any] = [None] * len(functions)

    def run(index: int) -> None:
        barrier.wait()
        try:
            outcomes[index] = functions[index]()
        except BaseException as error:  # the race's loser: keep it to assert on
            outcomes[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(functions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return outcomes


def own_runtime(backend: Backend) -> Runtime:
    """A Runtime with its own Database object (its own connection), as a separate client would have."""
    return Runtime(backend.settings)


def in_own_connection(backend: Backend, work: Callable[[Runtime], Any]) -> Callable[[], Any]:
    rt = own_runtime(backend)
    # Check the schema before the race (cached_property), then drop this thread's connection: the racing
    # thread opens its own.
    rt.db.discard_connection()

    def run() -> Any:
        try:
            return work(rt)
        finally:
            rt.db.discard_connection()  # the connection belongs to the racing thread

    return run


@pytest.mark.parametrize("round_", range(3))
def test_racing_confirms_have_exactly_one_winner(backend: Backend, runtimes: Users, round_: int) -> None:
    owner, _ = runtimes
    job_id = new_job(owner)
    apply_move(owner.db, job_id, lifecycle.PRE_PROCESS)

    outcomes = race([in_own_connection(backend, lambda rt: service.confirm_job(rt, job_id)) for _ in range(8)])

    winners = [o for o in outcomes if not isinstance(o, BaseException)]
    losers = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(winners) == 1 and winners[0]["status"] == "confirmed"
    assert len(losers) == 7
    for loser in losers:
        assert type(loser) is InvalidTransition
        assert str(loser) == REFUSALS["confirm"]
    assert [e["name"] for e in read_events(owner.db, job_id)].count("batch.confirmed") == 1
    assert read_row(owner.db, job_id)["status"] == "confirmed"


def complete_job(rt: Runtime, job_id: str) -> str:
    apply_move(rt.db, job_id, lifecycle.COMPLETE)
    return "completed"


def cancel_job(rt: Runtime, job_id: str) -> str:
    service.cancel_job(rt, job_id)
    return "canceled"


@pytest.mark.parametrize("round_", range(5))
def test_cancel_racing_complete_never_sets_both(backend: Backend, runtimes: Users, round_: int) -> None:
    owner, _ = runtimes
    job_id = new_job(owner)
    to_status(owner, job_id, TO_PROCESSING)

    outcomes = race(
        [
            in_own_connection(backend, lambda rt: complete_job(rt, job_id)),
            in_own_connection(backend, lambda rt: cancel_job(rt, job_id)),
        ]
    )

    row = read_row(owner.db, job_id)
    assert not (row["completed_at"] is not None and row["canceled_at"] is not None)
    winners = [o for o in outcomes if isinstance(o, str)]
    assert winners == [row["status"]]
    [loser] = [o for o in outcomes if isinstance(o, BaseException)]
    assert type(loser) is InvalidTransition
    expected = (
        "Cannot cancel completed batch job" if row["status"] == "completed" else complete_refusal(JobStatus.CANCELED)
    )
    assert str(loser) == expected
    names = [e["name"] for e in read_events(owner.db, job_id)]
    assert names.count("batch.completed") + names.count("batch.canceled") == 1
