"""The context helpers strategy authors use in ``prepare``: what they accept and the one line they refuse with."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import batchctl
from batchctl import BadContext, BadInput, boolean, check_keys, moment, number, positive_int, string_list

NOW = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)


def test_the_helpers_and_bad_context_are_public_names() -> None:
    for name in ("BadContext", "check_keys", "positive_int", "number", "boolean", "string_list", "moment"):
        assert name in batchctl.__all__
        assert getattr(batchctl, name) is not None
    assert issubclass(BadContext, BadInput)
    assert BadContext.exit_code == 2


def test_check_keys_names_the_first_unknown_key_and_lists_the_allowed_ones() -> None:
    with pytest.raises(BadContext, match=r"^unknown context key 'b'; expected some of: x, y$"):
        check_keys({"x": 1, "c": 2, "b": 3}, allowed=("x", "y"))
    check_keys({"x": 1, "file": "f"}, allowed=("x",), aliases=("file",))
    with pytest.raises(BadContext, match=r"^context key 'y' is required$"):
        check_keys({"x": 1}, allowed=("x", "y"), required=("x", "y"))


@given(st.integers(min_value=1))
def test_positive_int_takes_whole_numbers_from_one(value: int) -> None:
    assert positive_int({"n": value}, "n", default=5) == value


@pytest.mark.parametrize("value", [0, -3, 1.5, "4", True, None, [2]])
def test_positive_int_refuses_anything_else(value: Any) -> None:
    with pytest.raises(BadContext, match=rf"^n must be a whole number >= 1, got {value!r}$".replace("[", r"\[")):
        positive_int({"n": value}, "n", default=5)
    assert positive_int({}, "n", default=5) == 5


def test_number_converts_what_it_can_and_names_the_kind() -> None:
    assert number({"n": "5"}, "n", default=0, kind=int) == 5
    assert number({}, "s", default=0.0, kind=float) == 0.0
    with pytest.raises(BadContext, match=r"^context 'n' must be a number, got 'five'$"):
        number({"n": "five"}, "n", default=0, kind=int)
    with pytest.raises(BadContext, match=r"^context 'n' must be a whole number >= 1, got 0$"):
        number({"n": 0}, "n", default=100, kind=int, minimum=1)
    with pytest.raises(BadContext, match=r"^context 'n' must be a whole number >= 0, got 2.5$"):
        number({"n": 2.5}, "n", default=0, kind=int)


def test_boolean_takes_only_true_or_false() -> None:
    assert boolean({}, "skip") is False
    assert boolean({"skip": True}, "skip") is True
    with pytest.raises(BadContext, match=r"^skip must be true or false, got 'yes'$"):
        boolean({"skip": "yes"}, "skip")


@given(st.lists(st.text(alphabet="abcxyz-", min_size=1), min_size=1))
def test_string_list_reads_a_list_or_its_comma_separated_form_alike(values: list[str]) -> None:
    assert string_list({"k": values}, "k") == sorted(set(values))
    assert string_list({"k": ", ".join(values)}, "k") == sorted(set(values))


@pytest.mark.parametrize("value", ["", " , ", [], [""], [1], 3])
def test_string_list_refuses_empty_or_non_strings(value: Any) -> None:
    with pytest.raises(BadContext, match=r"^k must be a non-empty string or list of strings$"):
        string_list({"k": value}, "k")


def test_moment_takes_iso_times_and_ages() -> None:
    assert moment({"t": "2026-01-01"}, "t", now=NOW) == datetime(2026, 1, 1, tzinfo=UTC)
    assert moment({"t": "7d"}, "t", now=NOW) == NOW - timedelta(days=7)
    with pytest.raises(BadContext, match=r"^t: 'soon' is not a time"):
        moment({"t": "soon"}, "t", now=NOW)
