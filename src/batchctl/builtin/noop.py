"""The ``noop`` job: counts to N and does nothing else; for smoke tests of a deployment and benchmarks."""

from __future__ import annotations

import time
from typing import Any

from batchctl.strategy import BatchJobStrategy, Job

CONTEXT_KEYS = {"count", "sleep", "chunk_size"}


class NoopStrategy(BatchJobStrategy):
    """Does nothing COUNT times (context: count, sleep seconds per item, chunk_size)."""

    identifier = "noop-strategy"
    batch_type = "noop"

    def prepare(self, context: dict[str, Any]) -> dict[str, Any]:
        """Check count/sleep/chunk_size and fill in their defaults."""
        unknown = sorted(set(context) - CONTEXT_KEYS)
        if unknown:
            raise ValueError(f"unknown context key {unknown[0]!r}; expected some of: {', '.join(sorted(CONTEXT_KEYS))}")
        return {
            "count": _number(context, "count", 0, int),
            "sleep": _number(context, "sleep", 0.0, float),
            "chunk_size": _number(context, "chunk_size", 100, int, minimum=1),
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


def _number(context: dict[str, Any], key: str, default: Any, kind: type, minimum: float = 0) -> Any:
    value = context.get(key, default)
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise ValueError(f"context {key!r} must be a number, got {value!r}") from None
    if isinstance(value, bool) or number < minimum or (kind is int and number != float(value)):
        raise ValueError(f"context {key!r} must be a {kind.__name__} >= {minimum}, got {value!r}")
    return number
