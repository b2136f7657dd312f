"""The raw baseline: plain Huey no-op tasks on the same storage, with the same settings batchctl uses.

Imported by run.py (to build the queue and enqueue) and run as a script (the one consumer process):

    python bench/raw_huey.py sqlite NAME PATH      # SqliteHuey on PATH
    python bench/raw_huey.py redis NAME URL        # RedisHuey named NAME at URL

The consumer mirrors ``batchctl worker --burst`` (src/batchctl/worker.py): Huey's own Consumer with one
thread worker, no periodic tasks, initial_delay 0.01, backoff 1.5, max_delay 0.05 (batchctl's default
poll interval), and it stops gracefully after two drained checks in a row. The storage mirrors
src/batchctl/queue.py: ``results=False``; Redis blocking on BRPOP with batchctl's read_timeout. It prints how many
tasks it ran, so run.py can check that the baseline really did the work it is credited for.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from typing import Any

from huey.consumer import Consumer, ConsumerStopped

# batchctl's defaults (config.py: BATCHCTL_POLL_INTERVAL=0.05; worker.py: initial_delay/backoff; queue.py:
# READ_TIMEOUT), copied rather than imported so that this process pays for no batchctl import; the
# lifecycle figure checks they still agree.
POLL_INTERVAL = 0.05
READ_TIMEOUT = 0.25
INITIAL_DELAY = min(0.01, POLL_INTERVAL)
BACKOFF = 1.5


@dataclass(frozen=True)
class QueueSpec:
    """Which raw queue: ``kind`` is sqlite or redis, ``where`` a file path or a Redis URL."""

    kind: str
    name: str
    where: str

    def args(self) -> list[str]:
        """The command-line arguments that rebuild this spec in the consumer process."""
        return [self.kind, self.name, self.where]


class RawQueue:
    """A Huey on the spec's storage with one task, ``noop``, that only counts its runs."""

    def __init__(self, spec: QueueSpec) -> None:
        self.spec = spec
        self.executed = 0
        if spec.kind == "redis":
            from huey import RedisHuey

            self.huey: Any = RedisHuey(
                spec.name, url=spec.where, results=False, blocking=True, read_timeout=READ_TIMEOUT
            )
        elif spec.kind == "sqlite":
            from huey import SqliteHuey

            self.huey = SqliteHuey(spec.name, filename=spec.where, results=False)
        else:
            raise ValueError(f"unknown queue kind {spec.kind!r}")
        self.noop = self.huey.task(name="noop")(self._noop)

    def _noop(self) -> None:
        # One consumer thread runs tasks, so a plain counter is exact.
        self.executed += 1

    def enqueue(self, n: int) -> None:
        """Enqueue ``n`` no-op tasks, one call each (as N separate producers would)."""
        for _ in range(n):
            self.noop()

    def pending(self) -> int:
        """Tasks still in the queue."""
        return int(self.huey.pending_count())

    def close(self) -> None:
        """Release this process's storage connection."""
        close = getattr(self.huey.storage, "close", None)
        if close is not None:
            close()


class BurstConsumer(Consumer):  # type: ignore[misc]
    """Huey's consumer that stops once the queue was empty at two checks in a row (like batchctl's burst)."""

    def __init__(self, queue: RawQueue, *args: Any, **kwargs: Any) -> None:
        super().__init__(queue.huey, *args, **kwargs)
        self._queue = queue
        self._drained_checks = 0

    def loop(self, health_check_ts: float | None = None) -> float | None:
        result: float | None = super().loop(health_check_ts)
        drained = self._queue.pending() == 0
        self._drained_checks = self._drained_checks + 1 if drained else 0
        if self._drained_checks >= 2:
            # Graceful: waits for the worker thread, so a task dequeued just before the check still runs.
            self.stop(graceful=True)
            raise ConsumerStopped()
        return result


def consume(spec: QueueSpec) -> int:
    """Run one consumer process until the queue is drained; return how many tasks it ran."""
    queue = RawQueue(spec)
    consumer = BurstConsumer(
        queue,
        workers=1,
        worker_type="thread",
        periodic=False,
        initial_delay=INITIAL_DELAY,
        backoff=BACKOFF,
        max_delay=POLL_INTERVAL,
        graceful_signal="TERM",
    )
    consumer.run()
    return queue.executed


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        sys.stderr.write("usage: raw_huey.py sqlite|redis NAME PATH_OR_URL\n")
        return 2
    # As `batchctl worker` does without -v: warnings only, so logging costs the same on both sides.
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    print(consume(QueueSpec(*argv)))
    return 0


if __name__ == "__main__":
    # Huey names a task after its function's module: run main from `raw_huey`, not `__main__`, so the
    # consumer knows the task by the name run.py enqueued it under.
    import raw_huey

    sys.exit(raw_huey.main(sys.argv[1:]))
