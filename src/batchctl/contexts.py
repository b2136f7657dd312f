"""Helpers for a strategy's ``prepare``: check a job's context and read its values, refusing with BadContext.

    def prepare(self, context):
        check_keys(context, allowed=("chunk_size", "handles"))
        return {"chunk_size": positive_int(context, "chunk_size", default=5000)}

Each helper raises ``BadContext`` with one line naming the key and what would be right; ``create``
reports it as ``invalid context for TYPE: …`` (exit 2) and writes nothing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from batchctl import words
from batchctl.errors import BadContext
from batchctl.timeparse import parse_moment


def check_keys(
    context: Mapping[str, Any], *, allowed: Sequence[str], required: Sequence[str] = (), aliases: Sequence[str] = ()
) -> None:
    """Refuse keys not in ``allowed`` (``aliases`` are accepted, not listed) and missing ``required`` ones."""
    unknown = sorted(set(context) - set(allowed) - set(aliases))
    if unknown:
        raise BadContext(f"unknown context key {unknown[0]!r}; expected some of: {', '.join(allowed)}")
    for key in required:
        if key not in context:
            raise BadContext(f"context key {key!r} is required")


def positive_int(context: Mapping[str, Any], key: str, *, default: int) -> int:
    """``context[key]`` (or ``default``) as an int >= 1, given as one (not a string, not a bool)."""
    value = context.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise BadContext(f"{key} must be a whole number >= 1, got {value!r}")
    return value


def number(
    context: Mapping[str, Any], key: str, *, default: float, kind: type[int] | type[float], minimum: float = 0
) -> int | float:
    """``context[key]`` (or ``default``) converted to ``kind`` (so ``"5"`` is 5), at least ``minimum``."""
    value = context.get(key, default)
    try:
        converted = kind(value)
    except (TypeError, ValueError, OverflowError):
        raise BadContext(f"context {key!r} must be a number, got {value!r}") from None
    if not math.isfinite(converted):
        raise BadContext(f"context {key!r} must be a finite number, got {value!r}")
    if isinstance(value, bool) or converted < minimum or (kind is int and converted != float(value)):
        raise BadContext(f"context {key!r} must be a {words.kind(kind)} >= {minimum}, got {value!r}")
    return converted


def boolean(context: Mapping[str, Any], key: str, *, default: bool = False) -> bool:
    """``context[key]`` (or ``default``) as given: true or false, nothing that merely looks like one."""
    value = context.get(key, default)
    if not isinstance(value, bool):
        raise BadContext(f"{key} must be true or false, got {value!r}")
    return value


def string_list(context: Mapping[str, Any], key: str) -> list[str]:
    """``context[key]``, a list of strings or one comma-separated string, as a sorted list without repeats."""
    value = context[key]
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise BadContext(f"{key} must be a non-empty string or list of strings")
    return sorted(set(value))


def moment(context: Mapping[str, Any], key: str, *, now: datetime) -> datetime:
    """``context[key]``, an ISO-8601 time or an age before ``now`` such as ``7d``, as an aware datetime."""
    return parse_moment(str(context[key]), option=key, now=now, error=BadContext)
