"""The list query of ``GET /admin/batch-jobs``, parsed as Medusa's ``qs`` + class-validator would.

Plain Python (no web framework), so that hypothesis can drive it directly. ``parse_nested`` turns a raw
query string into qs's shape (``type[]=a`` and ``type[0]=a`` → a list, ``created_at[gte]=T`` → an object,
a repeated key → a list); ``parse_list_query`` checks it key by key and collects every failure, joined
with ``, `` as Medusa does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast
from urllib.parse import parse_qsl

from batchctl.client import TimeCondition
from batchctl.errors import BadInput

NULLABLE_TIMES = ("pre_processed_at", "confirmed_at", "processing_at", "completed_at", "failed_at", "canceled_at")
RANGE_TIMES = ("created_at", "updated_at")
OPERATORS = ("lt", "gt", "lte", "gte")
ORDERS = ("created_at", "updated_at", "type", "status", "id")
EXPANDABLE = ("created_by_user",)
JOB_FIELDS = (
    "id",
    "type",
    "status",
    "created_by",
    "context",
    "dry_run",
    "result",
    "created_at",
    "updated_at",
    "deleted_at",
    "pre_processed_at",
    "confirmed_at",
    "processing_at",
    "completed_at",
    "failed_at",
    "canceled_at",
    "attempts",
    "worker",
    "heartbeat_at",
)
ALWAYS_FIELDS = ("id", "created_at")
KNOWN_KEYS = ("limit", "offset", "order", "fields", "expand", "id", "type", *NULLABLE_TIMES, *RANGE_TIMES)
MAX_INDEX = 20  # qs turns a[21]=x into an object key, not a list element
_KEY = re.compile(r"^([^\[\]]+)\[([^\[\]]*)\]$")

Nested = dict[str, Any]  # str | list[str] | dict[str, str]


@dataclass(frozen=True)
class ListQuery:
    """A validated list query."""

    limit: int = 10
    offset: int = 0
    order: str = "-created_at"
    types: tuple[str, ...] = ()
    ids: tuple[str, ...] = ()
    times: tuple[TimeCondition, ...] = ()
    fields: tuple[str, ...] | None = None
    expand: frozenset[str] = field(default_factory=frozenset)


class _Shape(ValueError):
    """A key qs would parse into a shape this API has no use for (a[b][c], a mix of list and object)."""


def parse_nested(query: str) -> Nested:
    """The raw query string in qs's shape: plain values, lists and one level of objects."""
    nested: Nested = {}
    indexed: dict[str, dict[int, str]] = {}
    for raw_key, value in parse_qsl(query, keep_blank_values=True):
        match = _KEY.match(raw_key)
        if match is None:
            if "[" in raw_key or "]" in raw_key:
                raise _Shape(raw_key)
            _add(nested, raw_key, value)
            continue
        name, inner = match.groups()
        if inner == "":
            _append(nested, name, value)
        elif inner.isdigit() and int(inner) <= MAX_INDEX:
            indexed.setdefault(name, {})[int(inner)] = value
        else:
            current = nested.setdefault(name, {})
            if not isinstance(current, dict):
                raise _Shape(name)
            current[inner] = value
    for name, items in indexed.items():
        for _, value in sorted(items.items()):
            _append(nested, name, value)
    return nested


def _add(nested: Nested, name: str, value: str) -> None:
    current = nested.get(name)
    if current is None:
        nested[name] = value
    elif isinstance(current, list):
        current.append(value)
    elif isinstance(current, str):
        nested[name] = [current, value]
    else:
        raise _Shape(name)


def _append(nested: Nested, name: str, value: str) -> None:
    current = nested.setdefault(name, [])
    if isinstance(current, str):
        nested[name] = [current, value]
    elif isinstance(current, list):
        current.append(value)
    else:
        raise _Shape(name)


def parse_time(text: str) -> datetime:
    """An ISO-8601 date or date-time (``Z`` or an offset; naive means UTC); ValueError otherwise."""
    if not re.match(r"^\d{4}-\d{2}-\d{2}", text):
        raise ValueError(text)
    moment = datetime.fromisoformat(text)
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _number(name: str, value: Any, *, maximum: int | None, problems: list[str]) -> int | None:
    if not isinstance(value, str) or not re.fullmatch(r"\s*[+-]?\d{1,15}\s*", value):
        problems.append(f"{name} must be a number conforming to the specified constraints")
        return None
    number = int(value)
    if number < 0:
        problems.append(f"{name} must not be less than 0")
    elif maximum is not None and number > maximum:
        problems.append(f"{name} must not be greater than {maximum}")
    return number


