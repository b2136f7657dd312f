"""Failed sign-in and token attempts, counted per key in a sliding window (in this process's memory)."""

from __future__ import annotations

import threading
import time
from collections import deque


class Throttle:
    """At most ``limit`` failures per key within ``window`` seconds; successes are not counted."""

    def __init__(self, limit: int, window: float, *, max_keys: int = 100_000) -> None:
        self.limit = limit
        self.window = window
        self._max_keys = max_keys
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, key: str) -> float:
        """Seconds until ``key`` may try again (0 when it may now)."""
        now = time.monotonic()
        with self._lock:
            failures = self._failures.get(key)
            if failures is None:
                return 0.0
            while failures and failures[0] <= now - self.window:
                failures.popleft()
            if len(failures) < self.limit:
                return 0.0
            return max(0.0, failures[0] + self.window - now)

    def fail(self, key: str) -> None:
        """Count one failure for ``key``."""
        now = time.monotonic()
        with self._lock:
            if len(self._failures) >= self._max_keys and key not in self._failures:
                # Bounded memory under a flood of addresses: forget the stalest keys.
                for stale in sorted(self._failures, key=lambda k: self._failures[k][-1])[: self._max_keys // 10]:
                    del self._failures[stale]
            self._failures.setdefault(key, deque()).append(now)
