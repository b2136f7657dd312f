"""The lifecycle as data: status derivation, the transition table and its refusal messages (no I/O)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import combinations
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from batchctl import lifecycle
from batchctl.lifecycle import JobStatus, Transition

NOW = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)

TRANSITIONS = (
    lifecycle.PRE_PROCESS,
    lifecycle.CONFIRM,
    lifecycle.AUTO_CONFIRM,
    lifecycle.START_PROCESSING,
    lifecycle.COMPLETE,
    lifecycle.CANCEL,
    lifecycle.FAIL,
    lifecycle.RETRY_PROCESSING,
    lifecycle.RETRY_PRE_PROCESSING,
)

# docs/lifecycle.md (Statuses and transitions), verbatim: scripts match these strings, so a reworded message
# is a breaking change.
DESIGN_REFUSALS = {
    "pre_process": "Cannot mark a batch job as pre processed if it is not in created status",
    "confirm": "Cannot confirm processing for a batch job that is not pre processed",
    "auto_confirm": "Cannot confirm processing for a batch job that is not pre processed",
    "start_processing": "Cannot mark a batch job as processing if the status is different that confirmed",
}


def row_with(*statuses: JobStatus) -> dict[str, Any]:
    """A row whose only set timestamps are those of ``statuses`` (every other timestamp column is None)."""
    row: dict[str, Any] = {column: None for column in lifecycle.TIMESTAMP_COLUMNS}
    for status in statuses:
        row[status.timestamp_column] = NOW
    return row


# -- derive_status ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reached", "expected"),
    [
        ((), JobStatus.CREATED),
        ((JobStatus.CREATED,), JobStatus.CREATED),
        ((JobStatus.CREATED, JobStatus.PRE_PROCESSED), JobStatus.PRE_PROCESSED),
        ((JobStatus.CREATED, JobStatus.PRE_PROCESSED, JobStatus.CONFIRMED), JobStatus.CONFIRMED),
        ((JobStatus.PRE_PROCESSED, JobStatus.CONFIRMED, JobStatus.PROCESSING), JobStatus.PROCESSING),
        ((JobStatus.PROCESSING, JobStatus.COMPLETED), JobStatus.COMPLETED),
        ((JobStatus.PROCESSING, JobStatus.CANCELED), JobStatus.CANCELED),
        ((JobStatus.PROCESSING, JobStatus.FAILED), JobStatus.FAILED),
        # Medusa's order, not the order things happened: failed beats canceled beats completed.
        ((JobStatus.COMPLETED, JobStatus.CANCELED), JobStatus.CANCELED),
        ((JobStatus.CANCELED, JobStatus.FAILED), JobStatus.FAILED),
        ((JobStatus.COMPLETED, JobStatus.FAILED), JobStatus.FAILED),
        ((JobStatus.CONFIRMED,), JobStatus.CONFIRMED),
    ],
)
def test_derive_status_follows_medusa_precedence(reached: tuple[JobStatus, ...], expected: JobStatus) -> None:
    assert lifecycle.derive_status(row_with(*reached)) is expected


def test_precedence_is_the_one_design_names() -> None:
    assert [s.value for s in lifecycle.PRECEDENCE] == [
        "failed",
        "canceled",
        "completed",
        "processing",
        "confirmed",
        "pre_processed",
        "created",
    ]


@given(st.sets(st.sampled_from(list(JobStatus))))
def test_derive_status_is_the_highest_precedence_timestamp_set(reached: set[JobStatus]) -> None:
    expected = next((s for s in lifecycle.PRECEDENCE if s in reached), JobStatus.CREATED)
    assert lifecycle.derive_status(row_with(*reached)) is expected


def test_derive_status_ignores_missing_columns() -> None:
    # A partial row (only some columns selected) must still derive, not raise KeyError.
    assert lifecycle.derive_status({"canceled_at": NOW}) is JobStatus.CANCELED
    assert lifecycle.derive_status({}) is JobStatus.CREATED


def test_terminal_and_active_partition_the_statuses() -> None:
    assert {s for s in JobStatus if s.is_terminal} == {JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELED}
    assert lifecycle.ACTIVE | lifecycle.TERMINAL == set(JobStatus)
    assert not lifecycle.ACTIVE & lifecycle.TERMINAL


# -- the transition table --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("transition", "sources", "target"),
    [
        (lifecycle.PRE_PROCESS, {"created"}, "pre_processed"),
        (lifecycle.CONFIRM, {"pre_processed"}, "confirmed"),
        (lifecycle.AUTO_CONFIRM, {"pre_processed"}, "confirmed"),
        (lifecycle.START_PROCESSING, {"confirmed"}, "processing"),
        (lifecycle.COMPLETE, {"processing"}, "completed"),
        (lifecycle.CANCEL, {"created", "pre_processed", "confirmed", "processing"}, "canceled"),
        (lifecycle.FAIL, {"created", "pre_processed", "confirmed", "processing"}, "failed"),
        (lifecycle.RETRY_PROCESSING, {"failed"}, "confirmed"),
        (lifecycle.RETRY_PRE_PROCESSING, {"failed"}, "created"),
    ],
    ids=lambda value: value.action if isinstance(value, Transition) else None,
)
def test_transition_table_matches_design(transition: Transition, sources: set[str], target: str) -> None:
    assert {s.value for s in transition.sources} == sources
    assert transition.target.value == target


def test_only_a_retry_leaves_a_terminal_status_and_only_from_failed() -> None:
    leaving_terminal = [t for t in TRANSITIONS if t.sources & lifecycle.TERMINAL]
    assert {t.action for t in leaving_terminal} == {"retry"}
    assert all(t.sources == {JobStatus.FAILED} for t in leaving_terminal)


@pytest.mark.parametrize(
    "transition",
    [lifecycle.CONFIRM, lifecycle.CANCEL, lifecycle.RETRY_PROCESSING, lifecycle.RETRY_PRE_PROCESSING],
    ids=lambda t: t.action,
)
def test_user_moves_are_owner_only(transition: Transition) -> None:
    assert transition.owner_only


@pytest.mark.parametrize(
    "transition",
    [lifecycle.PRE_PROCESS, lifecycle.AUTO_CONFIRM, lifecycle.START_PROCESSING, lifecycle.COMPLETE, lifecycle.FAIL],
    ids=lambda t: t.action,
)
def test_worker_moves_are_not_owner_only(transition: Transition) -> None:
    # A worker acts for whoever created the job; an owner check there would strand other users' jobs.
    assert not transition.owner_only


def refused_cases() -> Iterator[tuple[Transition, JobStatus]]:
    for transition in TRANSITIONS:
        for status in JobStatus:
            if status not in transition.sources:
                yield transition, status


@pytest.mark.parametrize(
    ("transition", "status"),
    [case for case in refused_cases() if case[0].action in DESIGN_REFUSALS],
    ids=lambda value: value.action if isinstance(value, Transition) else value.value,
)
def test_fixed_refusal_messages_are_verbatim_from_design(transition: Transition, status: JobStatus) -> None:
    assert transition.refusal(status) == DESIGN_REFUSALS[transition.action]


@pytest.mark.parametrize("status", sorted(set(JobStatus) - {JobStatus.PROCESSING}), ids=str)
def test_complete_refusal_names_the_current_status(status: JobStatus) -> None:
    assert lifecycle.COMPLETE.refusal(status) == (
        f'Cannot complete a batch job with status "{status.value}". The batch job must be processing'
    )


def test_cancel_refusals_are_verbatim_from_design() -> None:
    assert lifecycle.CANCEL.refusal(JobStatus.COMPLETED) == "Cannot cancel completed batch job"
    assert lifecycle.CANCEL.refusal(JobStatus.FAILED) == "Cannot cancel failed batch job"


@pytest.mark.parametrize(
    ("transition", "status"),
    # Stable ids: a Transition's repr holds frozensets, whose order differs between xdist workers.
    [pytest.param(t, s, id=f"{t.action}->{t.target.value}-from-{s.value}") for t, s in refused_cases()],
)
def test_every_refusal_is_one_line_with_no_unfilled_placeholder(transition: Transition, status: JobStatus) -> None:
    message = transition.refusal(status)
    assert message and "\n" not in message
    assert "{" not in message and "}" not in message


# -- clears keep the derived status equal to the target --------------------------------------------------------


def moved(timestamps: frozenset[JobStatus], transition: Transition) -> frozenset[JobStatus]:
    """The timestamps set after ``transition``, computed as lifecycle.apply writes them."""
    return (timestamps - set(transition.clears)) | {transition.target}


def reachable_states() -> set[frozenset[JobStatus]]:
    """Every set of timestamps a job can have, exploring the transition table from a fresh job."""
    start = frozenset({JobStatus.CREATED})
    seen = {start}
    frontier = [start]
    while frontier:
        state = frontier.pop()
        current = lifecycle.derive_status(row_with(*state))
        for transition in TRANSITIONS:
            if current in transition.sources:
                following = moved(state, transition)
                if following not in seen:
                    seen.add(following)
                    frontier.append(following)
    return seen


def test_every_reachable_state_keeps_created_at() -> None:
    states = reachable_states()
    # The exploration must actually reach every status, or the next test would prove little.
    assert {lifecycle.derive_status(row_with(*s)) for s in states} == set(JobStatus)
    assert all(JobStatus.CREATED in state for state in states)


@pytest.mark.parametrize("transition", TRANSITIONS, ids=lambda t: f"{t.action}->{t.target.value}")
def test_clears_keep_derive_status_equal_to_the_target(transition: Transition) -> None:
    starts = [s for s in reachable_states() if lifecycle.derive_status(row_with(*s)) in transition.sources]
    assert starts, f"{transition.action} is never allowed from a reachable state"
    for state in starts:
        assert lifecycle.derive_status(row_with(*moved(state, transition))) is transition.target, sorted(state)


@pytest.mark.parametrize("transition", [lifecycle.RETRY_PROCESSING, lifecycle.RETRY_PRE_PROCESSING])
def test_retry_from_any_failed_combination_derives_its_target(transition: Transition) -> None:
    # Stronger than reachability: whatever non-terminal timestamps a failed job carries, a retry lands on
    # its target and no longer looks failed.
    optional = [JobStatus.PRE_PROCESSED, JobStatus.CONFIRMED, JobStatus.PROCESSING]
    for size in range(len(optional) + 1):
        for extra in combinations(optional, size):
            state = frozenset({JobStatus.CREATED, JobStatus.FAILED, *extra})
            assert lifecycle.derive_status(row_with(*moved(state, transition))) is transition.target, extra


def test_timestamp_columns_are_named_after_the_statuses() -> None:
    assert lifecycle.TIMESTAMP_COLUMNS == tuple(f"{s.value}_at" for s in JobStatus)
    assert JobStatus.PRE_PROCESSED.timestamp_column == "pre_processed_at"