def _comma_list(name: str, value: Any, allowed: tuple[str, ...], problems: list[str]) -> tuple[str, ...]:
    if not isinstance(value, str):
        problems.append(f"{name} must be a string")
        return ()
    items = tuple(item.strip() for item in value.split(",") if item.strip())
    unknown = [item for item in items if item not in allowed]
    if unknown:
        problems.append(f"{name}: {unknown[0][:100]!r} is not one of: {', '.join(allowed)}")
    return items


def _strings(value: Any) -> list[str]:
    return [item for element in value for item in element.split(",") if item]


def _time_conditions(name: str, value: Any, *, nullable: bool, problems: list[str]) -> list[TimeCondition]:
    if nullable and value == "null":
        return [TimeCondition(name, "is_null")]
    if not isinstance(value, dict) or not value:
        choice = "null or " if nullable else ""
        problems.append(f"{name} must be {choice}an object with lt, gt, lte or gte ({name}[gte]=2026-12-01T00:00:00Z)")
        return []
    conditions: list[TimeCondition] = []
    for op, text in value.items():
        if op not in OPERATORS:
            problems.append(f"property {name}.{_shown(op)} should not exist")
            continue
        try:
            moment = parse_time(text)
        except ValueError:
            problems.append(f"{name}.{op} must be an ISO 8601 date, like 2026-12-01T20:48:01.916Z")
            continue
        conditions.append(TimeCondition(name, cast(Any, op), moment))
    return conditions


def _shown(key: str) -> str:
    # A key is echoed as the client sent it when it is plain text, else quoted (no newlines in a message).
    return key if key.isprintable() and len(key) <= 100 else repr(key[:100])


def parse_list_query(query: str, *, max_limit: int) -> ListQuery:
    """Validate a raw list query string; BadInput naming every failure (joined by ``, ``)."""
    try:
        nested = parse_nested(query)
    except _Shape as shape:
        raise BadInput(f"property {_shown(str(shape))} should not exist") from None
    problems = [f"property {_shown(key)} should not exist" for key in nested if key not in KNOWN_KEYS]
    values: dict[str, Any] = {}
    if "limit" in nested:
        values["limit"] = _number("limit", nested["limit"], maximum=max_limit, problems=problems)
    if "offset" in nested:
        values["offset"] = _number("offset", nested["offset"], maximum=None, problems=problems)
    if "order" in nested:
        order = nested["order"]
        allowed = [prefix + column for column in ORDERS for prefix in ("", "-")]
        if order not in allowed:
            problems.append(f"order must be one of: {', '.join(allowed)}")
        values["order"] = order
    if "type" in nested:
        if not isinstance(nested["type"], list):
            problems.append("type must be an array")
        else:
            values["types"] = tuple(_strings(nested["type"]))
    if "id" in nested:
        ids = nested["id"]
        if isinstance(ids, dict):
            problems.append("id must be a string or an array of strings")
        else:
            values["ids"] = tuple(_strings([ids] if isinstance(ids, str) else ids))
    if "fields" in nested:
        values["fields"] = _comma_list("fields", nested["fields"], JOB_FIELDS, problems)
    if "expand" in nested:
        values["expand"] = frozenset(_comma_list("expand", nested["expand"], EXPANDABLE, problems))
    times: list[TimeCondition] = []
    for name in (*NULLABLE_TIMES, *RANGE_TIMES):
        if name in nested:
            times += _time_conditions(name, nested[name], nullable=name in NULLABLE_TIMES, problems=problems)
    if problems:
        raise BadInput(", ".join(problems))
    return ListQuery(**values, times=tuple(times))


def project(
    job: dict[str, Any], fields: tuple[str, ...] | None, expand: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """Only the asked-for fields of a job's JSON (plus ``id``, ``created_at`` and expanded relations, as Medusa)."""
    if fields is None:
        return job
    wanted = set(fields) | set(ALWAYS_FIELDS) | expand
    return {key: value for key, value in job.items() if key in wanted}
