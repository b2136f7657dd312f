"""How long to wait before trying again: one rule for job retries and subscriber deliveries."""

from __future__ import annotations

import random


def backoff_seconds(attempt: int, base: float = 1.0, cap: float = 300.0, *, floor: float = 0.0) -> float:
    """Exponential backoff with jitter: a random delay between ``floor`` and 1 times base * 2^(attempt-1), capped.

    ``floor=0`` is full jitter (job retries); deliveries use 0.5 so the log shows a backoff that grows.
    """
    ceiling = min(cap, base * 2 ** max(attempt - 1, 0))
    return random.uniform(floor * ceiling, ceiling)
