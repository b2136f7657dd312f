"""Parsing the times and ages users type: ``90s``, ``15m``, ``12h``, ``30d``, or ISO-8601."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from batchctl import bounds
from batchctl.errors import BadInput

_AGE = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_age(text: str, *, option: str, error: type[BadInput] = BadInput) -> timedelta:
    """An age like ``30d``; ``error`` (BadInput) naming ``option`` otherwise."""
    match = _AGE.match(text.strip())
    if not match:
        raise error(f"{option}: {text!r} is not an age; use a number and a unit, like 90s, 15m, 12h or 30d")
    seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    # Capped well inside datetime's years 1..9999, so that now ± the age never overflows (prune, --every).
    if seconds > bounds.MAX_AGE_DAYS * 86400:
        raise error(f"{option}: {text!r} is too long an age; use at most {bounds.MAX_AGE_DAYS}d (100 years)")
    return timedelta(seconds=seconds)


def parse_moment(text: str, *, option: str, now: datetime | None = None, error: type[BadInput] = BadInput) -> datetime:
    """An ISO-8601 time (UTC when no offset is given) or an age meaning that long before ``now``."""
    if _AGE.match(text.strip()):
        age = parse_age(text, option=option, error=error)
        try:
            return (now or datetime.now(UTC)) - age
        except OverflowError:
            raise error(f"{option}: {text!r} reaches before year 1; use a shorter age or an ISO-8601 time") from None
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        if moment.tzinfo:
            moment.astimezone(UTC)  # raises OverflowError for 0001-01-01T00:00:00+05:00 and the like
    except OverflowError:
        raise error(
            f"{option}: {text!r} is out of range once converted to UTC; use a time between years 1 and 9999"
        ) from None
    except ValueError:
        raise error(
            f"{option}: {text!r} is not a time; use ISO-8601 (2026-01-31 or 2026-01-31T12:00:00Z) or an age like 12h"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
