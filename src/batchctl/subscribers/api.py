"""The ``@subscriber`` decorator: mark a function to be called with each matching ``Event``.

    from batchctl import Event, subscriber

    @subscriber("batch.completed", "batch.failed", types=["product-import"])
    def tell_the_team(event: Event) -> None:
        ...   # event.name, .job_id, .job (the job's JSON), .at, .data

A worker calls it at least once per matching event, in order per job; an exception is retried with
backoff and, after ``max_attempts``, the event is parked for this subscriber (``batchctl subscribers``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from batchctl.events import EVENT_NAMES, Event

MARKER = "__batchctl_subscriber__"
DEFAULT_MAX_ATTEMPTS = 5

Handler = Callable[[Event], object]
F = TypeVar("F", bound=Handler)


@dataclass(frozen=True)
class Filter:
    """Which events a subscriber wants: event names and job types (empty: all of them)."""

    events: tuple[str, ...] = ()
    types: tuple[str, ...] = ()

    def matches(self, event_name: str, job_type: str) -> bool:
        """Whether an event of this name, for a job of this type, is wanted."""
        return (not self.events or event_name in self.events) and (not self.types or job_type in self.types)


@dataclass(frozen=True)
class SubscriberSpec:
    """What ``@subscriber`` recorded on a function."""

    filter: Filter
    name: str | None
    max_attempts: int
    function: Handler


def check_events(events: Iterable[str]) -> tuple[str, ...]:
    """The event names, each one batchctl records, or ValueError naming the one that is not."""
    names = tuple(events)
    for name in names:
        if name not in EVENT_NAMES:
            raise ValueError(f"unknown event {name!r}; expected one of {', '.join(EVENT_NAMES)}")
    return names


def subscriber(
    *events: str,
    types: Iterable[str] | None = None,
    name: str | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> Callable[[F], F]:
    """Mark a function as a subscriber to ``events`` (none: every event), for jobs of ``types`` (none: all)."""
    if isinstance(types, str):
        types = [types]
    if max_attempts < 1:
        raise ValueError(f"max_attempts must be >= 1, got {max_attempts}")
    wanted = Filter(check_events(events), tuple(types or ()))

    def mark(function: F) -> F:
        setattr(function, MARKER, SubscriberSpec(wanted, name, max_attempts, function))
        return function

    return mark
