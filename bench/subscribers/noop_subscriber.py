"""The bench's no-op subscriber: takes every event and does nothing, so the figure is batchctl's own cost."""

from __future__ import annotations

from batchctl import Event, subscriber


@subscriber(name="bench-noop")
def ignore(event: Event) -> None:
    """Do nothing with the event."""
