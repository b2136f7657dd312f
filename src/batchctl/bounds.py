"""The ranges of the numbers users give batchctl (options, settings, API arguments), in one table.

A number outside its range would otherwise fail far from where it was typed: an int too large for the
database's 64-bit integers (``list --limit 9223372036854775808``: OverflowError), a lease no ``timedelta``
can hold, a thousand consumer threads. Each check is one line naming the number and its range (BadInput,
exit 2), made before anything is written. The CLI declares its options with the same ranges
(``cli.options.bounded``), so ``--help`` shows them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from batchctl.errors import BadInput

_WHOLE = re.compile(r"^[0-9]+$")  # ASCII digits only: str.isdigit() also accepts "²", which int() refuses


@dataclass(frozen=True)
class Bound:
    """An inclusive range of whole numbers."""

    low: int
    high: int

    def check(self, name: str, value: object) -> int:
        """``value`` if it is a whole number in the range, else BadInput naming ``name`` and the range."""
        if isinstance(value, bool) or not isinstance(value, int) or not self.low <= value <= self.high:
            raise BadInput(f"{name} must be a whole number from {self.low} to {self.high}, got {value!r}")
        return value

    def parse(self, name: str, raw: str) -> int:
        """A whole number in the range from text (a setting), else BadInput naming ``name`` and the range."""
        text = raw.strip()
        # The length first: int() refuses (ValueError) strings of more than 4300 digits.
        if len(text) > 30 or not _WHOLE.match(text) or not self.low <= int(text) <= self.high:
            raise BadInput(f"{name} must be a whole number from {self.low} to {self.high}, got {raw!r}")
        return int(text)


# The table (README "Configuration" and each option's --help show these).
LIMIT = Bound(0, 1_000_000)  # list --limit, webhooks deliveries --limit, Jobs.list(limit=)
OFFSET = Bound(0, 10**15 - 1)  # list --offset; the HTTP API takes the same 15 digits
CONCURRENCY = Bound(1, 256)  # worker --concurrency: threads in one process
SEED_COUNT = Bound(0, 1_000_000)  # products seed --count
SEED_VARIANTS = Bound(0, 100)  # products seed --variants
ATTEMPTS = Bound(1, 1000)  # BATCHCTL_MAX_ATTEMPTS, a strategy's max_attempts, webhooks add --max-attempts
PORT = Bound(1, 65535)  # serve --port
MAX_AGE_DAYS = 36_500  # ages (prune --older-than, --every, --created-after 30d): at most 100 years
# Seconds settings (leases, intervals, timeouts): more than 0, at most a year (a timedelta holds it).
MAX_SECONDS = 365 * 24 * 3600.0


def seconds(name: str, value: float, *, high: float = MAX_SECONDS) -> float:
    """A finite number of seconds greater than 0 and at most ``high``, else BadInput naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise BadInput(f"{name} must be a finite number of seconds greater than 0, got {value!r}")
    if not 0 < value <= high:
        raise BadInput(
            f"{name} must be a finite number of seconds greater than 0 and at most {high:.10g}, got {value!r}"
        )
    return float(value)
