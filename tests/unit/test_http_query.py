"""The Admin API's list query and create body, parsed as Medusa's qs + class-validator would (hypothesis)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import quote, urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from batchctl.errors import BadInput
from batchctl.http.body import parse_create
from batchctl.http.query import KNOWN_KEYS, NULLABLE_TIMES, ListQuery, parse_list_query, parse_nested

names = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz-_0123456789"), min_size=1, max_size=12)
values = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters=","), min_size=1, max_size=12)
moments = st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(9999, 1, 1), timezones=st.just(UTC))


def qs_indices(name: str, items: list[str]) -> str:
    """How medusa-js's qs.stringify writes an array: name[0]=a&name[1]=b."""
    return "&".join(f"{quote(f'{name}[{i}]')}={quote(item)}" for i, item in enumerate(items))


@given(st.lists(values, min_size=1, max_size=5), st.sampled_from(["indices", "brackets", "repeat"]))
def test_every_qs_array_format_gives_the_same_list(items: list[str], style: str) -> None:
    if style == "indices":
        query = qs_indices("type", items)
    elif style == "brackets":
        query = urlencode([("type[]", item) for item in items])
    else:
        query = urlencode([("type", item) for item in items])
    assert parse_nested(query)["type"] == items if len(items) > 1 or style != "repeat" else items[0]


@given(st.lists(values, min_size=1, max_size=5))
def test_types_round_trip_through_the_query(items: list[str]) -> None:
    parsed = parse_list_query(qs_indices("type", items), max_limit=1000)
    assert parsed.types == tuple(items)


@given(values)
def test_a_bare_type_is_refused_as_medusa_does(item: str) -> None:
    with pytest.raises(BadInput, match=r"^type must be an array$"):
        parse_list_query(urlencode({"type": item}), max_limit=1000)


@given(
    st.sampled_from((*NULLABLE_TIMES, "created_at", "updated_at")), st.sampled_from(["lt", "gt", "lte", "gte"]), moments
)
def test_time_ranges_round_trip(column: str, op: str, moment: datetime) -> None:
    text = moment.isoformat().replace("+00:00", "Z")
    [condition] = parse_list_query(urlencode({f"{column}[{op}]": text}), max_limit=1000).times
    assert (condition.column, condition.op, condition.value) == (column, op, moment)


@given(st.sampled_from(NULLABLE_TIMES))
def test_null_means_is_null(column: str) -> None:
    [condition] = parse_list_query(f"{column}=null", max_limit=1000).times
    assert (condition.column, condition.op, condition.value) == (column, "is_null", None)


@given(names.filter(lambda n: n not in KNOWN_KEYS))
def test_any_other_key_should_not_exist(key: str) -> None:
    with pytest.raises(BadInput, match=rf"^property {re.escape(key)} should not exist$"):
        parse_list_query(urlencode({key: "1"}), max_limit=1000)


@given(st.integers(min_value=0, max_value=1000), st.integers(min_value=0, max_value=10**9))
def test_limit_and_offset(limit: int, offset: int) -> None:
    parsed = parse_list_query(urlencode({"limit": limit, "offset": offset}), max_limit=1000)
    assert (parsed.limit, parsed.offset) == (limit, offset)


@given(st.text(max_size=8).filter(lambda t: not t.strip().lstrip("+-").isdigit()))
def test_a_limit_that_is_not_a_number(text: str) -> None:
    with pytest.raises(BadInput, match="limit must be a number conforming to the specified constraints"):
        parse_list_query(urlencode({"limit": text}), max_limit=1000)


@given(st.text(max_size=200))
def test_any_query_string_parses_or_is_refused_as_bad_input(query: str) -> None:
    try:
        parsed = parse_list_query(query, max_limit=1000)
    except BadInput as error:
        assert str(error) and "\n" not in str(error)
    else:
        assert isinstance(parsed, ListQuery)


def test_failures_are_joined_like_medusas() -> None:
    with pytest.raises(BadInput) as refused:
        parse_list_query("type=x&status=1&limit=a", max_limit=1000)
    assert str(refused.value) == (
        "property status should not exist, limit must be a number conforming to the specified constraints, "
        "type must be an array"
    )


@given(st.binary(max_size=100))
def test_any_create_body_is_valid_or_bad_input(raw: bytes) -> None:
    try:
        body = parse_create(raw)
    except BadInput as error:
        assert str(error)
    else:
        assert isinstance(body.type, str) and isinstance(body.context, dict) and isinstance(body.dry_run, bool)


def test_create_body_messages() -> None:
    with pytest.raises(BadInput, match=r"^dry_run must be a boolean value$"):
        parse_create(b'{"type": "x", "context": {}, "dry_run": "true"}')
    with pytest.raises(BadInput, match=r"^type must be a string, context must be an object$"):
        parse_create(b"{}")
