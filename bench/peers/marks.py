"""What every peer's task does besides its work: count itself done, or stamp when it started (in Redis).

The bench polls one Redis counter per round instead of asking each peer about each job, so that waiting
costs every peer the same; afterwards it checks each job in the peer's own records.
"""

from __future__ import annotations

import os
import time
from typing import Any

_client: Any = None


def _redis() -> Any:
    global _client
    if _client is None:
        import redis

        _client = redis.Redis.from_url(os.environ["BENCH_PEER_REDIS"])
    return _client


def done() -> None:
    """One more job of this round finished."""
    _redis().incr(os.environ["BENCH_PEER_KEY"] + ":done")


def started() -> None:
    """Record the moment the job started (wall clock; the bench compares it with the enqueue moment)."""
    _redis().rpush(os.environ["BENCH_PEER_KEY"] + ":started", repr(time.time()))
