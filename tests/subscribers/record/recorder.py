"""A subscriber that appends a line per delivery (start and end, with its process) to $SUBS_RECORD_FILE."""

from __future__ import annotations

import os
import random
import time

from batchctl import Event, subscriber


def _write(line: str) -> None:
    # One write of one short line with O_APPEND: lines from several processes never interleave.
    fd = os.open(os.environ["SUBS_RECORD_FILE"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


@subscriber(name="recorder")
def record(event: Event) -> None:
    """Record every event of every job, sleeping up to $SUBS_SLEEP_MS in the middle (kills land there)."""
    assert event.job is not None and event.job["id"] == event.job_id
    _write(f"start {os.getpid()} {time.monotonic_ns()} {event.job_id} {event.id} {event.name}")
    pause = float(os.environ.get("SUBS_SLEEP_MS") or 0)
    if pause:
        time.sleep(random.uniform(0, pause) / 1000)
    _write(f"end {os.getpid()} {time.monotonic_ns()} {event.job_id} {event.id} {event.name}")
