"""``storable.check_json`` against an independent oracle (hypothesis), and the outage classifier.

The property: for generated values (JSON and near-JSON: NaN, 2**70, NUL, lone surrogates, sets, int keys,
nesting past 64), ``check_json`` accepts exactly the values the oracle calls storable, and every accepted
value survives ``json.dumps(allow_nan=False)`` unchanged. The trip through both databases is
tests/integration/test_storable_roundtrip.py.
"""

from __future__ import annotations

import json
import math
from typing import Any

import psycopg
import psycopg.errors
import pytest
from hypothesis import given
from hypothesis import strategies as st

from batchctl.db import is_postgres_connection_failure
from batchctl.errors import Unstorable
from batchctl.storable import MAX_DEPTH, check_int_column, check_json, safe_text

# Text with anything in it, lone surrogates (category Cs) and NUL included.
TEXT = st.text(st.characters(blacklist_categories=()), max_size=8)
LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | TEXT
    | st.sampled_from([b"bytes", frozenset({1}), object()])
)
KEYS = TEXT | st.integers(min_value=-3, max_value=3)
NEAR_JSON = st.recursive(
    LEAVES, lambda children: st.lists(children, max_size=4) | st.dictionaries(KEYS, children, max_size=4), max_leaves=20
)


def nested(depth: int, leaf: Any) -> Any:
    value = leaf
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


DEEP = st.builds(nested, st.integers(min_value=MAX_DEPTH - 2, max_value=MAX_DEPTH + 2), LEAVES)
VALUES = NEAR_JSON | DEEP | st.lists(DEEP, max_size=2)


def storable(value: Any, depth: int = 0) -> bool:
    """The oracle, written the obvious (recursive) way."""
    if value is None or isinstance(value, bool):
        return True
    if isinstance(value, int):
        return abs(value) <= 2**63 - 1
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, str):
        return "\x00" not in value and not any(0xD800 <= ord(c) <= 0xDFFF for c in value)
    if isinstance(value, list | dict):
        if depth + 1 > MAX_DEPTH:
            return False
        if isinstance(value, dict):
            return all(isinstance(k, str) and storable(k) and storable(v, depth + 1) for k, v in value.items())
        return all(storable(item, depth + 1) for item in value)
    return False


@given(VALUES)
def test_check_json_accepts_exactly_what_can_be_stored_and_that_round_trips_through_json(value: Any) -> None:
    try:
        check_json(value, "result")
    except Unstorable as error:
        assert not storable(value), value
        message = str(error)
        assert message.startswith("cannot store result")
        assert "\n" not in message
        check_json({"message": message}, "message")  # the error itself can always be stored
        return
    assert storable(value), value
    assert json.loads(json.dumps(value, allow_nan=False)) == value


def test_the_error_says_where() -> None:
    with pytest.raises(Unstorable, match=r"^cannot store context\.a\.b\[3\]: nan is not a finite number"):
        check_json({"a": {"b": [0, 1, 2, float("nan")]}}, "context")
    with pytest.raises(Unstorable, match=r'cannot store result\["odd key"\]\.x: a set is not a JSON value'):
        check_json({"odd key": {"x": {1}}}, "result")
    with pytest.raises(Unstorable, match="an integer of 33220 bits"):
        check_json(10**10000, "result")  # too many digits for str(): said by size


def test_nesting_is_counted_without_recursion() -> None:
    check_json(nested(MAX_DEPTH, 1), "context")
    with pytest.raises(Unstorable, match="nested deeper than 64 levels"):
        check_json(nested(MAX_DEPTH + 1, 1), "context")
    with pytest.raises(Unstorable, match="nested deeper than 64 levels"):
        check_json(nested(100_000, 1), "context")  # far beyond the recursion limit
    cycle: list[Any] = []
    cycle.append(cycle)
    with pytest.raises(Unstorable, match="nested deeper"):
        check_json(cycle, "result")


def test_integer_columns_hold_what_postgresql_s_integer_holds() -> None:
    check_int_column(2**31 - 1, "count")
    check_int_column(None, "count")
    for bad in (2**31, -1, 2**70, True, 1.0, "3"):
        with pytest.raises(Unstorable, match="cannot store count"):
            check_int_column(bad, "count")


@given(TEXT)
def test_safe_text_is_always_storable(text: str) -> None:
    check_json(safe_text(text), "message")
    if storable(text):
        assert safe_text(text) == text


@pytest.mark.parametrize(
    "error",
    [
        psycopg.OperationalError("consuming input failed: server closed the connection unexpectedly"),
        psycopg.OperationalError(
            'connection failed: connection to server at "127.0.0.1", port 5432 failed: Connection refused'
        ),
        psycopg.errors.AdminShutdown("terminating connection due to administrator command"),
        psycopg.errors.CrashShutdown("crash"),
        psycopg.errors.CannotConnectNow("the database system is starting up"),
        psycopg.errors.ConnectionFailure("connection failure"),
        psycopg.InterfaceError("the connection is closed"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_lost_connections_are_outages(error: Exception) -> None:
    assert is_postgres_connection_failure(error)


@pytest.mark.parametrize(
    "error",
    [
        # What libpq says of a statement with more than 65,535 parameters: an OperationalError, server fine.
        psycopg.OperationalError("sending query and params failed: number of parameters must be between 0 and 65535"),
        psycopg.errors.QueryCanceled("canceling statement due to statement timeout"),
        psycopg.errors.NumericValueOutOfRange("integer out of range"),
        psycopg.errors.UntranslatableCharacter("unsupported Unicode escape sequence"),
        psycopg.errors.ProgramLimitExceeded("index row size exceeds maximum"),
        psycopg.errors.DiskFull("could not extend file"),  # class 53, an OperationalError, not a lost server
        ValueError("not psycopg's"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_other_errors_are_not_outages(error: Exception) -> None:
    assert not is_postgres_connection_failure(error)


class _Broken:
    broken = True
    closed = False


def test_an_operational_error_on_a_broken_connection_is_an_outage() -> None:
    error = psycopg.OperationalError("sending query failed: another command is already in progress")
    assert not is_postgres_connection_failure(error)
    assert is_postgres_connection_failure(error, _Broken())
