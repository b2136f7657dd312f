"""The ``noop`` job: counts to N and does nothing else; for smoke tests of a deployment and benchmarks."""

from __future__ import annotations

import time
from typing import Any

from batchctl.contexts import check_keys, number
from batchctl.strategy import BatchJobStrategy, Job

CONTEXT_KEYS = ("chunk_size", "count", "sleep")


class NoopStrategy(BatchJobStrategy):
    """Does nothing COUNT times (context: count, sleep seconds per item, chunk_size)."""

    identifier = "noop-strategy"
    batch_type = "noop"

    def prepare(self, context: dict[str, Any]) -> dict[str, Any]:
        """Check count/sleep/chunk_size and fill in their defaults."""
        check_keys(context, allowed=CONTEXT_KEYS)
        return {
            "count": number(context, "count", default=0, kind=int),
            "sleep": number(context, "sleep", default=0.0, kind=float),
            "chunk_size": number(context, "chunk_size", default=100, kind=int, minimum=1),
        }

    def pre_process(self, job: Job) -> None:
        """The count is what the context says."""
        job.set_count(int(job.context["count"]))
        job.add_stat("items", "Items", f"{job.context['count']} items will be processed")

    def process(self, job: Job) -> None:
        """Advance chunk by chunk from the checkpoint, sleeping as asked."""
        total = int(job.context["count"])
        chunk = int(job.context["chunk_size"])
        done = job.checkpoint
        while done < total:
            step = min(chunk, total - done)
            time.sleep(float(job.context["sleep"]) * step)
            job.advance(step)
            done += step
