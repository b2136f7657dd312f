"""A subscriber that raises on every event while $SUBS_FAIL_FLAG exists, and records the event otherwise."""

from __future__ import annotations

import os
from pathlib import Path

from batchctl import Event, subscriber


@subscriber("batch.created", "batch.completed", name="flaky", max_attempts=2)
def fail(event: Event) -> None:
    """Raise while the flag file exists; afterwards append the event id to $SUBS_FAIL_FLAG.done."""
    flag = Path(os.environ["SUBS_FAIL_FLAG"])
    if flag.exists():
        raise RuntimeError(f"refusing {event.name} of {event.job_id}")
    with open(f"{flag}.done", "a") as done:
        done.write(f"{event.id}\n")
